import Foundation
import RecurCore
import RecurLayers
import RecurMetrics
import RecurTraining

/// What a sequence classifier is: its tokens, recurrent layers, pooling, optional hidden layer and classes.
public struct ClassifierConfiguration: Codable, Equatable, Sendable {
    /// V, the tokens it reads.
    public var vocabularySize: Int
    /// E, the size of the learned token vectors; nil feeds one-hot vectors of size V.
    public var embeddingSize: Int?
    /// The recurrent layers; their `inputSize` must be E (or V for one-hot input). Bidirectional is allowed.
    public var recurrent: RecurrentConfiguration
    /// How the outputs over time become one vector per sequence.
    public var pooling: SequencePooling
    /// The size of a tanh layer between the pooled vector and the output layer; nil for none.
    public var hiddenLayerSize: Int?
    /// K, the classes.
    public var classCount: Int
    /// Dropout on the token vectors (or one-hot inputs), while training.
    public var inputDropout: Double
    /// Dropout before the output layer, while training.
    public var outputDropout: Double
    /// Whether an example can have any number of the K labels: a sigmoid per label and binary cross-entropy,
    /// instead of a softmax over them.
    public var multiLabel: Bool

    /// A configuration; `problems` lists what does not fit together.
    public init(vocabularySize: Int, embeddingSize: Int?, recurrent: RecurrentConfiguration, pooling: SequencePooling = .last,
                hiddenLayerSize: Int? = nil, classCount: Int, inputDropout: Double = 0, outputDropout: Double = 0,
                multiLabel: Bool = false) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.recurrent = recurrent
        self.pooling = pooling
        self.hiddenLayerSize = hiddenLayerSize
        self.classCount = classCount
        self.inputDropout = inputDropout
        self.outputDropout = outputDropout
        self.multiLabel = multiLabel
    }

    private enum CodingKeys: String, CodingKey {
        case vocabularySize, embeddingSize, recurrent, pooling, hiddenLayerSize, classCount, inputDropout, outputDropout, multiLabel
    }

    /// Reads a configuration; one written before multi-label classifiers existed is single-label.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
                  embeddingSize: try c.decodeIfPresent(Int.self, forKey: .embeddingSize),
                  recurrent: try c.decode(RecurrentConfiguration.self, forKey: .recurrent),
                  pooling: try c.decode(SequencePooling.self, forKey: .pooling),
                  hiddenLayerSize: try c.decodeIfPresent(Int.self, forKey: .hiddenLayerSize),
                  classCount: try c.decode(Int.self, forKey: .classCount),
                  inputDropout: try c.decode(Double.self, forKey: .inputDropout),
                  outputDropout: try c.decode(Double.self, forKey: .outputDropout),
                  multiLabel: try c.decodeIfPresent(Bool.self, forKey: .multiLabel) ?? false)
    }

    /// Everything wrong with it, one sentence each.
    public var problems: [String] {
        var found = TokenInput.problems(vocabularySize: vocabularySize, embeddingSize: embeddingSize, recurrent: recurrent)
        if let h = hiddenLayerSize, h < 1 { found.append("the hidden layer size must be at least 1, got \(h)") }
        if classCount < (multiLabel ? 1 : 2) {
            found.append(multiLabel ? "a multi-label classifier needs at least one label" : "a classifier needs at least two classes, got \(classCount)")
        }
        for (name, p) in [("input", inputDropout), ("output", outputDropout)] where !(p >= 0 && p < 1) {
            found.append("the \(name) dropout must be in [0, 1), got \(p)")
        }
        return found
    }
}

/// The course's many-to-one model: a sequence of tokens in, one class out (the sentiment of a review, the class of
/// a DNA sequence).
///
///     e<t>  = E[x<t>]  (or the one-hot vector), then input dropout
///     y<t>  = RNN(e<t>)                      deep, optionally bidirectional, any cell; outputs [T, B, O]
///     p     = pool(y)                        the last output, or the mean or max over each sequence's steps [B, O]
///     h     = tanh(W_h p + b_h)              when there is a hidden layer [B, H_h]; else h = p
///     ŷ     = softmax(W h + b)               after output dropout, over the K classes
///     L     = −log ŷ[label]                  per sequence, reduced over the batch
///
/// or, for multi-label data (`multiLabel`), a sigmoid per label and the binary cross-entropy of each:
///
///     ŷ_k   = σ((W h + b)_k)
///     L     = Σ_k −y_k log ŷ_k − (1 − y_k) log(1 − ŷ_k)   per sequence, reduced over the batch
///
/// Parameters are named as a PyTorch module with `embedding`, `rnn`, `hidden` and `output` attributes would name them.
public final class SequenceClassifier: SequenceModel {
    /// What the model is.
    public let configuration: ClassifierConfiguration
    /// The token vectors, [V, E]; nil for one-hot input.
    public let embedding: Embedding?
    /// The recurrent layers.
    public let network: RecurrentNetwork
    /// The hidden layer, O → H_h, if any.
    public let hidden: Linear?
    /// The output layer, to K classes.
    public let output: Linear

