import Foundation
import Testing
import RecurTraining
import RecurModels
import RecurText
import RecurLayers
import RecurCore
import RecurTestSupport

/// The pieces of a `LanguageModel` are checked in Float64 one by one (LayerGradientTests, GradientCheckTests);
/// this checks their wiring — ids into the embedding, the recurrent gradient back into it, the decoder — with
/// Float32 central differences (step 1e-2 on a summed loss, so rounding stays near 1e-3 relative).
@Suite("Language model")
struct LanguageModelTests {
    @Test("gradients of the whole model match finite differences", arguments: [8, nil] as [Int?])
    func gradients(embeddingSize: Int?) {
        var generator = SeededGenerator(seed: 8)
        let v = 7
        let configuration = LanguageModelConfiguration(
            vocabularySize: v, embeddingSize: embeddingSize,
            recurrent: RecurrentConfiguration(cell: .gru, inputSize: embeddingSize ?? v, hiddenSize: 6, layers: 2))
        let model = LanguageModel(configuration, using: &generator)
        let batch = TokenBatch(steps: 3, batchSize: 2, inputs: [-1, 3, 2, 3, 6, 0], targets: [1, 4, 4, 2, 0, 5],
                               lengths: [3, 2], resets: [true, true])
        let loss = SoftmaxCrossEntropy(reduction: .sum)
        let settings = ComputeSettings(threadCount: 1)
        let state = model.zeroState(batchSize: 2)
        var unused = SeededGenerator(seed: 0)
        model.parameters.forEach { $0.zeroGradient() }
        let (value, _) = model.lossAndGradient(batch, initialState: state, loss: loss, dropoutGenerator: &unused, settings: settings)
        #expect(value.tokens == 5)
        #expect(model.loss(batch, initialState: state, loss: loss, settings: settings).loss.value == value.value)
        for (name, parameter) in model.namedParameters {
            let analytic = parameter.gradient.scalars
            for index in stride(from: 0, to: parameter.value.count, by: max(1, parameter.value.count / 5)) {
                let original = parameter.value.scalars[index]
                func at(_ x: Float) -> Double {
                    parameter.value.withUnsafeMutableBufferPointer { $0[index] = x }
                    return model.loss(batch, initialState: state, loss: loss, settings: settings).loss.value
                }
                let numeric = (at(original + 0.01) - at(original - 0.01)) / 0.02
                _ = at(original)
                let error = abs(numeric - Double(analytic[index])) / max(abs(numeric), 0.05)
                #expect(error < 2e-2, "\(name)[\(index)]: numeric \(numeric), analytic \(analytic[index])")
            }
        }
    }
}

@Suite("Language model inference")
struct LanguageModelInferenceTests {
    private func model(cell: RecurrentConfiguration.Cell, embeddingSize: Int?, layers: Int = 2) -> LanguageModel {
        var generator = SeededGenerator(seed: 31)
        let v = 9
        return LanguageModel(LanguageModelConfiguration(
            vocabularySize: v, embeddingSize: embeddingSize,
            recurrent: RecurrentConfiguration(cell: cell, inputSize: embeddingSize ?? v, hiddenSize: 12, layers: layers),
            startToken: nil), using: &generator)
    }

    @Test("the sampler's next-token distribution equals the batch scorer's", arguments: [
        (RecurrentConfiguration.Cell.lstm, 5 as Int?), (.gru, nil), (.rnn, 4),
    ])
    func samplerMatchesScorer(_ cell: RecurrentConfiguration.Cell, _ embeddingSize: Int?) {
        let lm = model(cell: cell, embeddingSize: embeddingSize)
        let sequence = [3, 1, 4, 1, 5, 8, 2, 6]
        let scored = lm.tokenLogProbabilities([sequence], start: 7)[0]
        let sampler = Sampler(model: lm, start: 7)
        for (position, id) in sequence.enumerated() {
            let logits = sampler.logits.map(Double.init)
            let largest = logits.max()!
            let logSum = largest + log(logits.reduce(0) { $0 + exp($1 - largest) })
            #expect(abs((logits[id] - logSum) - scored[position]) < 1e-4, "position \(position)")
            sampler.prime([id])
        }
    }

