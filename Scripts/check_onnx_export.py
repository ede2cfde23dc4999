#!/usr/bin/env python3
"""Checks that `recur export-onnx` files are valid ONNX and that onnxruntime computes what Recur computes.

For each Recur model given: `recur export-onnx --softmax`, `onnx.checker.check_model` (full check, with shape
inference), then onnxruntime on all sentences at once (one ragged batch, padded, with sequence_lens), and the
log-probability of each sentence (its tokens and the end token) against `recur score --json`. Also that the
probabilities output is the softmax of the logits. Exits non-zero if a difference is above 1e-4 per token.

    swift build -c release
    ~/venv-ref/bin/python Scripts/check_onnx_export.py MODEL.recur [MODEL.recur …] [--sentence TEXT …]

The virtual environment (outside the repository) needs onnx, onnxruntime and numpy. Its output when run
before landing is kept in Scripts/check_onnx_export.out (CI has no onnxruntime).
"""
import json
import os
import subprocess
import tempfile

import numpy as np
import onnx
import onnxruntime

from recur_vocabulary import RECUR, encode, run, tokens_of


def check(model_path, sentences):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        subprocess.run([RECUR, "export-onnx", model_path, "--output", path, "--softmax"], check=True,
                       stdout=subprocess.DEVNULL)
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        metadata = {p.key: p.value for p in model.metadata_props}
        config = json.loads(metadata["configuration"])
        tokens = tokens_of(metadata["vocabulary"], config["level"])
        zero = int(metadata["zero_input_id"])
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        scores = subprocess.run([RECUR, "score", model_path, "--json", *sentences], check=True,
                                stdout=subprocess.PIPE, text=True).stdout.strip().split("\n")
        recur = {s["sentence"]: s for s in map(json.loads, scores)}
    index = {t: i for i, t in enumerate(tokens)}
    start = index[config["start_token"]] if config.get("start_token") else zero
    encoded = [encode(sentence, tokens, config) for sentence in sentences]
    steps, batch = max(map(len, encoded)), len(encoded)
    inputs = np.full((steps, batch), zero, dtype=np.int64)
    for b, ids in enumerate(encoded):
        inputs[: len(ids), b] = [start] + ids[:-1]
    lengths = np.array([len(ids) for ids in encoded], dtype=np.int32)
    logits, probabilities = session.run(["logits", "probabilities"], {"tokens": inputs, "sequence_lens": lengths})
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    softmax_error = float(np.abs(np.exp(log_probabilities) - probabilities).max())
    worst = 0.0
    for b, (sentence, ids) in enumerate(zip(sentences, encoded)):
        total = float(sum(log_probabilities[t, b, token] for t, token in enumerate(ids)))
        per_token = abs(total - recur[sentence]["log_probability"]) / len(ids)
        worst = max(worst, per_token)
        print(f"  {sentence!r}: onnxruntime {total:.6f}, Recur {recur[sentence]['log_probability']:.6f} "
              f"({len(ids)} tokens, {per_token:.2e} per token)")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{os.path.basename(model_path)}: {config['cell']} {config['layers']}×{config['hidden_size']}, "
          f"{config['level']} level, start {config.get('start_token')!r}, ops {ops}, opset "
          f"{model.opset_import[0].version}: largest difference {worst:.2e} per token; softmax output off by "
          f"{softmax_error:.1e}")
    return max(worst, softmax_error)


if __name__ == "__main__":
    run(check, f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
