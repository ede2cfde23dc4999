#!/usr/bin/env python3
"""Checks that a Recur model exported with `recur export-torch` loads into PyTorch with no conversion code and
gives the log-probabilities `recur score` gives.

For each Recur model given, it runs `recur export-torch` and `recur score --json` on the sentences, builds the
PyTorch module the exported config describes (nn.Embedding → nn.LSTM/GRU/RNN → nn.Linear), loads the state_dict
with `load_state_dict(load_file(...), strict=True)`, scores the same sentences in float64 and prints the largest
difference per token. It exits non-zero if a difference is above 1e-4.

    swift build -c release
    ~/venv-ref/bin/python Scripts/check_torch_export.py MODEL.recur [MODEL.recur …] [--sentence TEXT …]

The virtual environment (outside the repository) needs torch (CPU) and safetensors. Its output when run
before landing is kept in Scripts/check_torch_export.out.
"""
import json
import os
import subprocess
import tempfile

import torch
from safetensors.torch import load_file
from torch import nn

from recur_vocabulary import RECUR, encode, run, tokens_of


class LanguageModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        vocabulary, hidden = config["vocabulary_size"], config["hidden_size"]
        embedding = config.get("embedding_size")
        if embedding is not None:
            self.embedding = nn.Embedding(vocabulary, embedding)
        size = embedding if embedding is not None else vocabulary
        if config["cell"] == "lstm":
            self.rnn = nn.LSTM(size, hidden, num_layers=config["layers"])
        elif config["cell"] == "gru":
            self.rnn = nn.GRU(size, hidden, num_layers=config["layers"])
        else:
            self.rnn = nn.RNN(size, hidden, num_layers=config["layers"], nonlinearity=config.get("nonlinearity") or "tanh")
        self.decoder = nn.Linear(hidden, vocabulary)
        self.vocabulary_size = vocabulary

    def read(self, ids):
        """The recurrent input of ids (−1: the zero vector)."""
        if hasattr(self, "embedding"):
            rows = [self.embedding.weight[i] if i >= 0 else torch.zeros_like(self.embedding.weight[0]) for i in ids]
        else:
            rows = [nn.functional.one_hot(torch.tensor(i), self.vocabulary_size).double() if i >= 0
                    else torch.zeros(self.vocabulary_size, dtype=torch.float64) for i in ids]
        return torch.stack(rows).unsqueeze(1)

    def token_log_probabilities(self, ids, start):
        out, _ = self.rnn(self.read([start] + ids[:-1]))
        log_probabilities = torch.log_softmax(self.decoder(out[:, 0, :]), dim=-1)
        return [log_probabilities[i, t].item() for i, t in enumerate(ids)]


def check(model_path, sentences):
    with tempfile.TemporaryDirectory() as folder:
        state = os.path.join(folder, "model.safetensors")
        subprocess.run([RECUR, "export-torch", model_path, "--output", state], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(folder, "model.json")) as f:
            config = json.load(f)
        with open(os.path.join(folder, "model.vocab.txt"), encoding="utf-8") as f:
            tokens = tokens_of(f.read(), config["level"])
        module = LanguageModel(config)
        module.load_state_dict(load_file(state), strict=True)
        module = module.double().eval()
        scores = subprocess.run([RECUR, "score", model_path, "--json", *sentences], check=True,
                                stdout=subprocess.PIPE, text=True).stdout.strip().split("\n")
        recur = {s["sentence"]: s for s in map(json.loads, scores)}
    start = tokens.index(config["start_token"]) if config.get("start_token") else -1
    worst = 0.0
    with torch.no_grad():
        for sentence in sentences:
            values = module.token_log_probabilities(encode(sentence, tokens, config), start)
            total = sum(values)
            per_token = abs(total - recur[sentence]["log_probability"]) / len(values)
            worst = max(worst, per_token)
            print(f"  {sentence!r}: PyTorch {total:.6f}, Recur {recur[sentence]['log_probability']:.6f} "
                  f"({len(values)} tokens, {per_token:.2e} per token)")
    print(f"{os.path.basename(model_path)}: {config['cell']} {config['layers']}×{config['hidden_size']}, "
          f"{config['level']} level, largest difference {worst:.2e} per token")
    return worst


if __name__ == "__main__":
    run(check, f"torch {torch.__version__}")
