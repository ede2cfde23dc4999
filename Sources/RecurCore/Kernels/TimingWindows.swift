import Dispatch

/// How `recur bench peak` and `recur bench gemm` time a kernel: after one warm-up call, the calls run back to
/// back for `window` seconds, `repeats` times; the fastest window gives the figure.
package struct TimingWindows: Sendable {
    /// Seconds per window.
    package var window: Double
    /// Windows; the fastest counts.
    package var repeats: Int

    package init(window: Double = 0.2, repeats: Int = 5) {
        require(window > 0 && repeats >= 1, "a benchmark needs a positive window and at least one repeat")
        self.window = window
        self.repeats = repeats
    }

    /// Work per nanosecond in the fastest window (GFLOP/s when `work` is the flops of one call of `run`).
    package func fastestRate(work: Double, _ run: () -> Void) -> Double {
        run()
        var best = 0.0
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            var end = start
            var calls = 0
            repeat {
                run()
                calls += 1
                end = DispatchTime.now().uptimeNanoseconds
            } while Double(end - start) < window * 1e9
            best = max(best, work * Double(calls) / Double(end - start))
        }
        return best
    }
}
