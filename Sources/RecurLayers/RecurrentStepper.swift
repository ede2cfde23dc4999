import RecurCore

/// Runs a unidirectional network one time step at a time, carrying its state — what sampling does.
///
/// Inference only: nothing is kept for a backward pass, and the weights are packed once, when the stepper
/// is made, so each step only streams them through the products. The stepper holds a copy of the weights:
/// make a new one after the network's parameters change.
///
///     let stepper = RecurrentStepper(network, batchSize: 1)
///     var y = stepper.step(x0)          // x0 [1, D] → y [1, H]
///     y = stepper.step(x1)              // continues from the state after x0
public final class RecurrentStepper {
    /// The network's configuration.
    public let configuration: RecurrentConfiguration
    /// B, the sequences stepped together.
    public let batchSize: Int
    /// The state after the last step, [L, B, H] (zeros at first).
    public var state: RecurrentState {
        didSet {
            let shape = [configuration.layers, batchSize, configuration.hiddenSize]
            require(state.hidden.shape == shape && (configuration.cell != .lstm || state.cellState?.shape == shape),
                    "a stepper's state must be \(shape) (with a cell state for an LSTM)")
        }
    }
    private let weights: [Tensor]
    private let prepared: [PreparedDirection<Float>]
    private let settings: ComputeSettings

    /// A stepper over a unidirectional `network` for `batchSize` sequences, from a zero state; the weights are packed once, now.
    public init(_ network: RecurrentNetwork, batchSize: Int, settings: ComputeSettings = .current) {
        require(!network.configuration.bidirectional, "a stepper runs one step at a time, so it needs a unidirectional network")
        require(batchSize >= 1, "batchSize must be at least 1, got \(batchSize)")
        configuration = network.configuration
        self.batchSize = batchSize
        self.settings = settings
        state = network.zeroState(batchSize: batchSize)
        let weights = network.parameters.map(\.value)
        self.weights = weights
        prepared = prepareDirections(configuration, weights: weights, settings: settings)
    }

    /// Feeds one step and returns the top layer's output.
    /// - Parameter input: [B, D].
    /// - Returns: [B, H].
    @discardableResult
    public func step(_ input: Tensor) -> Tensor {
        let c = configuration
        require(input.shape == [batchSize, c.inputSize], "a step's input must be \([batchSize, c.inputSize]), got \(input.shape)")
        let batch = SequenceBatch(steps: 1, batchSize: batchSize, lengths: nil)
        let pass = RecurrentPass<Float>(configuration: c, batch: batch, keepsCache: false, settings: settings)
        var noDropout: SeededGenerator? = nil
        let (outputs, next) = runForward(pass, input: input.reshaped([1, batchSize, c.inputSize]), weights: weights,
                                         prepared: prepared, initialState: state, dropoutGenerator: &noDropout)
        state = next
        return outputs.reshaped([batchSize, c.hiddenSize])
    }

    /// Sets the state back to zeros.
    public func reset() {
        state = RecurrentState(hidden: .zeros(state.hidden.shape), cellState: state.cellState.map { .zeros($0.shape) })
    }
}
