#!/usr/bin/env python3
"""Reference values for Recur's LinearChainCRF from pytorch-crf: the log-likelihood of gold tags over a ragged
batch, its gradients with respect to the emissions and the three score tensors (autograd, float64), and the
Viterbi paths.

    ~/venv-ref/bin/pip install 'torch==2.13.0+cpu' pytorch-crf
    ~/venv-ref/bin/python Scripts/make_crf_fixtures.py     # writes Tests/RecurLayersTests/Fixtures/crf.json
"""
import json
import pathlib

import torch
from torchcrf import CRF

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    torch.manual_seed(3)
    steps, batch, tags = 5, 3, 4
    lengths = [5, 3, 1]
    crf = CRF(tags).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.uniform_(-1, 1)
    emissions = torch.randn(steps, batch, tags, dtype=torch.float64, requires_grad=True)
    gold = torch.randint(0, tags, (steps, batch))
    mask = torch.tensor([[t < n for n in lengths] for t in range(steps)], dtype=torch.bool)
    log_likelihood = crf(emissions, gold, mask=mask, reduction="sum")
    (-log_likelihood).backward()
    paths = crf.decode(emissions.detach(), mask=mask)
    out = {
        "steps": steps, "batch_size": batch, "tag_count": tags, "lengths": lengths,
        "emissions": emissions.detach().flatten().tolist(), "tags": gold.flatten().tolist(),
        "transitions": crf.transitions.detach().flatten().tolist(),
        "start_transitions": crf.start_transitions.detach().tolist(),
        "end_transitions": crf.end_transitions.detach().tolist(),
        "negative_log_likelihood": -float(log_likelihood.detach()),
        "emission_gradient": emissions.grad.flatten().tolist(),
        "transitions_gradient": crf.transitions.grad.flatten().tolist(),
        "start_transitions_gradient": crf.start_transitions.grad.tolist(),
        "end_transitions_gradient": crf.end_transitions.grad.tolist(),
        "paths": paths,
    }
    path = ROOT / "Tests" / "RecurLayersTests" / "Fixtures" / "crf.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}: torch {torch.__version__}")


if __name__ == "__main__":
    main()
