import Foundation
import RecurCore
import RecurLayers
import RecurTraining

extension LanguageModel {
    /// The input id read before a sequence's first token: the id of `configuration.startToken` in
    /// `vocabulary`, or −1 (the zero vector) when the model has none.
    public func startID(in tokens: [String]) -> Int {
        configuration.startToken.flatMap { tokens.firstIndex(of: $0) } ?? -1
    }

    /// log p(tᵢ | start, t₁ … tᵢ₋₁), natural log, for every token of every sequence — the course's
    /// P(`y<1>`, …, `y<Ty>`) = Π P(`y<t>` | `y<1>` … `y<t−1>`) taken apart, one factor per token.
    /// - Parameters: sequences of ids (each scored from the start input, all in one ragged batch); start the
    ///   input before the first token (−1: zeros); valuesPerWindow: long sequences go through in windows of
    ///   steps, the state carried across, so that the [steps, B, V] log-probabilities of one window hold about
    ///   this many values however long the sequences are.
    /// - Returns: per sequence, one log-probability per token.
    public func tokenLogProbabilities(_ sequences: [[Int]], start: Int, valuesPerWindow: Int = 1 << 24,
                                      settings: ComputeSettings = .current) -> [[Double]] {
        let b = sequences.count, t = sequences.map(\.count).max() ?? 0
        guard b > 0, t > 0 else { return sequences.map { _ in [] } }
        let v = configuration.vocabularySize
        let window = max(1, min(t, valuesPerWindow / max(1, b * v)))
        var state = zeroState(batchSize: b)
        var result = sequences.map { sequence in [Double](repeating: 0, count: sequence.count) }
        for first in stride(from: 0, to: t, by: window) {
            let steps = min(window, t - first)
            let lengths = sequences.map { max(0, min(steps, $0.count - first)) }
            var inputs = [Int](repeating: -1, count: steps * b)
            for (column, sequence) in sequences.enumerated() {
                for step in 0..<lengths[column] {
                    let position = first + step
                    inputs[step * b + column] = position == 0 ? start : sequence[position - 1]
                }
            }
            let output = network(input(inputs, steps: steps, batchSize: b), lengths: lengths, initialState: state,
                                 settings: settings)
            state = output.state
            let logProbabilities = decoder.logSoftmax(output.outputs, settings: settings).scalars   // [steps, B, V]
            for (column, sequence) in sequences.enumerated() {
                for step in 0..<lengths[column] {
                    let id = sequence[first + step]
                    result[column][first + step] = Double(logProbabilities[(step * b + column) * v + id])
                }
            }
        }
        return result
    }

    /// Σ −log p(tᵢ | everything before it) over a whole token stream, read in windows of `window` tokens with
    /// the state carried across, so every token is conditioned on all of the text before it.
    /// - Returns: the total in nats and the number of tokens predicted (all of them: the first is predicted
    ///   from the start input).
    public func negativeLogLikelihood(of tokens: [Int], start: Int, window: Int = 512,
                                      settings: ComputeSettings = .current) -> (total: Double, tokens: Int) {
        var loss = StreamLoss(model: self, start: start, window: window)
        loss.add(tokens, settings: settings)
        return (loss.total, loss.tokens)
    }
}

/// Σ −log p(tᵢ | everything before it) over a stream given a piece at a time (as a corpus read with
/// `TextFile.forEachPiece` is): the state and the last token carry from one piece to the next, so the result
/// is that of the whole stream at once, and only one piece's ids are held.
public struct StreamLoss {
    /// The model that predicts.
    public let model: LanguageModel
    /// Tokens run through the model at once.
    public let window: Int
    /// Nats so far, and tokens predicted so far.
    public private(set) var total = 0.0
    /// Tokens predicted so far.
    public private(set) var tokens = 0
    private var state: RecurrentState
    /// The input before the next token: the start input, then the last token seen.
    private var previous: Int

    /// A loss over nothing yet; `start` is the input before the first token (−1: zeros).
    public init(model: LanguageModel, start: Int, window: Int = 512) {
        self.model = model
        self.window = window
        state = model.zeroState(batchSize: 1)
        previous = start
    }

