import Foundation
import Testing
@testable import RecurTraining
import RecurLayers
import RecurCore
import RecurTestSupport

/// A batch of labelled sequences for the many-to-one model below: ids [T, B] (−1 past each length), one label each.
private struct LabelledBatch: TrainingBatch {
    var steps: Int
    var ids: [Int]
    var lengths: [Int]
    var labels: [Int]
    var batchSize: Int { labels.count }
    var unitCount: Int { labels.count }
}

/// Sequences of ids in 1…4, labelled 1 when they hold a 4; batch k of epoch e is a pure function of (e, k).
private struct LabelledSequences: BatchSource {
    var batchesPerEpoch: Int
    var batchSize: Int
    var seed: UInt64

    func batch(epoch: Int, index: Int) -> LabelledBatch {
        var generator = SeededGenerator(seed: seed &+ UInt64(epoch * 1_000 + index))
        let lengths = (0..<batchSize).map { _ in 2 + Int(generator.next() % 5) }
        let steps = lengths.max()!
        var ids = [Int](repeating: -1, count: steps * batchSize), labels = [Int](repeating: 0, count: batchSize)
        for b in 0..<batchSize {
            for t in 0..<lengths[b] {
                ids[t * batchSize + b] = 1 + Int(generator.next() % 4)
                if ids[t * batchSize + b] == 4 { labels[b] = 1 }
            }
        }
        return LabelledBatch(steps: steps, ids: ids, lengths: lengths, labels: labels)
    }
}

/// The course's many-to-one shape, small: embedding → GRU → last state → softmax over two classes. It carries no
/// state between batches and is judged by accuracy, higher being better: the trainer's general path.
private final class ToyClassifier: SequenceModel {
    struct Configuration: Codable, Equatable, Sendable { var hiddenSize: Int }
    let configuration: Configuration
    let embedding: Embedding
    let network: RecurrentNetwork
    let output: Linear

    init(hiddenSize: Int, seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        configuration = Configuration(hiddenSize: hiddenSize)
        embedding = Embedding(vocabularySize: 5, embeddingSize: 4, namePrefix: "embedding.", using: &generator)
        network = RecurrentNetwork(RecurrentConfiguration(cell: .gru, inputSize: 4, hiddenSize: hiddenSize), using: &generator)
        output = Linear(inputSize: hiddenSize, outputSize: 2, using: &generator)
    }

    var namedParameters: [(name: String, parameter: Parameter)] {
        [("embedding.weight", embedding.weight)] + network.parameters.map { ("rnn." + $0.name, $0) }
            + output.parameters.map { ("output." + $0.name, $0) }
    }

    func trainingStep(_ batch: LabelledBatch, carried: RecurrentState?, reduction: LossReduction,
                      dropoutGenerator: inout SeededGenerator,
                      settings: ComputeSettings) -> (loss: LossValue, carried: RecurrentState?) {
        let x = embedding(batch.ids, shape: [batch.steps, batch.batchSize])
        let (out, tape) = network.forward(x, lengths: batch.lengths, dropoutGenerator: &dropoutGenerator, settings: settings)
        let last = out.last.reshaped([1, batch.batchSize, configuration.hiddenSize])
        let (value, dLast) = SoftmaxCrossEntropy(reduction: reduction)
            .lossAndGradient(hidden: last, targets: batch.labels, output: output, settings: settings)
        let gradient = network.backward(tape, lastGradient: dLast.reshaped([batch.batchSize, configuration.hiddenSize]))
        if let dx = gradient.input { embedding.backward(ids: batch.ids, outputGradient: dx) }
        return (value, nil)
    }

    func evaluate(_ data: any BatchSource<LabelledBatch>, settings: ComputeSettings) -> Evaluation {
        var total = 0.0, correct = 0, count = 0
        for index in 0..<data.batchesPerEpoch {
            let batch = data.batch(epoch: 0, index: index)
            let x = embedding(batch.ids, shape: [batch.steps, batch.batchSize])
            let last = network(x, lengths: batch.lengths, settings: settings).last
            let logits = output(last, settings: settings).scalars
            for b in 0..<batch.batchSize {
                let z0 = Double(logits[2 * b]), z1 = Double(logits[2 * b + 1]), m = max(z0, z1)
                let logSum = m + log(exp(z0 - m) + exp(z1 - m))
                total += logSum - (batch.labels[b] == 0 ? z0 : z1)
                if (z1 > z0 ? 1 : 0) == batch.labels[b] { correct += 1 }
                count += 1
            }
        }
        return Evaluation(loss: total / Double(count), metrics: ["accuracy": Double(correct) / Double(count)],
                          primary: "accuracy", higherIsBetter: true)
    }
}

