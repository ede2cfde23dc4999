import RecurCore

/// A fully connected layer applied at every position of a sequence (Keras' `TimeDistributed(Dense)`,
/// PyTorch's `nn.Linear` on a `[T, B, H]` tensor):
///
///     y<t> = W h<t> + b
///
/// `weight` is [O, I] and `bias` [O], PyTorch's layout and names (`<prefix>weight`, `<prefix>bias`), so a
/// state dict moves between the two unchanged. Any leading axes are flattened into rows: [T, B, I] → [T, B, O].
///
/// Backward, with dy = dL/dy:
///
///     dW += dyᵀ h        (summed over every row)
///     db += Σ_rows dy
///     dh  = dy W
public final class Linear {
    /// I.
    public let inputSize: Int
    /// O.
    public let outputSize: Int
    /// W, [O, I].
    public let weight: Parameter
    /// b, [O]; nil for a layer without bias.
    public let bias: Parameter?

    /// A layer initialized as PyTorch's `nn.Linear`: every weight and bias uniform in ±1/√I.
    /// - Parameters: `namePrefix` goes before `weight` and `bias` (e.g. `"decoder."`).
    public init(inputSize: Int, outputSize: Int, hasBias: Bool = true, namePrefix: String = "",
                using generator: inout SeededGenerator) {
        require(inputSize > 0 && outputSize > 0, "Linear needs positive sizes, got \(inputSize) → \(outputSize)")
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = 1 / Float(inputSize).squareRoot()
        weight = Parameter(name: namePrefix + "weight",
                           value: .uniform([outputSize, inputSize], in: -bound...bound, using: &generator))
        bias = hasBias
            ? Parameter(name: namePrefix + "bias", value: .uniform([outputSize], in: -bound...bound, using: &generator))
            : nil
    }

    /// `weight`, then `bias` if there is one.
    public var parameters: [Parameter] { [weight] + (bias.map { [$0] } ?? []) }

    /// y = x Wᵀ + b.
    /// - Parameters:
    ///   - x: [..., I].
    ///   - settings: the kernel and the number of threads.
    /// - Returns: [..., O].
    public func callAsFunction(_ x: Tensor, settings: ComputeSettings = .current) -> Tensor {
        requireInput(x)
        var y = Tensor.zeros(Array(x.shape.dropLast()) + [outputSize])
        let rows = x.count / inputSize
        x.withUnsafeBufferPointer { xp in
            weight.value.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    withOptionalPointer(bias?.value) { bp in
                        DenseMath.forward(rows: rows, inputSize: inputSize, outputSize: outputSize, x: xp.baseAddress!,
                                          weight: wp.baseAddress!, bias: bp, y: yp.baseAddress!, settings: settings)
                    }
                }
            }
        }
        return y
    }

    /// Adds dL/dW and dL/db into the parameters' gradients.
    /// - Parameters: x [..., I] as given to the forward pass; outputGradient dL/dy [..., O].
    /// - Returns: dL/dx [..., I], or nil when `needsInputGradient` is false.
    @discardableResult
    public func backward(input x: Tensor, outputGradient dy: Tensor, needsInputGradient: Bool = true,
                         settings: ComputeSettings = .current) -> Tensor? {
        requireInput(x)
        require(dy.shape == Array(x.shape.dropLast()) + [outputSize],
                "Linear output gradient must be \(Array(x.shape.dropLast()) + [outputSize]), got \(dy.shape)")
        let rows = x.count / inputSize
        var dx: Tensor? = needsInputGradient ? Tensor.zeros(x.shape) : nil
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                weight.value.withUnsafeBufferPointer { wp in
                    weight.gradient.withUnsafeMutableBufferPointer { dwp in
                        withOptionalMutablePointer(&dx) { dxp in
                            withGradientPointer(bias) { dbp in
                                DenseMath.backward(rows: rows, inputSize: inputSize, outputSize: outputSize,
                                                   x: xp.baseAddress!, weight: wp.baseAddress!, outputGradient: dyp.baseAddress!,
                                                   weightGradient: dwp.baseAddress!, biasGradient: dbp,
                                                   inputGradient: dxp, settings: settings)
                            }
                        }
                    }
                }
            }
        }
        return dx
    }

    private func requireInput(_ x: Tensor) {
        require(x.rank >= 1 && x.shape[x.rank - 1] == inputSize,
                "Linear input must be [..., \(inputSize)], got \(x.shape)")
    }
}

/// The arithmetic of `Linear`, in any `RecurrentScalar`: Float for models, Double for the gradient checks.
/// Row-major arrays: x [N, I], W [O, I], b [O], y [N, O].
enum DenseMath {
    /// y = x Wᵀ + b.
    static func forward<S: RecurrentScalar>(rows n: Int, inputSize i: Int, outputSize o: Int, x: UnsafePointer<S>,
                                            weight w: UnsafePointer<S>, bias b: UnsafePointer<S>?,
                                            y: UnsafeMutablePointer<S>, settings: ComputeSettings) {
        guard n > 0 else { return }
        if let b {
            for r in 0..<n { (y + r * o).update(from: b, count: o) }
        }
        S.multiply(m: n, n: o, k: i, a: x, lda: i, transposeA: false, b: w, ldb: i, transposeB: true,
                   c: y, ldc: o, accumulate: b != nil, settings: settings)
    }

    /// dW += dyᵀ x, db += Σ dy, dx = dy W (when `inputGradient` is given).
    static func backward<S: RecurrentScalar>(rows n: Int, inputSize i: Int, outputSize o: Int, x: UnsafePointer<S>,
                                             weight w: UnsafePointer<S>, outputGradient dy: UnsafePointer<S>,
                                             weightGradient dw: UnsafeMutablePointer<S>, biasGradient db: UnsafeMutablePointer<S>?,
                                             inputGradient dx: UnsafeMutablePointer<S>?, settings: ComputeSettings) {
        guard n > 0 else { return }
        S.multiply(m: o, n: i, k: n, a: dy, lda: o, transposeA: true, b: x, ldb: i, transposeB: false,
                   c: dw, ldc: i, accumulate: true, settings: settings)
        if let db {
            for r in 0..<n {
                for j in 0..<o { db[j] += dy[r * o + j] }
            }
        }
        if let dx {
            S.multiply(m: n, n: i, k: o, a: dy, lda: o, transposeA: false, b: w, ldb: i, transposeB: false,
                       c: dx, ldc: i, accumulate: false, settings: settings)
        }
    }
}
