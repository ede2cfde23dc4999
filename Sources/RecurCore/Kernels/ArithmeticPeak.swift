import CRecurKernels

/// Measures the most arithmetic this machine's cores can do, the yardstick for every other benchmark:
/// each thread runs independent chains of fused multiply–adds on whole vectors of the kernel's width,
/// reading and writing nothing (`recur_fma_chains`), timed as `TimingWindows` says. A matrix product can
/// approach it but never pass it.
package struct ArithmeticPeak: Sendable {
    package var timing: TimingWindows

    package init(timing: TimingWindows = TimingWindows()) {
        self.timing = timing
    }

    /// GFLOP/s of all `settings.threadCount` threads running at once, in the fastest window.
    package func measure(settings: ComputeSettings) -> Double {
        let kernel = settings.kernel, threads = settings.threadCount
        let flopsPerStep = Self.chains(kernel: kernel, steps: 0).flopsPerStep
        // Steps per call: about a millisecond at 100 GFLOP/s, so the clock is read rarely.
        let steps = max(1, 100_000_000 / flopsPerStep)
        return timing.fastestRate(work: Double(threads * steps * flopsPerStep)) {
            parallelFor(threads) { _ in
                let sum = Self.chains(kernel: kernel, steps: steps).sum
                require(sum.isFinite, "the multiply–add chains left the Float range")
            }
        }
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
