import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// One network shape for the finite-difference check.
struct GradientCase: CustomTestStringConvertible, Sendable {
    var kind: CellKind
    var layers: Int
    var bidirectional: Bool
    var ragged: Bool
    var initialState: Bool
    var merge: RecurrentConfiguration.Merge = .concatenate
    var dropout = 0.0
    var variationalDropout = false

    var testDescription: String {
        var parts = [kind.testDescription, "\(layers) layer\(layers == 1 ? "" : "s")",
                     bidirectional ? "bidirectional(\(merge.rawValue))" : "unidirectional",
                     ragged ? "ragged" : "equal lengths", initialState ? "initial state" : "zero state"]
        if dropout > 0 { parts.append("\(variationalDropout ? "variational " : "")dropout \(dropout)") }
        return parts.joined(separator: ", ")
    }

    /// Every cell × {1, 2 layers} × {uni, bi} × {equal, ragged} × {with, without initial state}, then the other
    /// merges and both dropouts.
    static let all: [GradientCase] = {
        var cases: [GradientCase] = []
        for kind in CellKind.all {
            for layers in [1, 2] {
                for bidirectional in [false, true] {
                    for ragged in [false, true] {
                        for initialState in [false, true] {
                            cases.append(GradientCase(kind: kind, layers: layers, bidirectional: bidirectional,
                                                      ragged: ragged, initialState: initialState))
                        }
                    }
                }
            }
            for merge in [RecurrentConfiguration.Merge.sum, .average] {
                cases.append(GradientCase(kind: kind, layers: 2, bidirectional: true, ragged: true, initialState: true,
                                          merge: merge))
            }
            for variational in [false, true] {
                cases.append(GradientCase(kind: kind, layers: 2, bidirectional: true, ragged: true, initialState: false,
                                          dropout: 0.4, variationalDropout: variational))
            }
        }
        return cases
    }()
}

@Suite("Gradient checks")
struct GradientCheckTests {
    /// Method: the loss L = Σ outputs ⊙ R₁ + Σ last ⊙ R₂ + Σ h_final ⊙ R₃ (+ Σ c_final ⊙ R₄) with fixed random
    /// R, so every output of the network carries gradient. The analytic gradients come from the production
    /// backward pass run in Float64 (`Float64Recurrent`, the same `RecurrentPass` code as Float); the numeric
    /// ones from five-point central differences (8(L(θ+ε) − L(θ−ε)) − (L(θ+2ε) − L(θ−2ε))) / 12ε with
    /// ε = 1e-4 (truncation error O(ε⁴), rounding about 1e-11), for every entry of every
    /// parameter, of the input (padding included: its gradient must be exactly zero) and of the initial state.
    /// Sizes are distinct (T 3, B 3, D 4, H 5) so a swapped axis fails; ragged lengths all differ and include 1.
    @Test("backward matches finite differences in Float64", arguments: GradientCase.all)
    func backwardMatchesFiniteDifferences(_ test: GradientCase) {
        let steps = 3, batchSize = 3, inputSize = 4, hiddenSize = 5
        let configuration = test.kind.configuration(inputSize: inputSize, hiddenSize: hiddenSize, layers: test.layers,
                                                    bidirectional: test.bidirectional, merge: test.merge,
                                                    dropout: test.dropout, variationalDropout: test.variationalDropout)
        var generator = SeededGenerator(seed: 11)
        var model = Float64Recurrent(RecurrentNetwork(configuration, using: &generator))
        let lstm = configuration.cell == .lstm
        let stateCount = test.layers * configuration.directionCount * batchSize * hiddenSize
        let outputWidth = configuration.outputSize
        var input = randomValues(steps * batchSize * inputSize, seed: 1)
        let lengths = test.ragged ? [2, 3, 1] : nil
        var initialHidden = test.initialState ? randomValues(stateCount, seed: 2) : nil
        var initialCell = test.initialState && lstm ? randomValues(stateCount, seed: 3) : nil
        let dropoutSeed: UInt64? = test.dropout > 0 ? 5 : nil
        let outputWeights = randomValues(steps * batchSize * outputWidth, seed: 4)
        let lastWeights = randomValues(batchSize * outputWidth, seed: 5)
        let hiddenWeights = randomValues(stateCount, seed: 6)
        let cellWeights = randomValues(stateCount, seed: 7)

        func loss() -> Double {
            let y = model.forward(input: input, steps: steps, batchSize: batchSize, lengths: lengths,
                                  initialHidden: initialHidden, initialCellState: initialCell, dropoutSeed: dropoutSeed)
            var total = dot(y.outputs, outputWeights) + dot(y.last, lastWeights) + dot(y.hidden, hiddenWeights)
            if let c = y.cellState { total += dot(c, cellWeights) }
            return total
        }
        /// Five-point central differences of `loss` with respect to every element reached through `value`.
        func numeric(count: Int, _ value: (Int, Double) -> Void, _ current: (Int) -> Double) -> [Double] {
            finiteDifferences(count: count, value: current, set: value, loss: loss)
        }

        let analytic = model.gradients(input: input, steps: steps, batchSize: batchSize, lengths: lengths,
                                       initialHidden: initialHidden, initialCellState: initialCell,
                                       dropoutSeed: dropoutSeed, outputGradient: outputWeights, lastGradient: lastWeights,
                                       finalHiddenGradient: hiddenWeights, finalCellStateGradient: lstm ? cellWeights : nil)
        let names = RecurrentNetwork.parameterNames(configuration)
        for p in model.parameters.indices {
            let expected = numeric(count: model.parameters[p].count, { model.parameters[p][$0] = $1 },
                                   { model.parameters[p][$0] })
            expectRelativelyClose(analytic.parameters[p], expected, tolerance: 1e-6, names[p])
        }
        let inputExpected = numeric(count: input.count, { input[$0] = $1 }, { input[$0] })
        expectRelativelyClose(analytic.input, inputExpected, tolerance: 1e-6, "input")
        if test.initialState {
            let expected = numeric(count: stateCount, { initialHidden![$0] = $1 }, { initialHidden![$0] })
            expectRelativelyClose(analytic.initialHidden, expected, tolerance: 1e-6, "initial hidden state")
            if lstm {
                let expected = numeric(count: stateCount, { initialCell![$0] = $1 }, { initialCell![$0] })
                expectRelativelyClose(analytic.initialCellState!, expected, tolerance: 1e-6, "initial cell state")
            }
        }
    }
}
