import Foundation
import Testing
@testable import RecurLayers
import RecurCore

/// A cell and its form, for running one test over every kind.
struct CellKind: CustomTestStringConvertible, Sendable {
    var cell: RecurrentConfiguration.Cell
    var activation: Activation = .tanh
    var gruVariant: RecurrentConfiguration.GRUVariant = .pytorch

    var testDescription: String {
        switch cell {
        case .rnn: "rnn-\(activation.rawValue)"
        case .gru: "gru-\(gruVariant.rawValue)"
        case .lstm: "lstm"
        }
    }

    static let all: [CellKind] = [
        CellKind(cell: .rnn), CellKind(cell: .rnn, activation: .relu),
        CellKind(cell: .gru, gruVariant: .course), CellKind(cell: .gru, gruVariant: .pytorch), CellKind(cell: .lstm),
    ]

    func configuration(inputSize: Int, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false,
                       merge: RecurrentConfiguration.Merge = .concatenate, dropout: Double = 0,
                       variationalDropout: Bool = false) -> RecurrentConfiguration {
        RecurrentConfiguration(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layers: layers,
                               bidirectional: bidirectional, merge: merge, activation: activation, gruVariant: gruVariant,
                               dropout: dropout, variationalDropout: variationalDropout)
    }
}

/// Random values in [−1, 1) from a seeded generator.
func randomValues(_ count: Int, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in 2 * generator.nextUnitDouble() - 1 }
}

/// Largest element-wise error |a − b| / max(|a|, |b|, floor), with where it happened.
struct RelativeError: CustomStringConvertible {
    var worst = 0.0
    var index = -1
    var actual = 0.0
    var expected = 0.0

    init(_ actual: [Double], _ expected: [Double], floor: Double) {
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

    var description: String { "largest relative error \(worst) at \(index): \(actual) vs \(expected)" }
}

func expectRelativelyClose(_ actual: [Double], _ expected: [Double], tolerance: Double, floor: Double = 1e-3,
                           _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    let error = RelativeError(actual, expected, floor: floor)
    #expect(error.worst <= tolerance, "\(comment): \(error)", sourceLocation: sourceLocation)
}

func floats(_ values: [Double]) -> [Float] { values.map(Float.init) }
func doubles(_ values: [Float]) -> [Double] { values.map(Double.init) }

func dot(_ a: [Double], _ b: [Double]) -> Double {
    var sum = 0.0
    for i in a.indices { sum += a[i] * b[i] }
    return sum
}

/// Five-point central differences of `loss` with respect to `values[i]` for every i, in Float64.
func finiteDifferences(of values: inout [Double], epsilon: Double = 1e-4, _ loss: ([Double]) -> Double) -> [Double] {
    var gradient = [Double](repeating: 0, count: values.count)
    for i in values.indices {
        let original = values[i]
        func shifted(_ steps: Double) -> Double {
            values[i] = original + steps * epsilon
            return loss(values)
        }
        let near = shifted(1) - shifted(-1), far = shifted(2) - shifted(-2)
        values[i] = original
        gradient[i] = (8 * near - far) / (12 * epsilon)
    }
    return gradient
}
