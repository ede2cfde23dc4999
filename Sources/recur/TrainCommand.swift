import ArgumentParser
import Foundation
import Recur
import Synchronization

/// `recur train`: a language model, of characters or of words, on a text file, with progress, logs, a loss plot,
/// checkpoints, Ctrl-C that saves, and exact resume.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
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

    // Data
    @Option(help: "The training text (UTF-8).") var data: String
    @Option(help: "A separate validation text (default: the last --valid-fraction of --data).") var valid: String?
    @Option(help: "Fraction of --data held out for validation when --valid is not given (0 for none).")
    var validFraction: Double = 0.1
    @Option(help: "Tokens: char (every character) or word (split on spaces; <eos> ends each line).") var level: String = "char"
    @Option(help: "stream (char-rnn windows over the whole text) or lines (each line a sequence).") var layout: String = "stream"
    @Option(help: "lines: the most tokens a line may have (each line is trained whole; use --layout stream for long text).")
    var maxLineLength: Int = 10_000
    @Flag(help: "Lowercase the text before splitting it into tokens.") var lowercase = false
    @Option(help: "word: keep at most this many tokens (the end and unknown tokens included).") var maxVocabularySize: Int?
    @Option(help: "word: words seen fewer times become the unknown token.") var minCount: Int = 1
    @Option(help: "word: the token appended to every line.") var eosToken: String = "<eos>"
    @Option(help: "The token for words (or, at char level, characters) outside the vocabulary (char level: none unless given).")
    var unkToken: String?
    @Flag(name: .customLong("replace-invalid-utf8"), help: "Read bytes that are not UTF-8 as U+FFFD instead of refusing the file.")
    var replaceInvalidUtf8 = false

    // Model
    @Option(help: "Cell: rnn, gru or lstm.") var cell: String = "lstm"
    @Option(help: "GRU form: course or pytorch.") var gruVariant: String = "pytorch"
    @Option(help: "Basic RNN nonlinearity: tanh or relu.") var activation: String = "tanh"
    @Option(help: "Stacked recurrent layers.") var layers: Int = 1
    @Option(help: "Hidden units per layer.") var hiddenSize: Int = 128
    @Option(help: "Learned character vectors of this size (default: one-hot input).") var embeddingSize: Int?
    @Option(help: "Dropout between recurrent layers.") var dropout: Double = 0
    @Flag(help: "One dropout mask per sequence, the same at every step.") var variationalDropout = false
    @Option(help: "Initial weights: pytorch, uniform (±--init-scale) or normal (σ = --init-scale, zero biases).")
    var initialization: String = "pytorch"
    @Option(help: "Scale for --initialization uniform or normal.") var initScale: Double = 0.1

    // Batches and length of the run
    @Option(help: "Lanes (stream) or lines (lines) per step.") var batchSize: Int = 32
    @Option(help: "Window length for truncated backpropagation (stream layout).") var sequenceLength: Int = 64
    @Option(help: "Steps in the whole run (counting those before a resume).") var steps: Int?
    @Option(help: "Passes over the data (default 1 unless --steps).") var epochs: Int?

    // Optimization
    @Option(help: "Optimizer: sgd, adam, adamw or rmsprop.") var optimizer: String = "adam"
    @Option(help: "Learning rate before the schedule.") var learningRate: Double = 0.002
    @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
    @Flag(help: "Nesterov momentum (sgd).") var nesterov = false
    @Option(help: "Weight decay (adamw: decoupled; others: L2 added to the gradient).") var weightDecay: Double?
    @Option(help: "Schedule: constant, step, exponential, cosine or plateau.") var schedule: String = "constant"
    @Option(help: "step/exponential/plateau: the factor the rate is multiplied by.") var decayFactor: Double = 0.5
    @Option(help: "step: decay every N steps.") var decayEvery: Int = 1000
    @Option(help: "step: first decay at this step.") var decayStart: Int = 0
    @Option(help: "cosine: linear warm-up steps.") var warmupSteps: Int = 0
    @Option(help: "cosine/plateau: the lowest rate.") var minimumLearningRate: Double = 0
    @Option(help: "plateau: validations without improvement before the rate is cut.") var plateauPatience: Int = 2
    @Option(help: "Clip the global gradient norm to this (default 5 unless --clip-value).") var clipNorm: Double?
    @Option(help: "Clip every gradient element to ±this.") var clipValue: Double?
    @Option(help: "Loss reduction: mean-per-token, sum or mean-per-sequence.") var reduction: String = "mean-per-token"
    @Option(help: "Seed for initialization, data order and dropout.") var seed: UInt64 = 0

    // Bookkeeping
    @Option(help: "Validate every N steps (default: at the end).") var validateEvery: Int?
    @Option(help: "Stop after N validations without a better loss.") var earlyStopping: Int?
    @Option(help: "Save MODEL every N steps (it is always saved at the end).") var checkpointEvery: Int?
    @Option(help: "Log and update progress every N steps.") var logEvery: Int = 10
    @Option(help: "Stop after N non-finite steps in a row.") var maxNonFinite: Int = 5
    @Flag(help: "Plain lines instead of the live progress bar.") var quiet = false
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Where to save the model.") var output: String
    @Option(help: "Continue the run saved in this checkpoint (give the same options as the run that wrote it).")
    var resume: String?

    func validate() throws {
        func check(_ condition: Bool, _ message: String) throws { if !condition { throw ValidationError(message) } }
        try check(level == "char" || level == "word", "--level must be char or word, got '\(level)'")
        if let maxVocabularySize { try check(maxVocabularySize >= 3, "--max-vocabulary-size must be at least 3, got \(maxVocabularySize)") }
        try check(minCount >= 1, "--min-count must be at least 1, got \(minCount)")
        try check(!eosToken.isEmpty && !eosToken.contains(where: \.isWhitespace), "--eos-token must be one word, got '\(eosToken)'")
        if let unkToken {
            try check(!unkToken.isEmpty && !unkToken.contains(where: \.isWhitespace), "--unk-token must be one word, got '\(unkToken)'")
            try check(level == "word" || unkToken.count == 1, "--unk-token at char level must be one character, got '\(unkToken)'")
        }
        try check(layout == "stream" || layout == "lines", "--layout must be stream or lines, got '\(layout)'")
        try check(maxLineLength >= 1, "--max-line-length must be at least 1, got \(maxLineLength)")
        try check(RecurrentConfiguration.Cell(rawValue: cell) != nil, "--cell must be rnn, gru or lstm, got '\(cell)'")
        try check(RecurrentConfiguration.GRUVariant(rawValue: gruVariant) != nil, "--gru-variant must be course or pytorch, got '\(gruVariant)'")
        try check(activation == "tanh" || activation == "relu", "--activation must be tanh or relu, got '\(activation)'")
        for (name, value) in [("--layers", layers), ("--hidden-size", hiddenSize), ("--batch-size", batchSize),
                              ("--sequence-length", sequenceLength), ("--log-every", logEvery), ("--max-non-finite", maxNonFinite)] {
            try check(value >= 1 && value <= 1 << 20, "\(name) must be between 1 and 1048576, got \(value)")
        }
        if let embeddingSize { try check(embeddingSize >= 1 && embeddingSize <= 1 << 16, "--embedding-size must be between 1 and 65536, got \(embeddingSize)") }
        try check(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got \(dropout)")
        try check(["pytorch", "uniform", "normal"].contains(initialization), "--initialization must be pytorch, uniform or normal, got '\(initialization)'")
        try check(initScale > 0 && initScale.isFinite, "--init-scale must be positive, got \(initScale)")
        try check(validFraction >= 0 && validFraction < 1, "--valid-fraction must be in [0, 1), got \(validFraction)")
        try check(steps == nil || epochs == nil, "give --steps or --epochs, not both")
        if let steps { try check(steps >= 1, "--steps must be at least 1, got \(steps)") }
        if let epochs { try check(epochs >= 1, "--epochs must be at least 1, got \(epochs)") }
        try check(OptimizerConfiguration.Kind(rawValue: optimizer) != nil, "--optimizer must be sgd, adam, adamw or rmsprop, got '\(optimizer)'")
        try check(learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive, got \(learningRate)")
        try check(["constant", "step", "exponential", "cosine", "plateau"].contains(schedule),
                  "--schedule must be constant, step, exponential, cosine or plateau, got '\(schedule)'")
        try check(clipNorm == nil || clipValue == nil, "give --clip-norm or --clip-value, not both")
        if let clipNorm { try check(clipNorm > 0 && clipNorm.isFinite, "--clip-norm must be positive, got \(clipNorm)") }
        if let clipValue { try check(clipValue > 0 && clipValue.isFinite, "--clip-value must be positive, got \(clipValue)") }
        try check(LossReduction(rawValue: reduction) != nil, "--reduction must be mean-per-token, sum or mean-per-sequence, got '\(reduction)'")
        if let validateEvery { try check(validateEvery >= 1, "--validate-every must be at least 1, got \(validateEvery)") }
        if let earlyStopping { try check(earlyStopping >= 1, "--early-stopping must be at least 1, got \(earlyStopping)") }
        if let checkpointEvery { try check(checkpointEvery >= 1, "--checkpoint-every must be at least 1, got \(checkpointEvery)") }
        let optimizerProblems = optimizerConfiguration.problems.map { "--optimizer \(optimizer): \($0)" }
        try check(optimizerProblems.isEmpty, optimizerProblems.joined(separator: "; "))
    }

    var optimizerConfiguration: OptimizerConfiguration {
        OptimizerConfiguration(kind: OptimizerConfiguration.Kind(rawValue: optimizer) ?? .adam, momentum: momentum,
                               nesterov: nesterov, weightDecay: weightDecay)
    }

    func run() throws {
        let settings = compute.settings
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CommandFailure("--output \(output): the folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw CommandFailure("--output \(output): the folder \(folder) is not writable")
        }
        let corpus = try TrainingCorpus(self)
        let options = try trainingOptions(corpus)
        var generator = SeededGenerator(seed: seed)
        let model = LanguageModel(modelConfiguration(vocabularySize: corpus.vocabulary.count, startToken: corpus.startToken),
                                  using: &generator)
        let outputURL = URL(fileURLWithPath: output)
        let trainer: Trainer<LanguageModel, Vocabulary>
        do {
            trainer = try Trainer(model: model, vocabulary: corpus.vocabulary, kind: LanguageModel.kind,
                                  training: corpus.training, validation: corpus.validation, options: options,
                                  files: TrainingFiles(checkpoint: outputURL), settings: settings)
            if let resume { try trainer.resume(from: URL(fileURLWithPath: resume)) }
        } catch {
            throw CommandFailure("\(error)")
        }
        let display = ProgressDisplay(totalSteps: trainer.totalSteps, live: !quiet && ProgressDisplay.standardErrorIsTerminal) {
            FileHandle.standardError.write(Data($0.utf8))
        }
        trainer.onRecord = display.show
        trainer.onNotice = display.notice
        let starting = trainer.progress.step
        display.notice("training \(model.parameterCount) parameters on \(corpus.description); \(trainer.totalSteps) steps"
                       + (starting > 0 ? ", resuming at step \(starting)" : "") + "; \(settings.threadCount) thread\(settings.threadCount == 1 ? "" : "s")")
        let interrupt = InterruptFlag()
        let outcome: TrainingOutcome
        do {
            outcome = try trainer.run(shouldStop: { interrupt.isSet })
        } catch {
            display.finish()
            throw CommandFailure("\(error)")
        }
        display.finish()
        let progress = trainer.progress
        switch outcome {
        case .interrupted:
            print("interrupted after step \(progress.step) of \(trainer.totalSteps); saved \(output)")
            print("resume with: \(resumeCommand())")
        case .stoppedEarly, .finished:
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

    /// The vocabulary of text counted a piece at a time (the characters of both files, the words of `--data`).
    func vocabulary(counted counter: TokenCounter) -> Vocabulary {
        if level == "word" {
            return Vocabulary(words: counter, maximumSize: maxVocabularySize, minimumCount: minCount,
                              endToken: eosToken, unknownToken: unkToken ?? "<unk>")
        }
        return Vocabulary(characters: counter, unknownToken: unkToken)
    }

    func modelConfiguration(vocabularySize: Int, startToken: String?) -> LanguageModelConfiguration {
        let recurrent = RecurrentConfiguration(
            cell: RecurrentConfiguration.Cell(rawValue: cell)!, inputSize: embeddingSize ?? vocabularySize,
            hiddenSize: hiddenSize, layers: layers, activation: Activation(rawValue: activation)!,
            gruVariant: RecurrentConfiguration.GRUVariant(rawValue: gruVariant)!, dropout: dropout,
            variationalDropout: variationalDropout)
        let start: LanguageModelConfiguration.Initialization = switch initialization {
        case "uniform": .uniform(scale: initScale)
        case "normal": .normal(standardDeviation: initScale)
        default: .pytorch
        }
        return LanguageModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                                          recurrent: recurrent, initialization: start, startToken: startToken)
    }

    func trainingOptions(_ corpus: TrainingCorpus) throws -> TrainingOptions {
        let perEpoch = corpus.training.batchesPerEpoch
        let total = steps ?? (epochs ?? 1) * perEpoch
        let scheduleValue: LearningRateSchedule = switch schedule {
        case "step": .stepDecay(start: decayStart, every: decayEvery, factor: decayFactor)
        case "exponential": .exponential(factor: decayFactor)
        case "cosine": .warmupCosine(warmupSteps: warmupSteps, totalSteps: total, minimum: minimumLearningRate)
        case "plateau": .reduceOnPlateau(factor: decayFactor, patience: plateauPatience, minimum: minimumLearningRate)
        default: .constant
        }
        let clipping: GradientClipping = clipValue.map { .value($0) } ?? .norm(clipNorm ?? 5)
        let options = TrainingOptions(
            steps: steps, epochs: steps == nil ? (epochs ?? 1) : nil, learningRate: learningRate, schedule: scheduleValue,
            optimizer: optimizerConfiguration, clipping: clipping, reduction: LossReduction(rawValue: reduction)!,
            seed: seed, validateEvery: validateEvery, earlyStoppingPatience: earlyStopping,
            checkpointEvery: checkpointEvery, logEvery: logEvery, maximumNonFiniteSteps: maxNonFinite,
            dataChecksum: corpus.checksum)
        let problems = options.problems
        if !problems.isEmpty { throw CommandFailure(problems.joined(separator: "\n")) }
        if schedule == "plateau" && corpus.validation == nil {
            throw CommandFailure("--schedule plateau needs validation data (--valid or --valid-fraction above 0)")
        }
        if earlyStopping != nil && corpus.validation == nil {
            throw CommandFailure("--early-stopping needs validation data (--valid or --valid-fraction above 0)")
        }
        return options
    }

    /// This command line with `--resume MODEL` in place of any earlier --resume.
    func resumeCommand() -> String {
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
