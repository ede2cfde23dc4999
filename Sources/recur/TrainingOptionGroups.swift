import ArgumentParser
import Foundation
import Recur

// The option groups every `recur train <task>` shares: the model, the optimizer, the schedule and the run. Each
// checks its own values in `validate()`; a task adds its own data options. Flags are spelled as the library's
// names are: `--hidden-size` is `hiddenSize`.

extension RecurrentConfiguration.Cell: ExpressibleByArgument {}
extension RecurrentConfiguration.GRUVariant: ExpressibleByArgument {}
extension OptimizerConfiguration.Kind: ExpressibleByArgument {}
extension LossReduction: ExpressibleByArgument {}
extension Vocabulary.Level: ExpressibleByArgument {}

/// The basic RNN's nonlinearity g (`--activation`).
enum Nonlinearity: String, CaseIterable, ExpressibleByArgument {
    case tanh, relu

    /// The activation it names.
    var activation: Activation { self == .tanh ? .tanh : .relu }
}

/// How the first weights are drawn (`--initialization`).
enum InitializationKind: String, CaseIterable, ExpressibleByArgument {
    case pytorch, uniform, normal
}

/// The learning-rate schedule (`--schedule`).
enum ScheduleKind: String, CaseIterable, ExpressibleByArgument {
    case constant, step, exponential, cosine, plateau
}

/// Checks one condition of an option group, with the message a user reads.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ValidationError(message()) }
}

/// The recurrent layers of a model (`--cell`, `--hidden-size`, …).
struct ModelOptions: ParsableArguments {
    @Option(help: "Cell: rnn, gru or lstm.") var cell: RecurrentConfiguration.Cell = .lstm
    @Option(help: "GRU form: course or pytorch.") var gruVariant: RecurrentConfiguration.GRUVariant = .pytorch
    @Option(help: "Basic RNN nonlinearity: tanh or relu.") var activation: Nonlinearity = .tanh
    @Option(help: "Stacked recurrent layers.") var layers: Int = 1
    @Flag(help: "Run every layer in both directions (classifiers; a language model reads left to right).") var bidirectional = false
    @Option(help: "Hidden units per layer.") var hiddenSize: Int = 128
    @Option(help: "Learned token vectors of this size (default: one-hot input).") var embeddingSize: Int?
    @Option(help: "Dropout between recurrent layers.") var dropout: Double = 0
    @Flag(help: "One dropout mask per sequence, the same at every step.") var variationalDropout = false
    @Option(help: "Initial weights: pytorch, uniform (±--init-scale) or normal (σ = --init-scale, zero biases).")
    var initialization: InitializationKind = .pytorch
    @Option(help: "Scale for --initialization uniform or normal.") var initScale: Double = 0.1

    func validate() throws {
        for (name, value) in [("--layers", layers), ("--hidden-size", hiddenSize)] {
            try require(value >= 1 && value <= 1 << 20, "\(name) must be between 1 and 1048576, got \(value)")
        }
        if let embeddingSize {
            try require(embeddingSize >= 1 && embeddingSize <= 1 << 16, "--embedding-size must be between 1 and 65536, got \(embeddingSize)")
        }
        try require(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got \(dropout)")
        try require(initScale > 0 && initScale.isFinite, "--init-scale must be positive, got \(initScale)")
    }

    /// The recurrent layers reading `inputSize` features per step.
    func recurrent(inputSize: Int) -> RecurrentConfiguration {
        RecurrentConfiguration(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layers: layers,
                               bidirectional: bidirectional, activation: activation.activation, gruVariant: gruVariant, dropout: dropout,
                               variationalDropout: variationalDropout)
    }

    /// `--initialization` with its scale.
    var initializationValue: LanguageModelConfiguration.Initialization {
        switch initialization {
        case .pytorch: .pytorch
        case .uniform: .uniform(scale: initScale)
        case .normal: .normal(standardDeviation: initScale)
        }
    }
}

/// The update rule, clipping and the loss's reduction (`--optimizer`, `--learning-rate`, …).
struct OptimizerOptions: ParsableArguments {
    @Option(help: "Optimizer: sgd, adam, adamw or rmsprop.") var optimizer: OptimizerConfiguration.Kind = .adam
    @Option(help: "Learning rate before the schedule.") var learningRate: Double = 0.002
    @Option(help: "Momentum (sgd, rmsprop).") var momentum: Double = 0
    @Flag(help: "Nesterov momentum (sgd).") var nesterov = false
    @Option(help: "Weight decay (adamw: decoupled; others: L2 added to the gradient).") var weightDecay: Double?
    @Option(help: "Clip the global gradient norm to this (default 5 unless --clip-value).") var clipNorm: Double?
    @Option(help: "Clip every gradient element to ±this.") var clipValue: Double?
    @Option(help: "Loss reduction: mean-per-token, sum or mean-per-sequence.") var reduction: LossReduction = .meanPerToken

    func validate() throws {
        try require(learningRate > 0 && learningRate.isFinite, "--learning-rate must be positive, got \(learningRate)")
        try require(clipNorm == nil || clipValue == nil, "give --clip-norm or --clip-value, not both")
        if let clipNorm { try require(clipNorm > 0 && clipNorm.isFinite, "--clip-norm must be positive, got \(clipNorm)") }
        if let clipValue { try require(clipValue > 0 && clipValue.isFinite, "--clip-value must be positive, got \(clipValue)") }
        let problems = configuration.problems.map { "--optimizer \(optimizer.rawValue): \($0)" }
        try require(problems.isEmpty, problems.joined(separator: "; "))
    }

