import Foundation
import Testing
import RecurTraining
import RecurModels
import RecurLayers
import RecurCore
import RecurTestSupport

/// Sequences of ids in 0…4 (lengths 2–7), labelled by whether they hold a 4 (class 1) — and, with three classes,
/// whether they start with a 3 (class 2).
private func examples(_ count: Int, classes: Int = 2, seed: UInt64) -> [(ids: [Int], label: Int)] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let ids = (0..<(2 + Int(generator.next() % 6))).map { _ in Int(generator.next() % 5) }
        let label = classes == 3 && ids[0] == 3 ? 2 : (ids.contains(4) ? 1 : 0)
        return (ids, label)
    }
}

private func classifier(pooling: SequencePooling, cell: RecurrentConfiguration.Cell = .gru, embeddingSize: Int? = 4,
                        hiddenLayerSize: Int? = nil, bidirectional: Bool = false, classes: Int = 2, dropout: Double = 0,
                        seed: UInt64 = 5) -> SequenceClassifier {
    var generator = SeededGenerator(seed: seed)
    let recurrent = RecurrentConfiguration(cell: cell, inputSize: embeddingSize ?? 5, hiddenSize: 6, layers: 2,
                                           bidirectional: bidirectional)
    return SequenceClassifier(ClassifierConfiguration(vocabularySize: 5, embeddingSize: embeddingSize, recurrent: recurrent,
                                                      pooling: pooling, hiddenLayerSize: hiddenLayerSize, classCount: classes,
                                                      inputDropout: dropout, outputDropout: dropout), using: &generator)
}

struct ClassifierCase: CustomTestStringConvertible, Sendable {
    var pooling: SequencePooling
    var cell: RecurrentConfiguration.Cell
    var embeddingSize: Int?
    var hiddenLayerSize: Int?
    var bidirectional: Bool
    var testDescription: String {
        "\(pooling) \(cell)\(bidirectional ? " bidirectional" : "")\(embeddingSize == nil ? " one-hot" : "")\(hiddenLayerSize == nil ? "" : " hidden layer")"
    }
    static let all: [ClassifierCase] = [
        .init(pooling: .last, cell: .gru, embeddingSize: 4, hiddenLayerSize: nil, bidirectional: false),
        .init(pooling: .last, cell: .lstm, embeddingSize: nil, hiddenLayerSize: 3, bidirectional: true),
        .init(pooling: .mean, cell: .lstm, embeddingSize: 4, hiddenLayerSize: 3, bidirectional: true),
        .init(pooling: .max, cell: .rnn, embeddingSize: 4, hiddenLayerSize: nil, bidirectional: true),
        .init(pooling: .max, cell: .gru, embeddingSize: nil, hiddenLayerSize: 3, bidirectional: false),
    ]
}

