#!/usr/bin/env python3
"""Reference values for RecurMetrics.

- From scikit-learn: accuracy, per-class precision/recall/F1/support, macro-F1 and the confusion matrix of seeded
  random predictions, including classes that are never predicted and classes absent from the truth (where
  scikit-learn's zero_division=0 makes the ratio 0).
- From scikit-learn on multi-hot rows: per-label precision/recall/F1/support, micro- and macro-F1, subset
  accuracy and Hamming loss of seeded random label sets, including empty sets and a label never predicted.
- From seqeval (conlleval's rules): the entities of seeded random tag sequences in IOB1, BIO2 and IOBES, valid and
  broken (an I- after O, a type change inside an entity, E- without B-), and entity precision/recall/F1 overall and
  per type, and token accuracy, of noisy predictions.

    ~/venv-ref/bin/pip install scikit-learn numpy seqeval
    ~/venv-ref/bin/python Scripts/make_metric_fixtures.py
    # writes Tests/RecurMetricsTests/Fixtures/classification.json, multilabel.json and chunks.json
"""
import importlib.metadata
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, hamming_loss, precision_recall_fscore_support
from seqeval import metrics as seqeval_metrics
from seqeval.metrics.sequence_labeling import get_entities

ROOT = pathlib.Path(__file__).resolve().parent.parent


def case(name, k, truth, predicted):
    labels = list(range(k))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return {
        "name": name, "classes": k, "truth": [int(x) for x in truth], "predicted": [int(x) for x in predicted],
        "accuracy": float(accuracy_score(truth, predicted)),
        "precision": [float(x) for x in precision], "recall": [float(x) for x in recall],
        "f1": [float(x) for x in f1], "support": [int(x) for x in support],
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "confusion": confusion_matrix(truth, predicted, labels=labels).tolist(),
    }


def main():
    rng = np.random.default_rng(7)
    cases = []
    for name, k, n in [("binary", 2, 40), ("three classes", 3, 200), ("seven classes", 7, 500)]:
        truth = rng.integers(0, k, n)
        predicted = np.where(rng.random(n) < 0.6, truth, rng.integers(0, k, n))
        cases.append(case(name, k, truth, predicted))
    truth = rng.integers(0, 3, 60)
    cases.append(case("a class never predicted, a class never true", 4, truth, np.where(truth == 2, 0, truth)))
    cases.append(case("all correct", 3, [0, 1, 2, 2], [0, 1, 2, 2]))
    out = {"scikit_learn": sklearn.__version__, "cases": cases}
    path = ROOT / "Tests" / "RecurMetricsTests" / "Fixtures" / "classification.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}: {len(cases)} cases, scikit-learn {sklearn.__version__}")
    multilabel_fixtures(rng)
    chunk_fixtures(rng)


def multilabel_fixtures(rng):
    cases = []
    for k, n in [(3, 50), (5, 200)]:
        truth = (rng.random((n, k)) < 0.35).astype(int)
        predicted = np.where(rng.random((n, k)) < 0.75, truth, 1 - truth)
        predicted[:, k - 1] = 0                                   # a label never predicted
        precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, average=None, zero_division=0)
        cases.append({
            "labels": k, "truth": truth.tolist(), "predicted": predicted.tolist(),
            "precision": [float(x) for x in precision], "recall": [float(x) for x in recall], "f1": [float(x) for x in f1],
            "support": [int(x) for x in support],
            "micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
            "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
            "subset_accuracy": float(accuracy_score(truth, predicted)),
            "hamming_loss": float(hamming_loss(truth, predicted)),
        })
    path = ROOT / "Tests" / "RecurMetricsTests" / "Fixtures" / "multilabel.json"
    path.write_text(json.dumps({"scikit_learn": sklearn.__version__, "cases": cases}) + "\n")
    print(f"wrote {path.relative_to(ROOT)}: {len(cases)} cases")


TYPES = ["PER", "LOC", "ORG", "MISC"]


def random_tags(rng, n, prefixes):
    """n tags: O about half the time, else a random prefix and type (valid or not in any scheme)."""
    return ["O" if rng.random() < 0.5 else f"{rng.choice(prefixes)}-{rng.choice(TYPES)}" for _ in range(n)]


def noisy(rng, tags, prefixes):
    return [t if rng.random() < 0.8 else ("O" if rng.random() < 0.4 else f"{rng.choice(prefixes)}-{rng.choice(TYPES)}")
            for t in tags]


def chunk_fixtures(rng):
    sequences = []
    for prefixes in (["I", "B"], ["B", "I"], ["B", "I", "E", "S"]):
        for _ in range(40):
            sequences.append(random_tags(rng, int(rng.integers(1, 15)), prefixes))
    sequences += [["I-PER", "I-PER", "B-PER", "O", "I-LOC"], ["B-PER", "I-LOC", "E-LOC", "S-ORG", "E-ORG"], ["O"], []]
    entities = [{"tags": tags, "chunks": [[t, start, end] for t, start, end in get_entities(tags)]} for tags in sequences]
    sets = []
    for prefixes in (["I", "B"], ["B", "I"], ["B", "I", "E", "S"]):
        truth = [random_tags(rng, int(rng.integers(1, 20)), prefixes) for _ in range(30)]
        predicted = [noisy(rng, tags, prefixes) for tags in truth]
        report = seqeval_metrics.classification_report(truth, predicted, output_dict=True, zero_division=0)
        sets.append({
            "truth": truth, "predicted": predicted,
            "precision": seqeval_metrics.precision_score(truth, predicted, zero_division=0),
            "recall": seqeval_metrics.recall_score(truth, predicted, zero_division=0),
            "f1": seqeval_metrics.f1_score(truth, predicted, zero_division=0),
            "token_accuracy": seqeval_metrics.accuracy_score(truth, predicted),
            "per_type": {t: {k: float(report[t][k]) for k in ("precision", "recall", "f1-score", "support")}
                         for t in report if t in TYPES},
        })
    out = {"seqeval": importlib.metadata.version("seqeval"), "entities": entities, "scores": sets}
    path = ROOT / "Tests" / "RecurMetricsTests" / "Fixtures" / "chunks.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}: {len(entities)} tag sequences, {len(sets)} scored sets")


if __name__ == "__main__":
    main()
