import Foundation
import RecurCore
import RecurLayers

/// The files a training run writes, all beside `checkpoint`: for `runs/shakespeare.recur`,
/// `runs/shakespeare.best.recur` (the best validation loss so far), `runs/shakespeare.log.jsonl` and
/// `runs/shakespeare.loss.svg`.
public struct TrainingFiles: Sendable {
    /// The last checkpoint, written every `checkpointEvery` steps and at the end.
    public var checkpoint: URL
    /// The checkpoint with the best validation loss (`NAME.best.recur`).
    public var best: URL
    /// The JSON-lines log (`NAME.log.jsonl`).
    public var log: URL
    /// The SVG loss plot (`NAME.loss.svg`).
    public var plot: URL

    /// The files of a run whose checkpoint is `checkpoint`; the others are named after it.
    public init(checkpoint: URL) {
        self.checkpoint = checkpoint
        let folder = checkpoint.deletingLastPathComponent()
        let name = checkpoint.lastPathComponent
        let stem = checkpoint.pathExtension.isEmpty ? name : String(name.dropLast(checkpoint.pathExtension.count + 1))
        let suffix = checkpoint.pathExtension.isEmpty ? "" : "." + checkpoint.pathExtension
        best = folder.appendingPathComponent(stem + ".best" + suffix)
        log = folder.appendingPathComponent(stem + ".log.jsonl")
        plot = folder.appendingPathComponent(stem + ".loss.svg")
    }
}

/// How a run ended.
public enum TrainingOutcome: Equatable, Sendable {
    /// Every step done.
    case finished
    /// `shouldStop` said so (Ctrl-C); the checkpoint was saved after the current step.
    case interrupted
    /// The validation loss stopped improving for `earlyStoppingPatience` validations.
    case stoppedEarly
}

/// Why training could not go on.
public enum TrainingError: Error, CustomStringConvertible {
    /// The options have these problems.
    case options([String])
    /// Too many steps in a row had a loss or gradient that was not finite.
    case nonFinite(String)
    /// A checkpoint could not be saved or loaded.
    case checkpoint(CheckpointError)
    /// The checkpoint to resume from does not fit this run.
    case resume(String)
    /// The log or the plot could not be written.
    case files(String)

    public var description: String {
        switch self {
        case .options(let problems): problems.joined(separator: "\n")
        case .nonFinite(let message), .resume(let message), .files(let message): message
        case .checkpoint(let error): error.description
        }
    }
}

/// Trains a `SequenceModel` of any kind — the one training loop of Recur: minibatches from a `BatchSource`,
/// truncated backpropagation through time with the state carried between windows (for a model that carries one),
/// clipping, an optimizer and a schedule, validation (an `Evaluation`: the loss and the task's metrics, its primary
/// metric choosing the best checkpoint) with early stopping, non-finite steps skipped, and checkpoints from which a
/// run resumes bit for bit.
///
///     let trainer = try Trainer(model: model, vocabulary: vocabulary, kind: "language-model",
///                               training: stream, validation: held, options: options,
///                               files: TrainingFiles(checkpoint: url))
///     let outcome = try trainer.run()
///
/// Determinism: the batch of step k is a function of k alone (`BatchSource`), the dropout masks come from a
/// generator whose state is saved, the schedule is a function of k (and the saved plateau state), and the
/// optimizer's averages and the carried state are saved as tensors. A run stopped at any checkpoint and
/// resumed with the same options therefore ends with the same bits as one that never stopped.
public final class Trainer<Model: SequenceModel, Vocabulary: Codable & Sendable> {
    /// The model being trained; its parameters change in place.
    public let model: Model
    /// The vocabulary saved in every checkpoint.
    public let vocabulary: Vocabulary
    /// The checkpoint kind, e.g. "language-model".
    public let kind: String
    /// The training batches.
    public let training: any BatchSource<Model.Batch>
    /// The validation batches (nil: no validation, no best checkpoint, no early stopping).
    public let validation: (any BatchSource<Model.Batch>)?
    /// The run's options.
    public let options: TrainingOptions
    /// Where the run writes.
    public let files: TrainingFiles
    /// The kernel and the number of threads.
    public let settings: ComputeSettings
    /// The optimizer and its running state.
    public let optimizer: Optimizer
    /// Where the run is.
    public private(set) var progress: TrainingProgress
    /// The final state of the last step, [L·Dir, B, H], carried into the next window.
    private var carried: RecurrentState?
    private var log: TrainingLog?

