import ArgumentParser
import Foundation
import Recur

struct RNNBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn",
        abstract: "Recurrent-layer speed in tokens per second (tokens = batch × sequence length).",
        discussion: """
            --mode train: forward, a sum loss, backward (no optimizer step); infer: forward without caches; \
            step: one time step per call with the state carried over, as sampling does. The figure is the median \
            of --repeats windows of at least --min-time seconds. Benchmarks/compare-rnn runs it beside PyTorch.
            """
    )

    @Option(help: "Cell: rnn, gru or lstm.") var cell: RecurrentConfiguration.Cell = .lstm
    @Option(help: "GRU form: course or pytorch.") var gruVariant: RecurrentConfiguration.GRUVariant = .pytorch
    @Option(help: "Basic RNN nonlinearity: tanh or relu.") var activation: Nonlinearity = .tanh
    @Option(help: "Features per input step (D).") var inputSize: Int = 128
    @Option(help: "Hidden units per layer (H).") var hiddenSize: Int = 512
    @Option(help: "Stacked layers.") var layers: Int = 1
    @Option(help: "Sequences per batch (B).") var batchSize: Int = 64
    @Option(help: "Steps per sequence (T).") var sequenceLength: Int = 100
    @Flag(help: "Run every layer in both directions.") var bidirectional = false
    @Option(help: "train, infer or step.") var mode: RecurrentBenchmark.Mode = .train
    @OptionGroup var compute: ComputeOptions
    @Option(help: "Timing windows; the median counts.") var repeats: Int = 7
    @Option(help: "Minimum seconds per window.") var minTime: Double = 0.25
    @Flag(help: "One JSON object.") var json = false

    func validate() throws {
        for (name, value) in [("--input-size", inputSize), ("--hidden-size", hiddenSize), ("--layers", layers),
                              ("--batch-size", batchSize), ("--sequence-length", sequenceLength)] {
            try check(value >= 1 && value <= 1 << 16, "\(name) must be between 1 and 65536, got \(value)")
        }
        try check(!(mode == .step && bidirectional), "--mode step runs one step at a time, which a bidirectional network cannot")
        try check(repeats >= 1 && repeats <= 1000, "--repeats must be between 1 and 1000, got \(repeats)")
        try check(minTime > 0 && minTime <= 60, "--min-time must be in (0, 60] seconds, got \(minTime)")
        #if DEBUG
        throw ValidationError("benchmarks need a release build: swift run -c release recur bench rnn")
        #endif
    }

    private func check(_ condition: Bool, _ message: String) throws {
        if !condition { throw ValidationError(message) }
    }

    func run() throws {
        let configuration = RecurrentConfiguration(
            cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layers: layers, bidirectional: bidirectional,
            activation: activation.activation, gruVariant: gruVariant)
        let settings = compute.settings
        let benchmark = RecurrentBenchmark(configuration: configuration, batchSize: batchSize,
                                           sequenceLength: mode == .step ? 1 : sequenceLength,
                                           mode: mode, repeats: repeats, minimumTime: minTime)
        let result = benchmark.run(settings: settings)
        let peak = peakResidentMegabytes()
        if json {
            let config = RNNBenchRecord.Config(
                cell: cell.rawValue, gruVariant: gruVariant.rawValue, activation: activation.rawValue, inputSize: inputSize, hiddenSize: hiddenSize,
                layers: layers, batchSize: batchSize, sequenceLength: sequenceLength, bidirectional: bidirectional,
                threads: settings.threadCount, kernel: "\(settings.kernel)")
            print(RecurJSON.line(RNNBenchRecord(config: config, mode: mode.rawValue, tokensPerSecond: result.tokensPerSecond,
                                                microsecondsPerToken: result.microsecondsPerToken, gflops: result.gflops,
                                                peakRssMb: peak)))
        } else {
            let shape = "\(cell) \(inputSize)→\(hiddenSize) ×\(layers)\(bidirectional ? " bidirectional" : ""), B\(batchSize)" +
                (mode == .step ? "" : " T\(sequenceLength)")
            print("\(shape), \(mode), kernel \(settings.kernel), \(settings.threadCount) thread\(settings.threadCount == 1 ? "" : "s"): " +
                  "\(String(format: "%.0f", result.tokensPerSecond)) tokens/s, \(String(format: "%.2f", result.microsecondsPerToken)) µs/token, " +
                  "\(String(format: "%.1f", result.gflops)) GFLOP/s, peak RSS \(String(format: "%.0f", peak)) MB")
        }
    }
}

/// The process's peak resident set size in megabytes.
func peakResidentMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    #else
    getrusage(RUSAGE_SELF, &usage)
    #endif
    #if os(Linux)
    return Double(usage.ru_maxrss) / 1024          // kilobytes
    #else
    return Double(usage.ru_maxrss) / 1_048_576     // bytes
    #endif
}

/// The object `recur bench rnn --json` prints.
struct RNNBenchRecord: Encodable {
    struct Config: Encodable {
        var cell: String, gruVariant: String, activation: String
        var inputSize: Int, hiddenSize: Int, layers: Int, batchSize: Int, sequenceLength: Int
        var bidirectional: Bool
        var threads: Int
        var kernel: String
    }
    var config: Config
    var mode: String
    var tokensPerSecond: Double
    var microsecondsPerToken: Double
    var gflops: Double
    var peakRssMb: Double
}

extension RecurrentBenchmark.Mode: ExpressibleByArgument {}
