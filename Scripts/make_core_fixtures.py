#!/usr/bin/env python3
"""Writes Tests/RecurCoreTests/Fixtures/core.json: reference values RecurCore's tests compare against.

An independent reference for the core numerics, computed here without Recur's code:
- xoshiro256** seeded by SplitMix64 (a plain-Python transcription of the published algorithms),
  its unit floats (top 24 bits · 2^-24) and polar-method normals (Python's math.log);
- softmax and log-softmax of a few rows, with numpy in float64.

Run from the repository root:  python3 Scripts/make_core_fixtures.py
"""
import json
import math
import pathlib

import numpy as np

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro256starstar(seed):
    mixer = splitmix64(seed)
    s = [next(mixer) for _ in range(4)]
    while True:
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        yield result


def unit_double(bits):
    return (bits >> 11) * 2.0**-53


def normals(seed, count):
    stream = xoshiro256starstar(seed)
    out = []
    while len(out) < count:
        u = 2 * unit_double(next(stream)) - 1
        v = 2 * unit_double(next(stream)) - 1
        s = u * u + v * v
        if 0 < s < 1:
            out.append(u * math.sqrt(-2 * math.log(s) / s))
    return out


def main():
    fixtures = {"generator": [], "softmax": []}
    for seed in [0, 1, 42, 2**64 - 1]:
        stream = xoshiro256starstar(seed)
        words = [next(stream) for _ in range(6)]
        floats_stream = xoshiro256starstar(seed)
        floats = [(next(floats_stream) >> 40) * 2.0**-24 for _ in range(4)]
        fixtures["generator"].append({
            "seed": str(seed),
            "words": [str(w) for w in words],
            "unit_floats": floats,
            "normals": normals(seed, 5),
        })
    rows = np.array([[1.0, 2.0, 3.0, 4.0, 5.0],
                     [-3.5, 0.25, 0.0, 7.0, -1.0],
                     [80.0, 79.0, -80.0, 0.5, 81.0]], dtype=np.float64)
    shifted = rows - rows.max(axis=1, keepdims=True)
    soft = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    log_soft = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    fixtures["softmax"] = {"input": rows.tolist(), "softmax": soft.tolist(), "log_softmax": log_soft.tolist()}
    path = pathlib.Path(__file__).resolve().parent.parent / "Tests/RecurCoreTests/Fixtures/core.json"
    path.write_text(json.dumps(fixtures, indent=1) + "\n")
    print(f"wrote {path.relative_to(pathlib.Path.cwd()) if path.is_relative_to(pathlib.Path.cwd()) else path}")


if __name__ == "__main__":
    main()
