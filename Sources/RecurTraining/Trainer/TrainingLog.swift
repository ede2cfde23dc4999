import Foundation
import RecurCore

/// One line of the training log.
public struct TrainingRecord: Codable, Equatable, Sendable {
    /// Whether a record is of a training step or of a validation.
    public enum Event: String, Codable, Sendable {
        /// The mean of the training losses since the previous record.
        case train
        /// A pass over the validation data.
        case validation
    }

    /// A training step or a validation.
    public var event: Event
    /// Steps done (1 after the first update).
    public var step: Int
    /// Epochs done, fractional.
    public var epoch: Double
    /// Training units seen so far: tokens for a language model (the batches' `unitCount`).
    public var tokens: Int
    /// The reduced loss (train: averaged over the steps since the last record; validation: nats per unit).
    public var loss: Double
    /// The task's validation metrics (validation only; nil when the evaluation has only a loss).
    public var metrics: [String: Double]?
    /// The global gradient norm before clipping, averaged since the last record (training only).
    public var gradientNorm: Double?
    /// The learning rate of the step (training only).
    public var learningRate: Double?
    /// Training speed since the last record, in units (tokens) per second (training only).
    public var tokensPerSecond: Double?
    /// Seconds of training so far, across resumes.
    public var elapsedSeconds: Double

    /// A record; see each property.
    public init(event: Event, step: Int, epoch: Double, tokens: Int, loss: Double, metrics: [String: Double]? = nil,
                gradientNorm: Double? = nil, learningRate: Double? = nil, tokensPerSecond: Double? = nil,
                elapsedSeconds: Double) {
        self.metrics = metrics
        self.event = event
        self.step = step
        self.epoch = epoch
        self.tokens = tokens
        self.loss = loss
        self.gradientNorm = gradientNorm
        self.learningRate = learningRate
        self.tokensPerSecond = tokensPerSecond
        self.elapsedSeconds = elapsedSeconds
    }
}

/// The machine-readable log: one JSON object per line, keys in snake case
/// (`event`, `step`, `epoch`, `tokens`, `loss`, `gradient_norm`, `learning_rate`, `tokens_per_second`,
/// `elapsed_seconds`), appended and flushed as training goes.
public final class TrainingLog {
    /// The log file.
    public let url: URL
    /// Every record of the run so far, the kept ones of a resumed run included.
    public private(set) var records: [TrainingRecord]
    private let handle: FileHandle

    /// Opens the log at `url`. Resuming at step `resumingAt` keeps the records up to that step and drops the
    /// rest (those of a run killed after its last checkpoint); nil starts a new log.
    public init(url: URL, resumingAt: Int?) throws {
        self.url = url
        var kept: [TrainingRecord] = []
        if let resumingAt, let data = FileManager.default.contents(atPath: url.path) {
            let decoder = RecurJSON.decoder()
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let record = try? decoder.decode(TrainingRecord.self, from: Data(line)), record.step <= resumingAt {
                    kept.append(record)
                }
            }
        }
        records = kept
        let text = kept.map(TrainingLog.line).joined()
        try Data(text.utf8).write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Adds a record, and writes it to the file as one JSON line.
    public func append(_ record: TrainingRecord) {
        records.append(record)
        try? handle.write(contentsOf: Data(TrainingLog.line(record).utf8))
    }

    static func line(_ record: TrainingRecord) -> String {
        RecurJSON.line(record) + "\n"
    }
}
