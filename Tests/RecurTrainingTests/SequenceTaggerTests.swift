import Foundation
import Testing
import RecurTraining
import RecurModels
import RecurLayers
import RecurMetrics
import RecurCore
import RecurTestSupport

/// Sentences of words 0…5 (lengths 1–6) whose tags follow a rule a tagger must learn from context: word 5 starts a
/// PER entity that runs over the words after it while they are 4; everything else is O. In BIO2.
private func sentences(_ count: Int, seed: UInt64, characters: Bool = true) -> [TaggedSentence] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let words = (0..<(1 + Int(generator.next() % 6))).map { _ in Int(generator.next() % 6) }
        var labels: [Int] = [], inside = false
        for word in words {
            if word == 5 { labels.append(1); inside = true } else if word == 4 && inside { labels.append(2) } else {
                labels.append(0)
                inside = false
            }
        }
        return TaggedSentence(words: words, characters: characters ? words.map { Array(repeating: $0 % 3, count: 1 + $0 % 3) } : [],
                              tags: labels)
    }
}

private func tagger(output: TaggerOutputLayer, characters: Bool, cell: RecurrentConfiguration.Cell = .lstm,
                    constrained: Bool = true, dropout: Double = 0, seed: UInt64 = 3) -> SequenceTagger {
    var generator = SeededGenerator(seed: seed)
    let features = characters
        ? CharacterFeatures(vocabularySize: 3, embeddingSize: 3,
                            recurrent: RecurrentConfiguration(cell: cell, inputSize: 3, hiddenSize: 2, bidirectional: true))
        : nil
    let recurrent = RecurrentConfiguration(cell: cell, inputSize: 4 + (characters ? 4 : 0), hiddenSize: 5, layers: 2, bidirectional: true)
    return SequenceTagger(TaggerConfiguration(vocabularySize: 6, embeddingSize: 4, unknownWordID: 0, characters: features,
                                              recurrent: recurrent, tags: ["O", "B-PER", "I-PER"], scheme: .bio2, outputLayer: output,
                                              constrainsTransitions: constrained, inputDropout: dropout, outputDropout: dropout),
                          using: &generator)
}

struct TaggerCase: CustomTestStringConvertible, Sendable {
    var output: TaggerOutputLayer
    var characters: Bool
    var cell: RecurrentConfiguration.Cell
    var testDescription: String { "\(output) \(cell)\(characters ? " with characters" : "")" }
    static let all: [TaggerCase] = [
        .init(output: .crf, characters: true, cell: .lstm), .init(output: .softmax, characters: true, cell: .gru),
        .init(output: .crf, characters: false, cell: .rnn), .init(output: .softmax, characters: false, cell: .lstm),
    ]
}

@Suite("Sequence tagger")
struct SequenceTaggerTests {
    /// The layers are checked one by one in Float64; this checks their wiring (word and character vectors
    /// concatenated, the character network's last states scattered to their tokens, the CRF or softmax on top) with
    /// Float32 central differences of the summed loss computed by the inference path.
    @Test("gradients of the whole model match finite differences", arguments: TaggerCase.all)
    func gradients(_ test: TaggerCase) {
        let model = tagger(output: test.output, characters: test.characters, cell: test.cell, constrained: false)
        let batch = TaggingBatch(packing: sentences(4, seed: 11, characters: test.characters))
        let settings = ComputeSettings(threadCount: 1)
        func loss() -> Double { model.loss(batch, settings: settings).total }
        model.parameters.forEach { $0.zeroGradient() }
        var unused = SeededGenerator(seed: 0)
        let (value, carried) = model.trainingStep(batch, carried: nil, reduction: .sum, dropoutGenerator: &unused, settings: settings)
        #expect(carried == nil && value.tokens == batch.positions.count)
        #expect(abs(value.value - loss()) < 1e-4 * max(1, abs(loss())), "the training loss is the inference loss")
        for (name, parameter) in model.namedParameters {
            let analytic = parameter.gradient.scalars
            for index in stride(from: 0, to: parameter.value.count, by: max(1, parameter.value.count / 4)) {
                let original = parameter.value.scalars[index]
                func at(_ x: Float) -> Double {
                    parameter.value.withUnsafeMutableBufferPointer { $0[index] = x }
                    return loss()
                }
                let numeric = (at(original + 0.01) - at(original - 0.01)) / 0.02
                _ = at(original)
                let error = abs(numeric - Double(analytic[index])) / max(abs(numeric), 0.05)
                #expect(error < 3e-2, "\(name)[\(index)]: numeric \(numeric), analytic \(analytic[index])")
            }
        }
    }

    @Test("a batch packs sentences time-major and every token's characters in token order")
    func packing() {
        let batch = TaggingBatch(packing: [TaggedSentence(words: [1, 2], characters: [[0], [1, 2]], tags: [0, 1]),
                                           TaggedSentence(words: [3], characters: [[2, 2, 2]], tags: [2])])
        #expect(batch.words == [1, 3, 2, -1] && batch.tags == [0, 2, 1, -1] && batch.lengths == [2, 1])
        #expect(batch.positions == [0, 1, 2] && batch.unitCount == 3)
        #expect(batch.characterSteps == 3 && batch.characterLengths == [1, 3, 2])
        #expect(batch.characters == [0, 2, 1, -1, 2, 2, -1, 2, -1])
    }

    @Test("the trainer teaches a BiLSTM-CRF with characters the entity rule, and validation reports entity F1")
    func learns() throws {
        let model = tagger(output: .crf, characters: true, dropout: 0.1)
        let training = TaggedExamples(sentences: sentences(400, seed: 1), batchSize: 16, seed: 2)
        let validation = TaggedExamples(sentences: sentences(100, seed: 3), batchSize: 50, shuffles: false)
        let before = model.evaluate(validation, settings: ComputeSettings(threadCount: 1))
        let folder = try temporaryFolder("tagger")
        defer { try? FileManager.default.removeItem(at: folder) }
        let options = TrainingOptions(steps: 200, learningRate: 0.02, optimizer: .init(kind: .adam), clipping: .norm(5),
                                      validateEvery: 100, checkpointEvery: 100)
        let trainer = try Trainer(model: model, vocabulary: model.configuration.tags, kind: "tagger", training: training,
                                  validation: validation, options: options,
                                  files: TrainingFiles(checkpoint: folder.appendingPathComponent("t.recur")),
                                  settings: ComputeSettings(threadCount: 1))
        try trainer.run()
        let after = model.evaluate(validation, settings: ComputeSettings(threadCount: 1))
        #expect(after.primary == "f1" && after.higherIsBetter)
        #expect(after.metrics["f1"]! > 0.95, "entity F1 \(after.metrics["f1"]!) (before training \(before.metrics["f1"]!))")
        #expect(after.loss < before.loss / 4)
        #expect(trainer.progress.validationHistory.last?.metrics?["f1"] != nil)
    }

    @Test("with constraints, decoding never produces a tag path the scheme forbids, even untrained")
    func constrainedDecoding() {
        let model = tagger(output: .crf, characters: false, seed: 9)
        var generator = SeededGenerator(seed: 4)
        for value in model.crf!.parameters { value.value = Tensor.normal(value.value.shape, standardDeviation: 3, using: &generator) }
        let batch = TaggingBatch(packing: sentences(50, seed: 5, characters: false))
        for path in model.decode(batch) {
            let tags = path.map { model.configuration.tags[$0] }
            var previous: String? = nil
            for tag in tags + [nil] {
                #expect(TagScheme.bio2.allows(previous, tag), "\(tags)")
                previous = tag
            }
        }
    }
}
