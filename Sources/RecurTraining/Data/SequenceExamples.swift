import RecurCore

/// Independent sequences, shuffled each epoch with a seeded generator and cut into minibatches: one name
/// per step for the dinosaur exercise, or B lines per step for a language model trained with `--layout lines`.
public struct SequenceExamples: BatchSource {
    /// Each example's inputs and targets (the same length).
    public let examples: [(inputs: [Int], targets: [Int])]
    /// B, the examples in each batch.
    public let batchSize: Int
    /// Order: shuffled per epoch from `seed`, or as given.
    public let shuffles: Bool
    /// The seed of each epoch's shuffle.
    public let seed: UInt64
    /// Start each batch from the previous batch's final state instead of zeros (the course's dinosaur
    /// model carries `a_prev` from one name to the next); only the very first batch starts from zeros.
    public let carriesState: Bool

    /// Examples to batch; each example's inputs and targets must be the same length.
    public init(examples: [(inputs: [Int], targets: [Int])], batchSize: Int, shuffles: Bool = true, seed: UInt64 = 0,
                carriesState: Bool = false) {
        precondition(!examples.isEmpty, "there must be at least one example")
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        precondition(examples.allSatisfy { $0.inputs.count == $0.targets.count },
                     "each example needs as many targets as inputs")
        self.examples = examples
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
        self.carriesState = carriesState
    }

    /// Every example once per epoch; the last batch is smaller when B does not divide their number.
    public var batchesPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }

    /// The order of the examples in `epoch` (see `epochOrder(count:epoch:shuffles:seed:)`).
    public func order(epoch: Int) -> [Int] {
        epochOrder(count: examples.count, epoch: epoch, shuffles: shuffles, seed: seed)
    }

    /// Batch `index` of `epoch`: the examples in that epoch's order, padded to the longest.
    public func batch(epoch: Int, index: Int) -> TokenBatch {
        let order = order(epoch: epoch)
        let chosen = order[(index * batchSize)..<min(order.count, (index + 1) * batchSize)].map { examples[$0] }
        let fresh = !carriesState || (epoch == 0 && index == 0)
        return TokenBatch.packing(chosen, resets: Array(repeating: fresh, count: chosen.count))
    }
}

/// The order of `count` examples in `epoch`: as given, or a Fisher–Yates shuffle drawn from a generator seeded by
/// (seed, epoch), so that the order of any epoch is known without the ones before it (exact resume).
public func epochOrder(count: Int, epoch: Int, shuffles: Bool, seed: UInt64) -> [Int] {
    var order = Array(0..<count)
    guard shuffles else { return order }
    var generator = SeededGenerator(seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(epoch + 1))
    for i in stride(from: order.count - 1, to: 0, by: -1) {
        order.swapAt(i, Int(generator.next() % UInt64(i + 1)))
    }
    return order
}
