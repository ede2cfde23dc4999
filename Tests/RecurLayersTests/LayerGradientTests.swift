import Foundation
import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// Finite-difference checks of the layers and losses other than the recurrent ones, in Float64 through the same
/// generic code the Float layers run (`DenseMath`, `SoftmaxCrossEntropyMath`, `BinaryCrossEntropyMath`).
@Suite("Layers and losses: gradients")
struct LayerGradientTests {
    let settings = ComputeSettings(threadCount: 1)

    /// y = x Wᵀ + b on [N 6, I 4] → [6, O 3]; L = Σ y ⊙ r.
    @Test("Linear backward matches finite differences in Float64")
    func linear() {
        let n = 6, i = 4, o = 3
        var x = randomValues(n * i, seed: 1), w = randomValues(o * i, seed: 2), b = randomValues(o, seed: 3)
        let r = randomValues(n * o, seed: 4)
        func forward(_ x: [Double], _ w: [Double], _ b: [Double]) -> [Double] {
            var y = [Double](repeating: 0, count: n * o)
            DenseMath.forward(rows: n, inputSize: i, outputSize: o, x: x, weight: w, bias: b, y: &y, settings: settings)
            return y
        }
        // An independent forward: the sums written out.
        let y = forward(x, w, b)
        for row in 0..<n {
            for j in 0..<o {
                let expected = (0..<i).reduce(b[j]) { $0 + x[row * i + $1] * w[j * i + $1] }
                #expect(abs(y[row * o + j] - expected) < 1e-12)
            }
        }
        var dw = [Double](repeating: 0.5, count: o * i), db = [Double](repeating: -0.25, count: o)
        var dx = [Double](repeating: 9, count: n * i)
        DenseMath.backward(rows: n, inputSize: i, outputSize: o, x: x, weight: w, outputGradient: r,
                           weightGradient: &dw, biasGradient: &db, inputGradient: &dx, settings: settings)
        let (wNow, bNow, xNow) = (w, b, x)
        expectRelativelyClose(dx, finiteDifferences(of: &x) { dot(forward($0, wNow, bNow), r) }, tolerance: 1e-7, "dx")
        // dW and db accumulate onto what was there (0.5 and −0.25).
        expectRelativelyClose(dw.map { $0 - 0.5 }, finiteDifferences(of: &w) { dot(forward(xNow, $0, bNow), r) },
                              tolerance: 1e-7, "dW")
        expectRelativelyClose(db.map { $0 + 0.25 }, finiteDifferences(of: &b) { dot(forward(xNow, wNow, $0), r) },
                              tolerance: 1e-7, "db")
    }

