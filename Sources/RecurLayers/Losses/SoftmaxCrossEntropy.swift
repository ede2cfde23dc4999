import RecurCore

/// Softmax cross-entropy over a vocabulary, fused with the output layer that produces its logits.
///
/// For each counted position, with hidden state h [H], output layer W [V, H], b [V] and target y:
///
///     z      = W h + b                      logits, [V]
///     ŷ      = softmax(z)
///     L<t>   = −log ŷ_y = logsumexp(z) − z_y
///     L      = Σ_t L<t>                     (then divided as `reduction` says)
///
/// and backward, with w the reduction's factor:
///
///     dz     = w (ŷ − onehot(y))
///     dW    += dzᵀ h,   db += dz,   dh = dz W
///
/// logsumexp(z) = m + log Σ exp(z − m) with m = max z, so no exponent overflows however large the
/// logits or the vocabulary. Rows go through in blocks of `blockRows`: only a [blockRows, V] block of
/// logits exists at a time, never the [T, B, V] probabilities.
public struct SoftmaxCrossEntropy: Sendable {
    /// How the per-position losses are reduced.
    public var reduction: LossReduction
    /// Rows per block of logits.
    public var blockRows: Int

    /// A loss that reduces with `reduction` and computes logits `blockRows` rows at a time.
    public init(reduction: LossReduction = .meanPerToken, blockRows: Int = 128) {
        require(blockRows > 0, "blockRows must be positive, got \(blockRows)")
        self.reduction = reduction
        self.blockRows = blockRows
    }

    /// The loss, and its gradient: dL/dW and dL/db are added into `output`'s parameters, dL/dh returned.
    /// - Parameters:
    ///   - hidden: h, [T, B, H] (time-major, as the recurrent layers give it) or [N, H].
    ///   - targets: the T·B (or N) target ids, time-major; entries at positions that do not count are ignored.
    ///   - lengths: per sequence, for a [T, B, H] input whose sequences differ in length (nil: all count).
    ///   - output: the layer from H to V.
    ///   - settings: the kernel and the number of threads.
    /// - Returns: the loss and dL/dh, hidden's shape (zero at positions that do not count).
    public func lossAndGradient(hidden: Tensor, targets: [Int], lengths: [Int]? = nil, output: Linear,
                                settings: ComputeSettings = .current) -> (loss: LossValue, hiddenGradient: Tensor) {
        let counted = countedRows(hidden, targets: targets, lengths: lengths, output: output)
        var dh = Tensor.zeros(hidden.shape)
        let total = withOutputPointers(output) { w, b, dw, db in
            hidden.withUnsafeBufferPointer { h in
                dh.withUnsafeMutableBufferPointer { dhp in
                    SoftmaxCrossEntropyMath.run(h: h.baseAddress!, hiddenSize: output.inputSize, vocabularySize: output.outputSize,
                                                weight: w, bias: b, targets: targets, counted: counted, blockRows: blockRows,
                                                gradients: (dw, db, dhp.baseAddress!), settings: settings)
                }
            }
        }
        return (LossValue(value: total * counted.weight, total: total, tokens: counted.rows.count), dh)
    }

    /// The loss alone (evaluation): no gradient, nothing added to the parameters.
    public func loss(hidden: Tensor, targets: [Int], lengths: [Int]? = nil, output: Linear,
                     settings: ComputeSettings = .current) -> LossValue {
        let counted = countedRows(hidden, targets: targets, lengths: lengths, output: output)
        let total = hidden.withUnsafeBufferPointer { h in
            output.weight.value.withUnsafeBufferPointer { w in
                withOptionalPointer(output.bias?.value) { b in
                    SoftmaxCrossEntropyMath.run(h: h.baseAddress!, hiddenSize: output.inputSize,
                                                vocabularySize: output.outputSize, weight: w.baseAddress!, bias: b,
                                                targets: targets, counted: counted, blockRows: blockRows,
                                                gradients: nil, settings: settings)
                }
            }
        }
        return LossValue(value: total * counted.weight, total: total, tokens: counted.rows.count)
    }

