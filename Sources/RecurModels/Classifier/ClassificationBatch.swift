import RecurCore
import RecurTraining

/// One minibatch of labelled sequences for a many-to-one model, time-major as the recurrent layers take them:
///
///     ids      [T, B]   token ids, position t·B + b; −1 past each sequence's length
///     lengths  [B]      each sequence's steps
///     labels   [B]      each sequence's class (single-label data)
///     targets  [B, K]   each sequence's labels as 0 or 1 (multi-label data; empty otherwise)
///
/// A classifier's unit is the sequence: the progress counts sequences.
public struct ClassificationBatch: TrainingBatch, Equatable {
    /// T, the steps of the longest sequence.
    public var steps: Int
    /// [T, B] token ids; −1 past each length.
    public var ids: [Int]
    /// [B] steps of each sequence.
    public var lengths: [Int]
    /// [B] each sequence's class (−1 for multi-label data).
    public var labels: [Int]
    /// [B·K] each sequence's labels as 0 or 1, for multi-label data; empty for single-label data.
    public var targets: [Float] = []

    /// B, the sequences.
    public var batchSize: Int { lengths.count }
    /// The sequences: what a classifier's progress counts.
    public var unitCount: Int { lengths.count }

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

    /// Multi-label sequences side by side: each with the set of its labels among `classCount`.
    public init(packing examples: [(ids: [Int], labels: Set<Int>)], classCount: Int) {
        self.init(packing: examples.map { (ids: $0.ids, label: -1) })
        var targets = [Float](repeating: 0, count: examples.count * classCount)
        for (b, example) in examples.enumerated() {
            for j in example.labels { targets[b * classCount + j] = 1 }
        }
        self.targets = targets
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
    /// For multi-label data: each example's labels, and the number of labels K.
    public let labelSets: (sets: [Set<Int>], classCount: Int)?

    /// Examples to batch.
    public init(examples: [(ids: [Int], label: Int)], batchSize: Int, shuffles: Bool = true, seed: UInt64 = 0) {
        precondition(!examples.isEmpty, "there must be at least one example")
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.examples = examples
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
        labelSets = nil
    }

    /// Multi-label examples to batch: each with the set of its labels among `classCount`.
    public init(multiLabelExamples: [(ids: [Int], labels: Set<Int>)], classCount: Int, batchSize: Int, shuffles: Bool = true,
                seed: UInt64 = 0) {
        precondition(!multiLabelExamples.isEmpty, "there must be at least one example")
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        examples = multiLabelExamples.map { (ids: $0.ids, label: -1) }
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
        labelSets = (multiLabelExamples.map(\.labels), classCount)
    }

    /// Every example once per epoch; the last batch is smaller when B does not divide their number.
    public var batchesPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }

    /// Batch `index` of `epoch`: the examples in that epoch's order.
    public func batch(epoch: Int, index: Int) -> ClassificationBatch {
        let order = epochOrder(count: examples.count, epoch: epoch, shuffles: shuffles, seed: seed)
        let chosen = order[(index * batchSize)..<min(order.count, (index + 1) * batchSize)]
        if let labelSets {
            return ClassificationBatch(packing: chosen.map { (ids: examples[$0].ids, labels: labelSets.sets[$0]) },
                                       classCount: labelSets.classCount)
        }
        return ClassificationBatch(packing: chosen.map { examples[$0] })
    }
}
