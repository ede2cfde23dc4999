import Testing
@testable import RecurCore

/// Largest |actual − expected| / scale over all elements, with the worst index, for failure messages.
struct Discrepancy: CustomStringConvertible {
    var worst: Double = 0
    var index = -1
    var actual: Float = 0
    var expected: Float = 0

    /// Compares element by element; `scale[i]` (default 1) normalizes each error.
    init(_ actual: [Float], _ expected: [Float], scale: [Float]? = nil) {
        precondition(actual.count == expected.count)
        for i in actual.indices {
            let error = Double(abs(actual[i] - expected[i])) / Double(max(scale?[i] ?? 1, 1e-30))
            if error > worst || error.isNaN {
                worst = error.isNaN ? .infinity : error
                index = i
                self.actual = actual[i]
                self.expected = expected[i]
            }
        }
    }

    var description: String { "largest error \(worst) at \(index): \(actual) vs \(expected)" }
}

/// Asserts that every element is within `tolerance` (after scaling), printing the worst one if not.
func expectClose(_ actual: [Float], _ expected: [Float], scale: [Float]? = nil, tolerance: Double,
                 _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    let discrepancy = Discrepancy(actual, expected, scale: scale)
    #expect(discrepancy.worst <= tolerance, "\(comment) \(discrepancy)", sourceLocation: sourceLocation)
}

/// Random values in [−1, 1) from a seeded generator.
func randomScalars(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
}

/// A pointer handed to concurrent test tasks that touch disjoint parts of what it points to.
struct UncheckedSendable<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}