    /// The optimizer's settings.
    var configuration: OptimizerConfiguration {
        OptimizerConfiguration(kind: optimizer, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    }

    /// `--clip-value`, or `--clip-norm` (5 by default).
    var clipping: GradientClipping { clipValue.map { .value($0) } ?? .norm(clipNorm ?? 5) }
}

/// How the learning rate changes over the run (`--schedule` and its settings).
struct ScheduleOptions: ParsableArguments {
    @Option(help: "Schedule: constant, step, exponential, cosine or plateau.") var schedule: ScheduleKind = .constant
    @Option(help: "step/exponential/plateau: the factor the rate is multiplied by.") var decayFactor: Double = 0.5
    @Option(help: "step: decay every N steps.") var decayEvery: Int = 1000
    @Option(help: "step: first decay at this step.") var decayStart: Int = 0
    @Option(help: "cosine: linear warm-up steps.") var warmupSteps: Int = 0
    @Option(help: "cosine/plateau: the lowest rate.") var minimumLearningRate: Double = 0
    @Option(help: "plateau: validations without improvement before the rate is cut.") var plateauPatience: Int = 2

    /// The schedule of a run of `totalSteps` steps.
    func value(totalSteps: Int) -> LearningRateSchedule {
        switch schedule {
        case .constant: .constant
        case .step: .stepDecay(start: decayStart, every: decayEvery, factor: decayFactor)
        case .exponential: .exponential(factor: decayFactor)
        case .cosine: .warmupCosine(warmupSteps: warmupSteps, totalSteps: totalSteps, minimum: minimumLearningRate)
        case .plateau: .reduceOnPlateau(factor: decayFactor, patience: plateauPatience, minimum: minimumLearningRate)
        }
    }
}

/// The length of the run, its batches, validation, checkpoints and output (`--steps`, `--output`, `--resume`, …).
struct RunOptions: ParsableArguments {
    @Option(help: "Sequences (or stream lanes) per step.") var batchSize: Int = 32
    @Option(help: "Steps in the whole run (counting those before a resume).") var steps: Int?
    @Option(help: "Passes over the data (default 1 unless --steps).") var epochs: Int?
    @Option(help: "Seed for initialization, data order and dropout.") var seed: UInt64 = 0
    @Option(help: "Validate every N steps (default: at the end).") var validateEvery: Int?
    @Option(help: "Stop after N validations without a better result.") var earlyStopping: Int?
    @Option(help: "Save the model every N steps (it is always saved at the end).") var checkpointEvery: Int?
    @Option(help: "Log and update progress every N steps.") var logEvery: Int = 10
    @Option(help: "Stop after N non-finite steps in a row.") var maxNonFinite: Int = 5
    @Flag(help: "Plain lines instead of the live progress bar.") var quiet = false
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Where to save the model.") var output: String
    @Option(help: "Continue the run saved in this checkpoint (give the same options as the run that wrote it).")
    var resume: String?

    func validate() throws {
        for (name, value) in [("--batch-size", batchSize), ("--log-every", logEvery), ("--max-non-finite", maxNonFinite)] {
            try require(value >= 1 && value <= 1 << 20, "\(name) must be between 1 and 1048576, got \(value)")
        }
        try require(steps == nil || epochs == nil, "give --steps or --epochs, not both")
        if let steps { try require(steps >= 1, "--steps must be at least 1, got \(steps)") }
        if let epochs { try require(epochs >= 1, "--epochs must be at least 1, got \(epochs)") }
        if let validateEvery { try require(validateEvery >= 1, "--validate-every must be at least 1, got \(validateEvery)") }
        if let earlyStopping { try require(earlyStopping >= 1, "--early-stopping must be at least 1, got \(earlyStopping)") }
        if let checkpointEvery { try require(checkpointEvery >= 1, "--checkpoint-every must be at least 1, got \(checkpointEvery)") }
    }

    /// The folder `--output` names exists and can be written to.
    func checkOutputFolder() throws {
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw CommandFailure("--output \(output): the folder \(folder) does not exist")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw CommandFailure("--output \(output): the folder \(folder) is not writable")
        }
    }

    /// The trainer's options from these groups, for data of `batchesPerEpoch` batches.
    func trainingOptions(optimizer: OptimizerOptions, schedule: ScheduleOptions, batchesPerEpoch: Int,
                         hasValidation: Bool, dataChecksum: UInt32) throws -> TrainingOptions {
        let total = steps ?? (epochs ?? 1) * batchesPerEpoch
        let options = TrainingOptions(
            steps: steps, epochs: steps == nil ? (epochs ?? 1) : nil, learningRate: optimizer.learningRate,
            schedule: schedule.value(totalSteps: total), optimizer: optimizer.configuration, clipping: optimizer.clipping,
            reduction: optimizer.reduction, seed: seed, validateEvery: validateEvery, earlyStoppingPatience: earlyStopping,
            checkpointEvery: checkpointEvery, logEvery: logEvery, maximumNonFiniteSteps: maxNonFinite,
            dataChecksum: dataChecksum)
        let problems = options.problems
        if !problems.isEmpty { throw CommandFailure(problems.joined(separator: "\n")) }
        if schedule.schedule == .plateau && !hasValidation {
            throw CommandFailure("--schedule plateau needs validation data (--valid or --valid-fraction above 0)")
        }
        if earlyStopping != nil && !hasValidation {
            throw CommandFailure("--early-stopping needs validation data (--valid or --valid-fraction above 0)")
        }
        return options
    }
}
