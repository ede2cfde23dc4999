#!/usr/bin/env python3
"""Runs the Python samples of the documentation as written, with the built `recur` between them.

The Swift samples and the `recur` commands of README.md and the articles in Sources/Recur/Recur.docc are run by
the Swift tests; CI has no Python, so this script runs the rest before landing: every ```python block of the
documents, in order, in one namespace (a later block uses what an earlier one defined), in a temporary folder
that holds the files they name. Between them it runs what the articles say to run:

  1. the PyTorch → Recur sample saves an LSTM language model; `recur import-torch` imports it, and `recur score`
     must give PyTorch's own log-probability of a sentence (to 1e-4 per token);
  2. a small model trained with `recur train` and exported with `recur export-torch` must load into the sample's
     module with `load_state_dict` (strict), and give `recur score`'s log-probability;
  3. the same model exported with `recur export-onnx` must run in the ONNX sample, logits [3, 1, V], and give
     the same log-probabilities.

It prints what it checked, and writes the same to Scripts/check_documentation_python.out.

    swift build -c release
    ~/venv-ref/bin/python Scripts/check_documentation_python.py      # torch, safetensors, onnx, onnxruntime
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
RECUR = ROOT / ".build" / "release" / "recur"
DOCUMENTS = [ROOT / "README.md"] + sorted((ROOT / "Sources" / "Recur" / "Recur.docc").glob("*.md"))
lines = []


def say(text):
    print(text)
    lines.append(text)


def python_blocks(path):
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def recur(*arguments):
    result = subprocess.run([str(RECUR), *arguments], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"recur {' '.join(arguments)} failed: {result.stderr}")
    return result.stdout


def recur_log_probability(model, sentence):
    return json.loads(recur("score", model, "--json", sentence))["log_probability"]


def pytorch_log_probability(module, ids, start):
    """log P(ids) under the samples' module (embedding, rnn, decoder), reading `start` first; and every
    position's log-probabilities, [T, V]."""
    import torch
    inputs = torch.tensor([start] + ids[:-1])
    with torch.no_grad():
        hidden, _ = module.rnn(module.embedding(inputs).unsqueeze(1))
        log_probabilities = torch.log_softmax(module.decoder(hidden.squeeze(1)), dim=-1)
    return float(sum(log_probabilities[t, i] for t, i in enumerate(ids))), log_probabilities


def main():
    import torch

    blocks = [(path.name, block) for path in DOCUMENTS for block in python_blocks(path)]
    say(f"{len(blocks)} Python blocks: " + ", ".join(name for name, _ in blocks))
    if len(blocks) != 3:
        sys.exit("expected the three Python blocks of Interchange.md; update this script with the documents")
    namespace = {}
    folder = tempfile.mkdtemp(prefix="recur-doc-python-")
    os.chdir(folder)

    # 1. PyTorch → Recur
    exec(blocks[0][1], namespace)
    recur("import-torch", "lm.safetensors", "--config", "lm.json", "--vocabulary", "vocab.txt", "--output", "lm.recur")
    words, model = namespace["words"], namespace["model"]
    sentence = "the apple and pear salad ."
    ids = [words.index(w) for w in sentence.split()] + [words.index("<eos>")]
    expected, _ = pytorch_log_probability(model, ids, start=words.index("<eos>"))
    found = recur_log_probability("lm.recur", sentence)
    say(f"1. PyTorch → Recur: log P({sentence!r}) PyTorch {expected:.6f}, recur score {found:.6f}")
    assert abs(found - expected) <= 1e-4 * len(ids), "recur score differs from PyTorch"

    # 2. Recur → PyTorch
    text = "The apple and pear salad.\nThe pear and the apple.\nThat salad has a pear.\n" * 40
    pathlib.Path("text.txt").write_text(text)
    recur("train", "--data", "text.txt", "--output", "shakespeare.recur", "--cell", "lstm", "--embedding-size", "16",
          "--hidden-size", "32", "--layers", "2", "--steps", "60", "--quiet")
    recur("export-torch", "shakespeare.recur", "--output", "shakespeare.safetensors")
    exec(blocks[1][1], namespace)
    exported = namespace["model"]
    config = namespace["config"]
    vocabulary = pathlib.Path("shakespeare.vocab.txt").read_text().split("\n")[:-1]
    unescaped = [{"\\n": "\n", "\\r": "\r", "\\t": "\t", "\\\\": "\\"}.get(t, t) for t in vocabulary]
    line = "The pear."
    ids = [unescaped.index(c) for c in line] + [unescaped.index("\n")]
    start = unescaped.index(config["start_token"].replace("\\n", "\n")) if config.get("start_token") else None
    expected, log_probabilities = pytorch_log_probability(exported, ids, start)
    found = recur_log_probability("shakespeare.recur", line)
    say(f"2. Recur → PyTorch: load_state_dict strict, log P({line!r}) PyTorch {expected:.6f}, recur score {found:.6f}")
    assert abs(found - expected) <= 1e-4 * len(ids), "PyTorch differs from recur score"

    # 3. Recur → ONNX
    recur("export-onnx", "shakespeare.recur", "--output", "shakespeare.onnx")
    exec(blocks[2][1], namespace)
    logits = namespace["logits"]
    tokens = namespace["tokens"]
    assert logits.shape == (3, 1, len(tokens)), logits.shape
    log_softmax = torch.log_softmax(torch.tensor(logits), dim=-1)
    onnx_value = float(log_softmax[1, 0, tokens.index("h")] + log_softmax[0, 0, tokens.index("T")])
    pytorch_value = float(log_probabilities[0, unescaped.index("T")] + log_probabilities[1, unescaped.index("h")])
    say(f"3. Recur → ONNX: logits {list(logits.shape)}, log P(T, h | start) onnxruntime {onnx_value:.6f}, "
        f"PyTorch {pytorch_value:.6f}")
    assert abs(onnx_value - pytorch_value) < 1e-4, "onnxruntime differs from PyTorch"
    say("every Python sample ran as written and agreed with recur")
    (ROOT / "Scripts" / "check_documentation_python.out").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
