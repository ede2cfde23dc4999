import Foundation
import Testing
@testable import RecurTraining
import RecurModels
import RecurText
import RecurLayers
import RecurCore
import RecurTestSupport

private let corpus = "the cat sat on the mat. the dog sat on the log. "

private func model(cell: RecurrentConfiguration.Cell = .lstm, vocabularySize: Int, embeddingSize: Int? = 8,
                   hiddenSize: Int = 24, layers: Int = 1, dropout: Double = 0, seed: UInt64 = 1) -> LanguageModel {
    var generator = SeededGenerator(seed: seed)
    let recurrent = RecurrentConfiguration(cell: cell, inputSize: embeddingSize ?? vocabularySize, hiddenSize: hiddenSize,
                                           layers: layers, dropout: dropout)
    return LanguageModel(LanguageModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                                                    recurrent: recurrent), using: &generator)
}

@Suite("Training data")
struct TrainingDataTests {
    @Test("a token stream cuts B lanes into windows of T and carries state between them")
    func stream() {
        let tokens = Array(0..<21)
        let stream = TokenStream(tokens: tokens, batchSize: 2, sequenceLength: 4)
        // 20 predictions (positions 1…20): lane 0 predicts 1…10, lane 1 predicts 11…20.
        #expect(stream.batchesPerEpoch == 3)
        let first = stream.batch(epoch: 0, index: 0)
        #expect(first.inputs == [0, 10, 1, 11, 2, 12, 3, 13] && first.targets == [1, 11, 2, 12, 3, 13, 4, 14])
        #expect(first.resets == [true, true] && first.lengths == [4, 4])
        let last = stream.batch(epoch: 0, index: 2)
        #expect(last.lengths == [2, 2] && last.inputs == [8, 18, 9, 19] && last.resets == [false, false])
        #expect(stream.batch(epoch: 1, index: 0).resets == [true, true], "each epoch starts afresh")
    }

    @Test("documents: windows stop at a document's end and the next document starts from zero")
    func documents() {
        // Documents [0, 5), [5, 8), [8, 12), with the first token predicted from a zero input.
        let tokens = Array(100..<112)
        let stream = TokenStream(tokens: tokens, documentStarts: [0, 5, 8], zeroInputAtDocumentStart: true,
                                 batchSize: 1, sequenceLength: 4)
        let batches = (0..<stream.batchesPerEpoch).map { stream.batch(epoch: 0, index: $0) }
        #expect(batches.map(\.inputs) == [[-1, 100, 101, 102], [103], [-1, 105, 106], [-1, 108, 109, 110]])
        #expect(batches.map(\.targets) == [[100, 101, 102, 103], [104], [105, 106, 107], [108, 109, 110, 111]])
        #expect(batches.map { $0.resets[0] } == [true, false, true, true])
    }

    @Test("examples are shuffled per epoch by seed, each exactly once, and padded with lengths")
    func examples() {
        let examples = (0..<7).map { i in (inputs: Array(repeating: i, count: i % 3 + 1), targets: Array(repeating: i, count: i % 3 + 1)) }
        let data = SequenceExamples(examples: examples, batchSize: 3, seed: 4)
        #expect(data.batchesPerEpoch == 3)
        for epoch in 0..<3 { #expect(data.order(epoch: epoch).sorted() == Array(0..<7)) }
        #expect(data.order(epoch: 0) != data.order(epoch: 1))
        #expect(data.order(epoch: 1) == SequenceExamples(examples: examples, batchSize: 3, seed: 4).order(epoch: 1))
        let batch = data.batch(epoch: 0, index: 0)
        let chosen = Array(data.order(epoch: 0)[0..<3])
        #expect(batch.lengths == chosen.map { $0 % 3 + 1 } && batch.steps == batch.lengths.max())
        #expect(data.batch(epoch: 2, index: 2).batchSize == 1)
    }
}

@Suite("Trainer")
struct TrainerTests {
    let settings = ComputeSettings(threadCount: 1)

