import Foundation
import RecurCore
import RecurLayers
import RecurMetrics
import RecurTraining

/// How a tagger reads a word's spelling: characters → learned vectors → a recurrent network over the word, whose
/// last output (both directions' final states when bidirectional) is the word's character vector.
public struct CharacterFeatures: Codable, Equatable, Sendable {
    /// V_c, the characters.
    public var vocabularySize: Int
    /// E_c, the size of each character's vector.
    public var embeddingSize: Int
    /// The network over each word's characters; its `inputSize` must be E_c.
    public var recurrent: RecurrentConfiguration

    /// Character features of this shape.
    public init(vocabularySize: Int, embeddingSize: Int, recurrent: RecurrentConfiguration) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.recurrent = recurrent
    }
}

/// What scores a tagger's tags: a softmax per token, or a linear-chain CRF over the whole sentence.
public enum TaggerOutputLayer: String, Codable, CaseIterable, Sendable {
    /// Each token's tag on its own: softmax cross-entropy per token, argmax decoding.
    case softmax
    /// Whole tag paths: the CRF's negative log-likelihood, Viterbi decoding.
    case crf
}

/// What a sequence tagger is: its words, optional character features, recurrent layers, tags and output.
public struct TaggerConfiguration: Codable, Equatable, Sendable {
    /// V_w, the words it reads.
    public var vocabularySize: Int
    /// E_w, the size of each word's vector.
    public var embeddingSize: Int
    /// The id of the unknown word (what word dropout replaces words with).
    public var unknownWordID: Int
    /// The character features concatenated to each word's vector; nil for none.
    public var characters: CharacterFeatures?
    /// The recurrent layers over the sentence; `inputSize` must be E_w plus the character vector's size.
    public var recurrent: RecurrentConfiguration
    /// The tags, by id, written in `scheme`.
    public var tags: [String]
    /// The scheme the tags are written in.
    public var scheme: TagScheme
    /// Softmax per token or a CRF.
    public var outputLayer: TaggerOutputLayer
    /// With a CRF: forbid the transitions `scheme` does not allow.
    public var constrainsTransitions: Bool
    /// Dropout on the concatenated word and character vectors, while training.
    public var inputDropout: Double
    /// Dropout on the recurrent outputs before the tag scores, while training.
    public var outputDropout: Double
    /// The probability that a word is read as the unknown word while training (so that its vector is learned).
    public var wordDropout: Double

    /// A configuration; `problems` lists what does not fit together.
    public init(vocabularySize: Int, embeddingSize: Int, unknownWordID: Int, characters: CharacterFeatures?,
                recurrent: RecurrentConfiguration, tags: [String], scheme: TagScheme, outputLayer: TaggerOutputLayer = .crf,
                constrainsTransitions: Bool = true, inputDropout: Double = 0, outputDropout: Double = 0, wordDropout: Double = 0) {
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        self.unknownWordID = unknownWordID
        self.characters = characters
        self.recurrent = recurrent
        self.tags = tags
        self.scheme = scheme
        self.outputLayer = outputLayer
        self.constrainsTransitions = constrainsTransitions
        self.inputDropout = inputDropout
        self.outputDropout = outputDropout
        self.wordDropout = wordDropout
    }

    private enum CodingKeys: String, CodingKey {
        case vocabularySize, embeddingSize, unknownWordID = "unknownWordId", characters, recurrent, tags, scheme, outputLayer
        case constrainsTransitions, inputDropout, outputDropout, wordDropout
    }

    /// The size of a word's character vector (0 without character features).
    public var characterVectorSize: Int { characters?.recurrent.outputSize ?? 0 }

    /// Everything wrong with it, one sentence each.
    public var problems: [String] {
        var found = recurrent.problems
        if vocabularySize < 1 { found.append("the vocabulary size must be at least 1, got \(vocabularySize)") }
        if embeddingSize < 1 { found.append("the embedding size must be at least 1, got \(embeddingSize)") }
        if !(0..<max(1, vocabularySize)).contains(unknownWordID) { found.append("the unknown word id \(unknownWordID) is not a word id") }
        if let characters {
            found += characters.recurrent.problems.map { "characters: " + $0 }
            if characters.vocabularySize < 1 || characters.embeddingSize < 1 {
                found.append("the character vocabulary and embedding sizes must be at least 1")
            }
            if characters.recurrent.inputSize != characters.embeddingSize {
                found.append("the character network's input size \(characters.recurrent.inputSize) must equal the character embedding size \(characters.embeddingSize)")
            }
        }
        if recurrent.inputSize != embeddingSize + characterVectorSize {
            found.append("the recurrent input size \(recurrent.inputSize) must equal the word vector's \(embeddingSize) plus the character vector's \(characterVectorSize)")
        }
        if tags.count < 2 { found.append("a tagger needs at least two tags, got \(tags.count)") }
        if Set(tags).count != tags.count { found.append("the tags must be distinct") }
        for (name, p) in [("input", inputDropout), ("output", outputDropout), ("word", wordDropout)] where !(p >= 0 && p < 1) {
            found.append("the \(name) dropout must be in [0, 1), got \(p)")
        }
        return found
    }

