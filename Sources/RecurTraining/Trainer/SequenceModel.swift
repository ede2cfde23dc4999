import RecurCore
import RecurLayers

/// What the `Trainer` trains: a model that reads token batches and predicts a token at every counted position,
/// carrying a recurrent state from one batch to the next.
public protocol SequenceModel: AnyObject {
    associatedtype Configuration: Codable & Equatable & Sendable

    var configuration: Configuration { get }
    /// Every trainable parameter with its checkpoint name (e.g. `rnn.weight_ih_l0`), in a fixed order.
    var namedParameters: [(name: String, parameter: Parameter)] { get }
    /// The state a sequence starts from: zeros, [L·Dir, B, H].
    func zeroState(batchSize: Int) -> RecurrentState

    /// Forward and backward over one batch: adds dL/d(parameter) into each gradient.
    /// - Returns: the loss and every sequence's final state (for the next window).
    func lossAndGradient(_ batch: TokenBatch, initialState: RecurrentState, loss: SoftmaxCrossEntropy,
                         dropoutGenerator: inout SeededGenerator,
                         settings: ComputeSettings) -> (loss: LossValue, finalState: RecurrentState)

    /// The loss alone, without dropout or gradients (validation).
    func loss(_ batch: TokenBatch, initialState: RecurrentState, loss: SoftmaxCrossEntropy,
              settings: ComputeSettings) -> (loss: LossValue, finalState: RecurrentState)
}

extension SequenceModel {
    /// The parameters, in `namedParameters` order.
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }
    /// How many numbers the parameters hold.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}
