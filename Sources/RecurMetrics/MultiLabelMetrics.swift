import Foundation

/// How well predicted label sets match the true ones when an example can have any number of labels, with
/// scikit-learn's definitions on multi-hot rows (a ratio whose denominator is zero counts as 0), checked against it
/// by a fixture:
///
///     tp_j, fp_j, fn_j     examples where label j is true and predicted, predicted only, true only
///     precision_j          tp_j / (tp_j + fp_j),  recall_j = tp_j / (tp_j + fn_j),  F1_j their harmonic mean
///     micro-F1             2 Σtp / (2 Σtp + Σfp + Σfn)
///     macro-F1             the mean of F1_j over every label
///     subset accuracy      the share of examples whose predicted set is exactly the true set
///     Hamming loss         the share of (example, label) pairs predicted wrong
public struct MultiLabelMetrics: Equatable, Sendable {
    /// The labels, by index.
    public let labels: [String]
    /// Per label: true positives, false positives, false negatives.
    public let counts: [(truePositives: Int, falsePositives: Int, falseNegatives: Int)]
    /// Examples scored.
    public let count: Int
    /// Examples whose predicted set equals the true set.
    public let exactMatches: Int

    /// The metrics of predicted label sets against the true ones (indices into `labels`).
    public init(labels: [String], truth: [Set<Int>], predicted: [Set<Int>]) {
        precondition(truth.count == predicted.count, "\(truth.count) true label sets but \(predicted.count) predicted")
        var counts = [(truePositives: Int, falsePositives: Int, falseNegatives: Int)](repeating: (0, 0, 0), count: labels.count)
        for (t, p) in zip(truth, predicted) {
            for j in t.union(p) {
                precondition(labels.indices.contains(j), "label \(j) is not one of the \(labels.count)")
                switch (t.contains(j), p.contains(j)) {
                case (true, true): counts[j].truePositives += 1
                case (false, true): counts[j].falsePositives += 1
                default: counts[j].falseNegatives += 1
                }
            }
        }
        self.labels = labels
        self.counts = counts
        count = truth.count
        exactMatches = zip(truth, predicted).filter { $0 == $1 }.count
    }

    public static func == (lhs: MultiLabelMetrics, rhs: MultiLabelMetrics) -> Bool {
        lhs.labels == rhs.labels && lhs.count == rhs.count && lhs.exactMatches == rhs.exactMatches
            && zip(lhs.counts, rhs.counts).allSatisfy { $0 == $1 }
    }

    /// Each label's precision, recall, F1 and support (examples that have it).
    public var perLabel: [ClassificationMetrics.ClassScores] {
        labels.indices.map { j in
            let c = counts[j]
            let precision = Self.ratio(c.truePositives, c.truePositives + c.falsePositives)
            let recall = Self.ratio(c.truePositives, c.truePositives + c.falseNegatives)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return .init(label: labels[j], precision: precision, recall: recall, f1: f1, support: c.truePositives + c.falseNegatives)
        }
    }

    /// F1 over every (example, label) decision pooled (scikit-learn's `average="micro"`).
    public var microF1: Double {
        let tp = counts.reduce(0) { $0 + $1.truePositives }, wrong = counts.reduce(0) { $0 + $1.falsePositives + $1.falseNegatives }
        return Self.ratio(2 * tp, 2 * tp + wrong)
    }

    /// The mean F1 over every label (scikit-learn's `average="macro"`).
    public var macroF1: Double { labels.isEmpty ? 0 : perLabel.reduce(0) { $0 + $1.f1 } / Double(labels.count) }

    /// The share of examples predicted exactly (scikit-learn's `accuracy_score` on multi-hot rows).
    public var subsetAccuracy: Double { Self.ratio(exactMatches, count) }

    /// The share of (example, label) pairs predicted wrong.
    public var hammingLoss: Double {
        Self.ratio(counts.reduce(0) { $0 + $1.falsePositives + $1.falseNegatives }, count * labels.count)
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }

    /// A table for a terminal: the overall figures, then each label's scores.
    public func text() -> String {
        let width = max(5, labels.map(\.count).max() ?? 0)
        func padded(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var lines = [String(format: "micro-F1 %.2f %% · macro-F1 %.2f %% · subset accuracy %.2f %% · Hamming loss %.4f · %d examples",
                            100 * microF1, 100 * macroF1, 100 * subsetAccuracy, hammingLoss, count), ""]
        lines.append(padded("label", width) + "  precision     recall         F1   support")
        for scores in perLabel {
            lines.append(padded(scores.label, width) + String(format: "  %8.2f %%  %8.2f %%  %8.2f %%  %8d",
                                                              100 * scores.precision, 100 * scores.recall, 100 * scores.f1,
                                                              scores.support))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