    /// The CRF's constraints: the transitions `scheme` allows between `tags`, or nil when unconstrained.
    public var crfConstraints: CRFConstraints? {
        guard outputLayer == .crf, constrainsTransitions else { return nil }
        return CRFConstraints(tagCount: tags.count) { i, j in scheme.allows(i.map { tags[$0] }, j.map { tags[$0] }) }
    }
}

/// The course's many-to-many model with T_x = T_y: a tag for every token (named-entity recognition).
///
///     w<t>  = E_w[word<t>]                                  the word's vector [E_w]
///     c<t>  = RNN_c(E_c[char<t,1>], …, E_c[char<t,m>]).last  its spelling's vector [O_c], when characters are read
///     x<t>  = [w<t>; c<t>], then input dropout
///     h<t>  = RNN(x)<t>                                      deep, bidirectional, any cell [O]
///     e<t>  = W dropout(h<t>) + b                            tag scores [K]
///     L     = −log p(tags | e)                               a CRF over the path, or Σ_t −log softmax(e<t>)[tag<t>]
///
/// While training, each word is read as the unknown word with probability `wordDropout`. Parameters are named as
/// a PyTorch module with `embedding`, `char_embedding`, `char_rnn`, `rnn`, `output` and `crf` attributes would name
/// them.
public final class SequenceTagger: SequenceModel {
    /// What the model is.
    public let configuration: TaggerConfiguration
    /// The word vectors, [V_w, E_w].
    public let embedding: Embedding
    /// The character vectors, [V_c, E_c], with character features.
    public let characterEmbedding: Embedding?
    /// The network over each word's characters, with character features.
    public let characterNetwork: RecurrentNetwork?
    /// The recurrent layers over the sentence.
    public let network: RecurrentNetwork
    /// The tag scores, O → K.
    public let output: Linear
    /// The CRF over tag paths, for a CRF output.
    public let crf: LinearChainCRF?

    /// A model with PyTorch's (and pytorch-crf's) initialization, drawn from `generator`.
    public init(_ configuration: TaggerConfiguration, using generator: inout SeededGenerator) {
        precondition(configuration.problems.isEmpty, configuration.problems.joined(separator: "; "))
        self.configuration = configuration
        embedding = Embedding(vocabularySize: configuration.vocabularySize, embeddingSize: configuration.embeddingSize, using: &generator)
        if let characters = configuration.characters {
            characterEmbedding = Embedding(vocabularySize: characters.vocabularySize, embeddingSize: characters.embeddingSize,
                                           using: &generator)
            characterNetwork = RecurrentNetwork(characters.recurrent, using: &generator)
        } else {
            characterEmbedding = nil
            characterNetwork = nil
        }
        network = RecurrentNetwork(configuration.recurrent, using: &generator)
        output = Linear(inputSize: configuration.recurrent.outputSize, outputSize: configuration.tags.count, using: &generator)
        crf = configuration.outputLayer == .crf
            ? LinearChainCRF(tagCount: configuration.tags.count, constraints: configuration.crfConstraints, using: &generator) : nil
    }

    /// Every parameter with its PyTorch-style name: `embedding.weight`, `char_rnn.weight_ih_l0`, …, `crf.transitions`.
    public var namedParameters: [(name: String, parameter: Parameter)] {
        var all: [(String, Parameter)] = [("embedding.weight", embedding.weight)]
        if let characterEmbedding, let characterNetwork {
            all.append(("char_embedding.weight", characterEmbedding.weight))
            all += characterNetwork.parameters.map { ("char_rnn." + $0.name, $0) }
        }
        all += network.parameters.map { ("rnn." + $0.name, $0) }
        all += output.parameters.map { ("output." + $0.name, $0) }
        if let crf { all += crf.parameters.map { ("crf." + $0.name, $0) } }
        return all
    }

    // MARK: - Forward

