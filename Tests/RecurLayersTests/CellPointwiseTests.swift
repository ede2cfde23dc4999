import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// The C kernels of the cells' pointwise parts against their Swift twin (the Double reference), on odd sizes
/// (tails shorter than a vector) for every kernel this machine has. 57 units reach every loop of the LSTM's forward
/// kernel: pairs of vectors, a single whole vector (16 lanes) and a partial one.
@Suite("Cell pointwise kernels")
struct CellPointwiseTests {
    static let cases: [(CPUKernel, Int)] = CPUKernel.supported.flatMap { kernel in [1, 7, 33, 57].map { (kernel, $0) } }

    /// Runs `body` on Float and Double copies of the same random arrays and compares every array afterwards.
    static func compare(_ kernel: CPUKernel, sizes: [Int], seed: UInt64, positive: Set<Int> = [],
                        _ body: (_ float: [UnsafeMutablePointer<Float>], _ double: [UnsafeMutablePointer<Double>]) -> Void,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        let values = sizes.enumerated().map { index, size in
            randomValues(size, seed: seed + UInt64(index)).map { positive.contains(index) ? 0.05 + abs($0) * 0.9 : 3 * $0 }
        }
        let floatPointers = values.map { v -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, v.count)); p.initialize(from: v.map(Float.init), count: v.count); return p
        }
        let doublePointers = values.map { v -> UnsafeMutablePointer<Double> in
            let p = UnsafeMutablePointer<Double>.allocate(capacity: max(1, v.count)); p.initialize(from: v, count: v.count); return p
        }
        defer { floatPointers.forEach { $0.deallocate() }; doublePointers.forEach { $0.deallocate() } }
        body(floatPointers, doublePointers)
        for (index, size) in sizes.enumerated() {
            let f = (0..<size).map { Double(floatPointers[index][$0]) }, d = (0..<size).map { doublePointers[index][$0] }
            expectRelativelyClose(f, d, tolerance: 2e-6, floor: 1, "\(kernel) array \(index)", sourceLocation: sourceLocation)
        }
    }

    /// Output rows `stride` apart hold the state rows, and the `stride − h` floats after each are left as they were
    /// (`before`): a direction writing its half of a concatenated bidirectional output.
    static func expectOutputRows(_ output: UnsafeMutablePointer<Float>, equal hidden: UnsafeMutablePointer<Float>,
                                 rows: Int, h: Int, stride: Int, before: [Float], _ comment: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
        for r in 0..<rows {
            #expect((0..<h).allSatisfy { output[r * stride + $0] == hidden[r * h + $0] },
                    "\(comment): output row \(r) differs from the state", sourceLocation: sourceLocation)
            #expect((h..<stride).allSatisfy { output[r * stride + $0] == before[r * stride + $0] },
                    "\(comment): wrote between output rows", sourceLocation: sourceLocation)
        }
    }

    static func contents(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: p, count: count))
    }

    @Test("LSTM forward and backward", arguments: cases)
    func lstm(kernel: CPUKernel, h: Int) {
        let rows = 3, g = 4 * h, n = rows * h
        // Training (gates activated in place, tanh c and c<t-1> kept), then inference (gates left alone): hidden
        // and output receive the same state either way.
        Self.compare(kernel, sizes: [rows * g, n, n, n, n, g, n], seed: 1) { f, d in
            Float.lstmForward(rows: rows, hiddenSize: h, gates: f[0], bias: f[5], cellState: f[1], previousCellState: f[2],
                              cellTanh: f[3], hidden: f[4], output: f[6], outputStride: h, kernel: kernel)
            Double.lstmForward(rows: rows, hiddenSize: h, gates: d[0], bias: d[5], cellState: d[1], previousCellState: d[2],
                               cellTanh: d[3], hidden: d[4], output: d[6], outputStride: h, kernel: kernel)
            #expect((0..<n).allSatisfy { f[4][$0] == f[6][$0] }, "\(kernel): output and hidden differ")
        }
        let stride = h + 3
        Self.compare(kernel, sizes: [rows * g, n, n, g, rows * stride], seed: 11) { f, d in
            let untouched = Array(UnsafeBufferPointer(start: f[0], count: rows * g)), before = Self.contents(f[4], rows * stride)
            Float.lstmForward(rows: rows, hiddenSize: h, gates: f[0], bias: f[3], cellState: f[1], previousCellState: nil,
                              cellTanh: nil, hidden: f[2], output: f[4], outputStride: stride, kernel: kernel)
            Double.lstmForward(rows: rows, hiddenSize: h, gates: d[0], bias: d[3], cellState: d[1], previousCellState: nil,
                               cellTanh: nil, hidden: d[2], output: d[4], outputStride: stride, kernel: kernel)
            #expect(Array(UnsafeBufferPointer(start: f[0], count: rows * g)) == untouched, "\(kernel): inference wrote the gates")
            Self.expectOutputRows(f[4], equal: f[2], rows: rows, h: h, stride: stride, before: before, "\(kernel)")
        }
        // gates activated (in (0, 1), and tanh values in (−1, 1) suffice for the check), tanh c, c_prev, da, dc, dGates
        Self.compare(kernel, sizes: [rows * g, n, n, n, n, rows * g], seed: 2, positive: [0]) { f, d in
            Float.lstmBackward(rows: rows, hiddenSize: h, gates: f[0], cellTanh: f[1], previousCellState: f[2], hiddenGradient: f[3],
                               cellGradient: f[4], gateGradient: f[5], kernel: kernel)
            Double.lstmBackward(rows: rows, hiddenSize: h, gates: d[0], cellTanh: d[1], previousCellState: d[2], hiddenGradient: d[3],
                                cellGradient: d[4], gateGradient: d[5], kernel: kernel)
        }
    }

    @Test("PyTorch GRU forward and backward", arguments: cases)
    func gru(kernel: CPUKernel, h: Int) {
        let rows = 3, g = 3 * h, n = rows * h
        for keepsGates in [true, false] {
            let stride = keepsGates ? h : h + 3
            Self.compare(kernel, sizes: [rows * g, rows * g, h, n, g, rows * stride], seed: keepsGates ? 3 : 13) { f, d in
                let untouched = Array(UnsafeBufferPointer(start: f[0], count: rows * g))
                    + Array(UnsafeBufferPointer(start: f[1], count: rows * g))
                let before = Self.contents(f[5], rows * stride)
                Float.gruForward(rows: rows, hiddenSize: h, gates: f[0], bias: f[4], hiddenGates: f[1], candidateHiddenBias: f[2],
                                 hidden: f[3], output: f[5], outputStride: stride, keepsGates: keepsGates, kernel: kernel)
                Double.gruForward(rows: rows, hiddenSize: h, gates: d[0], bias: d[4], hiddenGates: d[1], candidateHiddenBias: d[2],
                                  hidden: d[3], output: d[5], outputStride: stride, keepsGates: keepsGates, kernel: kernel)
                Self.expectOutputRows(f[5], equal: f[3], rows: rows, h: h, stride: stride, before: before, "\(kernel)")
                let after = Array(UnsafeBufferPointer(start: f[0], count: rows * g))
                    + Array(UnsafeBufferPointer(start: f[1], count: rows * g))
                #expect((after == untouched) == !keepsGates, "\(kernel) keepsGates \(keepsGates): gates written or not")
            }
        }
        Self.compare(kernel, sizes: [rows * g, rows * g, n, n, rows * g, rows * g], seed: 4, positive: [0]) { f, d in
            Float.gruBackward(rows: rows, hiddenSize: h, gates: f[0], hiddenGates: f[1], previousHidden: f[2], hiddenGradient: f[3],
                              gateGradient: f[4], hiddenGateGradient: f[5], kernel: kernel)
            Double.gruBackward(rows: rows, hiddenSize: h, gates: d[0], hiddenGates: d[1], previousHidden: d[2], hiddenGradient: d[3],
                               gateGradient: d[4], hiddenGateGradient: d[5], kernel: kernel)
        }
    }

    @Test("basic RNN forward, tanh and relu", arguments: cases)
    func rnn(kernel: CPUKernel, h: Int) {
        let rows = 3, n = rows * h
        for relu in [false, true] {
            let stride = relu ? h : h + 3
            Self.compare(kernel, sizes: [n, h, n, rows * stride], seed: relu ? 9 : 10) { f, d in
                let before = Self.contents(f[3], rows * stride)
                Float.rnnForward(rows: rows, hiddenSize: h, preActivation: f[0], bias: f[1], relu: relu, hidden: f[2],
                                 output: f[3], outputStride: stride, kernel: kernel)
                Double.rnnForward(rows: rows, hiddenSize: h, preActivation: d[0], bias: d[1], relu: relu, hidden: d[2],
                                  output: d[3], outputStride: stride, kernel: kernel)
                Self.expectOutputRows(f[3], equal: f[2], rows: rows, h: h, stride: stride, before: before, "\(kernel)")
                #expect(!relu || (0..<n).contains { f[2][$0] == 0 }, "\(kernel): relu clipped nothing")
            }
        }
    }

    @Test("course GRU forward and backward halves, tanh backward", arguments: cases)
    func courseGRU(kernel: CPUKernel, h: Int) {
        let rows = 3, g = 3 * h, n = rows * h
        let stride = h + 3
        Self.compare(kernel, sizes: [rows * g, rows * 2 * h, n, n, g, rows * stride], seed: 5) { f, d in
            let before = Self.contents(f[5], rows * stride)
            Float.courseGRUGates(rows: rows, hiddenSize: h, gates: f[0], bias: f[4], product: f[1], hidden: f[2], resetHidden: f[3],
                                 kernel: kernel)
            Double.courseGRUGates(rows: rows, hiddenSize: h, gates: d[0], bias: d[4], product: d[1], hidden: d[2], resetHidden: d[3],
                                  kernel: kernel)
            Float.courseGRUUpdate(rows: rows, hiddenSize: h, gates: f[0], bias: f[4], hidden: f[2], output: f[5],
                                  outputStride: stride, kernel: kernel)
            Double.courseGRUUpdate(rows: rows, hiddenSize: h, gates: d[0], bias: d[4], hidden: d[2], output: d[5],
                                   outputStride: stride, kernel: kernel)
            Self.expectOutputRows(f[5], equal: f[2], rows: rows, h: h, stride: stride, before: before, "\(kernel)")
        }
        Self.compare(kernel, sizes: [rows * g, n, n, rows * g, n], seed: 6, positive: [0]) { f, d in
            Float.courseGRUBackwardCandidate(rows: rows, hiddenSize: h, gates: f[0], previousHidden: f[1], hiddenGradient: f[2],
                                             gateGradient: f[3], kernel: kernel)
            Double.courseGRUBackwardCandidate(rows: rows, hiddenSize: h, gates: d[0], previousHidden: d[1], hiddenGradient: d[2],
                                              gateGradient: d[3], kernel: kernel)
            Float.courseGRUBackwardReset(rows: rows, hiddenSize: h, gates: f[0], previousHidden: f[1], resetGradient: f[4],
                                         hiddenGradient: f[2], gateGradient: f[3], kernel: kernel)
            Double.courseGRUBackwardReset(rows: rows, hiddenSize: h, gates: d[0], previousHidden: d[1], resetGradient: d[4],
                                          hiddenGradient: d[2], gateGradient: d[3], kernel: kernel)
        }
        Self.compare(kernel, sizes: [n, n, n], seed: 7) { f, d in
            Float.tanhBackward(count: n, output: f[0], outputGradient: f[1], inputGradient: f[2], kernel: kernel)
            Double.tanhBackward(count: n, output: d[0], outputGradient: d[1], inputGradient: d[2], kernel: kernel)
        }
    }
}
