import Foundation

/// How well predicted entities match the true ones, as conlleval and seqeval score named-entity recognition: a
/// predicted chunk counts only when its type and both its boundaries match a true chunk; tags are read into chunks
/// by conlleval's rules (`TagScheme.chunks`), so IOB1, BIO2 and IOBES tags are all scored the same way.
///
///     precision     correct chunks / predicted chunks
///     recall        correct chunks / true chunks
///     F1            2 · precision · recall / (precision + recall)      (0 when both are 0)
///     token accuracy  tokens whose predicted tag equals the true tag / tokens
///
/// Per type the same with only that type's chunks. Accumulate sentence by sentence with `add(truth:predicted:)`.
public struct ChunkMetrics: Equatable, Sendable {
    /// Counts for one entity type (or all of them).
    public struct Counts: Codable, Equatable, Sendable {
        /// Predicted chunks that match a true chunk exactly.
        public var correct = 0
        /// Predicted chunks.
        public var predicted = 0
        /// True chunks.
        public var truth = 0

        /// correct / predicted (0 for none).
        public var precision: Double { predicted == 0 ? 0 : Double(correct) / Double(predicted) }
        /// correct / true (0 for none).
        public var recall: Double { truth == 0 ? 0 : Double(correct) / Double(truth) }
        /// The harmonic mean of precision and recall (0 when both are 0).
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
    }

    /// Every type together.
    public private(set) var overall = Counts()
    /// Each entity type's counts, by type.
    public private(set) var perType: [String: Counts] = [:]
    /// Tokens scored.
    public private(set) var tokens = 0
    /// Tokens whose predicted tag is the true tag.
    public private(set) var correctTokens = 0

    /// Nothing scored yet.
    public init() {}

    /// Scores one sentence: its true and predicted tags, as many of each.
    public mutating func add(truth: [String], predicted: [String]) {
        precondition(truth.count == predicted.count, "\(truth.count) true tags but \(predicted.count) predicted")
        tokens += truth.count
        correctTokens += zip(truth, predicted).filter { $0 == $1 }.count
        let gold = TagScheme.chunks(truth), guessed = TagScheme.chunks(predicted), goldSet = Set(gold)
        for chunk in gold {
            overall.truth += 1
            perType[chunk.type, default: Counts()].truth += 1
        }
        for chunk in guessed {
            let hit = goldSet.contains(chunk) ? 1 : 0
            overall.predicted += 1
            overall.correct += hit
            perType[chunk.type, default: Counts()].predicted += 1
            perType[chunk.type, default: Counts()].correct += hit
        }
    }

    /// The metrics of whole data sets: each sentence's true and predicted tags.
    public init(truth: [[String]], predicted: [[String]]) {
        precondition(truth.count == predicted.count, "\(truth.count) true sentences but \(predicted.count) predicted")
        for (t, p) in zip(truth, predicted) { add(truth: t, predicted: p) }
    }

    /// Entity-level precision over every type.
    public var precision: Double { overall.precision }
    /// Entity-level recall over every type.
    public var recall: Double { overall.recall }
    /// Entity-level F1 over every type: the task's score.
    public var f1: Double { overall.f1 }
    /// The share of tokens tagged exactly right (NaN for none).
    public var tokenAccuracy: Double { tokens == 0 ? .nan : Double(correctTokens) / Double(tokens) }

    /// The types, sorted.
    public var types: [String] { perType.keys.sorted() }

    /// A table as conlleval prints it: the overall line, then one line per type (percentages).
    public var report: String {
        func line(_ name: String, _ c: Counts) -> String {
            "\(name.padding(toLength: 10, withPad: " ", startingAt: 0))" + [c.precision, c.recall, c.f1]
                .map { percent($0) }.joined() + "  \(c.truth) true, \(c.predicted) predicted"
        }
        var lines = ["type       precision  recall      F1", line("overall", overall)]
        lines += types.map { line($0, perType[$0]!) }
        lines.append("token accuracy \(percent(tokenAccuracy).trimmingPrefix(while: { $0 == " " })) over \(tokens) tokens")
        return lines.joined(separator: "\n")
    }

    private func percent(_ value: Double) -> String {
        let text = value.isNaN ? "n/a" : String(format: "%.2f %%", 100 * value)
        return String(repeating: " ", count: max(0, 10 - text.count)) + text
    }
}
