import Foundation
import Testing
@testable import RecurCore
import RecurTestSupport

@Suite("Tensor")
struct TensorTests {
    @Test("Shapes, counts and element access in row-major order")
    func basics() {
        var t = Tensor(shape: [2, 3, 4]) { Float($0) }
        #expect(t.count == 24 && t.rank == 3)
        #expect(t[element: 1, 2, 3] == 23 && t[element: 0, 1, 2] == 6)
        t[element: 1, 0, 0] = -1
        #expect(t.scalars[12] == -1)
        #expect(Tensor.zeros([0, 5]).count == 0)
        #expect(Tensor(shape: [], scalars: [7]).scalar == 7)
        #expect(Tensor.ones([2, 2]).sum() == 4)
    }

    @Test("Time steps of [T, B, D] are views: no copy until written, then copy-on-write")
    func timeStepViews() {
        let x = Tensor(shape: [3, 2, 4]) { Float($0) }
        let step = x[1]
        #expect(step.shape == [2, 4])
        #expect(step.scalars == (8..<16).map(Float.init))
        #expect(step.storage === x.storage, "a time step must share the batch's storage")
        let run = x[1..<3]
        #expect(run.shape == [2, 2, 4] && run.storage === x.storage && run[0] == step)
        var written = step
        written[element: 0, 0] = 100
        #expect(x[element: 1, 0, 0] == 8, "writing a view must not change the tensor it came from")
        #expect(written.storage !== x.storage)
        var y = x
        y[2] = Tensor(shape: [2, 4], repeating: -1)
        #expect(y[2].sum() == -8 && x[2].sum() == Float((16..<24).reduce(0, +)))
    }

    @Test("Elementwise arithmetic, scalars and row-vector broadcast")
    func arithmetic() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 3], scalars: [6, 5, 4, 3, 2, 1])
        let bias = Tensor(shape: [3], scalars: [10, 20, 30])
        #expect((a + b).scalars == [7, 7, 7, 7, 7, 7])
        #expect((a - b).scalars == [-5, -3, -1, 1, 3, 5])
        #expect((a * b).scalars == [6, 10, 12, 12, 10, 6])
        #expect((a / b).scalars[5] == 6)
        #expect((a + bias).scalars == [11, 22, 33, 14, 25, 36])
        #expect((a * 2 + 1).scalars == [3, 5, 7, 9, 11, 13])
        #expect((-a).scalars[0] == -1)
        var c = a
        c += b
        c *= 0.5
        #expect(c.scalars == [3.5, 3.5, 3.5, 3.5, 3.5, 3.5])
        c.add(a, scaledBy: 2)
        #expect(c.scalars == [5.5, 7.5, 9.5, 11.5, 13.5, 15.5])
    }

    @Test("Reductions")
    func reductions() {
        let a = Tensor(shape: [2, 3], scalars: [1, -2, 3, 4, 5, -6])
        #expect(a.sum() == 5 && a.max() == 5 && a.min() == -6)
        #expect(a.mean() == Float(5.0 / 6.0))
        #expect(a.squaredSum() == 91)
        #expect(a.sumRows().scalars == [5, 3, -3])
        #expect(a.argmaxRows() == [2, 1])
        #expect(a.reshaped([3, 2]).sumRows().scalars == [9, -4])
    }

    @Test("Activations on tensors and their backward helpers agree with the pointer forms")
    func tensorActivations() {
        var generator = SeededGenerator(seed: 4)
        let x = Tensor.uniform([3, 5], in: -3...3, using: &generator)
        let y = x.tanh()
        let dy = Tensor.uniform([3, 5], in: -1...1, using: &generator)
        let dx = y.activationBackward(.tanh, outputGradient: dy)
        for i in 0..<x.count {
            let expected = dy.scalars[i] * (1 - y.scalars[i] * y.scalars[i])
            #expect(abs(dx.scalars[i] - expected) < 1e-6)
        }
        #expect(x.sigmoid().min() > 0 && x.relu().min() == 0)
        expectClose(x.exp().scalars, x.scalars.map { Float(Foundation.exp(Double($0))) },
                    scale: x.scalars.map { Float(Foundation.exp(Double($0))) }, tolerance: Double(Activation.maximumError))
    }

    @Test("Mismatched shapes stop with a message naming both")
    func mismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([3, 2])
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("[2, 3]") && message.contains("[3, 2]"), "message was: \(message)")
    }
}