    /// Called after each record is logged (for a progress display).
    public var onRecord: (TrainingRecord) -> Void = { _ in }
    /// Called with each notice (a skipped step, a saved checkpoint).
    public var onNotice: (String) -> Void = { _ in }

    /// A run of `model` on `training`; nothing is written until it runs.
    /// - Throws: `TrainingError` when the options have a problem.
    public init(model: Model, vocabulary: Vocabulary, kind: String, training: any BatchSource<Model.Batch>,
                validation: (any BatchSource<Model.Batch>)? = nil, options: TrainingOptions, files: TrainingFiles,
                settings: ComputeSettings = .current) throws(TrainingError) {
        guard options.problems.isEmpty else { throw .options(options.problems) }
        self.model = model
        self.vocabulary = vocabulary
        self.kind = kind
        self.training = training
        self.validation = validation
        self.options = options
        self.files = files
        self.settings = settings
        optimizer = Optimizer(options.optimizer, parameters: model.parameters, names: model.namedParameters.map(\.name))
        progress = TrainingProgress(seed: options.seed)
    }

    /// Steps the whole run takes.
    public var totalSteps: Int { options.totalSteps(batchesPerEpoch: training.batchesPerEpoch) }

    // MARK: - Resuming

    /// Continues from a checkpoint this run (same kind, model and options) wrote.
    public func resume(from url: URL) throws(TrainingError) {
        let file: CheckpointFile
        do {
            file = try CheckpointFile.load(from: url)
        } catch {
            throw .checkpoint(error)
        }
        func mismatch(_ why: String) -> TrainingError { .checkpoint(CheckpointError(path: url.path, problem: .mismatch(why))) }
        let document: CheckpointDocument<Model.Configuration, Vocabulary>
        do {
            document = try CheckpointDocument.decode(file.document)
        } catch {
            throw mismatch("its \"recur\" document is not a \(kind) checkpoint (\(error))")
        }
        guard document.kind == kind else { throw mismatch("it holds a \(document.kind), not a \(kind)") }
        guard document.model == model.configuration else {
            throw mismatch("its model configuration differs from this run's (give the same options as the run that wrote it)")
        }
        guard let saved = document.training else { throw mismatch("it holds a model only, without the training state to resume") }
        guard saved.options == options else {
            throw mismatch("it was trained with other options (give the same options as the run that wrote it)")
        }
        do {
            try model.loadParameters(from: file)
        } catch {
            throw .checkpoint(CheckpointError(path: url.path, problem: error))
        }
        var slots: [String: Tensor] = [:]
        for (name, value) in file.tensors where name.hasPrefix(CheckpointNames.optimizerPrefix) {
            slots[String(name.dropFirst(CheckpointNames.optimizerPrefix.count))] = value
        }
        do {
            try optimizer.restore(stepCount: saved.optimizerStepCount, tensors: slots)
        } catch {
            throw mismatch(error.description)
        }
        guard SeededGenerator(state: saved.progress.dropoutGenerator) != nil else { throw mismatch("its generator state is invalid") }
        progress = saved.progress
        carried = file[CheckpointNames.carriedHidden].map {
            RecurrentState(hidden: $0, cellState: file[CheckpointNames.carriedCellState])
        }
    }

    // MARK: - Saving