    @Test("scoring a ragged batch equals scoring each sequence alone")
    func raggedScoring() {
        let lm = model(cell: .lstm, embeddingSize: 6)
        let sequences = [[1, 2, 3], [4], [5, 6, 7, 8, 0]]
        let together = lm.tokenLogProbabilities(sequences, start: -1)
        for (index, sequence) in sequences.enumerated() {
            let alone = lm.tokenLogProbabilities([sequence], start: -1)[0]
            for (a, b) in zip(together[index], alone) { #expect(abs(a - b) < 1e-5) }
        }
        // In windows of one or two steps (the state carried across), the scores are the same.
        for valuesPerWindow in [1, 2 * 3 * lm.configuration.vocabularySize] {
            let windowed = lm.tokenLogProbabilities(sequences, start: -1, valuesPerWindow: valuesPerWindow)
            #expect(windowed.map(\.count) == sequences.map(\.count))
            for (a, b) in zip(windowed.joined(), together.joined()) { #expect(abs(a - b) < 1e-5, "\(valuesPerWindow)") }
        }
        // The negative log-likelihood of a stream, read in windows, equals the sum of its token scores.
        let stream = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2]
        let (total, count) = lm.negativeLogLikelihood(of: stream, start: 3, window: 4)
        let direct = -lm.tokenLogProbabilities([stream], start: 3)[0].reduce(0, +)
        #expect(count == stream.count && abs(total - direct) < 1e-4 * abs(direct))
        // Given in pieces, with the state and the last token carried, the stream costs the same.
        var pieces = StreamLoss(model: lm, start: 3, window: 4)
        for piece in [Array(stream[..<5]), [], Array(stream[5..<6]), Array(stream[6...])] { pieces.add(piece) }
        #expect(pieces.tokens == stream.count && abs(pieces.total - total) < 1e-5 * abs(total))
    }

    @Test("sampling: temperature 0 is greedy, top-k and top-p narrow the choice, the rejected token never comes")
    func drawing() {
        let logits: [Float] = [0, 3, 1, 2.5, -1]
        var generator = SeededGenerator(seed: 1)
        #expect(SamplingOptions(temperature: 0).draw(from: logits, using: &generator) == 1)
        #expect(SamplingOptions(temperature: 0, rejected: 1).draw(from: logits, using: &generator) == 3)
        var counts = [Int](repeating: 0, count: 5)
        for _ in 0..<4000 { counts[SamplingOptions(topK: 2).draw(from: logits, using: &generator)] += 1 }
        #expect(counts[0] == 0 && counts[2] == 0 && counts[4] == 0 && counts[1] > counts[3] && counts[3] > 0)
        // p(1) ≈ 0.54, p(3) ≈ 0.33: top-p 0.5 keeps only token 1.
        for _ in 0..<200 { #expect(SamplingOptions(topP: 0.5).draw(from: logits, using: &generator) == 1) }
        var all = [Int](repeating: 0, count: 5)
        for _ in 0..<20000 { all[SamplingOptions(rejected: 1).draw(from: logits, using: &generator)] += 1 }
        #expect(all[1] == 0)
        // Without token 1 the others keep their ratios: p(3)/p(2) = e^1.5.
        #expect(abs(Double(all[3]) / Double(all[2]) - exp(1.5)) < 0.4)
    }
}

@Suite("Language model files")
struct LanguageModelFileTests {
    @Test("a trained model saved and loaded scores and samples as before")
    func roundTrip() throws {
        let folder = try temporaryFolder("lmfile")
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = String(repeating: "abcabd abcabe\n", count: 30)
        let vocabulary = Vocabulary(characters: text)
        var generator = SeededGenerator(seed: 2)
        let model = LanguageModel(LanguageModelConfiguration(
            vocabularySize: vocabulary.count, embeddingSize: 6,
            recurrent: RecurrentConfiguration(cell: .lstm, inputSize: 6, hiddenSize: 10, layers: 2), startToken: "\n"),
            using: &generator)
        let trainer = try Trainer(model: model, vocabulary: vocabulary, kind: LanguageModel.kind,
                                  training: TokenStream(tokens: try vocabulary.encode(text), batchSize: 2, sequenceLength: 8),
                                  options: TrainingOptions(steps: 20, learningRate: 0.01),
                                  files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")))
        _ = try trainer.run()
        let loaded = try LanguageModelFile.load(folder.appendingPathComponent("m.recur"))
        #expect(loaded.start == vocabulary.endID && loaded.vocabulary == vocabulary)
        let ids = try vocabulary.encode("abcab")
        #expect(loaded.model.tokenLogProbabilities([ids], start: loaded.start) == model.tokenLogProbabilities([ids], start: loaded.start))
        let fresh = Sampler(model: model, start: loaded.start), reloaded = Sampler(model: loaded.model, start: loaded.start)
        #expect(fresh.logits == reloaded.logits)
        fresh.prime(ids)
        reloaded.prime(ids)
        #expect(fresh.logits == reloaded.logits)
        let scored = model.tokenLogProbabilities([ids + [ids[0]]], start: loaded.start)[0].last!
        let logits = reloaded.logits.map(Double.init)
        let logSum = log(logits.reduce(0) { $0 + exp($1) })
        #expect(abs(logits[ids[0]] - logSum - scored) < 1e-4)
    }
}
