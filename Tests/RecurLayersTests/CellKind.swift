import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

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
