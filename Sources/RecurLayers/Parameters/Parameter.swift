import RecurCore

/// A trainable tensor, its name, and the gradient that backward passes add into.
///
/// Layers own their parameters as objects, so an optimizer holding the same `Parameter`s sees every
/// update: `parameter.value` is what the layer computes with, `parameter.gradient` (same shape) is where
/// each backward pass *adds* dL/d(value) — call `zeroGradient()` between steps.
public final class Parameter {
    /// Name in PyTorch's `state_dict` convention, e.g. `weight_ih_l0` or `bias_hh_l1_reverse`.
    public let name: String
    /// The values; assigning counts as a change (`version`).
    public var value: Tensor { didSet { version &+= 1 } }
    /// dL/d(value), the same shape; backward passes add to it.
    public var gradient: Tensor
    /// Counts the changes to `value` (assignments and in-place mutations through it), so that what is derived from
    /// it, such as a network's weights packed for inference, knows when to derive it again.
    public private(set) var version = 0
    /// A frozen parameter is saved and loaded with the rest, but no optimizer changes it (pretrained word vectors
    /// kept as they are, say).
    public var isFrozen = false

    /// A parameter holding `value`, its gradient zero.
    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradient = Tensor.zeros(value.shape)
    }

    /// Sets the gradient to zeros.
    public func zeroGradient() { gradient = Tensor.zeros(value.shape) }
}

/// Calls `body` with the writable storage of `parameter`'s gradient, or with nil when there is no parameter.
func withGradientPointer<R>(_ parameter: Parameter?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard let parameter else { return body(nil) }
    return parameter.gradient.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
}

extension Array where Element == Tensor {
    /// Calls `body` with the storage of every tensor, in order.
    func withScalarPointers<R>(_ body: ([UnsafePointer<Float>]) -> R) -> R {
        func descend(_ index: Int, _ gathered: [UnsafePointer<Float>]) -> R {
            if index == count { return body(gathered) }
            return self[index].withUnsafeBufferPointer { descend(index + 1, gathered + [$0.baseAddress!]) }
        }
        return descend(0, [])
    }
}

extension Array where Element == Parameter {
    /// Calls `body` with the writable storage of every gradient, in order.
    func withGradientPointers<R>(_ body: ([UnsafeMutablePointer<Float>]) -> R) -> R {
        func descend(_ index: Int, _ gathered: [UnsafeMutablePointer<Float>]) -> R {
            if index == count { return body(gathered) }
            return self[index].gradient.withUnsafeMutableBufferPointer { descend(index + 1, gathered + [$0.baseAddress!]) }
        }
        return descend(0, [])
    }
}
