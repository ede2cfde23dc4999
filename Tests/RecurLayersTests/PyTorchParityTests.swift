import Foundation
import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// The reference values written by Scripts/make_recurrent_fixtures.py (PyTorch 2.13, float64).
struct RecurrentFixtures: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        var name: String
        var cell: String
        var activation: String
        var gru_variant: String
        var weights: [String: [Double]]
        var weight_gradients: [String: [Double]]
        var input: [Double]
        var initial_hidden: [Double]
        var initial_cell_state: [Double]?
        var output_weights: [Double]
        var hidden_weights: [Double]
        var cell_state_weights: [Double]?
        var output: [Double]
        var hidden: [Double]
        var cell_state: [Double]?
        var input_gradient: [Double]
        var initial_hidden_gradient: [Double]
        var initial_cell_state_gradient: [Double]?

        var testDescription: String { name }
    }
    var steps: Int
    var batch_size: Int
    var input_size: Int
    var hidden_size: Int
    var layers: Int
    var lengths: [Int]
    var cases: [Case]

    /// The file, read once; a missing or malformed file fails each test that reads it, naming the script.
    static let shared = Result {
        try loadFixture(RecurrentFixtures.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/recurrent.json"),
                        writtenBy: "Scripts/make_recurrent_fixtures.py")
    }

    func configuration(_ test: Case) -> RecurrentConfiguration {
        RecurrentConfiguration(cell: RecurrentConfiguration.Cell(rawValue: test.cell)!, inputSize: input_size,
                               hiddenSize: hidden_size, layers: layers, bidirectional: true,
                               activation: Activation(rawValue: test.activation)!,
                               gruVariant: RecurrentConfiguration.GRUVariant(rawValue: test.gru_variant)!)
    }

    /// A Float network holding the case's weights.
    func network(_ test: Case) throws -> RecurrentNetwork {
        var generator = SeededGenerator(seed: 0)
        let network = RecurrentNetwork(configuration(test), using: &generator)
        let tensors = Dictionary(uniqueKeysWithValues: network.parameters.map { parameter in
            (parameter.name, Tensor(shape: parameter.value.shape, scalars: floats(test.weights[parameter.name]!)))
        })
        if test.gru_variant == "course" {
            for parameter in network.parameters { parameter.value = tensors[parameter.name]! }
        } else {
            try network.loadPyTorchStateDictionary(tensors)
        }
        return network
    }
}

@Suite("PyTorch parity")
struct PyTorchParityTests {
    static var fixtures: RecurrentFixtures { get throws { try RecurrentFixtures.shared.get() } }

    /// Outputs, final states and every gradient of a 2-layer bidirectional network over a packed ragged batch
    /// with an initial state, against PyTorch (and the course GRU against numpy), in Float32 to 1e-5.
    @Test("Float32 outputs, states and gradients match PyTorch within 1e-5", arguments: try fixtures.cases)
    func float32MatchesPyTorch(_ test: RecurrentFixtures.Case) throws {
        let f = try Self.fixtures
        let network = try f.network(test)
        let lstm = test.cell == "lstm"
        let stateShape = [2 * f.layers, f.batch_size, f.hidden_size]
        let initial = RecurrentState(hidden: Tensor(shape: stateShape, scalars: floats(test.initial_hidden)),
                                     cellState: lstm ? Tensor(shape: stateShape, scalars: floats(test.initial_cell_state!)) : nil)
        let x = Tensor(shape: [f.steps, f.batch_size, f.input_size], scalars: floats(test.input))
        var dropout = SeededGenerator(seed: 1)
        let (y, tape) = network.forward(x, lengths: f.lengths, initialState: initial, dropoutGenerator: &dropout)
        expectRelativelyClose(doubles(y.outputs.scalars), test.output, tolerance: 1e-5, floor: 1, "output")
        expectRelativelyClose(doubles(y.state.hidden.scalars), test.hidden, tolerance: 1e-5, floor: 1, "h_n")
        if lstm { expectRelativelyClose(doubles(y.state.cellState!.scalars), test.cell_state!, tolerance: 1e-5, floor: 1, "c_n") }

        let upstreamState = RecurrentState(
            hidden: Tensor(shape: stateShape, scalars: floats(test.hidden_weights)),
            cellState: lstm ? Tensor(shape: stateShape, scalars: floats(test.cell_state_weights!)) : nil)
        let gradient = network.backward(tape, outputGradient: Tensor(shape: y.outputs.shape, scalars: floats(test.output_weights)),
                                        finalStateGradient: upstreamState)
        for parameter in network.parameters {
            expectRelativelyClose(doubles(parameter.gradient.scalars), test.weight_gradients[parameter.name]!,
                                  tolerance: 1e-5, floor: 1, "d\(parameter.name)")
        }
        expectRelativelyClose(doubles(gradient.input!.scalars), test.input_gradient, tolerance: 1e-5, floor: 1, "dx")
        expectRelativelyClose(doubles(gradient.initialState.hidden.scalars), test.initial_hidden_gradient,
                              tolerance: 1e-5, floor: 1, "dh0")
        if lstm {
            expectRelativelyClose(doubles(gradient.initialState.cellState!.scalars), test.initial_cell_state_gradient!,
                                  tolerance: 1e-5, floor: 1, "dc0")
        }
    }

    /// The Float64 check path computes the same numbers as PyTorch's float64 to rounding.
    @Test("Float64 path matches PyTorch's float64 within 1e-10", arguments: try fixtures.cases)
    func float64MatchesPyTorch(_ test: RecurrentFixtures.Case) throws {
        let f = try Self.fixtures
        var model = Float64Recurrent(try f.network(test))
        let names = RecurrentNetwork.parameterNames(model.configuration)
        model.parameters = names.map { test.weights[$0]! }
        let lstm = test.cell == "lstm"
        let y = model.forward(input: test.input, steps: f.steps, batchSize: f.batch_size, lengths: f.lengths,
                              initialHidden: test.initial_hidden, initialCellState: test.initial_cell_state)
        expectRelativelyClose(y.outputs, test.output, tolerance: 1e-10, floor: 1, "output")
        expectRelativelyClose(y.hidden, test.hidden, tolerance: 1e-10, floor: 1, "h_n")
        let g = model.gradients(input: test.input, steps: f.steps, batchSize: f.batch_size, lengths: f.lengths,
                                initialHidden: test.initial_hidden, initialCellState: test.initial_cell_state,
                                outputGradient: test.output_weights, finalHiddenGradient: test.hidden_weights,
                                finalCellStateGradient: test.cell_state_weights)
        for (name, values) in zip(names, g.parameters) {
            expectRelativelyClose(values, test.weight_gradients[name]!, tolerance: 1e-10, floor: 1, "d\(name)")
        }
        expectRelativelyClose(g.input, test.input_gradient, tolerance: 1e-10, floor: 1, "dx")
        expectRelativelyClose(g.initialHidden, test.initial_hidden_gradient, tolerance: 1e-10, floor: 1, "dh0")
        if lstm {
            expectRelativelyClose(y.cellState!, test.cell_state!, tolerance: 1e-10, floor: 1, "c_n")
            expectRelativelyClose(g.initialCellState!, test.initial_cell_state_gradient!, tolerance: 1e-10, floor: 1, "dc0")
        }
    }
}
