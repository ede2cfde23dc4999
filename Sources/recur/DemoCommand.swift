import ArgumentParser
import Foundation
import Recur

/// The README's first command. Until language models land it shows what Recur found on this machine
/// and how fast its matrix products run here.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show the CPU kernel Recur chose and a quick matrix-product speed."
    )

    func run() throws {
        let settings = ComputeSettings.current
        print("Recur — recurrent sequence models in Swift")
        print("CPU kernel: \(settings.kernel) (detected \(CPUKernel.detected); supported: \(CPUKernel.supported.map(\.rawValue).joined(separator: ", ")))")
        print("threads: \(settings.threadCount)")
        #if DEBUG
        print("(debug build: speeds are far below a release build's; run `swift run -c release recur demo`)")
        #endif
        let benchmark = MatrixProductBenchmark(window: 0.1, repeats: 3)
        let shapes: [(String, MatrixProductBenchmark.Shape)] = [
            ("one LSTM step, batch 64, hidden 512 (64×1024 · 1024×2048)", .init(m: 64, n: 2048, k: 1024)),
            ("the same with the weight packed once", .init(m: 64, n: 2048, k: 1024, packed: true)),
            ("one sampling step (1×1024 · 1024×2048)", .init(m: 1, n: 2048, k: 1024)),
        ]
        for (label, shape) in shapes {
            print(String(format: "%7.1f GFLOP/s  %@", benchmark.measure(shape, settings: settings), label))
        }
        print("Next: `swift run -c release recur bench gemm` for the full matrix-product benchmark.")
    }
}
