import Foundation

/// Training progress for a person watching: a live bar redrawn in place on a terminal, or one plain line per
/// update when the output is not a terminal (a log file, CI) or quiet output was asked for.
///
///     [########............]  40% step 400/1000 · epoch 1.3 · loss 1.532 · val 1.601 · |g| 2.41 · lr 2e-03 · 31.2k tok/s · ETA 1m12s
public final class ProgressDisplay {
    /// Steps the whole run takes (the bar's 100 %).
    public let totalSteps: Int
    /// Redraw one line in place (a terminal) instead of printing a line per update.
    public let live: Bool
    /// What the speed counts, per second: "tok" for a language model, "seq" for a classifier.
    public let unit: String
    private let write: (String) -> Void
    private var lastValidation: Double?
    /// The last validation's metrics, as shown (`accuracy 0.8512 · macro_f1 0.8034`), or "".
    private var lastMetrics = ""
    private var lastTrain: TrainingRecord?
    private var lastLine = ""
    /// The first record shown and when: the ETA counts from there (not from start-up).
    private var first: (step: Int, time: Date)?

    /// - Parameters:
    ///   - totalSteps: the steps of the whole run.
    ///   - live: redraw one line in place instead of printing a line per update.
    ///   - unit: what the speed counts ("tok" by default).
    ///   - write: receives text to print as is (the display adds its own newlines and carriage returns).
    public init(totalSteps: Int, live: Bool, unit: String = "tok", write: @escaping (String) -> Void) {
        self.totalSteps = totalSteps
        self.live = live
        self.unit = unit
        self.write = write
    }

    /// Whether standard error is a terminal.
    public static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// Shows a training or validation record: redraws the bar, or prints a line.
    public func show(_ record: TrainingRecord) {
        if record.event == .validation {
            lastValidation = record.loss
            lastMetrics = (record.metrics ?? [:]).sorted { $0.key < $1.key }
                .map { String(format: " · %@ %.4f", $0.key, $0.value) }.joined()
            if !live {
                write(String(format: "validation: step %d/%d · epoch %.2f · val %.4f", record.step, totalSteps,
                             record.epoch, record.loss) + lastMetrics + "\n")
                return
            }
        } else {
            lastTrain = record
        }
        // The live line shows the latest training figures beside the latest validation loss.
        let shown = lastTrain ?? record
        if first == nil { first = (shown.step, Date()) }
        var parts = ["step \(record.step)/\(totalSteps)", String(format: "epoch %.2f", record.epoch)]
        if let lastTrain { parts.append(String(format: "loss %.4f", lastTrain.loss)) }
        if let lastValidation { parts.append(String(format: "val %.4f", lastValidation) + lastMetrics) }
        if let norm = shown.gradientNorm { parts.append(String(format: "|g| %.3g", norm)) }
        if let rate = shown.learningRate { parts.append(String(format: "lr %.3g", rate)) }
        if let speed = shown.tokensPerSecond { parts.append("\(LossPlot.abbreviated(Int(speed))) \(unit)/s") }
        if let first, record.step > first.step {
            let perStep = Date().timeIntervalSince(first.time) / Double(record.step - first.step)
            parts.append("ETA " + Self.duration(perStep * Double(totalSteps - record.step)))
        }
        let line = parts.joined(separator: " · ")
        if live {
            let fraction = Double(record.step) / Double(max(1, totalSteps))
            let filled = Int(fraction * 20)
            let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: 20 - filled) + "]"
            lastLine = String(format: "%@ %3d%% ", bar, Int(fraction * 100)) + line
            write("\r\u{1B}[2K" + lastLine)
        } else {
            write(line + "\n")
        }
    }

    /// A message on its own line (the live bar is redrawn after it).
    public func notice(_ message: String) {
        if live {
            write("\r\u{1B}[2K" + message + "\n" + lastLine)
        } else {
            write(message + "\n")
        }
    }

    /// Ends the live line.
    public func finish() {
        if live && !lastLine.isEmpty { write("\n") }
    }

    /// 3725 → "1h2m5s".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(total % 3600 / 60)m" }
        if total >= 60 { return "\(total / 60)m\(total % 60)s" }
        return "\(total)s"
    }
}
