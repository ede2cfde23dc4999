import ArgumentParser
import Foundation
import Recur
import Synchronization

/// `recur train <task>`: the tasks Recur trains, each through the one `Trainer`; `lm` is the default, so
/// `recur train --data …` trains a language model.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model: a language model (recur train lm, the default), a classifier (recur train classifier) or a tagger (recur train tagger).",
        discussion: """
            Every task shares the model, optimizer, schedule and run options; `recur train lm --help` lists them \
            with the language model's data options.
            """,
        subcommands: [TrainLanguageModelCommand.self, TrainClassifierCommand.self, TrainTaggerCommand.self],
        defaultSubcommand: TrainLanguageModelCommand.self
    )
}

/// `recur train lm`: a language model, of characters or of words, on a text file, with progress, logs, a loss plot,
/// checkpoints, Ctrl-C that saves, and exact resume.
struct TrainLanguageModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Train a language model (characters or words) on a text file.",
        discussion: """
            --layout stream trains char-rnn style: the text is one stream, cut into --batch-size lanes read in \
            windows of --sequence-length, the state carried from one window to the next. --layout lines makes each \
            line its own sequence, read from a zero input and ending with '\\n', --batch-size lines per step, \
            shuffled every epoch. The last --valid-fraction of the text (or of the lines) is held out for \
            validation unless --valid names a file. Besides MODEL, training writes MODEL's stem + .best (the best \
            validation loss), .log.jsonl (every logged step) and .loss.svg (the loss curve). Ctrl-C stops after the \
            current step, saves, and prints the command that resumes.
            """
    )

    @OptionGroup(title: "Data") var text: TextDataOptions
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Optimizer") var optimizer: OptimizerOptions
    @OptionGroup(title: "Schedule") var schedule: ScheduleOptions
    @OptionGroup(title: "Run") var session: RunOptions

    func validate() throws {
        try require(!model.bidirectional, "--bidirectional: a language model reads left to right (bidirectional layers are for recur train classifier)")
    }

    func run() throws {
        let settings = session.compute.settings
        try session.checkOutputFolder()
        let corpus = try TrainingCorpus(text: text, batchSize: session.batchSize, seed: session.seed)
        let options = try session.trainingOptions(optimizer: optimizer, schedule: schedule,
                                              batchesPerEpoch: corpus.training.batchesPerEpoch,
                                              hasValidation: corpus.validation != nil, dataChecksum: corpus.checksum)
        var generator = SeededGenerator(seed: session.seed)
        let vocabularySize = corpus.vocabulary.count
        let languageModel = LanguageModel(LanguageModelConfiguration(
            vocabularySize: vocabularySize, embeddingSize: model.embeddingSize,
            recurrent: model.recurrent(inputSize: model.embeddingSize ?? vocabularySize),
            initialization: model.initializationValue, startToken: corpus.startToken), using: &generator)
        let output = session.output
        let trainer: Trainer<LanguageModel, Vocabulary>
        do {
            trainer = try Trainer(model: languageModel, vocabulary: corpus.vocabulary, kind: LanguageModel.kind,
                                  training: corpus.training, validation: corpus.validation, options: options,
                                  files: TrainingFiles(checkpoint: URL(fileURLWithPath: output)), settings: settings)
        } catch {
            throw CommandFailure("\(error)")
        }
        guard let outcome = try runTraining(trainer, session: session, unit: "tok", description: corpus.description) else { return }
        let progress = trainer.progress
        var summary = "saved \(output) at step \(progress.step)"
        if let loss = progress.lastValidationLoss {
            let unit = corpus.vocabulary.level == .char ? "char" : "word"
            summary += String(format: "; validation loss %.4f nats/%@ (perplexity %.2f)", loss, unit, exp(loss))
        }
        if let best = progress.bestValidationLoss, let step = progress.bestStep {
            summary += String(format: "; best %.4f at step %d in %@", best, step, trainer.files.best.path)
        }
        if progress.skippedSteps > 0 { summary += "; \(progress.skippedSteps) non-finite steps skipped" }
        print(summary + (outcome == .stoppedEarly ? " (stopped early)" : ""))
    }
}

/// Resumes `trainer` when `--resume` says so, then runs it to its end with a progress display on standard error
/// (counting `unit`s per second) and Ctrl-C that saves.
/// - Returns: how the run ended; nil when it was interrupted, after printing the command that resumes it.
func runTraining<Model, Vocabulary>(_ trainer: Trainer<Model, Vocabulary>, session: RunOptions, unit: String,
                                    description: String, output: String? = nil) throws -> TrainingOutcome? {
    do {
        if let resume = session.resume { try trainer.resume(from: URL(fileURLWithPath: resume)) }
    } catch {
        throw CommandFailure("\(error)")
    }
    let display = ProgressDisplay(totalSteps: trainer.totalSteps, live: !session.quiet && ProgressDisplay.standardErrorIsTerminal,
                                  unit: unit) { FileHandle.standardError.write(Data($0.utf8)) }
    trainer.onRecord = display.show
    trainer.onNotice = display.notice
    let starting = trainer.progress.step, threads = trainer.settings.threadCount
    display.notice("training \(trainer.model.parameterCount) parameters on \(description); \(trainer.totalSteps) steps"
                   + (starting > 0 ? ", resuming at step \(starting)" : "") + "; \(threads) thread\(threads == 1 ? "" : "s")")
    let interrupt = InterruptFlag()
    let outcome: TrainingOutcome
    do {
        outcome = try trainer.run(shouldStop: { interrupt.isSet })
    } catch {
        display.finish()
        throw CommandFailure("\(error)")
    }
    display.finish()
    guard outcome != .interrupted else {
        let output = output ?? session.output
        print("interrupted after step \(trainer.progress.step) of \(trainer.totalSteps); saved \(output)")
        print("resume with: \(resumeCommand(output: output))")
        return nil
    }
    return outcome
}

/// This command line with `--resume OUTPUT` in place of any earlier --resume.
func resumeCommand(output: String) -> String {
    var arguments = Array(CommandLine.arguments.dropFirst())
    var index = 0
    while index < arguments.count {
        if arguments[index] == "--resume" {
            arguments.removeSubrange(index..<min(arguments.count, index + 2))
        } else if arguments[index].hasPrefix("--resume=") {
            arguments.remove(at: index)
        } else {
            index += 1
        }
    }
    arguments += ["--resume", output]
    return (["recur"] + arguments.map(shellQuoted)).joined(separator: " ")
}

/// `word` as a shell reads it back.
func shellQuoted(_ word: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// An error the user can act on: printed as `Error: …` with exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Whether Ctrl-C (SIGINT) or SIGTERM has asked training to stop.
private let interruptRequested = Atomic<Bool>(false)

/// Catches Ctrl-C and SIGTERM while it lives: the first asks training to stop after the current step and save;
/// a second Ctrl-C exits at once.
final class InterruptFlag {
    private let sources: [any DispatchSourceSignal]

    init() {
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if interruptRequested.exchange(true, ordering: .sequentiallyConsistent) && number == SIGINT {
                    FileHandle.standardError.write(Data("\nrecur: interrupted twice; stopping without saving\n".utf8))
                    exit(130)
                }
                FileHandle.standardError.write(Data("\nrecur: stopping after this step and saving…\n".utf8))
            }
            source.resume()
            return source
        }
    }

    var isSet: Bool { interruptRequested.load(ordering: .sequentiallyConsistent) }
}
