import Foundation
import RecurCore

/// The course's binary cross-entropy on sigmoid outputs, for several independent yes/no labels per position
/// (several notes sounding at once, say), taken from the logits z so that it is stable:
///
///     ŷ      = σ(z)
///     ℓ      = −y log ŷ − (1 − y) log(1 − ŷ) = max(z, 0) − z y + log(1 + e^(−|z|))
///     L<t>   = Σ_k ℓ_k                      (the K labels of a position)
///     L      = Σ_t L<t>                     (then divided as `reduction` says)
///
/// and backward, with w the reduction's factor: dz = w (σ(z) − y).
///
/// A token is one position (one row of K labels): PyTorch's `BCEWithLogitsLoss(reduction="mean")` is this
/// loss with `.meanPerToken` divided by K.
public struct BinaryCrossEntropy: Sendable {
    /// How the per-position losses are reduced.
    public var reduction: LossReduction

    /// A loss that reduces with `reduction`.
    public init(reduction: LossReduction = .meanPerToken) { self.reduction = reduction }

    /// The loss and dL/dz.
    /// - Parameters:
    ///   - logits: z, [T, B, K] (time-major) or [N, K].
    ///   - targets: y, the same shape, each in [0, 1].
    ///   - lengths: per sequence, for a [T, B, K] input whose sequences differ in length (nil: all count).
    /// - Returns: the loss and dL/dz, logits' shape (zero at positions that do not count).
    public func lossAndGradient(logits: Tensor, targets: Tensor, lengths: [Int]? = nil) -> (loss: LossValue, logitsGradient: Tensor) {
        let counted = countedRows(logits, targets: targets, lengths: lengths)
        var dz = Tensor.zeros(logits.shape)
        let k = logits.shape.last!
        let total = logits.withUnsafeBufferPointer { z in
            targets.withUnsafeBufferPointer { y in
                dz.withUnsafeMutableBufferPointer { d in
                    BinaryCrossEntropyMath.run(z: z.baseAddress!, y: y.baseAddress!, labels: k, counted: counted,
                                               logitsGradient: d.baseAddress!)
                }
            }
        }
        return (LossValue(value: total * counted.weight, total: total, tokens: counted.rows.count), dz)
    }

    private func countedRows(_ logits: Tensor, targets: Tensor, lengths: [Int]?) -> CountedRows {
        require(logits.rank == 2 || logits.rank == 3, "binary cross-entropy input must be [T, B, K] or [N, K], got \(logits.shape)")
        require(targets.shape == logits.shape, "binary cross-entropy: targets \(targets.shape) differ from logits \(logits.shape)")
        require(lengths == nil || logits.rank == 3, "binary cross-entropy lengths need a [T, B, K] input, got \(logits.shape)")
        let k = logits.shape.last!, n = k == 0 ? 0 : logits.count / k
        return CountedRows(rowCount: n, batchSize: logits.rank == 3 ? logits.shape[1] : n, lengths: lengths, reduction: reduction)
    }
}

/// The arithmetic of `BinaryCrossEntropy` in any `RecurrentScalar`.
enum BinaryCrossEntropyMath {
    /// Σ over counted rows and labels of ℓ (unweighted); with `logitsGradient`, dz = weight (σ(z) − y) there.
    static func run<S: RecurrentScalar>(z: UnsafePointer<S>, y: UnsafePointer<S>, labels k: Int, counted: CountedRows,
                                        logitsGradient dz: UnsafeMutablePointer<S>?) -> Double {
        var total = 0.0
        for r in counted.rows {
            for j in (r * k)..<((r + 1) * k) {
                let logit = Double(z[j]), target = Double(y[j])
                total += max(logit, 0) - logit * target + log1p(Foundation.exp(-abs(logit)))
                if let dz {
                    // σ(z) written so that neither branch overflows.
                    let sigmoid = logit >= 0 ? 1 / (1 + Foundation.exp(-logit)) : Foundation.exp(logit) / (1 + Foundation.exp(logit))
                    dz[j] = S(counted.weight * (sigmoid - target))
                }
            }
        }
        return total
    }
}
