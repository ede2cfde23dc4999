import CRecurKernels
import Dispatch

/// Measures the most arithmetic this machine's cores can do, the yardstick for every other benchmark:
/// each thread runs independent chains of fused multiply–adds on whole vectors of the kernel's width,
/// reading and writing nothing (`recur_fma_chains`), for `window` seconds, `repeats` times; the fastest
/// window gives the figure. A matrix product can approach it but never pass it.
public struct ArithmeticPeak: Sendable {
    public var window: Double
    public var repeats: Int

    public init(window: Double = 0.2, repeats: Int = 5) {
        require(window > 0 && repeats >= 1, "a benchmark needs a positive window and at least one repeat")
        self.window = window
        self.repeats = repeats
    }

    /// GFLOP/s of all `settings.threadCount` threads running at once, in the fastest window.
    public func measure(settings: ComputeSettings) -> Double {
        let kernel = settings.kernel
        let flopsPerStep = Self.chains(kernel: kernel, steps: 0).flopsPerStep
        // Steps per call: about a millisecond at 100 GFLOP/s, so the clock is read rarely.
        let steps = max(1, 100_000_000 / flopsPerStep)
        let threads = settings.threadCount
        var best = 0.0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            var calls = 0
            var end = start
            repeat {
                parallelFor(threads) { _ in
                    let result = Self.chains(kernel: kernel, steps: steps).sum
                    require(result.isFinite, "the multiply–add chains left the Float range")
                }
                calls += 1
                end = DispatchTime.now().uptimeNanoseconds
            } while Double(end - start) < window * 1e9
            let flops = Double(calls) * Double(threads) * Double(steps) * Double(flopsPerStep)
            best = max(best, flops / Double(end - start))
        }
        return best
    }

    /// Runs the chains a ← a·b + c (chain i from 1 + 0.001·i) for `steps` steps: the sum of the chains' first
    /// lanes, and the flops of one step.
    static func chains(kernel: CPUKernel, steps: Int, b: Float = 0.999_999, c: Float = 1e-7)
        -> (sum: Float, flopsPerStep: Int) {
        var sink: [Float] = [b, c]
        var flopsPerStep = 0
        recur_fma_chains(kernel.isa, steps, &sink, &flopsPerStep)
        return (sink[0], flopsPerStep)
    }
}
