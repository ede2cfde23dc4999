import Testing

/// Largest |actual − expected| / scale over all elements, with the worst index, for failure messages.
public struct Discrepancy: CustomStringConvertible {
    public var worst: Double = 0
    public var index = -1
    public var actual: Float = 0
    public var expected: Float = 0

    /// Compares element by element; `scale[i]` (default 1) normalizes each error. A NaN counts as infinitely wrong.
    public init(_ actual: [Float], _ expected: [Float], scale: [Float]? = nil) {
        precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
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

    public var description: String { "largest error \(worst) at \(index): \(actual) vs \(expected)" }
}

/// Asserts that every element is within `tolerance` (after scaling), printing the worst one if not.
public func expectClose(_ actual: [Float], _ expected: [Float], scale: [Float]? = nil, tolerance: Double,
                        _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    let discrepancy = Discrepancy(actual, expected, scale: scale)
    #expect(discrepancy.worst <= tolerance, "\(comment) \(discrepancy)", sourceLocation: sourceLocation)
}

/// Largest element-wise error |a − b| / max(|a|, |b|, floor), with where it happened.
public struct RelativeError: CustomStringConvertible {
    public var worst = 0.0
    public var index = -1
    public var actual = 0.0
    public var expected = 0.0

    public init(_ actual: [Double], _ expected: [Double], floor: Double) {
        precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
        for i in actual.indices {
            let error = abs(actual[i] - expected[i]) / max(abs(actual[i]), abs(expected[i]), floor)
            if error > worst || error.isNaN {
                worst = error.isNaN ? .infinity : error
                index = i
                self.actual = actual[i]
                self.expected = expected[i]
            }
        }
    }

    public var description: String { "largest relative error \(worst) at \(index): \(actual) vs \(expected)" }
}

/// Asserts that every element is within `tolerance` relative error (see ``RelativeError``), printing the worst one if not.
public func expectRelativelyClose(_ actual: [Double], _ expected: [Double], tolerance: Double, floor: Double = 1e-3,
                                  _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    let error = RelativeError(actual, expected, floor: floor)
    #expect(error.worst <= tolerance, "\(comment): \(error)", sourceLocation: sourceLocation)
}

public func floats(_ values: [Double]) -> [Float] { values.map(Float.init) }
public func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }

public func dot(_ a: [Double], _ b: [Double]) -> Double {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    var sum = 0.0
    for i in a.indices { sum += a[i] * b[i] }
    return sum
}
