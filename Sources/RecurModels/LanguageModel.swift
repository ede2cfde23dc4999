import RecurCore
import RecurLayers
import RecurTraining

/// What a `LanguageModel` is made of.
public struct LanguageModelConfiguration: Codable, Equatable, Sendable {
    /// How the weights start.
    public enum Initialization: Codable, Equatable, Sendable {
        /// PyTorch's defaults: recurrent and output weights uniform in ±1/√fan, the embedding standard normal.
        case pytorch
        /// Every parameter uniform in ±scale (Zaremba et al. use 0.1).
        case uniform(scale: Double)
        /// Weights normal with this standard deviation, biases zero (the course's `np.random.randn(…) * 0.01`).
        case normal(standardDeviation: Double)
    }

    /// V.
    public var vocabularySize: Int
    /// E, the size of the learned token vectors; nil feeds one-hot vectors of size V (the course's `x<t>`).
    public var embeddingSize: Int?
    /// The recurrent layers; their `inputSize` must be E (or V for one-hot input).
    public var recurrent: RecurrentConfiguration
    /// How the parameters are drawn.
    public var initialization: Initialization
    /// What the model reads before a sequence's first token: this token of its vocabulary (a model trained on
    /// a stream reads the end token of the line before), or, when nil, the zero vector (the course's `x<1>` = 0).
    public var startToken: String?

    /// A configuration; `problems` lists what does not fit together.
    public init(vocabularySize: Int, embeddingSize: Int?, recurrent: RecurrentConfiguration,
                initialization: Initialization = .pytorch, startToken: String? = nil) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.recurrent = recurrent
        self.initialization = initialization
        self.startToken = startToken
    }

    /// Everything wrong with it, one sentence each.
    public var problems: [String] {
        var found = TokenInput.problems(vocabularySize: vocabularySize, embeddingSize: embeddingSize, recurrent: recurrent)
        if recurrent.bidirectional { found.append("a language model reads left to right; it cannot be bidirectional") }
        return found
    }
}

/// A recurrent language model, the course's: each token `x<t>` (one-hot, or its learned embedding) goes through the
/// recurrent layers, and a softmax over the vocabulary predicts the next token from their output:
///
///     e<t>  = E[x<t>]                  (or the one-hot vector itself)
///     a<t>  = RNN(e<t>, a<t-1>)        (any cell, stacked)
///     ŷ<t>  = softmax(W_ya a<t> + b_y)
///     L     = Σ_t −log ŷ<t>[y<t>]
///
/// Parameters are named as a PyTorch module with `embedding`, `rnn` and `decoder` attributes would name them
/// (`embedding.weight`, `rnn.weight_ih_l0`, …, `decoder.weight`, `decoder.bias`).
public final class LanguageModel: SequenceModel {
    /// What the model is.
    public let configuration: LanguageModelConfiguration
    /// The token vectors, [V, E]; nil for one-hot input.
    public let embedding: Embedding?
    /// The recurrent layers.
    public let network: RecurrentNetwork
    /// The output layer, H → V.
    public let decoder: Linear

    /// A model initialized as `configuration.initialization` says, drawing from `generator`.
    public init(_ configuration: LanguageModelConfiguration, using generator: inout SeededGenerator) {
        require(configuration.problems.isEmpty, "language model: " + configuration.problems.joined(separator: "; "))
        self.configuration = configuration
        let v = configuration.vocabularySize
        embedding = configuration.embeddingSize.map { Embedding(vocabularySize: v, embeddingSize: $0, using: &generator) }
        network = RecurrentNetwork(configuration.recurrent, using: &generator)
        decoder = Linear(inputSize: configuration.recurrent.outputSize, outputSize: v, namePrefix: "", using: &generator)
        switch configuration.initialization {
        case .pytorch:
            break
        case .uniform(let scale):
            let bound = Float(scale)
            for (_, p) in namedParameters { p.value = .uniform(p.value.shape, in: -bound...bound, using: &generator) }
        case .normal(let deviation):
            for (name, p) in namedParameters {
                p.value = name.contains("bias") ? .zeros(p.value.shape)
                    : .normal(p.value.shape, standardDeviation: Float(deviation), using: &generator)
            }
        }
    }

