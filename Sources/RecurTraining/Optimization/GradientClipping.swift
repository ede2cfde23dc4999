import RecurCore
import RecurLayers

/// Gradient clipping as the course describes it: pick a threshold and rescale the gradient when it is larger,
/// so one exploding step cannot throw the weights far away.
public enum GradientClipping: Codable, Equatable, Sendable {
    /// Leave the gradient as it is.
    case none
    /// By the global L2 norm over every parameter (PyTorch's `clip_grad_norm_`):
    ///
    ///     ‖g‖ = √(Σ_params Σ g²)
    ///     g  ← g · maxNorm / (‖g‖ + 1e-6)       when ‖g‖ > maxNorm
    case norm(Double)
    /// Each element into [−limit, limit] (PyTorch's `clip_grad_value_`; the course's `np.clip`).
    case value(Double)

    /// Clips the gradients of `parameters` in place.
    /// - Returns: ‖g‖ measured before clipping (infinite or NaN when some gradient is).
    @discardableResult
    public func apply(to parameters: [Parameter]) -> Double {
        let norm = GradientClipping.norm(of: parameters)
        switch self {
        case .none: break
        case .norm(let maxNorm):
            if norm > maxNorm {
                let scale = Float(maxNorm / (norm + 1e-6))
                for parameter in parameters { parameter.gradient *= scale }
            }
        case .value(let limit):
            let bound = Float(limit)
            for parameter in parameters {
                parameter.gradient.withUnsafeMutableBufferPointer { g in
                    for i in g.indices { g[i] = Swift.min(Swift.max(g[i], -bound), bound) }
                }
            }
        }
        return norm
    }

    /// The global L2 norm of the gradients, summed in Double.
    public static func norm(of parameters: [Parameter]) -> Double {
        var sum = 0.0
        for parameter in parameters {
            parameter.gradient.withUnsafeBufferPointer { g in
                for x in g { sum += Double(x) * Double(x) }
            }
        }
        return sum.squareRoot()
    }

    /// What is out of range, as messages; empty when valid.
    public var problems: [String] {
        switch self {
        case .none: []
        case .norm(let limit): limit > 0 && limit.isFinite ? [] : ["the clipping norm must be positive, got \(limit)"]
        case .value(let limit): limit > 0 && limit.isFinite ? [] : ["the clipping value must be positive, got \(limit)"]
        }
    }
}
