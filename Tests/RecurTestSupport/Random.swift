import RecurCore

/// Random Floats in [−1, 1) from a seeded generator.
public func randomScalars(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
}

/// Random Doubles in [−1, 1) from a seeded generator.
public func randomValues(_ count: Int, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in 2 * generator.nextUnitDouble() - 1 }
}

/// A value handed to concurrent test tasks that touch disjoint parts of what it points to.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}