    @Test("an LSTM overfits a tiny corpus to near-zero loss")
    func overfits() throws {
        let folder = try temporaryFolder("overfit")
        defer { try? FileManager.default.removeItem(at: folder) }
        let vocabulary = Vocabulary(characters: corpus)
        let tokens = try vocabulary.encode(corpus)
        let lm = model(vocabularySize: vocabulary.count, hiddenSize: 64)
        let stream = TokenStream(tokens: tokens, batchSize: 1, sequenceLength: tokens.count - 1)
        let options = TrainingOptions(steps: 300, learningRate: 0.01, optimizer: .init(kind: .adam), clipping: .norm(5),
                                      logEvery: 50)
        let trainer = try Trainer(model: lm, vocabulary: vocabulary, kind: "language-model", training: stream,
                                  validation: stream, options: options,
                                  files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")), settings: settings)
        #expect(try trainer.run() == .finished)
        let loss = trainer.validationLoss()
        #expect(loss < 0.05, "loss per character after 300 steps: \(loss)")
        // The log and the plot were written.
        let lines = try String(contentsOf: trainer.files.log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 7 && lines[0].contains("\"event\":\"train\"") && lines[0].contains("\"gradient_norm\""))
        #expect(try String(contentsOf: trainer.files.plot, encoding: .utf8).contains("<polyline"))
        #expect(FileManager.default.fileExists(atPath: trainer.files.best.path))
    }

    /// Everything that can carry over: dropout, carried state, Adam's averages, a cosine schedule, clipping.
    private func makeTrainer(_ folder: URL, steps: Int = 24) throws -> Trainer<LanguageModel, Vocabulary> {
        let vocabulary = Vocabulary(characters: corpus)
        let tokens = try vocabulary.encode(corpus + corpus)
        let lm = model(vocabularySize: vocabulary.count, hiddenSize: 16, layers: 2, dropout: 0.3)
        let stream = TokenStream(tokens: tokens, batchSize: 3, sequenceLength: 7)
        let options = TrainingOptions(steps: steps, learningRate: 0.02,
                                      schedule: .warmupCosine(warmupSteps: 3, totalSteps: steps, minimum: 0.001),
                                      optimizer: .init(kind: .adam), clipping: .norm(1), seed: 99, validateEvery: 5,
                                      checkpointEvery: 5, logEvery: 2)
        return try Trainer(model: lm, vocabulary: vocabulary, kind: "language-model", training: stream, validation: stream,
                           options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")),
                           settings: settings)
    }

    @Test("a run interrupted and resumed ends with the same bits as one that never stopped")
    func resumeIsExact() throws {
        let straight = try temporaryFolder("straight"), broken = try temporaryFolder("broken")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: broken) }
        let reference = try makeTrainer(straight)
        #expect(try reference.run() == .finished)

