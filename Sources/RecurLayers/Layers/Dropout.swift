import RecurCore

/// Inverted dropout: while training, each element is kept with probability 1 − p and scaled by 1/(1 − p),
/// so nothing changes at inference (PyTorch's `nn.Dropout`):
///
///     m  ~ Bernoulli(1 − p) / (1 − p)      one draw per element
///     y  = m * x
///
/// Backward: dx = m * dy. The mask comes from the injected generator, so a seeded run is repeatable and a
/// resumed run draws the same masks as an uninterrupted one.
public struct Dropout: Sendable {
    /// p, the probability of dropping an element, in [0, 1).
    public let probability: Double

    /// Dropout that zeroes each element with `probability`, in [0, 1).
    public init(probability: Double) {
        require(probability >= 0 && probability < 1, "dropout probability must be in [0, 1), got \(probability)")
        self.probability = probability
    }

    /// The mask m for a tensor of `shape`: 0 or 1/(1 − p) per element.
    public func mask(shape: [Int], using generator: inout SeededGenerator) -> Tensor {
        let keep = 1 - probability, scale = Float(1 / keep)
        return Tensor(shape: shape, generating: { _ in generator.nextUnitDouble() < keep ? scale : 0 })
    }

    /// y = m * x, and the mask m that `backward` needs. With p = 0 the mask is all ones and draws nothing.
    public func forward(_ x: Tensor, using generator: inout SeededGenerator) -> (output: Tensor, mask: Tensor) {
        guard probability > 0 else { return (x, Tensor.ones(x.shape)) }
        let m = mask(shape: x.shape, using: &generator)
        return (x * m, m)
    }

    /// dx = m * dy.
    public func backward(mask: Tensor, outputGradient: Tensor) -> Tensor {
        require(mask.shape == outputGradient.shape, "dropout: mask \(mask.shape) and gradient \(outputGradient.shape) differ")
        return outputGradient * mask
    }
}