    /// The checkpoint of the run as it stands.
    public func checkpoint() -> CheckpointFile {
        var tensors = model.namedParameters.map { (name: $0.name, value: $0.parameter.value) }
        tensors += optimizer.state.tensors.map { (name: CheckpointNames.optimizerPrefix + $0.name, value: $0.value) }
        if let carried {
            tensors.append((CheckpointNames.carriedHidden, carried.hidden))
            if let cell = carried.cellState { tensors.append((CheckpointNames.carriedCellState, cell)) }
        }
        let training = CheckpointDocument<Model.Configuration, Vocabulary>.Training(
            options: options, progress: progress, optimizerStepCount: optimizer.stepCount, totalSteps: totalSteps,
            epoch: Double(progress.step) / Double(training.batchesPerEpoch))
        let document = CheckpointDocument(kind: kind, model: model.configuration, vocabulary: vocabulary, training: training)
        return CheckpointFile(tensors: tensors, document: document.encoded())
    }

    private func save(to url: URL) throws(TrainingError) {
        do {
            try checkpoint().save(to: url)
        } catch {
            throw .checkpoint(error)
        }
    }

    private func writePlot() {
        guard let log else { return }
        let svg = LossPlot.svg(log.records, title: "Recur: \(files.checkpoint.lastPathComponent)")
        try? Data(svg.utf8).withUnsafeBytes { buffer in try AtomicFile.write(buffer, to: files.plot) }
    }

    // MARK: - Running

    /// Trains to the end of the run (or until `shouldStop` returns true after a step).
    /// - Returns: how the run ended: finished, interrupted by `shouldStop`, or stopped early on a validation plateau.
    @discardableResult
    public func run(shouldStop: () -> Bool = { false }) throws(TrainingError) -> TrainingOutcome {
        do {
            log = try TrainingLog(url: files.log, resumingAt: progress.step == 0 ? nil : progress.step)
        } catch {
            throw .files("cannot write the training log \(files.log.path): \(error.localizedDescription)")
        }
        defer { writePlot() }
        let total = totalSteps, perEpoch = training.batchesPerEpoch
        var generator = SeededGenerator(state: progress.dropoutGenerator)!
        let started = Date(), elapsedBefore = progress.elapsedSeconds
        func elapsed() -> Double { elapsedBefore + Date().timeIntervalSince(started) }
        var sinceRecord = (tokens: 0, time: Date())

        while progress.step < total {
            let k = progress.step
            let batch = training.batch(epoch: k / perEpoch, index: k % perEpoch)
            optimizer.zeroGradients()
            let (value, final) = model.trainingStep(batch, carried: carried, reduction: options.reduction,
                                                    dropoutGenerator: &generator, settings: settings)
            let norm = options.clipping.apply(to: model.parameters)
            progress.step += 1
            progress.tokensSeen += batch.unitCount
            let learningRate = options.schedule.rate(base: options.learningRate, step: k, plateau: progress.plateau)
            if value.value.isFinite && norm.isFinite {
                optimizer.step(learningRate: learningRate)
                carried = final
                progress.nonFiniteInARow = 0
                progress.unloggedLoss += value.value
                progress.unloggedSteps += 1
                progress.lastGradientNorm = norm
            } else {
                carried = nil
                progress.skippedSteps += 1
                progress.nonFiniteInARow += 1
                let what = value.value.isFinite ? "gradient norm" : "loss"
                onNotice("step \(progress.step): the \(what) is not finite; the step is skipped (\(progress.nonFiniteInARow) in a row)")
                if progress.nonFiniteInARow >= options.maximumNonFiniteSteps {
                    let kept = FileManager.default.fileExists(atPath: files.checkpoint.path)
                        ? "the last good checkpoint, \(files.checkpoint.path), is intact" : "no checkpoint was written"
                    throw .nonFinite("training stopped: the loss or gradient was not finite for \(progress.nonFiniteInARow) steps in a row (steps \(progress.step - progress.nonFiniteInARow + 1)–\(progress.step)); \(kept). Try a lower learning rate or gradient clipping.")
                }
            }
            sinceRecord.tokens += batch.unitCount
            progress.dropoutGenerator = generator.state
            progress.elapsedSeconds = elapsed()

            if progress.step % options.logEvery == 0 || progress.step == total, progress.unloggedSteps > 0 {
                let seconds = Date().timeIntervalSince(sinceRecord.time)
                let record = TrainingRecord(event: .train, step: progress.step, epoch: Double(progress.step) / Double(perEpoch),
                                            tokens: progress.tokensSeen, loss: progress.unloggedLoss / Double(progress.unloggedSteps),
                                            gradientNorm: progress.lastGradientNorm, learningRate: learningRate,
                                            tokensPerSecond: seconds > 0 ? Double(sinceRecord.tokens) / seconds : nil,
                                            elapsedSeconds: progress.elapsedSeconds)
                log?.append(record)
                onRecord(record)
                sinceRecord = (0, Date())
                progress.unloggedLoss = 0
                progress.unloggedSteps = 0
            }
            var stopEarly = false
            if validation != nil, let every = options.validateEvery, progress.step % every == 0 {
                stopEarly = try validate()
            }
            if let every = options.checkpointEvery, progress.step % every == 0, progress.step < total {
                try save(to: files.checkpoint)
                writePlot()
            }
            if stopEarly {
                try save(to: files.checkpoint)
                return .stoppedEarly
            }
            if shouldStop() && progress.step < total {
                try save(to: files.checkpoint)
                return .interrupted
            }
        }
        // A last validation, unless the last step just had one.
        if validation != nil, options.validateEvery.map({ total % $0 != 0 }) ?? true { _ = try validate() }
        try save(to: files.checkpoint)
        return .finished
    }