    /// T 3, B 2, H 4, V 5, lengths [3, 1]: the loss must ignore the two padded positions.
    @Test("softmax cross-entropy backward matches finite differences in Float64", arguments: LossReduction.allCases)
    func softmaxCrossEntropy(_ reduction: LossReduction) {
        let t = 3, b = 2, h = 4, v = 5
        let lengths = [3, 1], targets = [4, 0, 2, 3, 1, 2]
        var hidden = randomValues(t * b * h, seed: 5).map { 3 * $0 }
        var w = randomValues(v * h, seed: 6), bias = randomValues(v, seed: 7)
        let counted = CountedRows(rowCount: t * b, batchSize: b, lengths: lengths, reduction: reduction)
        #expect(counted.rows == [0, 1, 2, 4])
        func loss(_ hidden: [Double], _ w: [Double], _ bias: [Double]) -> Double {
            counted.weight * SoftmaxCrossEntropyMath.run(h: hidden, hiddenSize: h, vocabularySize: v, weight: w, bias: bias,
                                                         targets: targets, counted: counted, blockRows: 3, gradients: nil,
                                                         settings: settings)
        }
        // An independent value: the definition −log softmax(z)_y, row by row.
        var expected = 0.0
        for r in counted.rows {
            let z = (0..<v).map { j in (0..<h).reduce(bias[j]) { $0 + hidden[r * h + $1] * w[j * h + $1] } }
            expected -= log(exp(z[targets[r]]) / z.map(exp).reduce(0, +))
        }
        expected *= [LossReduction.sum: 1, .meanPerToken: 1 / 4, .meanPerSequence: 1 / 2][reduction]!
        #expect(abs(loss(hidden, w, bias) - expected) < 1e-12)

        var dw = [Double](repeating: 0, count: v * h), db = [Double](repeating: 0, count: v)
        var dh = [Double](repeating: 7, count: t * b * h)
        _ = dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                dh.withUnsafeMutableBufferPointer { dhp in
                    SoftmaxCrossEntropyMath.run(h: hidden, hiddenSize: h, vocabularySize: v, weight: w, bias: bias,
                                                targets: targets, counted: counted, blockRows: 3,
                                                gradients: (dwp.baseAddress!, dbp.baseAddress!, dhp.baseAddress!),
                                                settings: settings)
                }
            }
        }
        // Rows that do not count are left as they were; every other is overwritten.
        for r in [3, 5] { #expect(dh[(r * h)..<((r + 1) * h)].allSatisfy { $0 == 7 }) }
        for r in [3, 5] { for k in 0..<h { dh[r * h + k] = 0 } }
        let (hNow, wNow, bNow) = (hidden, w, bias)
        expectRelativelyClose(dh, finiteDifferences(of: &hidden) { loss($0, wNow, bNow) }, tolerance: 1e-7, "dh")
        expectRelativelyClose(dw, finiteDifferences(of: &w) { loss(hNow, $0, bNow) }, tolerance: 1e-7, "dW")
        expectRelativelyClose(db, finiteDifferences(of: &bias) { loss(hNow, wNow, $0) }, tolerance: 1e-7, "db")
    }

    @Test("binary cross-entropy backward matches finite differences in Float64", arguments: LossReduction.allCases)
    func binaryCrossEntropy(_ reduction: LossReduction) {
        let t = 2, b = 3, k = 4
        let counted = CountedRows(rowCount: t * b, batchSize: b, lengths: [2, 1, 0], reduction: reduction)
        #expect(counted.rows == [0, 1, 3] && counted.sequenceCount == 2)
        var z = randomValues(t * b * k, seed: 8).map { 6 * $0 }
        let y = randomValues(t * b * k, seed: 9).map { $0 > 0 ? 1.0 : ($0 < -0.5 ? 0.0 : 0.3) }
        func loss(_ z: [Double]) -> Double {
            counted.weight * BinaryCrossEntropyMath.run(z: z, y: y, labels: k, counted: counted, logitsGradient: nil)
        }
        // The seed's formula on ŷ = σ(z).
        var expected = 0.0
        for r in counted.rows {
            for j in (r * k)..<((r + 1) * k) {
                let p = 1 / (1 + exp(-z[j]))
                expected += -y[j] * log(p) - (1 - y[j]) * log(1 - p)
            }
        }
        #expect(abs(loss(z) - counted.weight * expected) < 1e-12)
        var dz = [Double](repeating: 0, count: z.count)
        _ = BinaryCrossEntropyMath.run(z: z, y: y, labels: k, counted: counted, logitsGradient: &dz)
        expectRelativelyClose(dz, finiteDifferences(of: &z, loss), tolerance: 1e-7, "dz")
    }

    /// Embedding backward is a scatter-add, linear in the upstream gradient, so Float finite differences with
    /// a step of 1/4 are exact up to the rounding of the sums (checked to 1e-5).
    @Test("Embedding backward matches finite differences")
    func embedding() {
        var generator = SeededGenerator(seed: 3)
        let embedding = Embedding(vocabularySize: 5, embeddingSize: 3, using: &generator)
        let ids = [4, 0, 4, 2, 2, 4], upstream = Tensor.uniform([3, 2, 3], in: -1...1, using: &generator)
        embedding.backward(ids: ids, outputGradient: upstream)
        let analytic = embedding.weight.gradient.scalars
        func loss() -> Float { (embedding(ids, shape: [3, 2]) * upstream).sum() }
        for index in 0..<15 {
            let original = embedding.weight.value.scalars[index]
            func at(_ value: Float) -> Float {
                embedding.weight.value.withUnsafeMutableBufferPointer { $0[index] = value }
                return loss()
            }
            let numeric = (at(original + 0.25) - at(original - 0.25)) / 0.5
            _ = at(original)
            #expect(abs(numeric - analytic[index]) < 1e-5, "entry \(index)")
        }
        // Row 1 and row 3 were never read.
        #expect(analytic[3..<6].allSatisfy { $0 == 0 } && analytic[9..<12].allSatisfy { $0 == 0 })
    }

    @Test("Dropout: kept elements scaled by 1/(1 − p), backward applies the same mask, p = 0 is the identity")
    func dropout() {
        var generator = SeededGenerator(seed: 9)
        let x = Tensor.uniform([50, 40], in: 1...2, using: &generator)
        let dropout = Dropout(probability: 0.25)
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let (y, mask) = dropout.forward(x, using: &g1)
        #expect(dropout.forward(x, using: &g2).output == y, "the same seed gives the same mask")
        let kept = mask.scalars.filter { $0 != 0 }
        #expect(kept.allSatisfy { abs($0 - 4 / 3) < 1e-6 })
        let keptFraction = Double(kept.count) / Double(mask.count)
        #expect(abs(keptFraction - 0.75) < 0.04, "kept \(keptFraction)")
        #expect(y == x * mask)
        let upstream = Tensor.uniform([50, 40], in: -1...1, using: &generator)
        #expect(dropout.backward(mask: mask, outputGradient: upstream) == upstream * mask)
        var unused = SeededGenerator(seed: 1)
        #expect(Dropout(probability: 0).forward(x, using: &unused).output == x)
        #expect(unused == SeededGenerator(seed: 1), "p = 0 draws nothing")
    }

    @Test("Linear on one-hot vectors equals Embedding with the transposed weight")
    func oneHotEqualsEmbedding() {
        var generator = SeededGenerator(seed: 12)
        let linear = Linear(inputSize: 6, outputSize: 4, hasBias: false, using: &generator)
        let embedding = Embedding(vocabularySize: 6, embeddingSize: 4, using: &generator)
        let w = linear.weight.value.scalars
        embedding.weight.value = Tensor(shape: [6, 4], generating: { index in w[(index % 4) * 6 + index / 4] })
        let ids = [5, 0, 3, 3, 1, 2]
        #expect(linear(Tensor.oneHot(ids, depth: 6, shape: [3, 2])) == embedding(ids, shape: [3, 2]))
    }
}

