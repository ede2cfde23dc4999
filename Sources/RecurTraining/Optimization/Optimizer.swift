import Foundation
import RecurCore
import RecurLayers

/// Which update rule an `Optimizer` applies, and its constants. Every rule is PyTorch's (`torch.optim`),
/// with the same names and defaults, so a recipe moves across unchanged.
public struct OptimizerConfiguration: Codable, Equatable, Sendable {
    /// The update rule, named as PyTorch's optimizers are.
    public enum Kind: String, Codable, CaseIterable, Sendable {
        /// `torch.optim.SGD`, `Adam`, `AdamW` and `RMSprop`.
        case sgd, adam, adamw, rmsprop
    }

    /// The update rule.
    public var kind: Kind
    /// μ: SGD's and RMSprop's momentum (0: none).
    public var momentum: Double
    /// SGD only: Nesterov's form of momentum.
    public var nesterov: Bool
    /// β1, β2: Adam's and AdamW's averaging rates.
    public var beta1: Double
    /// Adam's decay of the squared-gradient average.
    public var beta2: Double
    /// α: RMSprop's averaging rate of g².
    public var alpha: Double
    /// ε, added to the root in the denominator of Adam, AdamW and RMSprop.
    public var epsilon: Double
    /// λ: L2 penalty added to the gradient (SGD, Adam, RMSprop); for AdamW the decoupled decay.
    public var weightDecay: Double

    /// An optimizer's settings, with PyTorch's defaults; weight decay defaults to 0.01 for AdamW, else 0.
    public init(kind: Kind, momentum: Double = 0, nesterov: Bool = false, beta1: Double = 0.9, beta2: Double = 0.999,
                alpha: Double = 0.99, epsilon: Double = 1e-8, weightDecay: Double? = nil) {
        self.kind = kind
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta1 = beta1
        self.beta2 = beta2
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay ?? (kind == .adamw ? 0.01 : 0)
    }

    /// Everything wrong with the constants, one sentence each (empty when they are usable).
    public var problems: [String] {
        var found: [String] = []
        if !(momentum >= 0 && momentum < 1) { found.append("momentum must be in [0, 1), got \(momentum)") }
        if nesterov && (kind != .sgd || momentum == 0) { found.append("Nesterov momentum needs SGD with a momentum above 0") }
        if !(beta1 >= 0 && beta1 < 1) { found.append("beta1 must be in [0, 1), got \(beta1)") }
        if !(beta2 >= 0 && beta2 < 1) { found.append("beta2 must be in [0, 1), got \(beta2)") }
        if !(alpha >= 0 && alpha < 1) { found.append("alpha must be in [0, 1), got \(alpha)") }
        if !(epsilon > 0) { found.append("epsilon must be positive, got \(epsilon)") }
        if !(weightDecay >= 0) { found.append("weight decay must be at least 0, got \(weightDecay)") }
        return found
    }
}

/// Updates parameters from their gradients. With g = the parameter's gradient, p its value, η the learning
/// rate and t the step (from 1):
///
/// SGD:
///
///     g  ← g + λ p
///     v  ← μ v + g                      (with momentum; v starts at 0)
///     g  ← g + μ v  (Nesterov)  or  v
///     p  ← p − η g
///
/// Adam (AdamW: first p ← p − η λ p, and no λ p in g):
///
///     g  ← g + λ p
///     m  ← β1 m + (1 − β1) g
///     v  ← β2 v + (1 − β2) g²
///     p  ← p − η (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε)
///
/// RMSprop:
///
///     g  ← g + λ p
///     s  ← α s + (1 − α) g²
///     b  ← μ b + g / (√s + ε),  p ← p − η b      (with momentum)
///     p  ← p − η g / (√s + ε)                    (without)
///
/// The running averages (v, m, s, b) are the optimizer's state; `state` and `restore` carry them through
/// checkpoints so that a resumed run continues bit for bit.
public final class Optimizer {
    /// The update rule and its settings.
    public let configuration: OptimizerConfiguration
    /// The parameters it updates.
    public let parameters: [Parameter]
    /// The names the running averages are saved under (`<name>.<slot>`), one per parameter.
    public let names: [String]
    /// Steps taken so far (t after the last step).
    public private(set) var stepCount = 0
    /// Per parameter, its running averages in `slotNames` order.
    private var slots: [[Tensor]]

    /// - Parameters: names, one per parameter, unique (default: each parameter's own name).
    public init(_ configuration: OptimizerConfiguration, parameters: [Parameter], names: [String]? = nil) {
        require(configuration.problems.isEmpty, "optimizer: " + configuration.problems.joined(separator: "; "))
        let names = names ?? parameters.map(\.name)
        require(names.count == parameters.count && Set(names).count == names.count,
                "optimizer: give one unique name per parameter, got \(names)")
        self.configuration = configuration
        self.parameters = parameters
        self.names = names
        let slotNames = Optimizer.slotNames(configuration)
        slots = parameters.map { p in slotNames.map { _ in Tensor.zeros(p.value.shape) } }
    }

    /// The running averages each parameter has: SGD with momentum "momentum"; Adam(W) "exp_avg",
    /// "exp_avg_sq"; RMSprop "square_avg" (and "momentum"). PyTorch's names for the same buffers.
    public static func slotNames(_ configuration: OptimizerConfiguration) -> [String] {
        switch configuration.kind {
        case .sgd: configuration.momentum > 0 ? ["momentum"] : []
        case .adam, .adamw: ["exp_avg", "exp_avg_sq"]
        case .rmsprop: configuration.momentum > 0 ? ["square_avg", "momentum"] : ["square_avg"]
        }
    }