    /// The model's evaluation on the validation data (nil without validation data).
    public func evaluate() -> Evaluation? {
        validation.map { model.evaluate($0, settings: settings) }
    }

    /// The mean validation loss per unit (nats per token for a language model); NaN without validation data.
    public func validationLoss() -> Double { evaluate()?.loss ?? .nan }

    /// Validates, logs, keeps the best checkpoint and updates the plateau schedule.
    /// - Returns: true when early stopping says to stop.
    private func validate() throws(TrainingError) -> Bool {
        guard let evaluation = evaluate() else { return false }
        let value = evaluation.loss, metrics = evaluation.metrics.isEmpty ? nil : evaluation.metrics
        progress.lastValidationLoss = value
        progress.validationHistory.append(ValidationPoint(step: progress.step, loss: value, metrics: metrics))
        options.schedule.observe(validationLoss: evaluation.score, plateau: &progress.plateau)
        let record = TrainingRecord(event: .validation, step: progress.step,
                                    epoch: Double(progress.step) / Double(training.batchesPerEpoch),
                                    tokens: progress.tokensSeen, loss: value, metrics: metrics,
                                    elapsedSeconds: progress.elapsedSeconds)
        log?.append(record)
        onRecord(record)
        let score = evaluation.score
        if score.isFinite && (progress.bestScore.map { score < $0 } ?? true) {
            progress.bestScore = score
            progress.bestValidationLoss = value
            progress.bestValidationMetrics = metrics
            progress.bestStep = progress.step
            progress.validationsWithoutImprovement = 0
            try save(to: files.best)
        } else {
            progress.validationsWithoutImprovement += 1
        }
        writePlot()
        if let patience = options.earlyStoppingPatience, progress.validationsWithoutImprovement >= patience {
            let best = evaluation.primary == "loss" ? progress.bestValidationLoss : progress.bestValidationMetrics?[evaluation.primary]
            onNotice("stopping early: no better validation \(evaluation.primary.replacingOccurrences(of: "_", with: " ")) in \(patience) validations (best \(best ?? .nan) at step \(progress.bestStep ?? 0))")
            return true
        }
        return false
    }
}