    /// The recurrent input [T, B, E_w + O_c] of `words` (word ids [T·B], as the batch's, or with word dropout), and
    /// what the backward pass needs of the character network.
    private func input(_ batch: TaggingBatch, words: [Int], dropoutGenerator: inout SeededGenerator?,
                       settings: ComputeSettings) -> (x: Tensor, characterTape: RecurrentTape?) {
        let b = batch.batchSize, t = batch.steps, ew = configuration.embeddingSize, oc = configuration.characterVectorSize
        let w = embedding(words, shape: [t, b])
        guard let characterEmbedding, let characterNetwork else { return (w, nil) }
        let n = batch.positions.count
        let c = characterEmbedding(batch.characters, shape: [batch.characterSteps, n])
        let spelled: RecurrentOutput, tape: RecurrentTape?
        if dropoutGenerator != nil {
            var generator = dropoutGenerator!
            (spelled, tape) = characterNetwork.forward(c, lengths: batch.characterLengths, dropoutGenerator: &generator, settings: settings)
            dropoutGenerator = generator
        } else {
            (spelled, tape) = (characterNetwork(c, lengths: batch.characterLengths, settings: settings), nil)
        }
        var x = Tensor.zeros([t, b, ew + oc])
        w.withUnsafeBufferPointer { wp in
            spelled.last.withUnsafeBufferPointer { cp in
                x.withUnsafeMutableBufferPointer { xp in
                    for row in 0..<(t * b) { (xp.baseAddress! + row * (ew + oc)).update(from: wp.baseAddress! + row * ew, count: ew) }
                    for (token, position) in batch.positions.enumerated() {
                        (xp.baseAddress! + position * (ew + oc) + ew).update(from: cp.baseAddress! + token * oc, count: oc)
                    }
                }
            }
        }
        return (x, tape)
    }

    /// The tag scores of every token of a batch, [T, B, K], without dropout.
    public func emissions(_ batch: TaggingBatch, settings: ComputeSettings = .current) -> Tensor {
        var noDropout: SeededGenerator? = nil
        let x = input(batch, words: batch.words, dropoutGenerator: &noDropout, settings: settings).x
        let h = network(x, lengths: batch.lengths, settings: settings).outputs
        return output(h, settings: settings)
    }

    /// Each sentence's best tags (Viterbi's path with a CRF, each token's most likely tag without), as tag ids.
    public func decode(_ batch: TaggingBatch, settings: ComputeSettings = .current) -> [[Int]] {
        decode(emissions: emissions(batch, settings: settings), lengths: batch.lengths)
    }

    /// The best tags of tag scores e [T, B, K].
    private func decode(emissions e: Tensor, lengths: [Int]) -> [[Int]] {
        if let crf { return crf.decode(emissions: e, lengths: lengths) }
        let k = configuration.tags.count, b = lengths.count, scores = e.scalars
        return lengths.enumerated().map { column, n in
            (0..<n).map { t in
                let row = (t * b + column) * k
                return (0..<k).max { scores[row + $0] < scores[row + $1] }!
            }
        }
    }

    /// The loss of a batch without dropout or gradients (what `evaluate` adds up): summed over its sentences, and the
    /// tokens it counts.
    public func loss(_ batch: TaggingBatch, settings: ComputeSettings = .current) -> (total: Double, tokens: Int) {
        let loss = lossAndGradient(emissions: emissions(batch, settings: settings), batch: batch, keepsGradient: false)
        return (loss.total, loss.tokens)
    }

    /// The loss summed over a batch's tokens — the CRF's negative log-likelihood of each sentence's tags, or each
    /// token's cross-entropy — the tokens it counts, and dL/d(emissions). With `keepsGradient` false (evaluation)
    /// the CRF's parameter gradients are left as they were.
    private func lossAndGradient(emissions e: Tensor, batch: TaggingBatch,
                                 keepsGradient: Bool) -> (total: Double, tokens: Int, gradient: Tensor) {
        let tags = batch.tags.map { max($0, 0) }         // a tag unknown to the model (−1) is read as tag 0
        if let crf {
            let before = crf.parameters.map(\.gradient)
            let (value, de) = crf.negativeLogLikelihood(emissions: e, tags: tags, lengths: batch.lengths)
            if !keepsGradient { zip(crf.parameters, before).forEach { $0.gradient = $1 } }
            return (value, batch.unitCount, de)
        }
        // Each counted row: −log softmax(e)[tag], and its gradient softmax(e) − onehot(tag).
        let k = configuration.tags.count, scores = e.scalars
        var gradient = [Float](repeating: 0, count: scores.count), total = 0.0
        for position in batch.positions {
            let row = position * k, logits = (0..<k).map { Double(scores[row + $0]) }, top = logits.max()!
            let exps = logits.map { Foundation.exp($0 - top) }, sum = exps.reduce(0, +)
            total += Foundation.log(sum) + top - logits[tags[position]]
            for j in 0..<k { gradient[row + j] = Float(exps[j] / sum) }
            gradient[row + tags[position]] -= 1
        }
        return (total, batch.unitCount, Tensor(shape: e.shape, scalars: gradient))
    }

    // MARK: - Training (SequenceModel)