    /// A model with PyTorch's initialization, drawn from `generator`.
    public init(_ configuration: ClassifierConfiguration, using generator: inout SeededGenerator) {
        precondition(configuration.problems.isEmpty, configuration.problems.joined(separator: "; "))
        self.configuration = configuration
        embedding = configuration.embeddingSize.map {
            Embedding(vocabularySize: configuration.vocabularySize, embeddingSize: $0, using: &generator)
        }
        network = RecurrentNetwork(configuration.recurrent, using: &generator)
        let pooled = configuration.recurrent.outputSize
        hidden = configuration.hiddenLayerSize.map {
            Linear(inputSize: pooled, outputSize: $0, using: &generator)
        }
        output = Linear(inputSize: configuration.hiddenLayerSize ?? pooled, outputSize: configuration.classCount,
                        using: &generator)
    }

    /// Every parameter with its PyTorch-style name: `embedding.weight`, `rnn.weight_ih_l0`, …, `output.bias`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var all: [(String, Parameter)] = []
        if let embedding { all.append(("embedding.weight", embedding.weight)) }
        all += network.parameters.map { ("rnn." + $0.name, $0) }
        if let hidden { all += hidden.parameters.map { ("hidden." + $0.name, $0) } }
        all += output.parameters.map { ("output." + $0.name, $0) }
        return all
    }

    /// The recurrent input for token ids [T·B]: their embeddings, or one-hot vectors, [T, B, E or V].
    public func input(_ ids: [Int], steps: Int, batchSize: Int) -> Tensor {
        TokenInput.vectors(ids, steps: steps, batchSize: batchSize, embedding: embedding, vocabularySize: configuration.vocabularySize)
    }

    /// The logits of every sequence of a batch, [B, K], without dropout.
    public func logits(_ batch: ClassificationBatch, settings: ComputeSettings = .current) -> Tensor {
        let out = network(input(batch.ids, steps: batch.steps, batchSize: batch.batchSize), lengths: batch.lengths,
                          settings: settings)
        var h = configuration.pooling.forward(outputs: out.outputs, last: out.last, lengths: batch.lengths).pooled
        if let hidden { h = hidden(h, settings: settings).tanh() }
        return output(h, settings: settings)
    }

    /// Each sequence's class probabilities, [B, K] as rows: a softmax over the classes, or for a multi-label model
    /// each label's own probability.
    public func probabilities(_ batch: ClassificationBatch, settings: ComputeSettings = .current) -> [[Double]] {
        let z = logits(batch, settings: settings).scalars, k = configuration.classCount
        return (0..<batch.batchSize).map { b in
            let row = z[(b * k)..<((b + 1) * k)].map(Double.init), top = row.max()!
            if configuration.multiLabel {
                return row.map { $0 >= 0 ? 1 / (1 + Foundation.exp(-$0)) : Foundation.exp($0) / (1 + Foundation.exp($0)) }
            }
            let exps = row.map { Foundation.exp($0 - top) }, sum = exps.reduce(0, +)
            return exps.map { $0 / sum }
        }
    }

    // MARK: - Training (SequenceModel)

    /// Forward and backward over one batch (the equations above); nothing is carried to the next batch.
    public func trainingStep(_ batch: ClassificationBatch, carried: RecurrentState?, reduction: LossReduction,
                             dropoutGenerator: inout SeededGenerator,
                             settings: ComputeSettings) -> (loss: LossValue, carried: RecurrentState?) {
        let b = batch.batchSize
        // Forward.
        let x = input(batch.ids, steps: batch.steps, batchSize: b)
        let (xDropped, inputMask) = Dropout(probability: configuration.inputDropout).forward(x, using: &dropoutGenerator)
        let (out, tape) = network.forward(xDropped, lengths: batch.lengths, dropoutGenerator: &dropoutGenerator, settings: settings)
        let (pooled, argmax) = configuration.pooling.forward(outputs: out.outputs, last: out.last, lengths: batch.lengths)
        let h = hidden.map { $0(pooled, settings: settings).tanh() } ?? pooled
        let (hDropped, outputMask) = Dropout(probability: configuration.outputDropout).forward(h, using: &dropoutGenerator)
        let width = hDropped.shape[1]
        let value: LossValue, dHidden: Tensor
        if configuration.multiLabel {
            let k = configuration.classCount
            let (loss, dz) = BinaryCrossEntropy(reduction: reduction)
                .lossAndGradient(logits: output(hDropped, settings: settings), targets: Tensor(shape: [b, k], scalars: batch.targets))
            value = loss
            dHidden = output.backward(input: hDropped, outputGradient: dz, settings: settings)!
        } else {
            (value, dHidden) = SoftmaxCrossEntropy(reduction: reduction)
                .lossAndGradient(hidden: hDropped.reshaped([1, b, width]), targets: batch.labels, output: output, settings: settings)
        }
        // Backward.
        var dh = Dropout(probability: configuration.outputDropout).backward(mask: outputMask, outputGradient: dHidden.reshaped([b, width]))
        if let hidden {
            dh = dh * (h * h * -1 + 1)                                                 // tanh' = 1 − h²
            dh = hidden.backward(input: pooled, outputGradient: dh, settings: settings)!
        }
        let pooledGradient = configuration.pooling.backward(pooledGradient: dh, argmax: argmax, steps: batch.steps,
                                                            lengths: batch.lengths)
        let gradient = network.backward(tape, outputGradient: pooledGradient.outputGradient,
                                        lastGradient: pooledGradient.lastGradient, needsInputGradient: embedding != nil)
        if let embedding, let dx = gradient.input {
            embedding.backward(ids: batch.ids,
                               outputGradient: Dropout(probability: configuration.inputDropout).backward(mask: inputMask, outputGradient: dx))
        }
        return (value, nil)
    }

    /// The mean loss per sequence, accuracy and macro-F1 over every batch of `data`; judged by accuracy. A
    /// multi-label model: micro-F1 (which judges it), macro-F1 and subset accuracy.
    public func evaluate(_ data: any BatchSource<ClassificationBatch>, settings: ComputeSettings) -> Evaluation {
        if configuration.multiLabel {
            let (metrics, loss) = multiLabelMetrics(data, labels: (0..<configuration.classCount).map(String.init), settings: settings)
            return Evaluation(loss: loss, metrics: ["micro_f1": metrics.microF1, "macro_f1": metrics.macroF1,
                                                    "subset_accuracy": metrics.subsetAccuracy], primary: "micro_f1", higherIsBetter: true)
        }
        let metrics = classificationMetrics(data, labels: (0..<configuration.classCount).map(String.init), settings: settings)
        return Evaluation(loss: metrics.loss, metrics: ["accuracy": metrics.metrics.accuracy, "macro_f1": metrics.metrics.macroF1],
                          primary: "accuracy", higherIsBetter: true)
    }

    /// The predictions over every batch of `data` against its labels, and the mean loss per sequence.
    public func classificationMetrics(_ data: any BatchSource<ClassificationBatch>, labels: [String],
                                      settings: ComputeSettings = .current) -> (metrics: ClassificationMetrics, loss: Double) {
        var truth: [Int] = [], predicted: [Int] = [], total = 0.0
        for index in 0..<data.batchesPerEpoch {
            let batch = data.batch(epoch: 0, index: index)
            for (b, p) in probabilities(batch, settings: settings).enumerated() {
                let label = batch.labels[b]
                truth.append(label)
                predicted.append(p.indices.max { p[$0] < p[$1] }!)
                total -= Foundation.log(max(p[label], Double.leastNormalMagnitude))
            }
        }
        return (ClassificationMetrics(labels: labels, truth: truth, predicted: predicted),
                truth.isEmpty ? .nan : total / Double(truth.count))
    }

    /// A multi-label model's predictions (each label whose probability is at least `threshold`) over every batch of
    /// `data` against its label sets, and the mean loss per sequence (the binary cross-entropy summed over labels).
    public func multiLabelMetrics(_ data: any BatchSource<ClassificationBatch>, labels: [String], threshold: Double = 0.5,
                                  settings: ComputeSettings = .current) -> (metrics: MultiLabelMetrics, loss: Double) {
        var truth: [Set<Int>] = [], predicted: [Set<Int>] = [], total = 0.0
        let k = configuration.classCount
        for index in 0..<data.batchesPerEpoch {
            let batch = data.batch(epoch: 0, index: index)
            for (b, p) in probabilities(batch, settings: settings).enumerated() {
                let y = batch.targets[(b * k)..<((b + 1) * k)]
                truth.append(Set((0..<k).filter { y[b * k + $0] == 1 }))
                predicted.append(Set((0..<k).filter { p[$0] >= threshold }))
                for j in 0..<k {
                    let q = min(max(p[j], Double.leastNormalMagnitude), 1 - 1e-16)
                    total -= y[b * k + j] == 1 ? Foundation.log(q) : Foundation.log1p(-q)
                }
            }
        }
        return (MultiLabelMetrics(labels: labels, truth: truth, predicted: predicted), truth.isEmpty ? .nan : total / Double(truth.count))
    }
}