@Suite("Sequence classifier")
struct SequenceClassifierTests {
    /// The pieces are checked one by one in Float64 (recurrent layers, Linear, the cross-entropy, the pooling); this
    /// checks their wiring with Float32 central differences of L = Σ −log ŷ[label], computed by an independent path
    /// (the inference logits and a Double softmax).
    @Test("multi-label: a sigmoid per label, gradients match finite differences, and the trainer learns label sets")
    func multiLabel() throws {
        var generator = SeededGenerator(seed: 8)
        let recurrent = RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 6, bidirectional: true)
        let model = SequenceClassifier(ClassifierConfiguration(vocabularySize: 5, embeddingSize: 4, recurrent: recurrent, pooling: .max,
                                                               classCount: 3, multiLabel: true), using: &generator)
        // Labels: 0 when the sequence holds a 4, 1 when it holds a 3, 2 when it starts with a 0.
        func labelled(_ count: Int, seed: UInt64) -> [(ids: [Int], labels: Set<Int>)] {
            examples(count, seed: seed).map { example in
                var labels = Set<Int>()
                if example.ids.contains(4) { labels.insert(0) }
                if example.ids.contains(3) { labels.insert(1) }
                if example.ids[0] == 0 { labels.insert(2) }
                return (example.ids, labels)
            }
        }
        let batch = ClassificationBatch(packing: labelled(4, seed: 9), classCount: 3)
        let settings = ComputeSettings(threadCount: 1)
        func loss() -> Double {
            model.probabilities(batch, settings: settings).enumerated().reduce(0) { total, row in
                total - row.element.enumerated().reduce(0) { sum, label in
                    sum + (batch.targets[row.offset * 3 + label.offset] == 1 ? log(label.element) : log(1 - label.element))
                }
            }
        }
        model.parameters.forEach { $0.zeroGradient() }
        var unused = SeededGenerator(seed: 0)
        let (value, _) = model.trainingStep(batch, carried: nil, reduction: .sum, dropoutGenerator: &unused, settings: settings)
        #expect(abs(value.value - loss()) < 1e-4 * max(1, loss()), "the training loss is the inference loss")
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
                #expect(abs(numeric - Double(analytic[index])) / max(abs(numeric), 0.05) < 3e-2, "\(name)[\(index)]")
            }
        }
        let folder = try temporaryFolder("multi-label")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try Trainer(model: model, vocabulary: ["four", "three", "starts with 0"], kind: "classifier",
                                  training: ClassificationExamples(multiLabelExamples: labelled(400, seed: 1), classCount: 3, batchSize: 16, seed: 2),
                                  validation: ClassificationExamples(multiLabelExamples: labelled(200, seed: 3), classCount: 3, batchSize: 50, shuffles: false),
                                  options: TrainingOptions(steps: 300, learningRate: 0.01, optimizer: .init(kind: .adam), clipping: .norm(5),
                                                           validateEvery: 100, checkpointEvery: 100),
                                  files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")), settings: settings)
        try trainer.run()
        let last = try #require(trainer.progress.validationHistory.last?.metrics)
        #expect(last["micro_f1"]! > 0.9 && last["subset_accuracy"] != nil, "\(last)")
    }

    @Test("gradients of the whole model match finite differences", arguments: ClassifierCase.all)
    func gradients(_ test: ClassifierCase) {
        let model = classifier(pooling: test.pooling, cell: test.cell, embeddingSize: test.embeddingSize,
                               hiddenLayerSize: test.hiddenLayerSize, bidirectional: test.bidirectional, classes: 3)
        let batch = ClassificationBatch(packing: examples(4, classes: 3, seed: 9))
        let settings = ComputeSettings(threadCount: 1)
        func loss() -> Double {
            model.probabilities(batch, settings: settings).enumerated().reduce(0) { $0 - log($1.element[batch.labels[$1.offset]]) }
        }
        model.parameters.forEach { $0.zeroGradient() }
        var unused = SeededGenerator(seed: 0)
        let (value, carried) = model.trainingStep(batch, carried: nil, reduction: .sum, dropoutGenerator: &unused, settings: settings)
        #expect(carried == nil && value.tokens == 4)
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

    @Test("trains through the Trainer, judged by accuracy; resumes bit for bit; dropout is seeded")
    func trains() throws {
        let folder = try temporaryFolder("classifier"), straightFolder = try temporaryFolder("classifier-straight")
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: straightFolder)
        }
        func run(_ model: SequenceClassifier, in folder: URL, stopAt: Int? = nil, resume: Bool = false) throws -> Trainer<SequenceClassifier, [String]> {
            let options = TrainingOptions(steps: 240, learningRate: 0.01, optimizer: .init(kind: .adam), clipping: .norm(5),
                                          validateEvery: 40, checkpointEvery: 40)
            let trainer = try Trainer(model: model, vocabulary: ["none", "a four"], kind: "classifier",
                                      training: ClassificationExamples(examples: examples(400, seed: 1), batchSize: 16, seed: 2),
                                      validation: ClassificationExamples(examples: examples(200, seed: 3), batchSize: 50, shuffles: false),
                                      options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("c.recur")),
                                      settings: ComputeSettings(threadCount: 1))
            if resume { try trainer.resume(from: folder.appendingPathComponent("c.recur")) }
            var calls = 0
            try trainer.run(shouldStop: { calls += 1; return calls == stopAt })
            return trainer
        }
        let straight = classifier(pooling: .max, bidirectional: true, dropout: 0.1)
        let whole = try run(straight, in: straightFolder)
        let accuracy = whole.progress.validationHistory.last!.metrics!["accuracy"]!
        #expect(accuracy >= 0.9, "it learned to spot a 4: \(whole.progress.validationHistory.map { $0.metrics!["accuracy"]! })")
        #expect(whole.progress.bestValidationMetrics?["accuracy"] == whole.progress.validationHistory.map { $0.metrics!["accuracy"]! }.max())
        #expect(whole.progress.tokensSeen == 240 * 16 - 0, "the progress counts sequences")

        _ = try run(classifier(pooling: .max, bidirectional: true, dropout: 0.1), in: folder, stopAt: 100)
        let resumed = classifier(pooling: .max, bidirectional: true, dropout: 0.1)
        _ = try run(resumed, in: folder, resume: true)
        for (a, b) in zip(straight.parameters, resumed.parameters) {
            #expect(a.value.scalars == b.value.scalars, "\(a.name)")
        }
    }

    @Test("the checkpoint layout names and shapes every parameter in order", arguments: ClassifierCase.all)
    func layout(_ test: ClassifierCase) {
        let model = classifier(pooling: test.pooling, cell: test.cell, embeddingSize: test.embeddingSize,
                               hiddenLayerSize: test.hiddenLayerSize, bidirectional: test.bidirectional, classes: 3)
        let layout = SequenceClassifier.parameterLayout(model.configuration)
        #expect(layout.map(\.name) == model.namedParameters.map(\.name))
        #expect(layout.map(\.shape) == model.namedParameters.map(\.parameter.value.shape))
        #expect(Set(layout.map(\.name)).count == layout.count && layout.last?.name == "output.bias")
    }

    @Test("a configuration that does not fit is described, not built")
    func problems() {
        let recurrent = RecurrentConfiguration(cell: .lstm, inputSize: 7, hiddenSize: 4)
        let configuration = ClassifierConfiguration(vocabularySize: 5, embeddingSize: 4, recurrent: recurrent, classCount: 1,
                                                    outputDropout: 1)
        #expect(configuration.problems.contains { $0.contains("recurrent input size 7 must equal the embedding size 4") })
        #expect(configuration.problems.contains { $0.contains("at least two classes") })
        #expect(configuration.problems.contains { $0.contains("output dropout must be in [0, 1)") })
    }
}