        // Stop after step 7 (a checkpoint at 5 exists, then 7 is saved on interruption) …
        var steps = 0
        let first = try makeTrainer(broken)
        #expect(try first.run(shouldStop: { steps += 1; return steps == 7 }) == .interrupted)
        #expect(first.progress.step == 7)
        // … and resume from the file.
        let second = try makeTrainer(broken)
        try second.resume(from: second.files.checkpoint)
        #expect(second.progress.step == 7)
        #expect(try second.run() == .finished)
        for ((name, a), (_, b)) in zip(reference.model.namedParameters, second.model.namedParameters) {
            #expect(a.value == b.value, "\(name) differs")
        }
        #expect(reference.progress.dropoutGenerator == second.progress.dropoutGenerator)
        #expect(reference.progress.bestValidationLoss == second.progress.bestValidationLoss)
        let referenceLog = try String(contentsOf: reference.files.log, encoding: .utf8).split(separator: "\n")
        let resumedLog = try String(contentsOf: second.files.log, encoding: .utf8).split(separator: "\n")
        #expect(referenceLog.map { $0.replacing(/"elapsed_seconds":[^,}]*|"tokens_per_second":[^,}]*/, with: "") }
            == resumedLog.map { $0.replacing(/"elapsed_seconds":[^,}]*|"tokens_per_second":[^,}]*/, with: "") })
    }

    @Test("a resume from a checkpoint written before a kill repeats the lost steps exactly")
    func resumeAfterKill() throws {
        let straight = try temporaryFolder("straight2"), killed = try temporaryFolder("killed")
        defer { try? FileManager.default.removeItem(at: straight); try? FileManager.default.removeItem(at: killed) }
        let reference = try makeTrainer(straight)
        _ = try reference.run()
        // Run to step 13, keeping a copy of the file as it was at step 10 (its last periodic checkpoint);
        // putting that copy back is what a kill at step 13 leaves behind.
        let doomed = try makeTrainer(killed)
        let copy = killed.appendingPathComponent("step10.recur")
        var steps = 0
        _ = try doomed.run(shouldStop: {
            steps += 1
            if steps == 10 { try? FileManager.default.copyItem(at: doomed.files.checkpoint, to: copy) }
            return steps == 13
        })
        try FileManager.default.removeItem(at: doomed.files.checkpoint)
        try FileManager.default.moveItem(at: copy, to: doomed.files.checkpoint)
        let fresh = try makeTrainer(killed)
        try fresh.resume(from: fresh.files.checkpoint)
        #expect(fresh.progress.step == 10)
        _ = try fresh.run()
        for ((name, a), (_, b)) in zip(reference.model.namedParameters, fresh.model.namedParameters) {
            #expect(a.value == b.value, "\(name) differs")
        }
        let steps10 = try String(contentsOf: fresh.files.log, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("\"step\":12,") }
        #expect(steps10.count == 1, "the log holds step 12 once, not once per attempt")
    }

    @Test("non-finite losses are skipped, counted, and stop training with the last checkpoint intact")
    func nonFinite() throws {
        let folder = try temporaryFolder("nan")
        defer { try? FileManager.default.removeItem(at: folder) }
        let vocabulary = Vocabulary(characters: corpus)
        let lm = model(vocabularySize: vocabulary.count)
        let stream = TokenStream(tokens: try vocabulary.encode(corpus), batchSize: 2, sequenceLength: 5)
        let options = TrainingOptions(steps: 40, learningRate: 0.01, checkpointEvery: 4, maximumNonFiniteSteps: 3)
        var notices: [String] = []
        let trainer = try Trainer(model: lm, vocabulary: vocabulary, kind: "language-model", training: stream,
                                  options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")),
                                  settings: settings)
        trainer.onNotice = { notices.append($0) }
        var steps = 0
        // Poison the decoder after step 5: every later loss is NaN.
        do {
            _ = try trainer.run(shouldStop: {
                steps += 1
                if steps == 5 { lm.decoder.bias!.value = Tensor(shape: [vocabulary.count], repeating: .nan) }
                return false
            })
            Issue.record("training went on with NaN losses")
        } catch {
            #expect(error.description.contains("not finite for 3 steps in a row (steps 6–8)"), "\(error)")
            #expect(error.description.contains("m.recur, is intact"))
        }
        #expect(notices.count == 3 && trainer.progress.skippedSteps == 3)
        let saved = try CheckpointFile.load(from: trainer.files.checkpoint)
        let savedBias = saved["decoder.bias"]!.scalars
        #expect(savedBias.allSatisfy { $0.isFinite }, "the step-4 checkpoint holds finite weights")
    }

    @Test("early stopping ends the run when validation stops improving")
    func earlyStopping() throws {
        let folder = try temporaryFolder("early")
        defer { try? FileManager.default.removeItem(at: folder) }
        let vocabulary = Vocabulary(characters: corpus)
        let lm = model(vocabularySize: vocabulary.count)
        let tokens = try vocabulary.encode(corpus)
        let training = TokenStream(tokens: tokens, batchSize: 1, sequenceLength: 10)
        // Validation on reversed text: learning the forward text makes it worse, never better, after a while.
        let validation = TokenStream(tokens: tokens.reversed(), batchSize: 1, sequenceLength: 10)
        let options = TrainingOptions(steps: 2000, learningRate: 0.05, validateEvery: 5, earlyStoppingPatience: 3)
        let trainer = try Trainer(model: lm, vocabulary: vocabulary, kind: "language-model", training: training,
                                  validation: validation, options: options,
                                  files: TrainingFiles(checkpoint: folder.appendingPathComponent("m.recur")), settings: settings)
        #expect(try trainer.run() == .stoppedEarly)
        #expect(trainer.progress.step < 2000 && trainer.progress.validationsWithoutImprovement == 3)
        #expect(trainer.progress.step == trainer.progress.bestStep! + 15)
    }

    @Test("resume refuses a checkpoint of another model or other options, naming the file")
    func resumeMismatch() throws {
        let folder = try temporaryFolder("mismatch")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try makeTrainer(folder, steps: 5)
        _ = try trainer.run()
        let other = try makeTrainer(folder, steps: 6)
        #expect {
            try other.resume(from: trainer.files.checkpoint)
        } throws: { error in
            "\(error)".contains("m.recur: it does not fit: it was trained with other options")
        }
        let vocabulary = Vocabulary(characters: corpus)
        let bigger = try Trainer(model: model(vocabularySize: vocabulary.count, hiddenSize: 17, layers: 2, dropout: 0.3),
                                 vocabulary: vocabulary, kind: "language-model", training: other.training,
                                 options: trainer.options, files: trainer.files, settings: settings)
        #expect {
            try bigger.resume(from: trainer.files.checkpoint)
        } throws: { error in
            "\(error)".contains("its model configuration differs")
        }
    }
}

