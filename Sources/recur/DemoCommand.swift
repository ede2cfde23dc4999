import ArgumentParser
import Foundation
import Recur

/// The README's first command: trains a small character-level language model for about a minute on the tour
/// of recurrent networks that ships with Recur (`Resources/tour.md`, written for this project), shows samples
/// as it learns, then ranks two sentences that sound alike. Deterministic with its default seed.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a small language model on Recur's own tour of recurrent networks, and watch it learn."
    )

    @Option(help: "Training steps (the default takes about a minute on two cores).") var steps: Int = 1200
    @Option(help: "Seed for initialization, data order and samples.") var seed: UInt64 = 0
    @Option(help: "Write a sample every N steps.") var sampleEvery: Int = 200
    @Flag(help: "Plain lines instead of the live progress bar.") var quiet = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if steps < 1 || steps > 1_000_000 { throw ValidationError("--steps must be between 1 and 1000000, got \(steps)") }
        if sampleEvery < 1 { throw ValidationError("--sample-every must be at least 1, got \(sampleEvery)") }
    }

    func run() throws {
        let settings = compute.settings
        say("Recur — recurrent sequence models in Swift (kernel \(settings.kernel), \(settings.threadCount) thread\(settings.threadCount == 1 ? "" : "s"))")
        #if DEBUG
        say("(a debug build trains 10–100 times slower; run `swift run -c release recur demo`)")
        #endif
        guard let url = Bundle.module.url(forResource: "tour", withExtension: "md") else {
            throw CommandFailure("the demo's text (tour.md) is missing beside this recur binary; run it with `swift run -c release recur demo`")
        }
        let text = try TextFile.read(url.path)
        let vocabulary = Vocabulary(characters: text)
        let ids = try vocabulary.encode(text)
        say("Training a character-level LSTM on Recur's tour of recurrent networks (\(text.count) characters, \(vocabulary.count) distinct) for \(steps) steps.")

        var generator = SeededGenerator(seed: seed)
        let model = LanguageModel(LanguageModelConfiguration(
            vocabularySize: vocabulary.count, embeddingSize: nil,
            recurrent: RecurrentConfiguration(cell: .lstm, inputSize: vocabulary.count, hiddenSize: 256, layers: 2, dropout: 0.2),
            startToken: vocabulary.endToken), using: &generator)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recur-demo")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The whole text is for training: at 10 k characters, a held-out part would say little.
        let options = TrainingOptions(steps: steps, learningRate: 2e-3, optimizer: .init(kind: .adam), clipping: .norm(5),
                                      seed: seed, logEvery: greatestCommonDivisor(25, sampleEvery))
        let trainer = try Trainer(
            model: model, vocabulary: vocabulary, kind: LanguageModel.kind,
            training: TokenStream(tokens: ids, batchSize: 16, sequenceLength: 64),
            options: options, files: TrainingFiles(checkpoint: folder.appendingPathComponent("demo.recur")), settings: settings)
        let display = ProgressDisplay(totalSteps: steps, live: !quiet && ProgressDisplay.standardErrorIsTerminal) {
            FileHandle.standardError.write(Data($0.utf8))
        }
        let start = model.startID(in: vocabulary.tokens)
        var samples = SeededGenerator(seed: seed &+ 1)
        func sample(after step: Int) {
            let sampler = Sampler(model: model, start: start, settings: settings)
            var drawn = ""
            for _ in 0..<160 {
                let id = sampler.next(SamplingOptions(temperature: 0.7), using: &samples)
                drawn += vocabulary.tokens[id]
            }
            let shown = drawn.replacingOccurrences(of: "\n", with: " ⏎ ")
            display.notice("sample at step \(step): \(shown)")
        }
        var lastLoss = Double.nan
        trainer.onRecord = { record in
            display.show(record)
            lastLoss = record.loss
            if record.event == .train && record.step % sampleEvery == 0 { sample(after: record.step) }
        }
        let started = Date()
        sample(after: 0)
        _ = try trainer.run()
        display.finish()
        let seconds = Date().timeIntervalSince(started)
        say(String(format: "Trained in %.0f s; training loss %.3f nats per character (it started at %.2f = ln %d).",
                     seconds, lastLoss, log(Double(vocabulary.count)), vocabulary.count))

        // The course's speech-recognition example: which of two sentences that sound alike is more likely?
        let sentences = ["The apple and pair salad.", "The apple and pear salad."]
        let scores = model.tokenLogProbabilities(try sentences.map { try vocabulary.encodeSentence($0) }, start: start,
                                                 settings: settings).map { $0.reduce(0, +) }
        say("Which sentence did the speaker say? log P from the model, most likely first:")
        for index in scores.indices.sorted(by: { scores[$0] > scores[$1] }) {
            say(String(format: "  %8.3f  %@", scores[index], sentences[index]))
        }
        say("The model is saved in \(trainer.files.checkpoint.path). Next:")
        say("  recur sample \(trainer.files.checkpoint.path) --prime \"A language model\"")
        say("  recur train --data your-text.txt --output model.recur")
    }
}

/// Writes a line to standard output at once (unbuffered), so it stays in order with the progress on standard error.
private func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }
