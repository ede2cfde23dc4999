#!/usr/bin/env python3
"""Reference values for RecurMetrics from scikit-learn: accuracy, per-class precision/recall/F1/support, macro-F1
and the confusion matrix of seeded random predictions, including classes that are never predicted and classes
absent from the truth (where scikit-learn's zero_division=0 makes the ratio 0).

    ~/venv-ref/bin/pip install scikit-learn numpy
    ~/venv-ref/bin/python Scripts/make_metric_fixtures.py     # writes Tests/RecurMetricsTests/Fixtures/classification.json
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

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


if __name__ == "__main__":
    main()
