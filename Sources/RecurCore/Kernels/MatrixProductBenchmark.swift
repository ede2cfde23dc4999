/// Times matrix products the way `recur bench gemm` reports them (`TimingWindows`: the fastest of `repeats`
/// windows of back-to-back products).
/// `Benchmarks/compare-gemm` times numpy the same way.
package struct MatrixProductBenchmark: Sendable {
    /// One product shape: op(A) is M×K, op(B) is K×N.
    package struct Shape: Sendable, Equatable {
        package var m: Int, n: Int, k: Int
        package var transposeA: Bool, transposeB: Bool
        /// B packed once beforehand (`PackedMatrix`), as a recurrent weight is.
        package var packed: Bool

        package init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false, packed: Bool = false) {
            self.m = m; self.n = n; self.k = k
            self.transposeA = transposeA; self.transposeB = transposeB; self.packed = packed
        }
    }

    /// The shapes of issue #2: squares, one LSTM step (B=64, H=512), all inputs of T=100, B=64 at once,
    /// a sampling step, and the transposed forms backpropagation uses.
    package static let standardShapes: [Shape] = [
        Shape(m: 1024, n: 1024, k: 1024),
        Shape(m: 1024, n: 1024, k: 1024, transposeA: true),
        Shape(m: 1024, n: 1024, k: 1024, transposeB: true),
        Shape(m: 64, n: 2048, k: 1024),
        Shape(m: 64, n: 2048, k: 1024, packed: true),
        Shape(m: 6400, n: 2048, k: 128),
        Shape(m: 512, n: 2048, k: 6400, transposeA: true),
        Shape(m: 64, n: 1024, k: 2048, transposeB: true),
        Shape(m: 1, n: 2048, k: 1024),
        Shape(m: 1, n: 2048, k: 1024, packed: true),
    ]

    package var timing: TimingWindows

    package init(timing: TimingWindows = TimingWindows()) {
        self.timing = timing
    }

    /// GFLOP/s (2·M·N·K per product) of the fastest window.
    package func measure(_ shape: Shape, settings: ComputeSettings) -> Double {
        var generator = SeededGenerator(seed: 2024)
        let a = Tensor.uniform(shape.transposeA ? [shape.k, shape.m] : [shape.m, shape.k], in: -1...1, using: &generator)
        let b = Tensor.uniform(shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n], in: -1...1, using: &generator)
        let packedB = shape.packed ? PackedMatrix(b, transposed: shape.transposeB, kernel: settings.kernel) : nil
        var c = Tensor(shape: [shape.m, shape.n])
        let run: () -> Void = {
            if let packedB {
                c.withUnsafeMutableBufferPointer { cp in
                    a.withUnsafeBufferPointer { ap in
                        MatrixProduct.multiply(m: shape.m, a: ap.baseAddress!, lda: shape.transposeA ? shape.m : shape.k,
                                               transposeA: shape.transposeA, packed: packedB,
                                               c: cp.baseAddress!, ldc: shape.n, settings: settings)
                    }
                }
            } else {
                c.addMatmul(a, b, transposeA: shape.transposeA, transposeB: shape.transposeB,
                            accumulate: false, settings: settings)
            }
        }
        return timing.fastestRate(work: 2 * Double(shape.m) * Double(shape.n) * Double(shape.k), run)
    }
}