    /// Every parameter with its PyTorch-style name: `embedding.weight`, `rnn.weight_ih_l0`, …, `decoder.bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var all: [(String, Parameter)] = []
        if let embedding { all.append(("embedding.weight", embedding.weight)) }
        all += network.parameters.map { ("rnn." + $0.name, $0) }
        all += decoder.parameters.map { ("decoder." + $0.name, $0) }
        return all
    }

    /// A zero state for `batchSize` sequences, [L, B, H].
    public func zeroState(batchSize: Int) -> RecurrentState { network.zeroState(batchSize: batchSize) }

    /// The recurrent input for token ids: their embeddings, or one-hot vectors. ids [T·B] → [T, B, E or V].
    public func input(_ ids: [Int], steps: Int, batchSize: Int) -> Tensor {
        TokenInput.vectors(ids, steps: steps, batchSize: batchSize, embedding: embedding, vocabularySize: configuration.vocabularySize)
    }

    /// The loss of a batch and its gradient, added into every parameter's `gradient`; and the final state.
    public func lossAndGradient(_ batch: TokenBatch, initialState: RecurrentState, loss: SoftmaxCrossEntropy,
                                dropoutGenerator: inout SeededGenerator,
                                settings: ComputeSettings = .current) -> (loss: LossValue, finalState: RecurrentState) {
        let x = input(batch.inputs, steps: batch.steps, batchSize: batch.batchSize)
        let (output, tape) = network.forward(x, lengths: batch.lengths, initialState: initialState,
                                             dropoutGenerator: &dropoutGenerator, settings: settings)
        let (value, dh) = loss.lossAndGradient(hidden: output.outputs, targets: batch.targets, lengths: batch.lengths,
                                               output: decoder, settings: settings)
        let gradient = network.backward(tape, outputGradient: dh, needsInputGradient: embedding != nil)
        if let embedding, let dx = gradient.input { embedding.backward(ids: batch.inputs, outputGradient: dx) }
        return (value, output.state)
    }

    /// The loss of a batch, without gradients or dropout; and the final state.
    public func loss(_ batch: TokenBatch, initialState: RecurrentState, loss: SoftmaxCrossEntropy,
                     settings: ComputeSettings = .current) -> (loss: LossValue, finalState: RecurrentState) {
        let x = input(batch.inputs, steps: batch.steps, batchSize: batch.batchSize)
        let output = network(x, lengths: batch.lengths, initialState: initialState, settings: settings)
        let value = loss.loss(hidden: output.outputs, targets: batch.targets, lengths: batch.lengths, output: decoder,
                              settings: settings)
        return (value, output.state)
    }

    // MARK: - Training (SequenceModel)

    /// One training step: the batch continues from `carried` (each sequence reset to zeros where the batch says
    /// it starts), the loss is the softmax cross-entropy of every next token, reduced with `reduction`.
    /// - Returns: the loss and the final state, which the next window of the stream continues from.
    public func trainingStep(_ batch: TokenBatch, carried: RecurrentState?, reduction: LossReduction,
                             dropoutGenerator: inout SeededGenerator,
                             settings: ComputeSettings) -> (loss: LossValue, carried: RecurrentState?) {
        let (value, final) = lossAndGradient(batch, initialState: startState(batch, carried: carried),
                                             loss: SoftmaxCrossEntropy(reduction: reduction),
                                             dropoutGenerator: &dropoutGenerator, settings: settings)
        return (value, final)
    }

    /// The mean loss per token (nats) over every batch of `data`, each batch continuing from the one before
    /// as in training; a language model is judged by its loss alone.
    public func evaluate(_ data: any BatchSource<TokenBatch>, settings: ComputeSettings) -> Evaluation {
        let loss = SoftmaxCrossEntropy(reduction: .sum)
        var total = 0.0, tokens = 0
        var state: RecurrentState? = nil
        for index in 0..<data.batchesPerEpoch {
            let batch = data.batch(epoch: 0, index: index)
            let (value, final) = self.loss(batch, initialState: startState(batch, carried: state), loss: loss,
                                           settings: settings)
            total += value.total
            tokens += value.tokens
            state = final
        }
        return Evaluation(loss: tokens == 0 ? .nan : total / Double(tokens))
    }

    /// The state a batch starts from: `carried` where it fits the batch, each sequence that starts here reset to
    /// zeros; zeros otherwise.
    private func startState(_ batch: TokenBatch, carried: RecurrentState?) -> RecurrentState {
        let zero = zeroState(batchSize: batch.batchSize)
        guard let carried, carried.hidden.shape == zero.hidden.shape else { return zero }
        return carried.resetting(batch.resets)
    }
}
