import RecurCore
import RecurLayers

/// How to train: everything that decides the weights a run ends with. Saved in every checkpoint, so a
/// resumed run continues with the same options (and refuses different ones).
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// Updates in the whole run (counting those before a resume); nil: `epochs` passes over the data.
    public var steps: Int?
    /// Passes over the training data the run makes, when `steps` is nil (nil too: one epoch).
    public var epochs: Int?
    /// η before the schedule.
    public var learningRate: Double
    /// How the learning rate changes over the run.
    public var schedule: LearningRateSchedule
    /// The update rule and its settings.
    public var optimizer: OptimizerConfiguration
    /// Clipping applied to the gradients before each update.
    public var clipping: GradientClipping
    /// How the loss of a batch is reduced over its tokens and sequences.
    public var reduction: LossReduction
    /// Seeds the dropout masks (the data order has its own seed, in the data).
    public var seed: UInt64
    /// Validate every N steps (nil: only at the end, when there is validation data).
    public var validateEvery: Int?
    /// Stop after this many validations in a row without a new best (nil: never).
    public var earlyStoppingPatience: Int?
    /// Save the last checkpoint every N steps (nil: only at the end).
    public var checkpointEvery: Int?
    /// Log (and update the progress display) every N steps.
    public var logEvery: Int
    /// Stop after this many steps in a row whose loss or gradient is not finite.
    public var maximumNonFiniteSteps: Int
    /// A checksum of the training data, so that a resume with other data is refused (nil: not checked).
    public var dataChecksum: UInt32?

    /// Options for a run; see each property. `problems` lists what is out of range.
    public init(steps: Int? = nil, epochs: Int? = nil, learningRate: Double, schedule: LearningRateSchedule = .constant,
                optimizer: OptimizerConfiguration = .init(kind: .adam), clipping: GradientClipping = .none,
                reduction: LossReduction = .meanPerToken, seed: UInt64 = 0, validateEvery: Int? = nil,
                earlyStoppingPatience: Int? = nil, checkpointEvery: Int? = nil, logEvery: Int = 10,
                maximumNonFiniteSteps: Int = 5, dataChecksum: UInt32? = nil) {
        self.steps = steps
        self.epochs = epochs
        self.learningRate = learningRate
        self.schedule = schedule
        self.optimizer = optimizer
        self.clipping = clipping
        self.reduction = reduction
        self.seed = seed
        self.validateEvery = validateEvery
        self.earlyStoppingPatience = earlyStoppingPatience
        self.checkpointEvery = checkpointEvery
        self.logEvery = logEvery
        self.maximumNonFiniteSteps = maximumNonFiniteSteps
        self.dataChecksum = dataChecksum
    }

    /// Everything wrong with the options, one sentence each.
    public var problems: [String] {
        var found: [String] = []
        switch (steps, epochs) {
        case (nil, nil): found.append("give the length of the run: steps or epochs")
        case (.some, .some): found.append("give steps or epochs, not both")
        case (.some(let s), nil) where s < 1: found.append("steps must be at least 1, got \(s)")
        case (nil, .some(let e)) where e < 1: found.append("epochs must be at least 1, got \(e)")
        default: break
        }
        if !(learningRate > 0 && learningRate.isFinite) { found.append("the learning rate must be positive, got \(learningRate)") }
        found += schedule.problems + optimizer.problems + clipping.problems
        if let n = validateEvery, n < 1 { found.append("validate-every must be at least 1, got \(n)") }
        if let n = earlyStoppingPatience, n < 1 { found.append("early-stopping patience must be at least 1, got \(n)") }
        if let n = checkpointEvery, n < 1 { found.append("checkpoint-every must be at least 1, got \(n)") }
        if logEvery < 1 { found.append("log-every must be at least 1, got \(logEvery)") }
        if maximumNonFiniteSteps < 1 { found.append("the non-finite step limit must be at least 1, got \(maximumNonFiniteSteps)") }
        return found
    }

    /// Steps in the whole run for data of `batchesPerEpoch` batches.
    public func totalSteps(batchesPerEpoch: Int) -> Int { steps ?? (epochs ?? 1) * batchesPerEpoch }
}

/// Where a run is: everything besides weights and optimizer that a resumed run needs to continue exactly.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Updates attempted so far (including skipped ones); the next step's index.
    public var step = 0
    /// Tokens predicted in training so far.
    public var tokensSeen = 0
    /// The reduce-on-plateau schedule's memory.
    public var plateau = PlateauState()
    /// The lowest validation loss so far, in nats per token (nil before the first validation).
    public var bestValidationLoss: Double? = nil
    /// The best validation's primary value turned so that lower is better (`Evaluation.score`): for a language
    /// model, its loss.
    public var bestScore: Double? = nil
    /// The task's metrics at the best validation (nil when the evaluation has only a loss).
    public var bestValidationMetrics: [String: Double]? = nil
    /// The step at which `bestValidationLoss` was measured (the best checkpoint's step).
    public var bestStep: Int? = nil
    /// The most recent validation loss.
    public var lastValidationLoss: Double? = nil
    /// Validations in a row that did not improve on the best (early stopping counts these).
    public var validationsWithoutImprovement = 0
    /// Steps in a row skipped because their loss or gradient was not finite.
    public var nonFiniteInARow = 0
    /// Steps skipped in the whole run because their loss or gradient was not finite.
    public var skippedSteps = 0
    /// Seconds spent training before this process (for tokens/s and ETA across resumes).
    public var elapsedSeconds = 0.0
    /// Every validation so far: (step, loss in nats per token).
    public var validationHistory: [ValidationPoint] = []
    /// The training losses since the last log record (sum and steps), so a record spanning a resume is exact.
    public var unloggedLoss = 0.0
    /// Steps since the last log record.
    public var unloggedSteps = 0
    /// The global gradient norm of the last step, before clipping.
    public var lastGradientNorm = 0.0
    /// The dropout generator's state.
    public var dropoutGenerator: [UInt64]

    /// The progress of a run that has not started, its dropout generator seeded with `seed`.
    public init(seed: UInt64) {
        dropoutGenerator = SeededGenerator(seed: seed).state
    }
}

/// One validation: the step it followed and the loss (nats per token).
public struct ValidationPoint: Codable, Equatable, Sendable {
    /// The step after which it was measured.
    public var step: Int
    /// The validation loss, in nats per token.
    public var loss: Double
    /// The task's metrics (nil when the evaluation has only a loss).
    public var metrics: [String: Double]?

    /// A validation measured after `step`.
    public init(step: Int, loss: Double, metrics: [String: Double]? = nil) {
        self.step = step
        self.loss = loss
        self.metrics = metrics
    }
}
