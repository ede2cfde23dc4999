import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// The course notebook's expected values ("Building your Recurrent Neural Network – Step by Step"), with its
/// inputs regenerated from `np.random.seed(1)` in the order the notebook draws them.
///
/// The notebook's arrays are (features, batch[, time]) with column vectors; Recur's are [T, B, D]. The
/// notebook's LSTM weights W_f, W_i, W_c, W_o are (n_a, n_a + n_x) acting on [a<t-1>; x<t>]: their first
/// n_a columns are `weight_hh`, the rest `weight_ih`, stacked in PyTorch's order i, f, g, o.
@Suite("Course golden values")
struct CourseGoldenTests {
    @Test("the rebuilt numpy generator reproduces seed(1) randn and seed(0) random_sample")
    func legacyGenerator() {
        var random = NumpyLegacyRandom(seed: 1)
        #expect(random.randn(5) == [1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
                                    -1.0729686221561705, 0.8654076293246785])
        var uniform = NumpyLegacyRandom(seed: 0)
        #expect((0..<3).map { _ in uniform.nextDouble() } == [0.5488135039273248, 0.7151893663724195, 0.6027633760716439])
    }

    /// Course (features, batch, time) → Recur [T, B, D].
    static func timeMajor(_ values: [Double], features: Int, batch: Int, steps: Int) -> [Float] {
        var out = [Float](repeating: 0, count: steps * batch * features)
        for f in 0..<features { for b in 0..<batch { for t in 0..<steps {
            out[(t * batch + b) * features + f] = Float(values[(f * batch + b) * steps + t])
        } } }
        return out
    }

    /// (rows, columns) → its transpose, for (n_a, m) states → [1, B, H].
    static func transposed(_ values: [Double], rows: Int, columns: Int) -> [Float] {
        (0..<(rows * columns)).map { i in Float(values[(i % rows) * columns + i / rows]) }
    }

    static func rnn(inputSize: Int, hiddenSize: Int, waa: [Double], wax: [Double], ba: [Double]) -> RecurrentNetwork {
        var generator = SeededGenerator(seed: 0)
        let network = RecurrentNetwork(RecurrentConfiguration(cell: .rnn, inputSize: inputSize, hiddenSize: hiddenSize),
                                       using: &generator)
        let values = [wax, waa, ba, [Double](repeating: 0, count: hiddenSize)]
        for (parameter, value) in zip(network.parameters, values) {
            parameter.value = Tensor(shape: parameter.value.shape, scalars: value.map(Float.init))
        }
        return network
    }

    @Test("rnn_cell_forward: a_next[4] row, a_next[4][0] = 0.59584544")
    func rnnCellForward() {
        var random = NumpyLegacyRandom(seed: 1)
        let xt = random.randn(3, 10), aPrevious = random.randn(5, 10)
        let waa = random.randn(5, 5), wax = random.randn(5, 3)
        _ = random.randn(2, 5)                                  // Wya
        let ba = random.randn(5, 1)
        let network = Self.rnn(inputSize: 3, hiddenSize: 5, waa: waa, wax: wax, ba: ba)
        let x = Tensor(shape: [1, 10, 3], scalars: Self.transposed(xt, rows: 3, columns: 10))
        let a0 = Tensor(shape: [1, 10, 5], scalars: Self.transposed(aPrevious, rows: 5, columns: 10))
        let y = network(x, initialState: RecurrentState(hidden: a0))
        let row4 = (0..<10).map { Double(y.outputs[element: 0, $0, 4]) }
        let expected = [0.59584544, 0.18141802, 0.61311866, 0.99808218, 0.85016201, 0.99980978, -0.18887155,
                        0.99815551, 0.6531151, 0.82872037]
        expectRelativelyClose(row4, expected, tolerance: 1e-6, floor: 1, "a_next[4]")
    }

    @Test("rnn_forward: a[4][1] = [−0.99999375, 0.77911235, −0.99861469, −0.99833267]")
    func rnnForward() {
        var random = NumpyLegacyRandom(seed: 1)
        let xValues = random.randn(3, 10, 4), a0Values = random.randn(5, 10)
        let waa = random.randn(5, 5), wax = random.randn(5, 3)
        _ = random.randn(2, 5)                                  // Wya
        let ba = random.randn(5, 1)
        let network = Self.rnn(inputSize: 3, hiddenSize: 5, waa: waa, wax: wax, ba: ba)
        let x = Tensor(shape: [4, 10, 3], scalars: Self.timeMajor(xValues, features: 3, batch: 10, steps: 4))
        let a0 = Tensor(shape: [1, 10, 5], scalars: Self.transposed(a0Values, rows: 5, columns: 10))
        let y = network(x, initialState: RecurrentState(hidden: a0))
        let a41 = (0..<4).map { Double(y.outputs[element: $0, 1, 4]) }
        expectRelativelyClose(a41, [-0.99999375, 0.77911235, -0.99861469, -0.99833267], tolerance: 1e-6, floor: 1, "a[4][1]")
    }

    /// An LSTM holding the course's W_f, W_i, W_o, W_c (each (n_a, n_a + n_x), hidden columns first) and biases.
    static func lstm(_ random: inout NumpyLegacyRandom, inputSize: Int, hiddenSize: Int) -> RecurrentNetwork {
        let h = hiddenSize, d = inputSize
        var gates: [String: ([Double], [Double])] = [:]
        for name in ["f", "i", "o", "c"] { gates[name] = (random.randn(h, h + d), random.randn(h, 1)) }
        var weightIH: [Float] = [], weightHH: [Float] = [], bias: [Float] = []
        for name in ["i", "f", "c", "o"] {                     // PyTorch order: i, f, g (= c̃), o
            let (w, b) = gates[name]!
            for row in 0..<h {
                weightHH += w[(row * (h + d))..<(row * (h + d) + h)].map(Float.init)
                weightIH += w[(row * (h + d) + h)..<((row + 1) * (h + d))].map(Float.init)
            }
            bias += b.map(Float.init)
        }
        var generator = SeededGenerator(seed: 0)
        let network = RecurrentNetwork(RecurrentConfiguration(cell: .lstm, inputSize: d, hiddenSize: h), using: &generator)
        let values = [weightIH, weightHH, bias, [Float](repeating: 0, count: 4 * h)]
        for (parameter, value) in zip(network.parameters, values) {
            parameter.value = Tensor(shape: parameter.value.shape, scalars: value)
        }
        return network
    }

    @Test("lstm_cell_forward: a_next[4] and c_next[2] rows, a_next[4][0] = −0.66408471")
    func lstmCellForward() {
        var random = NumpyLegacyRandom(seed: 1)
        let xt = random.randn(3, 10), aPrevious = random.randn(5, 10), cPrevious = random.randn(5, 10)
        let network = Self.lstm(&random, inputSize: 3, hiddenSize: 5)
        let x = Tensor(shape: [1, 10, 3], scalars: Self.transposed(xt, rows: 3, columns: 10))
        let state = RecurrentState(hidden: Tensor(shape: [1, 10, 5], scalars: Self.transposed(aPrevious, rows: 5, columns: 10)),
                                   cellState: Tensor(shape: [1, 10, 5], scalars: Self.transposed(cPrevious, rows: 5, columns: 10)))
        let y = network(x, initialState: state)
        let a4 = (0..<10).map { Double(y.outputs[element: 0, $0, 4]) }
        expectRelativelyClose(a4, [-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339, 0.00138482, 0.76566531,
                                   0.34631421, -0.00215674, 0.43827275], tolerance: 1e-6, floor: 1, "a_next[4]")
        let c2 = (0..<10).map { Double(y.state.cellState![element: 0, $0, 2]) }
        expectRelativelyClose(c2, [0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718, 0.11832942, 0.76449811,
                                   -0.0981561, -0.74348425, -0.26810932], tolerance: 1e-6, floor: 1, "c_next[2]")
    }

    @Test("lstm_forward: a[4][3][6] = 0.172117767533")
    func lstmForward() {
        var random = NumpyLegacyRandom(seed: 1)
        let xValues = random.randn(3, 10, 7), a0Values = random.randn(5, 10)
        let network = Self.lstm(&random, inputSize: 3, hiddenSize: 5)
        let x = Tensor(shape: [7, 10, 3], scalars: Self.timeMajor(xValues, features: 3, batch: 10, steps: 7))
        var state = network.zeroState(batchSize: 10)
        state.hidden = Tensor(shape: [1, 10, 5], scalars: Self.transposed(a0Values, rows: 5, columns: 10))
        let y = network(x, initialState: state)
        expectRelativelyClose([Double(y.outputs[element: 6, 3, 4])], [0.172117767533], tolerance: 1e-6, floor: 1, "a[4][3][6]")
    }
}