@Suite("README")
struct ReadmeTrainingTests {
    /// The README's training example with small sizes (hidden 256 → 16, 10 epochs → 1); otherwise as printed.
    @Test("the README's training example runs")
    func example() throws {
        let folder = try temporaryFolder("readme")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("input.txt")
        try Data(String(repeating: "to be or not to be, that is the question. ", count: 40).utf8).write(to: input)

        let text = try TextFile.read(input.path)
        let vocabulary = Vocabulary(characters: text)
        let tokens = try vocabulary.encode(text)
        let split = tokens.count * 9 / 10
        var generator = SeededGenerator(seed: 0)
        let model = LanguageModel(LanguageModelConfiguration(
            vocabularySize: vocabulary.count, embeddingSize: nil,
            recurrent: RecurrentConfiguration(cell: .lstm, inputSize: vocabulary.count, hiddenSize: 16, layers: 2)),
            using: &generator)
        let options = TrainingOptions(epochs: 1, learningRate: 2e-3, optimizer: .init(kind: .adam), clipping: .norm(5),
                                      validateEvery: 500, earlyStoppingPatience: 5, checkpointEvery: 200)
        let trainer = try Trainer(
            model: model, vocabulary: vocabulary, kind: "language-model",
            training: TokenStream(tokens: Array(tokens[..<split]), batchSize: 32, sequenceLength: 64),
            validation: TokenStream(tokens: Array(tokens[split...]), batchSize: 8, sequenceLength: 64),
            options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("shakespeare.recur")))
        var records = 0
        trainer.onRecord = { _ in records += 1 }
        let outcome = try trainer.run()
        #expect(outcome == .finished && records > 0)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("shakespeare.recur").path))
    }
}

@Suite("Progress display")
struct ProgressDisplayTests {
    private func record(_ event: TrainingRecord.Event, step: Int, loss: Double) -> TrainingRecord {
        TrainingRecord(event: event, step: step, epoch: Double(step) / 10, tokens: step * 100, loss: loss,
                       gradientNorm: event == .train ? 0.5 : nil, learningRate: event == .train ? 0.001 : nil,
                       tokensPerSecond: event == .train ? 12_345 : nil, elapsedSeconds: 1)
    }