    private func countedRows(_ hidden: Tensor, targets: [Int], lengths: [Int]?, output: Linear) -> CountedRows {
        require((hidden.rank == 3 || hidden.rank == 2) && hidden.shape.last == output.inputSize,
                "cross-entropy input must be [T, B, \(output.inputSize)] or [N, \(output.inputSize)], got \(hidden.shape)")
        require(lengths == nil || hidden.rank == 3, "cross-entropy lengths need a [T, B, H] input, got \(hidden.shape)")
        let n = hidden.count / output.inputSize
        require(targets.count == n, "cross-entropy: \(targets.count) targets for \(n) positions")
        let counted = CountedRows(rowCount: n, batchSize: hidden.rank == 3 ? hidden.shape[1] : n, lengths: lengths,
                                  reduction: reduction)
        for r in counted.rows {
            require(targets[r] >= 0 && targets[r] < output.outputSize,
                    "cross-entropy: target \(targets[r]) at position \(r) is outside 0..<\(output.outputSize)")
        }
        return counted
    }

    private func withOutputPointers<R>(_ output: Linear, _ body: (UnsafePointer<Float>, UnsafePointer<Float>?,
                                                                  UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?) -> R) -> R {
        output.weight.value.withUnsafeBufferPointer { w in
            withOptionalPointer(output.bias?.value) { b in
                output.weight.gradient.withUnsafeMutableBufferPointer { dw in
                    withGradientPointer(output.bias) { db in body(w.baseAddress!, b, dw.baseAddress!, db) }
                }
            }
        }
    }
}

extension Linear {
    /// log softmax(x Wᵀ + b) for every row: [..., I] → [..., O]. For sampling and scoring, where the whole
    /// distribution is wanted.
    public func logSoftmax(_ x: Tensor, settings: ComputeSettings = .current) -> Tensor {
        self(x, settings: settings).logSoftmax(settings: settings)
    }
}

/// The arithmetic of `SoftmaxCrossEntropy` in any `RecurrentScalar` (Double for the gradient checks).
enum SoftmaxCrossEntropyMath {
    /// Σ over counted rows of logsumexp(z) − z_y (unweighted), and with `gradients` (dW, db, dh) the
    /// gradients of `weight` × that sum: dW, db accumulated, dh rows written.
    static func run<S: RecurrentScalar>(h: UnsafePointer<S>, hiddenSize: Int, vocabularySize v: Int,
                                        weight w: UnsafePointer<S>, bias b: UnsafePointer<S>?, targets: [Int],
                                        counted: CountedRows, blockRows: Int,
                                        gradients: (UnsafeMutablePointer<S>, UnsafeMutablePointer<S>?, UnsafeMutablePointer<S>)?,
                                        settings: ComputeSettings) -> Double {
        let hs = hiddenSize, rows = counted.rows, scale = S(counted.weight)
        guard !rows.isEmpty else { return 0 }
        let block = min(blockRows, rows.count)
        let gathered = UnsafeMutablePointer<S>.allocate(capacity: block * hs)
        let logits = UnsafeMutablePointer<S>.allocate(capacity: block * v)
        let hiddenBlockGradient = UnsafeMutablePointer<S>.allocate(capacity: block * hs)
        defer { gathered.deallocate(); logits.deallocate(); hiddenBlockGradient.deallocate() }
        var total = 0.0
        var start = 0
        while start < rows.count {
            let m = min(block, rows.count - start), chunk = rows[start..<(start + m)]
            for (i, r) in chunk.enumerated() { (gathered + i * hs).update(from: h + r * hs, count: hs) }
            // z = h Wᵀ + b, [m, V].
            DenseMath.forward(rows: m, inputSize: hs, outputSize: v, x: gathered, weight: w, bias: b, y: logits,
                              settings: settings)
            for (i, r) in chunk.enumerated() {
                let z = logits + i * v, target = targets[r]
                var largest = z[0]
                for j in 1..<v where z[j] > largest { largest = z[j] }
                let targetLogit = z[target]
                for j in 0..<v { z[j] -= largest }
                S.exp(z, count: v, settings: settings)
                var sum = S(0)
                for j in 0..<v { sum += z[j] }
                let logSumExp = largest + S.logarithm(sum)
                total += Double(logSumExp - targetLogit)
                if gradients != nil {
                    // dz = w (ŷ − onehot(y)); z now holds exp(z − m), so ŷ = z / sum.
                    let factor = scale / sum
                    for j in 0..<v { z[j] *= factor }
                    z[target] -= scale
                }
            }
            if let (dw, db, dh) = gradients {
                DenseMath.backward(rows: m, inputSize: hs, outputSize: v, x: gathered, weight: w, outputGradient: logits,
                                   weightGradient: dw, biasGradient: db, inputGradient: hiddenBlockGradient,
                                   settings: settings)
                for (i, r) in chunk.enumerated() { (dh + r * hs).update(from: hiddenBlockGradient + i * hs, count: hs) }
            }
            start += m
        }
        return total
    }
}
