import ArgumentParser
import Foundation
import Recur

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure Recur's kernels and recurrent layers (release builds only).",
        subcommands: [PeakBenchCommand.self, GemmBenchCommand.self, RNNBenchCommand.self]
    )
}

/// Options every benchmark shares.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Threads to use (default: all cores).")
    var threads: Int = ComputeSettings.coreCount

    @Option(help: "Kernel: \(CPUKernel.allCases.map(\.rawValue).joined(separator: ", ")) (default: the widest this CPU supports, or RECUR_KERNEL).")
    var kernel: String?

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if let kernel {
            guard let parsed = CPUKernel(rawValue: kernel) else {
                throw ValidationError("--kernel must be one of \(CPUKernel.allCases.map(\.rawValue).joined(separator: ", ")), got '\(kernel)'")
            }
            guard parsed.isSupported else {
                throw ValidationError("--kernel \(kernel) is not supported on this CPU (supported: \(CPUKernel.supported.map(\.rawValue).joined(separator: ", ")))")
            }
        }
    }

    var settings: ComputeSettings {
        ComputeSettings(kernel: kernel.flatMap(CPUKernel.init(rawValue:)) ?? ComputeSettings.current.kernel, threadCount: threads)
    }
}

/// The timing windows of `bench peak` and `bench gemm`: the fastest window counts.
struct WindowOptions: ParsableArguments {
    @Option(help: "Seconds per timing window.") var window: Double = 0.2
    @Option(help: "Timing windows (per shape for gemm); the fastest counts.") var repeats: Int = 5

    func validate() throws {
        guard window > 0 && window <= 60 else { throw ValidationError("--window must be in (0, 60] seconds, got \(window)") }
        guard repeats >= 1 && repeats <= 1000 else { throw ValidationError("--repeats must be between 1 and 1000, got \(repeats)") }
    }

    var timing: TimingWindows { TimingWindows(window: window, repeats: repeats) }
}

struct GemmBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Matrix-product speed in GFLOP/s, C = op(A)·op(B) with op(A) M×K and op(B) K×N.",
        discussion: "Without --m/--n/--k it measures the standard shapes (see BENCHMARKS.md). Each figure is the fastest of --repeats windows of --window seconds."
    )

    @Option(help: "Rows of op(A) and C.") var m: Int?
    @Option(help: "Columns of op(B) and C.") var n: Int?
    @Option(help: "Columns of op(A), rows of op(B).") var k: Int?
    @Flag(help: "Use Aᵀ (A stored K×M).") var transposeA = false
    @Flag(help: "Use Bᵀ (B stored N×K).") var transposeB = false
    @Flag(help: "Pack B once beforehand, as a recurrent weight is.") var packed = false
    @OptionGroup var compute: ComputeOptions
    @OptionGroup var windows: WindowOptions
    @Flag(help: "One JSON object per line.") var json = false

    func validate() throws {
        for (name, value) in [("--m", m), ("--n", n), ("--k", k)] {
            if let value, value < 1 || value > 1 << 20 {
                throw ValidationError("\(name) must be between 1 and 1048576, got \(value)")
            }
        }
        #if DEBUG
        throw ValidationError("benchmarks need a release build: swift run -c release recur bench gemm")
        #endif
    }

    func run() throws {
        let shapes: [MatrixProductBenchmark.Shape]
        if m == nil && n == nil && k == nil && !transposeA && !transposeB && !packed {
            shapes = MatrixProductBenchmark.standardShapes
        } else {
            shapes = [.init(m: m ?? 1024, n: n ?? 1024, k: k ?? 1024,
                            transposeA: transposeA, transposeB: transposeB, packed: packed)]
        }
        let settings = compute.settings
        let benchmark = MatrixProductBenchmark(timing: windows.timing)
        if !json {
            print("kernel \(settings.kernel), \(settings.threadCount) thread\(settings.threadCount == 1 ? "" : "s")")
        }
        for shape in shapes {
            let gflops = benchmark.measure(shape, settings: settings)
            if json {
                print(RecurJSON.line(GEMMRecord(m: shape.m, n: shape.n, k: shape.k, transposeA: shape.transposeA,
                                                transposeB: shape.transposeB, packed: shape.packed,
                                                threads: settings.threadCount, kernel: "\(settings.kernel)", gflops: gflops)))
            } else {
                let form = (shape.transposeA ? "Aᵀ" : "A") + "·" + (shape.transposeB ? "Bᵀ" : "B") + (shape.packed ? " (B packed)" : "")
                print("M=\(shape.m) N=\(shape.n) K=\(shape.k) \(form): \(String(format: "%.1f", gflops)) GFLOP/s")
            }
        }
    }
}

struct PeakBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "The most arithmetic the cores can do, in GFLOP/s: independent multiply–adds, nothing read or written.",
        discussion: "Every thread runs at once; the figure is the fastest of --repeats windows of --window seconds. A matrix product can approach it but not pass it: divide `bench gemm` or `bench rnn` figures by it for the share of the peak they reach."
    )

    @OptionGroup var compute: ComputeOptions
    @OptionGroup var windows: WindowOptions
    @Flag(help: "One JSON object.") var json = false

    func validate() throws {
        #if DEBUG
        throw ValidationError("benchmarks need a release build: swift run -c release recur bench peak")
        #endif
    }

    func run() throws {
        let settings = compute.settings
        let gflops = ArithmeticPeak(timing: windows.timing).measure(settings: settings)
        let perThread = gflops / Double(settings.threadCount)
        if json {
            print(RecurJSON.line(PeakRecord(threads: settings.threadCount, kernel: "\(settings.kernel)", gflops: gflops,
                                            gflopsPerThread: perThread)))
        } else {
            let threads = "\(settings.threadCount) thread\(settings.threadCount == 1 ? "" : "s")"
            print("kernel \(settings.kernel), \(threads): \(String(format: "%.1f", gflops)) GFLOP/s (\(String(format: "%.1f", perThread)) per thread)")
        }
    }
}

/// One line of `recur bench gemm --json`.
struct GEMMRecord: Encodable {
    var m: Int, n: Int, k: Int
    var transposeA: Bool, transposeB: Bool, packed: Bool
    var threads: Int
    var kernel: String
    var gflops: Double
}

/// The object `recur bench peak --json` prints.
struct PeakRecord: Encodable {
    var threads: Int
    var kernel: String
    var gflops: Double
    var gflopsPerThread: Double
}
