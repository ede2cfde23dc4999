import RecurCore

/// Many-to-one: one vector per sequence from the outputs at every step, for a classifier.
///
///     last   p_b = the network's `last` output (the course's many-to-one: a<T_x>; for a bidirectional network the
///            forward direction after the last step beside the reverse direction after the first)
///     mean   p_b = (1 / n_b) Σ_{t < n_b} y<t>_b
///     max    p_b,k = max_{t < n_b} y<t>_b,k
///
/// over the outputs y [T, B, O] of sequences of lengths n_b (steps past a length never count; a sequence of
/// length 0 pools to zeros). Backward:
///
///     last   dlast_b = dp_b
///     mean   dy<t>_b = dp_b / n_b                  for t < n_b
///     max    dy<t>_b,k = dp_b,k  at the first t where the maximum was reached, 0 elsewhere
public enum SequencePooling: String, Codable, CaseIterable, Sendable {
    /// The network's last output.
    case last
    /// The mean of the outputs over each sequence's steps.
    case mean
    /// The largest output over each sequence's steps, per feature.
    case max

    /// Pools outputs [T, B, O] (or takes `last` [B, O]) into [B, O]; returns the pooled vectors and, for `max`,
    /// the step each maximum came from, which `backward` needs.
    /// - Parameters:
    ///   - outputs: y, [T, B, O], zero past each length.
    ///   - last: the network's last output, [B, O].
    ///   - lengths: n_b, B entries, each in 0…T.
    public func forward(outputs: Tensor, last: Tensor, lengths: [Int]) -> (pooled: Tensor, argmax: [Int]) {
        let (steps, batchSize, width) = Self.dimensions(outputs, lengths)
        if self == .last { return (last, []) }
        var pooled = [Float](repeating: 0, count: batchSize * width), argmax: [Int] = []
        outputs.withUnsafeBufferPointer { y in
            if self == .mean {
                SequencePoolingMath.meanForward(steps: steps, batchSize: batchSize, width: width, y: y, lengths: lengths, pooled: &pooled)
            } else {
                argmax = SequencePoolingMath.maxForward(steps: steps, batchSize: batchSize, width: width, y: y,
                                                        lengths: lengths, pooled: &pooled)
            }
        }
        return (Tensor(shape: [batchSize, width], scalars: pooled), argmax)
    }

    /// The gradient dp [B, O] sent back: for `last`, as the network's `lastGradient`; otherwise as its
    /// `outputGradient` [T, B, O].
    public func backward(pooledGradient: Tensor, argmax: [Int], steps: Int, lengths: [Int])
        -> (outputGradient: Tensor?, lastGradient: Tensor?) {
        if self == .last { return (nil, pooledGradient) }
        let batchSize = lengths.count, width = pooledGradient.shape.last ?? 0
        var dy = [Float](repeating: 0, count: steps * batchSize * width)
        pooledGradient.withUnsafeBufferPointer { dp in
            if self == .mean {
                SequencePoolingMath.meanBackward(steps: steps, batchSize: batchSize, width: width, pooledGradient: dp,
                                                 lengths: lengths, outputGradient: &dy)
            } else {
                SequencePoolingMath.maxBackward(batchSize: batchSize, width: width, pooledGradient: dp, argmax: argmax,
                                                outputGradient: &dy)
            }
        }
        return (Tensor(shape: [steps, batchSize, width], scalars: dy), nil)
    }

    private static func dimensions(_ outputs: Tensor, _ lengths: [Int]) -> (Int, Int, Int) {
        require(outputs.shape.count == 3, "pooling reads outputs [T, B, O], got \(outputs.shape)")
        let steps = outputs.shape[0], batchSize = outputs.shape[1]
        require(lengths.count == batchSize && lengths.allSatisfy { $0 >= 0 && $0 <= steps },
                "pooling needs \(batchSize) lengths in 0…\(steps), got \(lengths)")
        return (steps, batchSize, outputs.shape[2])
    }
}

/// The arithmetic of `SequencePooling`, generic so that the Float layer and the Float64 gradient check run the
/// same code. Arrays are row-major: y and dy [T, B, O], pooled and dp [B, O]; argmax [B, O] holds steps.
enum SequencePoolingMath {
    static func meanForward<S: BinaryFloatingPoint, Y: Collection<S>>(steps: Int, batchSize: Int, width: Int, y: Y,
                                                                       lengths: [Int], pooled: inout [S]) where Y.Index == Int {
        for b in 0..<batchSize where lengths[b] > 0 {
            for t in 0..<lengths[b] {
                for k in 0..<width { pooled[b * width + k] += y[y.startIndex + (t * batchSize + b) * width + k] }
            }
            let scale = 1 / S(lengths[b])
            for k in 0..<width { pooled[b * width + k] *= scale }
        }
    }

    static func meanBackward<S: BinaryFloatingPoint, P: Collection<S>>(steps: Int, batchSize: Int, width: Int, pooledGradient dp: P,
                                                                        lengths: [Int], outputGradient dy: inout [S]) where P.Index == Int {
        for b in 0..<batchSize where lengths[b] > 0 {
            let scale = 1 / S(lengths[b])
            for t in 0..<lengths[b] {
                for k in 0..<width { dy[(t * batchSize + b) * width + k] = dp[dp.startIndex + b * width + k] * scale }
            }
        }
    }

    /// - Returns: argmax [B, O], the first step at which each maximum was reached (−1 for an empty sequence).
    static func maxForward<S: BinaryFloatingPoint, Y: Collection<S>>(steps: Int, batchSize: Int, width: Int, y: Y,
                                                                      lengths: [Int], pooled: inout [S]) -> [Int] where Y.Index == Int {
        var argmax = [Int](repeating: -1, count: batchSize * width)
        for b in 0..<batchSize where lengths[b] > 0 {
            for k in 0..<width {
                var best = y[y.startIndex + b * width + k], at = 0
                for t in 1..<max(1, lengths[b]) {
                    let value = y[y.startIndex + (t * batchSize + b) * width + k]
                    if value > best { best = value; at = t }
                }
                pooled[b * width + k] = best
                argmax[b * width + k] = at
            }
        }
        return argmax
    }

    static func maxBackward<S: BinaryFloatingPoint, P: Collection<S>>(batchSize: Int, width: Int, pooledGradient dp: P,
                                                                       argmax: [Int], outputGradient dy: inout [S]) where P.Index == Int {
        for b in 0..<batchSize {
            for k in 0..<width where argmax[b * width + k] >= 0 {
                dy[(argmax[b * width + k] * batchSize + b) * width + k] = dp[dp.startIndex + b * width + k]
            }
        }
    }
}
