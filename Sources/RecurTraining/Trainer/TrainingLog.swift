import Foundation

/// One line of the training log.
public struct TrainingRecord: Codable, Equatable, Sendable {
    public enum Event: String, Codable, Sendable {
        /// The mean of the training losses since the previous record.
        case train
        /// A pass over the validation data.
        case validation
    }

    public var event: Event
    /// Steps done (1 after the first update).
    public var step: Int
    /// Epochs done, fractional.
    public var epoch: Double
    /// Training tokens seen so far.
    public var tokens: Int
    /// The reduced loss (train: averaged over the steps since the last record; validation: nats per token).
    public var loss: Double
    public var gradientNorm: Double?
    public var learningRate: Double?
    public var tokensPerSecond: Double?
    public var elapsedSeconds: Double

    public init(event: Event, step: Int, epoch: Double, tokens: Int, loss: Double, gradientNorm: Double? = nil,
                learningRate: Double? = nil, tokensPerSecond: Double? = nil, elapsedSeconds: Double) {
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
    public let url: URL
    public private(set) var records: [TrainingRecord]
    private let handle: FileHandle

    /// Opens the log at `url`. Resuming at step `resumingAt` keeps the records up to that step and drops the
    /// rest (those of a run killed after its last checkpoint); nil starts a new log.
    public init(url: URL, resumingAt: Int?) throws {
        self.url = url
        var kept: [TrainingRecord] = []
        if let resumingAt, let data = FileManager.default.contents(atPath: url.path) {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
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

    public func append(_ record: TrainingRecord) {
        records.append(record)
        try? handle.write(contentsOf: Data(TrainingLog.line(record).utf8))
    }

    static func line(_ record: TrainingRecord) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try! encoder.encode(record), as: UTF8.self) + "\n"
    }
}
