/// One minibatch of token sequences, laid out time-major as the recurrent layers take them.
///
///     inputs   [T, B]   token ids; −1 is "no token" (a zero input vector, the course's x<1> = 0)
///     targets  [T, B]   the token each position should predict
///     lengths  [B]      positions that count in each sequence (those past it are padding)
public struct TokenBatch: Sendable, Equatable {
    /// T, the positions of the longest sequence.
    public var steps: Int
    /// B, the sequences.
    public var batchSize: Int
    /// [T, B] input ids, position t·B + b; −1 reads a zero vector.
    public var inputs: [Int]
    /// [T, B] target ids, position t·B + b.
    public var targets: [Int]
    /// [B] positions that count in each sequence.
    public var lengths: [Int]
    /// Sequences whose state starts from zero here (the rest continue from the previous batch's final state).
    public var resets: [Bool]

    /// A batch; inputs and targets must hold T·B ids, lengths and resets B entries.
    public init(steps: Int, batchSize: Int, inputs: [Int], targets: [Int], lengths: [Int], resets: [Bool]) {
        precondition(inputs.count == steps * batchSize && targets.count == steps * batchSize,
                     "a batch of \(steps)×\(batchSize) needs that many inputs and targets")
        precondition(lengths.count == batchSize && resets.count == batchSize, "one length and one reset per sequence")
        self.steps = steps
        self.batchSize = batchSize
        self.inputs = inputs
        self.targets = targets
        self.lengths = lengths
        self.resets = resets
    }

    /// Positions that count: Σ lengths.
    public var tokenCount: Int { lengths.reduce(0, +) }

    /// Packs sequences of (inputs, targets) side by side, padded to the longest.
    public static func packing(_ sequences: [(inputs: [Int], targets: [Int])], resets: [Bool]) -> TokenBatch {
        let steps = sequences.map(\.inputs.count).max() ?? 0, b = sequences.count
        var inputs = [Int](repeating: -1, count: steps * b), targets = [Int](repeating: 0, count: steps * b)
        for (column, sequence) in sequences.enumerated() {
            for t in sequence.inputs.indices {
                inputs[t * b + column] = sequence.inputs[t]
                targets[t * b + column] = sequence.targets[t]
            }
        }
        return TokenBatch(steps: steps, batchSize: b, inputs: inputs, targets: targets,
                          lengths: sequences.map(\.inputs.count), resets: resets)
    }
}

/// A minibatch the `Trainer` can take a step on, whatever the task: token windows for a language model, labelled
/// sentences for a classifier, tagged sentences for a tagger.
public protocol TrainingBatch: Sendable {
    /// How many of the batch's own units (tokens, sequences, frames) it trains on: what the progress counts.
    var unitCount: Int { get }
}

extension TokenBatch: TrainingBatch {
    /// Positions that count: a language model's unit is the token.
    public var unitCount: Int { tokenCount }
}

/// Where training data comes from: a fixed number of batches per epoch, each a pure function of
/// (epoch, index), so a run resumed at any step sees exactly the batches an uninterrupted one would.
public protocol BatchSource<Batch>: Sendable {
    /// The kind of batch it gives.
    associatedtype Batch: TrainingBatch
    /// Batches in one pass over the data.
    var batchesPerEpoch: Int { get }
    /// Sequences per batch (the carried state's B).
    var batchSize: Int { get }
    /// Batch `index` of `epoch`.
    func batch(epoch: Int, index: Int) -> Batch
}
