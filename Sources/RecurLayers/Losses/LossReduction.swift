import RecurCore

/// How per-token losses become one number. The seed sums over time, `L = Σ_t L<t>`; the means divide that
/// sum by the tokens or by the sequences that count.
public enum LossReduction: String, Codable, CaseIterable, Sendable {
    /// Σ over every counted token (the course's L, summed over the batch too).
    case sum
    /// The sum over the number of counted tokens (PyTorch's `reduction="mean"` for cross-entropy).
    case meanPerToken = "mean-per-token"
    /// The sum over the number of sequences with at least one counted token (L per sequence, averaged).
    case meanPerSequence = "mean-per-sequence"
}

/// Which rows of a loss count, and the weight each gets from the reduction.
///
/// Rows are laid out time-major as the recurrent layers return them: row t·B + b is position t of sequence b.
/// With `lengths`, row t·B + b counts when t < lengths[b]; without, every row counts.
struct CountedRows {
    /// Indices of the rows that count, ascending.
    let rows: [Int]
    /// The reduction's factor for each counted row (the same for all).
    let weight: Double
    let sequenceCount: Int

    /// - Parameters: rowCount N = T·B; batchSize B (N for a plain [N, ...] input); lengths per sequence or nil.
    init(rowCount: Int, batchSize: Int, lengths: [Int]?, reduction: LossReduction) {
        let b = max(1, batchSize)
        if let lengths {
            require(lengths.count == b, "loss: \(lengths.count) lengths for a batch of \(b)")
            require(lengths.allSatisfy { $0 >= 0 && $0 <= rowCount / b },
                    "loss: every length must be in 0…\(rowCount / b), got \(lengths)")
            rows = (0..<rowCount).filter { $0 / b < lengths[$0 % b] }
            sequenceCount = lengths.filter { $0 > 0 }.count
        } else {
            rows = Array(0..<rowCount)
            sequenceCount = rowCount == 0 ? 0 : b
        }
        switch reduction {
        case .sum: weight = 1
        case .meanPerToken: weight = rows.isEmpty ? 0 : 1 / Double(rows.count)
        case .meanPerSequence: weight = sequenceCount == 0 ? 0 : 1 / Double(sequenceCount)
        }
    }
}

/// The value of a loss and what it was reduced over.
public struct LossValue: Sendable, Equatable {
    /// The reduced loss (natural log units).
    public var value: Double
    /// Σ of the per-token losses, before the reduction: value × tokens for `.meanPerToken`.
    public var total: Double
    /// Counted tokens (rows).
    public var tokens: Int

    /// A loss of `value` after the reduction, `total` before it, over `tokens`.
    public init(value: Double, total: Double, tokens: Int) {
        self.value = value
        self.total = total
        self.tokens = tokens
    }
}
