#!/usr/bin/env python3
"""Writes Tests/RecurCLITests/Fixtures/interchange/: small PyTorch language models saved the way PyTorch users
save them (safetensors.torch.save_file of the state_dict), with what PyTorch says each test sentence's tokens
cost, so the Swift tests can check that `recur import-torch` + `recur score` give the same numbers.

Models (word level, the vocabulary in vocabulary.txt, 2 layers, embedding 8, hidden 16):
  lstm.safetensors  nn.LSTM, float32, start token <eos>
  gru.safetensors   nn.GRU, stored as float64 (Recur converts on import), no start token: the model reads a
                    zero vector before the first token (the course's x<1> = 0)
  rnn.safetensors   nn.RNN tanh, stored as bfloat16 (the weights are rounded to bfloat16 first, so PyTorch's
                    answer is that of the stored weights), its embedding named "encoder" (imported with
                    --rename encoder.=embedding.)
and encoder.safetensors: a bidirectional 2-layer nn.LSTM (input 3, hidden 4) as a bare state_dict, with an
input batch and PyTorch's outputs over it (lengths in expected.json), for loading into a RecurrentNetwork.

expected.json: for each model its config file, and for each sentence the per-token natural-log probabilities
(every word, then <eos>), PyTorch's computation in float64 from the stored weights.

Run (torch CPU and safetensors in a virtual environment outside the repository):
    python3 -m venv ~/venv-ref && ~/venv-ref/bin/pip install 'torch==2.13.0+cpu' safetensors numpy
    ~/venv-ref/bin/python Scripts/make_interchange_fixtures.py
"""
import json
import os

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "RecurCLITests", "Fixtures", "interchange")

VOCABULARY = ["<unk>", "<eos>", "the", "apple", "and", "pear", "pair", "salad", "is", "good", "a", "."]
SENTENCES = ["the apple and pear salad .", "the apple and pair salad .", "a good salad is a good salad",
             "the banana is good ."]  # "banana" is outside the vocabulary: <unk>
EMBEDDING, HIDDEN, LAYERS = 8, 16, 2


class LanguageModel(nn.Module):
    """Embedding → recurrent layers → linear decoder, the shape of Recur's LanguageModel."""

    def __init__(self, cell, embedding_name="embedding"):
        super().__init__()
        self.embedding_name = embedding_name
        setattr(self, embedding_name, nn.Embedding(len(VOCABULARY), EMBEDDING))
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
        self.rnn = kinds[cell](EMBEDDING, HIDDEN, num_layers=LAYERS)
        self.decoder = nn.Linear(HIDDEN, len(VOCABULARY))

    def token_log_probabilities(self, ids, start):
        """log p(ids[i] | start, ids[:i]) for each i; start None reads a zero vector first."""
        embedding = getattr(self, self.embedding_name)
        inputs = embedding(torch.tensor(ids[:-1], dtype=torch.long))
        first = torch.zeros(1, EMBEDDING, dtype=inputs.dtype) if start is None \
            else embedding(torch.tensor([start], dtype=torch.long))
        x = torch.cat([first, inputs]).unsqueeze(1)                       # [T, 1, E]
        out, _ = self.rnn(x)
        logits = self.decoder(out[:, 0, :])
        log_probabilities = torch.log_softmax(logits, dim=-1)
        return [log_probabilities[i, token].item() for i, token in enumerate(ids)]


def encode(sentence):
    ids = [VOCABULARY.index(w) if w in VOCABULARY else VOCABULARY.index("<unk>") for w in sentence.split()]
    return ids + [VOCABULARY.index("<eos>")]


def model_case(cell, seed, dtype, start_token, embedding_name):
    torch.manual_seed(seed)
    model = LanguageModel(cell, embedding_name)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.uniform_(-0.5, 0.5)
            if dtype == torch.bfloat16:
                parameter.copy_(parameter.to(torch.bfloat16).to(torch.float32))
    state = {name: value.detach().to(dtype).contiguous() for name, value in model.state_dict().items()}
    save_file(state, os.path.join(OUT, f"{cell}.safetensors"))
    config = {"cell": cell, "embedding_size": EMBEDDING, "hidden_size": HIDDEN, "layers": LAYERS,
              "vocabulary_size": len(VOCABULARY), "level": "word", "bidirectional": False,
              "eos_token": "<eos>", "unk_token": "<unk>"}
    if start_token is not None:
        config["start_token"] = start_token
    with open(os.path.join(OUT, f"{cell}.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    model = model.double()
    start = None if start_token is None else VOCABULARY.index(start_token)
    with torch.no_grad():
        scores = [{"sentence": s, "token_log_probabilities": model.token_log_probabilities(encode(s), start)}
                  for s in SENTENCES]
    return {"state": f"{cell}.safetensors", "config": f"{cell}.json",
            "rename": [f"{embedding_name}.=embedding."] if embedding_name != "embedding" else [],
            "dtype": str(dtype).replace("torch.", ""), "sentences": scores}


def encoder_case():
    torch.manual_seed(7)
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True).double()
    lengths = [4, 2, 3]
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    for b, n in enumerate(lengths):
        x[n:, b, :] = 0
    with torch.no_grad():
        packed = pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
        out, (h_n, c_n) = lstm(packed)
        out, _ = pad_packed_sequence(out, total_length=4)
    tensors = {name: value.detach().float().contiguous() for name, value in lstm.state_dict().items()}
    tensors.update({"input": x.float(), "output": out.float().contiguous(), "h_n": h_n.float().contiguous(),
                    "c_n": c_n.float().contiguous()})
    save_file(tensors, os.path.join(OUT, "encoder.safetensors"))
    return {"state": "encoder.safetensors", "input_size": 3, "hidden_size": 4, "layers": 2, "lengths": lengths}


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "vocabulary.txt"), "w") as f:
        f.write("\n".join(VOCABULARY) + "\n")
    expected = {
        "torch_version": torch.__version__,
        "vocabulary": "vocabulary.txt",
        "models": {
            "lstm": model_case("lstm", 1, torch.float32, "<eos>", "embedding"),
            "gru": model_case("gru", 2, torch.float64, None, "embedding"),
            "rnn": model_case("rnn", 3, torch.bfloat16, "<eos>", "encoder"),
        },
        "encoder": encoder_case(),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
