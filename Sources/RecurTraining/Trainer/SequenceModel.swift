import RecurCore
import RecurLayers

/// What the `Trainer` trains: any model that takes a step on a batch of its own kind and can be evaluated.
///
/// The model owns its loss: a language model's softmax cross-entropy over the next token, a classifier's over
/// the class of each sequence. A model that reads a stream in windows carries its recurrent state from one batch
/// to the next (the `carried` state, which the trainer keeps, saves in its checkpoints and hands back); a model of
/// independent sequences returns nil and carries nothing.
public protocol SequenceModel: AnyObject {
    /// What describes the model: saved in every checkpoint, and compared on resume.
    associatedtype Configuration: Codable & Equatable & Sendable
    /// The batches it trains on.
    associatedtype Batch: TrainingBatch

    /// What the model is.
    var configuration: Configuration { get }
    /// Every trainable parameter with its checkpoint name (e.g. `rnn.weight_ih_l0`), in a fixed order.
    var namedParameters: [(name: String, parameter: Parameter)] { get }

    /// Forward and backward over one batch: adds dL/d(parameter) into each parameter's gradient.
    /// - Parameters:
    ///   - batch: the batch.
    ///   - carried: the state the previous batch ended in (nil at the start, after a skipped step, or for a model
    ///     that carries none).
    ///   - reduction: how the loss is reduced over the batch.
    ///   - dropoutGenerator: the source of every dropout mask.
    ///   - settings: the kernel and the number of threads.
    /// - Returns: the loss, and the state to carry into the next batch (nil: none).
    func trainingStep(_ batch: Batch, carried: RecurrentState?, reduction: LossReduction,
                      dropoutGenerator: inout SeededGenerator,
                      settings: ComputeSettings) -> (loss: LossValue, carried: RecurrentState?)

    /// The model's loss and metrics over every batch of `data`, without dropout or gradients (validation).
    func evaluate(_ data: any BatchSource<Batch>, settings: ComputeSettings) -> Evaluation
}

extension SequenceModel {
    /// The parameters, in `namedParameters` order.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }
    /// How many numbers the parameters hold.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// What a validation measured: the loss, and the task's metrics, one of which decides which model is best.
///
/// A language model's evaluation is its loss alone (lower is better); a classifier's adds accuracy and macro-F1
/// and is judged by one of them (higher is better). The primary value drives the best checkpoint, early stopping
/// and the reduce-on-plateau schedule; the log records every metric.
public struct Evaluation: Sendable, Equatable {
    /// The mean loss per unit (nats per token for a language model).
    public var loss: Double
    /// The task's metrics by name (snake case, as they appear in logs), e.g. `accuracy`; empty for loss alone.
    public var metrics: [String: Double]
    /// The metric that decides which model is best: `"loss"` or a key of `metrics`.
    public var primary: String
    /// Whether a larger primary value is better (false for a loss).
    public var higherIsBetter: Bool

    /// An evaluation judged by its loss, lower being better.
    public init(loss: Double) {
        self.init(loss: loss, metrics: [:], primary: "loss", higherIsBetter: false)
    }

    /// An evaluation judged by `primary`, a key of `metrics` (or `"loss"`).
    public init(loss: Double, metrics: [String: Double], primary: String, higherIsBetter: Bool) {
        precondition(primary == "loss" || metrics[primary] != nil, "the primary metric \(primary) is not among \(metrics.keys.sorted())")
        self.loss = loss
        self.metrics = metrics
        self.primary = primary
        self.higherIsBetter = higherIsBetter
    }

    /// The value of the primary metric.
    public var primaryValue: Double { primary == "loss" ? loss : metrics[primary]! }

    /// The primary value turned so that lower is always better (what the plateau schedule and the comparisons use).
    public var score: Double { higherIsBetter ? -primaryValue : primaryValue }
}

extension RecurrentState {
    /// This state for the next batch: each sequence b's rows, [L·Dir, B, H], zeroed wherever `resets[b]`.
    public func resetting(_ resets: [Bool]) -> RecurrentState {
        guard resets.contains(true) else { return self }
        func zeroed(_ tensor: Tensor) -> Tensor {
            var result = tensor
            let b = tensor.shape[1], h = tensor.shape[2]
            result.withUnsafeMutableBufferPointer { values in
                for slab in 0..<tensor.shape[0] {
                    for row in 0..<b where resets[row] {
                        for k in 0..<h { values[(slab * b + row) * h + k] = 0 }
                    }
                }
            }
            return result
        }
        return RecurrentState(hidden: zeroed(hidden), cellState: cellState.map(zeroed))
    }
}