    @Test("plain output: one line per record, validation lines marked")
    func plain() {
        var text = ""
        let display = ProgressDisplay(totalSteps: 40, live: false) { text += $0 }
        display.show(record(.train, step: 10, loss: 2.5))
        display.show(record(.validation, step: 10, loss: 2.25))
        display.notice("hello")
        #expect(text == "step 10/40 · epoch 1.00 · loss 2.5000 · |g| 0.5 · lr 0.001 · 12.3k tok/s\n"
            + "validation: step 10/40 · epoch 1.00 · val 2.2500\nhello\n")
    }

    @Test("live output: one line redrawn in place, with the bar, the last training figures and the validation loss")
    func live() {
        var text = ""
        let display = ProgressDisplay(totalSteps: 40, live: true) { text += $0 }
        display.show(record(.train, step: 10, loss: 2.5))
        display.show(record(.validation, step: 20, loss: 2.25))
        display.finish()
        let redraws = text.components(separatedBy: "\r\u{1B}[2K").filter { !$0.isEmpty }
        #expect(redraws.count == 2 && !redraws[0].contains("\n") && text.hasSuffix("\n"))
        #expect(redraws[0].hasPrefix("[#####...............]  25% step 10/40 · epoch 1.00 · loss 2.5000 · |g| 0.5"))
        #expect(redraws[1].hasPrefix("[##########..........]  50% step 20/40 · epoch 2.00 · loss 2.5000 · val 2.2500 · |g| 0.5"))
        #expect(redraws[1].contains("ETA "))
    }
}

@Suite("Token ids")
struct TokenIDTests {
    @Test("in memory: 2 bytes per id below 65,536, else 4; slices share the storage")
    func inMemory() {
        let narrow = TokenIDs([3, 0, 65_535, 7])
        #expect(narrow.bytesPerID == 2 && Array(narrow) == [3, 0, 65_535, 7] && !narrow.isMapped)
        let wide = TokenIDs([65_536, 1, 4_000_000_000])
        #expect(wide.bytesPerID == 4 && Array(wide) == [65_536, 1, 4_000_000_000])
        let slice = narrow[1..<3]
        #expect(Array(slice) == [0, 65_535] && Array(slice[1..<2]) == [65_535] && slice.count == 2)
    }

    @Test("a token file maps back the ids written, in both widths, and leaves no file behind", arguments: [300, 70_000])
    func mapped(vocabularySize: Int) throws {
        let folder = try temporaryFolder("token-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SeededGenerator(seed: 9)
        let ids = (0..<300_000).map { _ in Int.random(in: 0..<vocabularySize, using: &generator) }
        let writer = try TokenFileWriter(vocabularySize: vocabularySize, folder: folder.path)
        for start in stride(from: 0, to: ids.count, by: 77_777) { try writer.append(Array(ids[start..<min(ids.count, start + 77_777)])) }
        let mapped = try writer.finish()
        #expect(mapped.isMapped && mapped.bytesPerID == (vocabularySize <= 65_536 ? 2 : 4))
        #expect(Array(mapped) == ids)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty, "the file is deleted once mapped")
        // A stream over mapped ids gives the batches of one over the same ids in an array.
        let fromArray = TokenStream(tokens: ids, batchSize: 5, sequenceLength: 33)
        let fromFile = TokenStream(tokens: mapped[1_000..<ids.count], batchSize: 5, sequenceLength: 33)
        let fromSlice = TokenStream(tokens: Array(ids[1_000...]), batchSize: 5, sequenceLength: 33)
        #expect(fromFile.batchesPerEpoch == fromSlice.batchesPerEpoch && fromArray.batchesPerEpoch > 0)
        for index in [0, 1, fromFile.batchesPerEpoch - 1] {
            let a = fromFile.batch(epoch: 0, index: index), b = fromSlice.batch(epoch: 0, index: index)
            #expect(a.inputs == b.inputs && a.targets == b.targets && a.lengths == b.lengths)
        }
    }
}