    /// Forward and backward over one batch (the equations above); nothing is carried to the next batch.
    public func trainingStep(_ batch: TaggingBatch, carried: RecurrentState?, reduction: LossReduction,
                             dropoutGenerator: inout SeededGenerator,
                             settings: ComputeSettings) -> (loss: LossValue, carried: RecurrentState?) {
        let c = configuration, b = batch.batchSize, t = batch.steps
        var words = batch.words
        if c.wordDropout > 0 {
            for index in words.indices where words[index] >= 0 && dropoutGenerator.nextUnitDouble() < c.wordDropout {
                words[index] = c.unknownWordID
            }
        }
        // Forward.
        var generator: SeededGenerator? = dropoutGenerator
        let (x, characterTape) = input(batch, words: words, dropoutGenerator: &generator, settings: settings)
        dropoutGenerator = generator!
        let (xDropped, inputMask) = Dropout(probability: c.inputDropout).forward(x, using: &dropoutGenerator)
        let (out, tape) = network.forward(xDropped, lengths: batch.lengths, dropoutGenerator: &dropoutGenerator, settings: settings)
        let (hDropped, outputMask) = Dropout(probability: c.outputDropout).forward(out.outputs, using: &dropoutGenerator)
        let e = output(hDropped, settings: settings)
        let loss = lossAndGradient(emissions: e, batch: batch, keepsGradient: true)
        let weight: Double = switch reduction {
        case .sum: 1
        case .meanPerToken: 1 / Double(max(1, loss.tokens))
        case .meanPerSequence: 1 / Double(max(1, b))
        }
        if weight != 1, let crf {          // the trainer zeroes every gradient before a step: these are this batch's
            for parameter in crf.parameters { parameter.gradient = parameter.gradient * Float(weight) }
        }
        let de = loss.gradient * Float(weight)
        // Backward.
        let dh = Dropout(probability: c.outputDropout).backward(
            mask: outputMask, outputGradient: output.backward(input: hDropped, outputGradient: de, settings: settings)!)
        let gradient = network.backward(tape, outputGradient: dh)
        let dx = Dropout(probability: c.inputDropout).backward(mask: inputMask, outputGradient: gradient.input!)
        let ew = c.embeddingSize, oc = c.characterVectorSize
        var dw = Tensor.zeros([t, b, ew])
        var dc = Tensor.zeros([batch.positions.count, oc])
        dx.withUnsafeBufferPointer { dxp in
            dw.withUnsafeMutableBufferPointer { dwp in
                for row in 0..<(t * b) { (dwp.baseAddress! + row * ew).update(from: dxp.baseAddress! + row * (ew + oc), count: ew) }
            }
            dc.withUnsafeMutableBufferPointer { dcp in
                for (token, position) in batch.positions.enumerated() {
                    (dcp.baseAddress! + token * oc).update(from: dxp.baseAddress! + position * (ew + oc) + ew, count: oc)
                }
            }
        }
        embedding.backward(ids: words, outputGradient: dw)
        if let characterNetwork, let characterEmbedding, let characterTape {
            let spelling = characterNetwork.backward(characterTape, lastGradient: dc)
            characterEmbedding.backward(ids: batch.characters, outputGradient: spelling.input!)
        }
        return (LossValue(value: loss.total * weight, total: loss.total, tokens: loss.tokens), nil)
    }

    /// The mean loss per token, entity F1 (the primary metric), precision, recall and token accuracy over every
    /// batch of `data`.
    public func evaluate(_ data: any BatchSource<TaggingBatch>, settings: ComputeSettings) -> Evaluation {
        let (metrics, loss) = taggingMetrics(data, settings: settings)
        return Evaluation(loss: loss, metrics: ["f1": metrics.f1, "precision": metrics.precision, "recall": metrics.recall,
                                                "token_accuracy": metrics.tokenAccuracy], primary: "f1", higherIsBetter: true)
    }

    /// The decoded tags of every batch of `data` scored against its tags, and the mean loss per token.
    public func taggingMetrics(_ data: any BatchSource<TaggingBatch>, settings: ComputeSettings = .current)
        -> (metrics: ChunkMetrics, loss: Double) {
        var metrics = ChunkMetrics(), total = 0.0, tokens = 0
        let names = configuration.tags
        for index in 0..<data.batchesPerEpoch {
            let batch = data.batch(epoch: 0, index: index)
            let e = emissions(batch, settings: settings)
            let loss = lossAndGradient(emissions: e, batch: batch, keepsGradient: false)
            total += loss.total
            tokens += loss.tokens
            let paths = decode(emissions: e, lengths: batch.lengths)
            for (column, path) in paths.enumerated() {
                let truth = (0..<path.count).map { batch.tags[$0 * batch.batchSize + column] }
                metrics.add(truth: truth.map { $0 >= 0 ? names[$0] : "O" }, predicted: path.map { names[$0] })
            }
        }
        return (metrics, tokens == 0 ? .nan : total / Double(tokens))
    }
}
