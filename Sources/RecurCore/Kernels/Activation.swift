import CRecurKernels

/// The pointwise nonlinearities of recurrent cells, and their derivatives.
///
///     sigmoid(x) = 1 / (1 + e^−x)        sigmoid′ = y (1 − y)
///     tanh(x)    = (e^x − e^−x)/(e^x + e^−x)   tanh′ = 1 − y²
///     relu(x)    = max(0, x)             relu′ = 1 if y > 0 else 0
///     identity(x) = x                    identity′ = 1
///
/// Each derivative is written in terms of the output y, which is what a forward pass keeps.
/// sigmoid, tanh and exp run in the C kernels: exp and sigmoid with a vectorized exp (2^n · e^r,
/// |r| ≤ ln2/2, e^r a polynomial fitted by Scripts/fit_exp.py: of degree 6 for exp, of degree 5 for the
/// sigmoid's e^−x, whose relative error moves σ by at most a quarter of itself), tanh as a rational function
/// x·P(x²)/Q(x²) of degree 9 over 8 for |x| ≤ 9, fitted by Scripts/fit_tanh.py, which takes less than
/// half the instructions of an exp-based tanh. Largest error against Foundation's Double results,
/// measured on every kernel over [−20, 20] in steps of 1e-4 (exp: [−87, 88] in steps of 1e-3): sigmoid
/// 1.4e-7 absolute (AVX2, whose reciprocal estimate has 12 bits; 9.0e-8 on the others) and exp 1.2e-7
/// relative, about the rounding of a Float near 1, held by the tests to `Activation.maximumError` (2e-7); tanh
/// 3.0e-7 absolute (five Float steps near 1, the rounding of its eleven operations), held to
/// `Activation.maximumTanhError` (3.6e-7). Both are well inside the 1e-6 that recurrent cells need. Where
/// the sigmoid is tiny (x < −16, σ ≈ e^x) its relative error reaches 4.2e-7 (`maximumSigmoidTailError`).
public enum Activation: String, CaseIterable, Sendable, Codable {
    /// g(x) = x.
    case identity
    /// σ(x) = 1 / (1 + e^−x).
    case sigmoid
    /// tanh(x).
    case tanh
    /// max(x, 0).
    case relu

    /// Largest error the tests allow for the vectorized sigmoid (absolute) and exp (relative) against
    /// Foundation's Double results.
    public static let maximumError: Float = 2e-7

    /// Largest relative error the tests allow for the vectorized sigmoid for x in [−87, −16], where it is below
    /// 1.2e-7 and its absolute error says little.
    public static let maximumSigmoidTailError: Float = 5e-7

    /// Largest absolute error the tests allow for the vectorized tanh against Foundation's Double results.
    public static let maximumTanhError: Float = 3.6e-7

    /// y = f(x) for `count` elements; `y` may be `x`.
    public func apply(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                      kernel: CPUKernel = ComputeSettings.current.kernel) {
        switch self {
        case .identity: if UnsafePointer(y) != x { y.update(from: x, count: count) }
        case .sigmoid: recur_sigmoid(kernel.isa, x, y, count)
        case .tanh: recur_tanh(kernel.isa, x, y, count)
        case .relu: for i in 0..<count { y[i] = x[i] > 0 ? x[i] : 0 }
        }
    }

    /// y = e^x for `count` elements, vectorized (inputs clamped to [−87, 88]); `y` may be `x`.
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
                           kernel: CPUKernel = ComputeSettings.current.kernel) {
        recur_exp(kernel.isa, x, y, count)
    }

    /// dx = dy · f′(x), with f′ taken from the forward output y; `dx` may be `dy`.
    public func backward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                         inputGradient dx: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .identity: if UnsafePointer(dx) != dy { dx.update(from: dy, count: count) }
        case .sigmoid: for i in 0..<count { dx[i] = dy[i] * y[i] * (1 - y[i]) }
        case .tanh: for i in 0..<count { dx[i] = dy[i] * (1 - y[i] * y[i]) }
        case .relu: for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
        }
    }
}

/// Row-wise softmax and log-softmax over the last axis, with their derivatives.
///
///     softmax(x)_j     = e^{x_j − m} / Σ_k e^{x_k − m},  m = max_k x_k
///     logSoftmax(x)_j  = x_j − m − log Σ_k e^{x_k − m}
///     softmax backward:    dx = y ⊙ (dy − Σ_k dy_k y_k)
///     logSoftmax backward: dx = dy − softmax(x) · Σ_k dy_k
public enum Softmax {
    /// y[r, :] = softmax(x[r, :]) for `rows` rows of `width`; `y` may be `x`.
    public static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                               kernel: CPUKernel = ComputeSettings.current.kernel) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            let m = rowMax(xr, width)
            for j in 0..<width { yr[j] = xr[j] - m }
            recur_exp(kernel.isa, yr, yr, width)
            var total: Float = 0
            for j in 0..<width { total += yr[j] }
            let inverse = 1 / total
            for j in 0..<width { yr[j] *= inverse }
        }
    }

    /// y[r, :] = log softmax(x[r, :]); `y` may be `x`. Allocates one row of scratch per call.
    public static func logForward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                  kernel: CPUKernel = ComputeSettings.current.kernel) {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, width))
        defer { scratch.deallocate() }
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            let m = rowMax(xr, width)
            for j in 0..<width { scratch[j] = xr[j] - m }
            recur_exp(kernel.isa, scratch, scratch, width)
            var total: Double = 0
            for j in 0..<width { total += Double(scratch[j]) }
            let logTotal = Float(portableLog(total))
            for j in 0..<width { yr[j] = xr[j] - m - logTotal }
        }
    }

    /// dx = y ⊙ (dy − Σ dy·y) per row, y the softmax output; `dx` may be `dy`.
    public static func backward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                inputGradient dx: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for r in 0..<rows {
            let yr = y + r * width, dyr = dy + r * width, dxr = dx + r * width
            var dot: Float = 0
            for j in 0..<width { dot += dyr[j] * yr[j] }
            for j in 0..<width { dxr[j] = yr[j] * (dyr[j] - dot) }
        }
    }

    /// dx = dy − softmax · Σ dy per row, y the log-softmax output; `dx` may be `dy`.
    public static func logBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                   inputGradient dx: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                   kernel: CPUKernel = ComputeSettings.current.kernel) {
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: max(1, width))
        defer { probabilities.deallocate() }
        for r in 0..<rows {
            let yr = y + r * width, dyr = dy + r * width, dxr = dx + r * width
            recur_exp(kernel.isa, yr, probabilities, width)
            var total: Float = 0
            for j in 0..<width { total += dyr[j] }
            for j in 0..<width { dxr[j] = dyr[j] - probabilities[j] * total }
        }
    }

    private static func rowMax(_ x: UnsafePointer<Float>, _ width: Int) -> Float {
        var m = -Float.infinity
        for j in 0..<width where x[j] > m { m = x[j] }
        return m
    }
}