    /// Predicts each of `ids` in turn from everything before it.
    public mutating func add(_ ids: [Int], settings: ComputeSettings = .current) {
        let loss = SoftmaxCrossEntropy(reduction: .sum)
        var position = 0
        while position < ids.count {
            let count = min(window, ids.count - position)
            let inputs = (0..<count).map { i in position + i == 0 ? previous : ids[position + i - 1] }
            let batch = TokenBatch(steps: count, batchSize: 1, inputs: inputs, targets: Array(ids[position..<(position + count)]),
                                   lengths: [count], resets: [false])
            let (value, final) = model.loss(batch, initialState: state, loss: loss, settings: settings)
            total += value.total
            state = final
            position += count
        }
        tokens += ids.count
        if let last = ids.last { previous = last }
    }
}

/// How the next token is drawn from ŷ.
public struct SamplingOptions: Sendable, Equatable {
    /// Divides the logits before the softmax: below 1 sharper, above 1 flatter; 0 always takes the most
    /// likely token (greedy).
    public var temperature: Double
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    /// Keep the fewest most likely tokens whose probabilities add up to at least p (nucleus sampling; nil: all).
    public var topP: Double?
    /// Never draw this token (the course's "reject `<UNK>`"); nil: none.
    public var rejected: Int?

    /// Options; the defaults draw from the model's own distribution.
    public init(temperature: Double = 1, topK: Int? = nil, topP: Double? = nil, rejected: Int? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.rejected = rejected
    }

    /// What is out of range, as messages; empty when valid.
    public var problems: [String] {
        var found: [String] = []
        if !(temperature >= 0 && temperature.isFinite) { found.append("the temperature must be at least 0, got \(temperature)") }
        if let topK, topK < 1 { found.append("top-k must be at least 1, got \(topK)") }
        if let topP, !(topP > 0 && topP <= 1) { found.append("top-p must be in (0, 1], got \(topP)") }
        return found
    }

    /// Draws one id from `logits` (natural-log scale, any offset).
    public func draw(from logits: [Float], using generator: inout SeededGenerator) -> Int {
        var candidates = Array(logits.indices)
        if let rejected, candidates.count > 1 { candidates.removeAll { $0 == rejected } }
        if temperature == 0 { return candidates.max { logits[$0] < logits[$1] }! }
        // Probabilities at this temperature, largest first.
        let largest = candidates.map { Double(logits[$0]) }.max()!
        var weighted = candidates.map { (id: $0, p: Foundation.exp((Double(logits[$0]) - largest) / temperature)) }
        weighted.sort { $0.p != $1.p ? $0.p > $1.p : $0.id < $1.id }
        if let topK { weighted = Array(weighted.prefix(topK)) }
        var sum = weighted.reduce(0) { $0 + $1.p }
        if let topP {
            var kept = 0, running = 0.0
            while kept < weighted.count && running < topP * sum {
                running += weighted[kept].p
                kept += 1
            }
            weighted = Array(weighted.prefix(max(1, kept)))
            sum = weighted.reduce(0) { $0 + $1.p }
        }
        var target = generator.nextUnitDouble() * sum
        for candidate in weighted {
            target -= candidate.p
            if target < 0 { return candidate.id }
        }
        return weighted.last!.id
    }
}

/// Draws a sequence from a language model one token at a time, as the course samples: start from `a<0>` = 0 and
/// the start input, draw `y<t>` from `ŷ<t>`, feed it back as `x<t+1>`, until the end token or the length.
///
///     let sampler = Sampler(model: model, start: model.startID(in: vocabulary.tokens))
///     sampler.prime(try vocabulary.encode("ROMEO:"))
///     let id = sampler.next(options, using: &generator)
public final class Sampler {
    /// The model that draws.
    public let model: LanguageModel
    private let stepper: RecurrentStepper
    private let settings: ComputeSettings
    /// ŷ's logits for the next token, [V].
    public private(set) var logits: [Float]

    /// A sampler at the start of a sequence: a zero state, having read `start` (−1: a zero vector).
    public init(model: LanguageModel, start: Int, settings: ComputeSettings = .current) {
        self.model = model
        self.settings = settings
        stepper = RecurrentStepper(model.network, batchSize: 1, settings: settings)
        logits = []
        feed(start)
    }

    /// Reads `ids` (a prime): the state moves through them and `logits` predict what follows.
    public func prime(_ ids: [Int]) { ids.forEach(feed) }

    /// Draws the next token and feeds it back.
    public func next(_ options: SamplingOptions, using generator: inout SeededGenerator) -> Int {
        let id = options.draw(from: logits, using: &generator)
        feed(id)
        return id
    }

    private func feed(_ id: Int) {
        let x = model.input([id], steps: 1, batchSize: 1).reshaped([1, model.network.configuration.inputSize])
        let h = stepper.step(x)
        logits = model.decoder(h, settings: settings).scalars
    }
}