@Suite("The trainer, for a model of another kind")
struct GeneralTrainerTests {
    private func trainer(_ model: ToyClassifier, folder: URL, steps: Int = 300, patience: Int? = nil) throws -> Trainer<ToyClassifier, [String]> {
        let options = TrainingOptions(steps: steps, learningRate: 0.02, optimizer: .init(kind: .adam), clipping: .norm(5),
                                      validateEvery: 25, earlyStoppingPatience: patience, checkpointEvery: 50)
        return try Trainer(model: model, vocabulary: ["no 4", "a 4"], kind: "toy-classifier",
                           training: LabelledSequences(batchesPerEpoch: 20, batchSize: 16, seed: 1),
                           validation: LabelledSequences(batchesPerEpoch: 4, batchSize: 32, seed: 99),
                           options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("toy.recur")),
                           settings: ComputeSettings(threadCount: 1))
    }

    @Test("a many-to-one model learns; its metric is logged, and the best checkpoint is the one with the highest accuracy")
    func metricDrivesTheBest() throws {
        let folder = try temporaryFolder("general-trainer")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = ToyClassifier(hiddenSize: 8, seed: 3)
        let trainer = try trainer(model, folder: folder)
        var units = 0
        trainer.onRecord = { if $0.event == .train { units = $0.tokens } }
        #expect(try trainer.run() == .finished)
        #expect(units == 300 * 16, "the progress counts sequences, the batch's own unit")
        let history = trainer.progress.validationHistory
        let accuracies = history.map { $0.metrics?["accuracy"] ?? -1 }
        #expect(accuracies.count == 12 && accuracies.allSatisfy { $0 >= 0 })
        #expect(accuracies.max()! >= 0.9, "the model learned to spot a 4: \(accuracies)")
        let best = accuracies.firstIndex(of: accuracies.max()!)!
        #expect(trainer.progress.bestStep == history[best].step, "the best is chosen by accuracy, not by loss")
        #expect(trainer.progress.bestValidationMetrics?["accuracy"] == accuracies.max())
        #expect(trainer.progress.bestScore == -accuracies.max()!)
        let log = try String(contentsOf: folder.appendingPathComponent("toy.log.jsonl"), encoding: .utf8)
        #expect(log.split(separator: "\n").filter { $0.contains("\"validation\"") }.allSatisfy { $0.contains("\"metrics\":{\"accuracy\":") })
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("toy.best.recur").path))
    }

    @Test("such a run stopped part way and resumed ends with the same bits as one that never stopped")
    func resumes() throws {
        let straightFolder = try temporaryFolder("general-straight"), brokenFolder = try temporaryFolder("general-broken")
        defer {
            try? FileManager.default.removeItem(at: straightFolder)
            try? FileManager.default.removeItem(at: brokenFolder)
        }
        let straight = ToyClassifier(hiddenSize: 6, seed: 4)
        _ = try trainer(straight, folder: straightFolder, steps: 120).run()
        var calls = 0
        let first = ToyClassifier(hiddenSize: 6, seed: 4)
        #expect(try trainer(first, folder: brokenFolder, steps: 120).run(shouldStop: { calls += 1; return calls == 70 }) == .interrupted)
        let resumed = ToyClassifier(hiddenSize: 6, seed: 4)
        let second = try trainer(resumed, folder: brokenFolder, steps: 120)
        try second.resume(from: brokenFolder.appendingPathComponent("toy.recur"))
        #expect(second.progress.step == 70)
        #expect(try second.run() == .finished)
        for (a, b) in zip(straight.parameters, resumed.parameters) {
            #expect(a.value.scalars == b.value.scalars, "\(a.name)")
        }
    }

    @Test("early stopping waits for the primary metric to stop improving, whichever way is better")
    func earlyStopping() throws {
        let folder = try temporaryFolder("general-early")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = ToyClassifier(hiddenSize: 8, seed: 3)
        let trainer = try trainer(model, folder: folder, steps: 2_000, patience: 3)
        #expect(try trainer.run() == .stoppedEarly)
        let accuracies = trainer.progress.validationHistory.map { $0.metrics!["accuracy"]! }
        let best = accuracies.firstIndex(of: accuracies.max()!)!
        #expect(accuracies.count == best + 4, "three validations after the best, none better: \(accuracies)")
    }
}
