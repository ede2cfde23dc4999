import RecurCore
import RecurTraining

/// One minibatch of labelled sequences for a many-to-one model, time-major as the recurrent layers take them:
///
///     ids      [T, B]   token ids, position t·B + b; −1 past each sequence's length
///     lengths  [B]      each sequence's steps
///     labels   [B]      each sequence's class
///
/// A classifier's unit is the sequence: the progress counts sequences.
public struct ClassificationBatch: TrainingBatch, Equatable {
    /// T, the steps of the longest sequence.
    public var steps: Int
    /// [T, B] token ids; −1 past each length.
    public var ids: [Int]
    /// [B] steps of each sequence.
    public var lengths: [Int]
    /// [B] each sequence's class.
    public var labels: [Int]

    /// B, the sequences.
    public var batchSize: Int { labels.count }
    /// The sequences: what a classifier's progress counts.
    public var unitCount: Int { labels.count }

    /// Sequences of ids with their labels, side by side, padded to the longest with −1.
    public init(packing examples: [(ids: [Int], label: Int)]) {
        let b = examples.count
        steps = examples.map(\.ids.count).max() ?? 0
        var ids = [Int](repeating: -1, count: steps * b)
        for (column, example) in examples.enumerated() {
            for (t, id) in example.ids.enumerated() { ids[t * b + column] = id }
        }
        self.ids = ids
        lengths = examples.map(\.ids.count)
        labels = examples.map(\.label)
    }
}

/// Labelled sequences, shuffled each epoch with a seeded generator and cut into minibatches of B.
public struct ClassificationExamples: BatchSource {
    /// Each example's token ids and class.
    public let examples: [(ids: [Int], label: Int)]
    /// B, the examples in each batch.
    public let batchSize: Int
    /// Order: shuffled per epoch from `seed`, or as given.
    public let shuffles: Bool
    /// The seed of each epoch's shuffle.
    public let seed: UInt64

    /// Examples to batch.
    public init(examples: [(ids: [Int], label: Int)], batchSize: Int, shuffles: Bool = true, seed: UInt64 = 0) {
        precondition(!examples.isEmpty, "there must be at least one example")
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.examples = examples
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
    }

    /// Every example once per epoch; the last batch is smaller when B does not divide their number.
    public var batchesPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }

    /// Batch `index` of `epoch`: the examples in that epoch's order.
    public func batch(epoch: Int, index: Int) -> ClassificationBatch {
        let order = epochOrder(count: examples.count, epoch: epoch, shuffles: shuffles, seed: seed)
        return ClassificationBatch(packing: order[(index * batchSize)..<min(order.count, (index + 1) * batchSize)]
            .map { examples[$0] })
    }
}
