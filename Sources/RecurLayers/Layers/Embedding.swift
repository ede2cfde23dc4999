import RecurCore

/// A table of learned vectors, one row per token id (PyTorch's `nn.Embedding`, weight [V, E]):
///
///     e<t> = E[id<t>]
///
/// It is the course's one-hot product made cheap: W `x<t>` for a one-hot `x<t>` is column `id<t>` of W, so
/// `Embedding(weight: Wᵀ)` and `Linear(W)` on `Tensor.oneHot` give the same numbers (a test checks it).
///
/// Backward adds each position's gradient into the row it read: dE[`id<t>`] += `de<t>`.
///
/// The id −1 stands for "no token": its vector is zeros and it gets no gradient — the course's `x<1>` = 0, fed
/// before the first character of a sequence.
public final class Embedding {
    /// V.
    public let vocabularySize: Int
    /// E.
    public let embeddingSize: Int
    /// E, [V, E].
    public let weight: Parameter

    /// A table initialized as PyTorch's: every entry standard normal.
    public init(vocabularySize: Int, embeddingSize: Int, namePrefix: String = "",
                using generator: inout SeededGenerator) {
        require(vocabularySize > 0 && embeddingSize > 0,
                "Embedding needs positive sizes, got vocabulary \(vocabularySize), embedding \(embeddingSize)")
        self.vocabularySize = vocabularySize
        self.embeddingSize = embeddingSize
        weight = Parameter(name: namePrefix + "weight",
                           value: .normal([vocabularySize, embeddingSize], using: &generator))
    }

    /// `weight`.
    public var parameters: [Parameter] { [weight] }

    /// The rows of `ids`.
    /// - Parameters: ids, N token ids in 0..<V; `shape` the leading shape of the result (default [N]),
    ///   e.g. [T, B] for ids laid out time-major.
    /// - Returns: [shape..., E].
    public func callAsFunction(_ ids: [Int], shape: [Int]? = nil) -> Tensor {
        let leading = shape ?? [ids.count]
        require(leading.reduce(1, *) == ids.count, "Embedding: \(ids.count) ids do not fill the shape \(leading)")
        let e = embeddingSize
        var output = Tensor.zeros(leading + [e])
        weight.value.withUnsafeBufferPointer { table in
            output.withUnsafeMutableBufferPointer { out in
                for (position, id) in ids.enumerated() {
                    require(id >= -1 && id < vocabularySize, "Embedding: id \(id) at position \(position) is outside 0..<\(vocabularySize) (or −1)")
                    if id < 0 { continue }
                    (out.baseAddress! + position * e).update(from: table.baseAddress! + id * e, count: e)
                }
            }
        }
        return output
    }

    /// Adds dL/dE: each position's gradient into the row its id read.
    /// - Parameters: ids as given to the forward pass; outputGradient [..., E] with one row per id.
    public func backward(ids: [Int], outputGradient: Tensor) {
        let e = embeddingSize
        require(outputGradient.count == ids.count * e && outputGradient.shape.last == e,
                "Embedding output gradient must hold \(ids.count) rows of \(e), got \(outputGradient.shape)")
        outputGradient.withUnsafeBufferPointer { dy in
            weight.gradient.withUnsafeMutableBufferPointer { dTable in
                for (position, id) in ids.enumerated() where id >= 0 {
                    let row = dTable.baseAddress! + id * e, source = dy.baseAddress! + position * e
                    for j in 0..<e { row[j] += source[j] }
                }
            }
        }
    }
}

extension Tensor {
    /// The course's one-hot vectors: row n is all zeros except a 1 at `ids[n]`; all zeros for the id −1 (`x<1>` = 0).
    /// - Parameters: ids in 0..<depth; `shape` the leading shape (default [N]).
    /// - Returns: [shape..., depth].
    public static func oneHot(_ ids: [Int], depth: Int, shape: [Int]? = nil) -> Tensor {
        let leading = shape ?? [ids.count]
        require(leading.reduce(1, *) == ids.count, "oneHot: \(ids.count) ids do not fill the shape \(leading)")
        var result = Tensor.zeros(leading + [depth])
        result.withUnsafeMutableBufferPointer { out in
            for (position, id) in ids.enumerated() {
                require(id >= -1 && id < depth, "oneHot: id \(id) at position \(position) is outside 0..<\(depth) (or −1)")
                if id >= 0 { out[position * depth + id] = 1 }
            }
        }
        return result
    }
}
