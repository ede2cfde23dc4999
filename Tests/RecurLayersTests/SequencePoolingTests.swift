import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// Pooling over ragged outputs [T 4, B 3, O 5], lengths 4, 2 and 0: checked in Float64 against finite differences
/// of L = Σ pooled ⊙ r, and the Float layer against the definitions.
@Suite("Sequence pooling")
struct SequencePoolingTests {
    let steps = 4, batchSize = 3, width = 5, lengths = [4, 2, 0]

    func pooled(_ pooling: SequencePooling, _ y: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: batchSize * width)
        if pooling == .mean {
            SequencePoolingMath.meanForward(steps: steps, batchSize: batchSize, width: width, y: y, lengths: lengths, pooled: &result)
        } else {
            _ = SequencePoolingMath.maxForward(steps: steps, batchSize: batchSize, width: width, y: y, lengths: lengths, pooled: &result)
        }
        return result
    }

    @Test("mean and max backward match finite differences in Float64; steps past a length get no gradient",
          arguments: [SequencePooling.mean, .max])
    func gradients(_ pooling: SequencePooling) {
        var y = randomValues(steps * batchSize * width, seed: 11)
        let r = randomValues(batchSize * width, seed: 12)
        var dy = [Double](repeating: 0, count: y.count)
        if pooling == .mean {
            SequencePoolingMath.meanBackward(steps: steps, batchSize: batchSize, width: width, pooledGradient: r,
                                             lengths: lengths, outputGradient: &dy)
        } else {
            var unused = [Double](repeating: 0, count: batchSize * width)
            let argmax = SequencePoolingMath.maxForward(steps: steps, batchSize: batchSize, width: width, y: y,
                                                        lengths: lengths, pooled: &unused)
            SequencePoolingMath.maxBackward(batchSize: batchSize, width: width, pooledGradient: r, argmax: argmax, outputGradient: &dy)
        }
        let numeric = finiteDifferences(of: &y, epsilon: 1e-6) { dot(pooled(pooling, $0), r) }
        expectRelativelyClose(dy, numeric, tolerance: 1e-7, "\(pooling)")
        for t in 0..<steps {
            for b in 0..<batchSize where t >= lengths[b] {
                #expect((0..<width).allSatisfy { dy[(t * batchSize + b) * width + $0] == 0 && numeric[(t * batchSize + b) * width + $0] == 0 })
            }
        }
    }

    @Test("the Float layer pools by the definitions; an empty sequence pools to zeros; last passes through")
    func layer() {
        let y = floats(randomValues(steps * batchSize * width, seed: 13))
        let outputs = Tensor(shape: [steps, batchSize, width], scalars: y)
        let last = Tensor(shape: [batchSize, width], scalars: floats(randomValues(batchSize * width, seed: 14)))
        for pooling in SequencePooling.allCases {
            let (p, argmax) = pooling.forward(outputs: outputs, last: last, lengths: lengths)
            #expect(p.shape == [batchSize, width])
            for b in 0..<batchSize {
                for k in 0..<width {
                    let column = (0..<lengths[b]).map { y[($0 * batchSize + b) * width + k] }
                    let expected: Float = switch pooling {
                    case .last: last.scalars[b * width + k]
                    case .mean: column.isEmpty ? 0 : column.reduce(0, +) / Float(column.count)
                    case .max: column.max() ?? 0
                    }
                    #expect(abs(p.scalars[b * width + k] - expected) < 1e-6, "\(pooling) b\(b) k\(k)")
                }
            }
            let gradient = pooling.backward(pooledGradient: .ones([batchSize, width]), argmax: argmax, steps: steps, lengths: lengths)
            if pooling == .last {
                #expect(gradient.lastGradient?.shape == [batchSize, width] && gradient.outputGradient == nil)
            } else {
                #expect(gradient.outputGradient?.shape == [steps, batchSize, width] && gradient.lastGradient == nil)
                let total = gradient.outputGradient!.scalars.reduce(0, +)
                #expect(abs(total - Float(2 * width)) < 1e-5, "two non-empty sequences, one unit of gradient per feature each")
            }
        }
    }
}