    /// One update of every parameter with learning rate η (a frozen parameter is left as it is).
    public func step(learningRate: Double) {
        stepCount += 1
        let c = configuration, lr = Float(learningRate), decay = Float(c.weightDecay)
        for (index, parameter) in parameters.enumerated() where !parameter.isFrozen {
            let count = parameter.value.count
            // The running averages as two separate variables, so that both can be written at once (taken out
            // of `slots` first, so that neither is copied).
            var first = slots[index].first ?? Tensor.zeros([0]), second = slots[index].dropFirst().first ?? Tensor.zeros([0])
            let slotCount = slots[index].count
            slots[index] = []
            defer { slots[index] = Array([first, second].prefix(slotCount)) }
            parameter.gradient.withUnsafeBufferPointer { gp in
                parameter.value.withUnsafeMutableBufferPointer { pp in
                    let g = gp.baseAddress!, p = pp.baseAddress!
                    switch c.kind {
                    case .sgd:
                        let mu = Float(c.momentum)
                        if c.momentum > 0 {
                            first.withUnsafeMutableBufferPointer { vp in
                                let v = vp.baseAddress!
                                for i in 0..<count {
                                    let gi = g[i] + decay * p[i]
                                    v[i] = flushed(mu * v[i] + gi)
                                    p[i] -= lr * (c.nesterov ? gi + mu * v[i] : v[i])
                                }
                            }
                        } else {
                            for i in 0..<count { p[i] -= lr * (g[i] + decay * p[i]) }
                        }
                    case .adam, .adamw:
                        let b1 = Float(c.beta1), b2 = Float(c.beta2), eps = Float(c.epsilon)
                        let correction1 = Float(1 - pow(c.beta1, Double(stepCount)))
                        let correction2 = Float(1 - pow(c.beta2, Double(stepCount)))
                        let decoupled = c.kind == .adamw
                        first.withUnsafeMutableBufferPointer { mp in
                            second.withUnsafeMutableBufferPointer { vp in
                                let m = mp.baseAddress!, v = vp.baseAddress!
                                for i in 0..<count {
                                    if decoupled { p[i] -= lr * decay * p[i] }
                                    let gi = decoupled ? g[i] : g[i] + decay * p[i]
                                    m[i] = flushed(b1 * m[i] + (1 - b1) * gi)
                                    v[i] = flushed(b2 * v[i] + (1 - b2) * gi * gi)
                                    p[i] -= lr * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + eps)
                                }
                            }
                        }
                    case .rmsprop:
                        let a = Float(c.alpha), eps = Float(c.epsilon), mu = Float(c.momentum)
                        first.withUnsafeMutableBufferPointer { sp in
                            let s = sp.baseAddress!
                            if c.momentum > 0 {
                                second.withUnsafeMutableBufferPointer { bp in
                                    let b = bp.baseAddress!
                                    for i in 0..<count {
                                        let gi = g[i] + decay * p[i]
                                        s[i] = flushed(a * s[i] + (1 - a) * gi * gi)
                                        b[i] = flushed(mu * b[i] + gi / (s[i].squareRoot() + eps))
                                        p[i] -= lr * b[i]
                                    }
                                }
                            } else {
                                for i in 0..<count {
                                    let gi = g[i] + decay * p[i]
                                    s[i] = flushed(a * s[i] + (1 - a) * gi * gi)
                                    p[i] -= lr * gi / (s[i].squareRoot() + eps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A running average, with a subnormal value (below 1.2e−38) flushed to zero. The averages of a parameter that
    /// gets no gradient for a while (the vector of a rare word) decay geometrically into subnormal numbers, on which
    /// every CPU computes 10–100× slower; flushed, they change no parameter by more than about 1e−30.
    @inline(__always) private func flushed(_ x: Float) -> Float { abs(x) < Float.leastNormalMagnitude ? 0 : x }

    /// Sets every parameter's gradient to zero.
    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }

    // MARK: - State for checkpoints

    /// The step count and every running average, named `<parameter>.<slot>` (e.g. `decoder.weight.exp_avg`).
    public var state: (stepCount: Int, tensors: [(name: String, value: Tensor)]) {
        let slotNames = Optimizer.slotNames(configuration)
        var tensors: [(String, Tensor)] = []
        for index in parameters.indices {
            for (slot, slotName) in slotNames.enumerated() { tensors.append(("\(names[index]).\(slotName)", slots[index][slot])) }
        }
        return (stepCount, tensors)
    }

    /// Continues from a saved `state`; throws when a tensor is missing or has the wrong shape.
    public func restore(stepCount: Int, tensors: [String: Tensor]) throws(OptimizerStateError) {
        let slotNames = Optimizer.slotNames(configuration)
        var restored = slots
        for (index, parameter) in parameters.enumerated() {
            for (slot, slotName) in slotNames.enumerated() {
                let key = "\(names[index]).\(slotName)"
                guard let tensor = tensors[key] else { throw .missing(key) }
                guard tensor.shape == parameter.value.shape else {
                    throw .shape(key, expected: parameter.value.shape, found: tensor.shape)
                }
                restored[index][slot] = tensor
            }
        }
        slots = restored
        self.stepCount = stepCount
    }
}

/// Why a saved optimizer state does not fit this optimizer.
public enum OptimizerStateError: Error, Equatable, CustomStringConvertible {
    /// A tensor of the state is missing.
    case missing(String)
    /// A tensor of the state has the wrong shape.
    case shape(String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .missing(let name): "the optimizer state has no tensor \(name)"
        case .shape(let name, let expected, let found): "optimizer tensor \(name) is \(found), expected \(expected)"
        }
    }
}
