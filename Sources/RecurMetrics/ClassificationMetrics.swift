import Foundation

/// How well predicted classes match the true ones: the confusion matrix and everything read from it —
/// accuracy, each class's precision, recall and F1, and their macro average — with scikit-learn's definitions
/// (a ratio whose denominator is zero counts as 0, as `zero_division=0` does), checked against it by a fixture.
///
///     confusion[i][j]   examples of true class i predicted as class j
///     precision_j       confusion[j][j] / Σ_i confusion[i][j]
///     recall_j          confusion[j][j] / Σ_k confusion[j][k]
///     F1_j              2 · precision_j · recall_j / (precision_j + recall_j)
///     macro-F1          the mean of F1_j over every class, present or not
public struct ClassificationMetrics: Equatable, Sendable {
    /// One class's scores.
    public struct ClassScores: Codable, Equatable, Sendable {
        /// The class's name.
        public var label: String
        /// Of the examples predicted as this class, the share that are.
        public var precision: Double
        /// Of the examples of this class, the share predicted as it.
        public var recall: Double
        /// The harmonic mean of precision and recall.
        public var f1: Double
        /// How many examples of this class there are.
        public var support: Int
    }

    /// The classes, by index.
    public let labels: [String]
    /// [K, K]: `confusion[i][j]` counts the examples of true class i predicted as class j.
    public let confusion: [[Int]]

    /// The metrics of predictions against the truth.
    /// - Parameters:
    ///   - labels: the K class names; indices in `truth` and `predicted` are into it.
    ///   - truth: each example's true class.
    ///   - predicted: each example's predicted class, as many as `truth`.
    public init(labels: [String], truth: [Int], predicted: [Int]) {
        precondition(truth.count == predicted.count, "\(truth.count) true classes but \(predicted.count) predictions")
        let k = labels.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) {
            precondition(labels.indices.contains(t) && labels.indices.contains(p), "class \(t) or \(p) is not one of the \(k)")
            confusion[t][p] += 1
        }
        self.init(labels: labels, confusion: confusion)
    }

    /// The metrics of a confusion matrix, [K, K] for the K `labels`.
    public init(labels: [String], confusion: [[Int]]) {
        precondition(confusion.count == labels.count && confusion.allSatisfy { $0.count == labels.count },
                     "a confusion matrix of \(labels.count) classes is \(labels.count)×\(labels.count)")
        self.labels = labels
        self.confusion = confusion
    }

    /// How many examples there are.
    public var count: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The share of examples predicted as their true class (0 for none).
    public var accuracy: Double {
        let correct = labels.indices.reduce(0) { $0 + confusion[$1][$1] }
        return Self.ratio(correct, count)
    }

    /// Every class's precision, recall, F1 and support, in `labels` order.
    public var perClass: [ClassScores] {
        labels.indices.map { j in
            let predicted = labels.indices.reduce(0) { $0 + confusion[$1][j] }
            let support = confusion[j].reduce(0, +)
            let precision = Self.ratio(confusion[j][j], predicted), recall = Self.ratio(confusion[j][j], support)
            let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
            return ClassScores(label: labels[j], precision: precision, recall: recall, f1: f1, support: support)
        }
    }

    /// The mean F1 over every class (scikit-learn's `f1_score(average="macro")`).
    public var macroF1: Double {
        labels.isEmpty ? 0 : perClass.reduce(0) { $0 + $1.f1 } / Double(labels.count)
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }

    /// A table for a terminal: accuracy and macro-F1, each class's scores, then the confusion matrix (rows: the
    /// truth; columns: the prediction).
    public func text() -> String {
        let width = max(5, labels.map(\.count).max() ?? 0)
        func padded(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var lines = [String(format: "accuracy %.2f %% · macro-F1 %.2f %% · %d examples", 100 * accuracy, 100 * macroF1, count), ""]
        lines.append(padded("class", width) + "  precision     recall         F1   support")
        for scores in perClass {
            lines.append(padded(scores.label, width) + String(format: "  %8.2f %%  %8.2f %%  %8.2f %%  %8d",
                                                              100 * scores.precision, 100 * scores.recall, 100 * scores.f1,
                                                              scores.support))
        }
        lines.append("")
        let cell = max(width, String(confusion.flatMap { $0 }.max() ?? 0).count) + 2
        lines.append(padded("true \\ predicted", width) + labels.map { padded($0, cell) }.joined())
        for (i, row) in confusion.enumerated() {
            lines.append(padded(labels[i], width) + row.map { padded(String($0), cell) }.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The confusion matrix as an SVG picture: one square per (true, predicted) pair, darker for more examples,
    /// each row shaded by its own total so that rare classes show as clearly as common ones.
    public func svg(title: String = "Confusion matrix") -> String {
        let k = labels.count, size = 48, margin = 8 * max(5, labels.map(\.count).max() ?? 0) + 16, top = 56
        let width = margin + k * size + 16, height = top + k * size + 40
        func escaped(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<text x=\"\(margin)\" y=\"20\" font-size=\"14\">\(escaped(title))</text>\n"
        svg += "<text x=\"\(margin)\" y=\"40\" fill=\"#555\">rows: true class · columns: predicted class</text>\n"
        for i in 0..<k {
            let total = max(1, confusion[i].reduce(0, +))
            svg += "<text x=\"\(margin - 6)\" y=\"\(top + i * size + size / 2 + 4)\" text-anchor=\"end\">\(escaped(labels[i]))</text>\n"
            for j in 0..<k {
                let shade = Double(confusion[i][j]) / Double(total)
                let level = Int((1 - shade) * 255)
                let fill = "rgb(\(level),\(level),255)", ink = shade > 0.5 ? "#fff" : "#000"
                svg += "<rect x=\"\(margin + j * size)\" y=\"\(top + i * size)\" width=\"\(size)\" height=\"\(size)\" fill=\"\(fill)\" stroke=\"#ccc\"/>"
                svg += "<text x=\"\(margin + j * size + size / 2)\" y=\"\(top + i * size + size / 2 + 4)\" text-anchor=\"middle\" fill=\"\(ink)\">\(confusion[i][j])</text>\n"
            }
            svg += "<text x=\"\(margin + i * size + size / 2)\" y=\"\(top + k * size + 16)\" text-anchor=\"middle\">\(escaped(labels[i]))</text>\n"
        }
        return svg + "</svg>\n"
    }
}

extension ClassificationMetrics: Codable {
    private enum CodingKeys: String, CodingKey { case accuracy, macroF1, perClass, confusion, labels }

    /// Reads what `encode(to:)` writes (the confusion matrix and labels decide everything else).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(labels: try c.decode([String].self, forKey: .labels), confusion: try c.decode([[Int]].self, forKey: .confusion))
    }

    /// The metrics as JSON: `accuracy`, `macro_f1`, `per_class` (each `label`, `precision`, `recall`, `f1`,
    /// `support`), `confusion` and `labels` (with `RecurJSON`'s snake-case keys).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accuracy, forKey: .accuracy)
        try c.encode(macroF1, forKey: .macroF1)
        try c.encode(perClass, forKey: .perClass)
        try c.encode(confusion, forKey: .confusion)
        try c.encode(labels, forKey: .labels)
    }
}