@Suite("Layers and losses: Float API")
struct LayerTensorTests {
    @Test("Linear and cross-entropy in Float agree with the Float64 path")
    func floatAgreesWithDouble() {
        var generator = SeededGenerator(seed: 21)
        let t = 4, b = 3, h = 7, v = 33
        let output = Linear(inputSize: h, outputSize: v, namePrefix: "decoder.", using: &generator)
        #expect(output.parameters.map(\.name) == ["decoder.weight", "decoder.bias"])
        let hidden = Tensor.uniform([t, b, h], in: -2...2, using: &generator)
        let targets = (0..<(t * b)).map { ($0 * 7) % v }
        let loss = SoftmaxCrossEntropy(reduction: .meanPerToken, blockRows: 5)
        let (value, dh) = loss.lossAndGradient(hidden: hidden, targets: targets, lengths: [4, 2, 3], output: output)
        #expect(value.tokens == 9)
        #expect(loss.loss(hidden: hidden, targets: targets, lengths: [4, 2, 3], output: output) == value)

        let counted = CountedRows(rowCount: t * b, batchSize: b, lengths: [4, 2, 3], reduction: .meanPerToken)
        let w = doubles(output.weight.value.scalars), bias = doubles(output.bias!.value.scalars)
        var dw = [Double](repeating: 0, count: v * h), db = [Double](repeating: 0, count: v)
        var dhExpected = [Double](repeating: 0, count: t * b * h)
        let total = dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                dhExpected.withUnsafeMutableBufferPointer { dhp in
                    SoftmaxCrossEntropyMath.run(h: doubles(hidden.scalars), hiddenSize: h, vocabularySize: v, weight: w,
                                                bias: bias, targets: targets, counted: counted, blockRows: 64,
                                                gradients: (dwp.baseAddress!, dbp.baseAddress!, dhp.baseAddress!),
                                                settings: ComputeSettings(threadCount: 1))
                }
            }
        }
        #expect(abs(value.value - total / 9) < 1e-5)
        expectRelativelyClose(doubles(dh.scalars), dhExpected, tolerance: 1e-4, "dh")
        expectRelativelyClose(doubles(output.weight.gradient.scalars), dw, tolerance: 1e-4, "dW")
        expectRelativelyClose(doubles(output.bias!.gradient.scalars), db, tolerance: 1e-4, "db")
        // The same numbers as the full log-softmax.
        let logProbabilities = output.logSoftmax(hidden).scalars
        #expect(abs(-Double(logProbabilities[0 * v + targets[0]]) - SoftmaxCrossEntropy(reduction: .sum)
            .loss(hidden: hidden[0][0..<1], targets: [targets[0]], output: output).value) < 1e-5)
    }

    @Test("cross-entropy stays finite for logits in the thousands")
    func largeLogits() {
        var generator = SeededGenerator(seed: 2)
        let output = Linear(inputSize: 3, outputSize: 4, using: &generator)
        output.weight.value = output.weight.value * 5000
        let hidden = Tensor.uniform([2, 3], in: -1...1, using: &generator)
        let (value, dh) = SoftmaxCrossEntropy().lossAndGradient(hidden: hidden, targets: [0, 3], output: output)
        #expect(value.value.isFinite && dh.scalars.allSatisfy(\.isFinite))
        let (bce, dz) = BinaryCrossEntropy().lossAndGradient(logits: Tensor(shape: [1, 2], scalars: [3000, -3000]),
                                                             targets: Tensor(shape: [1, 2], scalars: [0, 1]))
        #expect(abs(bce.value - 6000) < 1e-3 && dz.scalars == [1, -1])
    }
}
