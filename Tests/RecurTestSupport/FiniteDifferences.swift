/// Five-point central differences, in Float64: for every i < count,
/// dL/dθ_i ≈ (8 (L(θ_i + ε) − L(θ_i − ε)) − (L(θ_i + 2ε) − L(θ_i − 2ε))) / 12ε, error O(ε⁴).
///
/// - Parameters:
///   - count: how many values there are.
///   - epsilon: ε, the step.
///   - value: the current value of element i.
///   - set: sets element i (the difference restores it afterwards).
///   - loss: the loss at the current values.
public func finiteDifferences(count: Int, epsilon: Double = 1e-4, value: (Int) -> Double, set: (Int, Double) -> Void,
                              loss: () -> Double) -> [Double] {
    (0..<count).map { i in
        let original = value(i)
        func shifted(_ steps: Double) -> Double {
            set(i, original + steps * epsilon)
            return loss()
        }
        let near = shifted(1) - shifted(-1), far = shifted(2) - shifted(-2)
        set(i, original)
        return (8 * near - far) / (12 * epsilon)
    }
}

/// Five-point central differences of `loss` with respect to `values[i]` for every i, in Float64.
public func finiteDifferences(of values: inout [Double], epsilon: Double = 1e-4, _ loss: ([Double]) -> Double) -> [Double] {
    var current = values
    return finiteDifferences(count: values.count, epsilon: epsilon, value: { current[$0] }, set: { current[$0] = $1 },
                             loss: { loss(current) })
}
