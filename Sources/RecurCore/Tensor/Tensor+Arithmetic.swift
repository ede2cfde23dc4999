// Elementwise arithmetic, row-vector broadcasting and reductions.
//
// Binary operators take two tensors of the same shape, or a tensor of shape [..., C] and a row
// vector of shape [C] (broadcast over every row): `hidden + bias` with hidden [B, H], bias [H].

extension Tensor {
    /// A new tensor whose elements are `transform(element)`.
    public func map(_ transform: (Float) -> Float) -> Tensor {
        var result = Tensor(shape: shape)
        withUnsafeBufferPointer { x in
            result.withUnsafeMutableBufferPointer { y in
                for i in 0..<x.count { y[i] = transform(x[i]) }
            }
        }
        return result
    }

    /// Combines `self` and `other` element by element (same shape, or `other` a row vector [C]).
    public func zip(_ other: Tensor, _ combine: (Float, Float) -> Float) -> Tensor {
        var result = self
        result.combine(with: other, combine)
        return result
    }

    /// Replaces each element x with combine(x, y), y the matching element (or row-vector entry) of `other`.
    public mutating func combine(with other: Tensor, _ combine: (Float, Float) -> Float) {
        let broadcast = Tensor.checkBroadcast(shape, other.shape)
        other.withUnsafeBufferPointer { y in
            withUnsafeMutableBufferPointer { x in
                if broadcast {
                    let width = y.count
                    guard width > 0 else { return }
                    for row in stride(from: 0, to: x.count, by: width) {
                        for j in 0..<width { x[row + j] = combine(x[row + j], y[j]) }
                    }
                } else {
                    for i in 0..<x.count { x[i] = combine(x[i], y[i]) }
                }
            }
        }
    }

    /// Whether `rhs` broadcasts as a row vector against `lhs` (false: same shape); traps otherwise.
    static func checkBroadcast(_ lhs: [Int], _ rhs: [Int]) -> Bool {
        if lhs == rhs { return false }
        require(rhs.count == 1 && !lhs.isEmpty && lhs.last == rhs[0],
                     "shapes \(lhs) and \(rhs) do not match, and \(rhs) is not a row vector of width \(lhs.last ?? 0)")
        return true
    }

    /// Element by element; `rhs` has the same shape, or is a row vector broadcast over the rows.
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, +) }
    /// Element by element, as `+`.
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, -) }
    /// Element by element (the Hadamard product ⊙), as `+`.
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, *) }
    /// Element by element, as `+`.
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zip(rhs, /) }
    /// In place, as `+`.
    public static func += (lhs: inout Tensor, rhs: Tensor) { lhs.combine(with: rhs, +) }
    /// In place, as `-`.
    public static func -= (lhs: inout Tensor, rhs: Tensor) { lhs.combine(with: rhs, -) }
    /// In place, as `*`.
    public static func *= (lhs: inout Tensor, rhs: Tensor) { lhs.combine(with: rhs, *) }

    /// Adds a scalar to every element.
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 + rhs } }
    /// Subtracts a scalar from every element.
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 - rhs } }
    /// Multiplies every element by a scalar.
    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 * rhs } }
    /// Multiplies every element by a scalar.
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.map { lhs * $0 } }
    /// Divides every element by a scalar.
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.map { $0 / rhs } }
    /// Negates every element.
    public static prefix func - (operand: Tensor) -> Tensor { operand.map { -$0 } }
    /// Multiplies every element by a scalar, in place.
    public static func *= (lhs: inout Tensor, rhs: Float) {
        lhs.withUnsafeMutableBufferPointer { x in for i in 0..<x.count { x[i] *= rhs } }
    }

    /// self += scale · other (same shape), in place.
    public mutating func add(_ other: Tensor, scaledBy scale: Float) {
        require(shape == other.shape, "add(_:scaledBy:) needs equal shapes, got \(shape) and \(other.shape)")
        other.withUnsafeBufferPointer { y in
            withUnsafeMutableBufferPointer { x in for i in 0..<x.count { x[i] += scale * y[i] } }
        }
    }

    // MARK: - Reductions (sums in Double)

    /// Sum of all elements.
    public func sum() -> Float {
        withUnsafeBufferPointer { x in Float(x.reduce(0.0) { $0 + Double($1) }) }
    }

    /// Mean of all elements (NaN for an empty tensor).
    public func mean() -> Float { count == 0 ? .nan : Float(Double(sum()) / Double(count)) }

    /// Sum of squares of all elements.
    public func squaredSum() -> Float {
        withUnsafeBufferPointer { x in Float(x.reduce(0.0) { $0 + Double($1) * Double($1) }) }
    }

    /// Largest element (−∞ for an empty tensor).
    public func max() -> Float { withUnsafeBufferPointer { $0.reduce(-Float.infinity) { Swift.max($0, $1) } } }

    /// Smallest element (+∞ for an empty tensor).
    public func min() -> Float { withUnsafeBufferPointer { $0.reduce(Float.infinity) { Swift.min($0, $1) } } }

    /// Sums over every axis but the last: [..., C] → [C] (the gradient of a broadcast row vector).
    public func sumRows() -> Tensor {
        require(rank >= 1, "sumRows needs a tensor of rank ≥ 1")
        let width = shape[rank - 1]
        var totals = [Double](repeating: 0, count: width)
        withUnsafeBufferPointer { x in
            guard width > 0 else { return }
            for row in stride(from: 0, to: x.count, by: width) {
                for j in 0..<width { totals[j] += Double(x[row + j]) }
            }
        }
        return Tensor(shape: [width], scalars: totals.map { Float($0) })
    }

    /// Index of the largest element of each row: [..., C] → one index per row (first on ties).
    public func argmaxRows() -> [Int] {
        require(rank >= 1 && shape[rank - 1] > 0, "argmaxRows needs a last axis of positive size, shape is \(shape)")
        let width = shape[rank - 1]
        return withUnsafeBufferPointer { x in
            stride(from: 0, to: x.count, by: width).map { row in
                var best = 0
                for j in 1..<width where x[row + j] > x[row + best] { best = j }
                return best
            }
        }
    }
}
