/// An n-dimensional array of Float32 in contiguous row-major order.
///
/// `Tensor` is a value: copies share storage until one of them is written to (copy-on-write).
/// Slicing along the first axis — a time step `x[t]` of a `[T, B, D]` batch, or a run of steps —
/// returns a tensor that shares the storage too, so it costs no copy until it is modified.
///
///     var generator = SeededGenerator(seed: 1)
///     let x = Tensor.normal([3, 2, 4], using: &generator)   // [T, B, D]
///     let step = x[1]                                        // [B, D], no copy
public struct Tensor: Sendable {
    /// Sizes of the axes, outermost first.
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage
    @usableFromInline var offset: Int

    /// Number of elements: the product of `shape` (1 for a scalar of shape []).
    public var count: Int { shape.reduce(1, *) }
    /// Number of axes.
    public var rank: Int { shape.count }

    /// A tensor of `shape` with every element `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        require(shape.allSatisfy { $0 >= 0 }, "tensor shape must not have negative sizes: \(shape)")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *), repeating: value)
        offset = 0
    }

    /// A tensor of `shape` holding `scalars` in row-major order.
    public init(shape: [Int], scalars: [Float]) {
        self.init(shape: shape)
        require(scalars.count == count, "shape \(shape) holds \(count) elements, got \(scalars.count) scalars")
        scalars.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.update(from: base, count: source.count) }
        }
    }

    /// A tensor of `shape` whose elements are `element(flatIndex)`.
    public init(shape: [Int], generating element: (Int) -> Float) {
        self.init(shape: shape)
        let pointer = storage.pointer
        for index in 0..<count { pointer[index] = element(index) }
    }

    /// Zeros of `shape`.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    /// A tensor of `shape` whose elements are not set: for a caller that writes every one of them before any
    /// is read, which `zeros` would first spend a pass over memory setting to 0.
    package static func unfilled(_ shape: [Int]) -> Tensor {
        require(shape.allSatisfy { $0 >= 0 }, "tensor shape must not have negative sizes: \(shape)")
        return Tensor(storage: TensorStorage(unfilledCount: shape.reduce(1, *)), offset: 0, shape: shape)
    }

    /// Ones of `shape`.
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    /// Elements drawn uniformly from `range`.
    public static func uniform(_ shape: [Int], in range: ClosedRange<Float> = 0...1,
                               using generator: inout SeededGenerator) -> Tensor {
        let width = range.upperBound - range.lowerBound
        return Tensor(shape: shape) { _ in range.lowerBound + width * generator.nextUnitFloat() }
    }

    /// Elements drawn from a normal distribution.
    public static func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                              using generator: inout SeededGenerator) -> Tensor {
        Tensor(shape: shape) { _ in mean + standardDeviation * Float(generator.nextStandardNormal()) }
    }

    /// The elements in row-major order.
    public var scalars: [Float] { withUnsafeBufferPointer { Array($0) } }

    /// The single element of a tensor with one element.
    public var scalar: Float {
        require(count == 1, "scalar needs a tensor of one element, shape is \(shape)")
        return storage.pointer[offset]
    }

    /// The element at a full index, one position per axis.
    public subscript(element indices: Int...) -> Float {
        get { storage.pointer[offset + flatIndex(indices)] }
        set {
            let index = flatIndex(indices)
            makeUnique()
            storage.pointer[offset + index] = newValue
        }
    }

    /// Position `index` along the first axis: `x[t]` of `[T, B, D]` is `[B, D]`, sharing storage.
    public subscript(index: Int) -> Tensor {
        get {
            require(rank >= 1, "indexing needs a tensor of rank ≥ 1")
            require(index >= 0 && index < shape[0], "index \(index) is out of range for axis 0 of shape \(shape)")
            let inner = Array(shape.dropFirst())
            return Tensor(storage: storage, offset: offset + index * inner.reduce(1, *), shape: inner)
        }
        set {
            require(rank >= 1 && index >= 0 && index < shape[0], "index \(index) is out of range for axis 0 of shape \(shape)")
            let inner = Array(shape.dropFirst())
            require(newValue.shape == inner, "assigning shape \(newValue.shape) to a slice of shape \(inner)")
            let size = inner.reduce(1, *)
            makeUnique()
            let target = storage.pointer + offset + index * size
            newValue.withUnsafeBufferPointer { source in
                if let base = source.baseAddress { target.update(from: base, count: size) }
            }
        }
    }

    /// Positions `range` along the first axis, sharing storage: `x[2..<5]` of `[T, B, D]` is `[3, B, D]`.
    public subscript(range: Range<Int>) -> Tensor {
        require(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "range \(range) is out of bounds for axis 0 of shape \(shape)")
        var inner = shape
        inner[0] = range.count
        let size = shape.dropFirst().reduce(1, *)
        return Tensor(storage: storage, offset: offset + range.lowerBound * size, shape: inner)
    }

    /// The same elements with another shape of the same count (no copy).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        require(newShape.allSatisfy { $0 >= 0 } && newShape.reduce(1, *) == count,
                     "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return Tensor(storage: storage, offset: offset, shape: newShape)
    }

    /// Calls `body` with the elements in row-major order.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer + offset, count: count))
    }

    /// Calls `body` with the elements in row-major order, writable; copies first if the storage is shared.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer + offset, count: count))
    }

    // MARK: - Storage

    init(storage: TensorStorage, offset: Int, shape: [Int]) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
    }

    @usableFromInline
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            let copy = TensorStorage(count: count, repeating: 0)
            copy.pointer.update(from: storage.pointer + offset, count: count)
            storage = copy
            offset = 0
        }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        require(indices.count == rank, "an element of shape \(shape) needs \(rank) indices, got \(indices)")
        var index = 0
        for (axis, position) in indices.enumerated() {
            require(position >= 0 && position < shape[axis], "index \(indices) is out of bounds for shape \(shape)")
            index = index * shape[axis] + position
        }
        return index
    }
}

/// Elements on a 64-byte boundary, owned by the tensors that share them.
@usableFromInline
final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int

    init(count: Int, repeating value: Float) {
        capacity = count
        pointer = AlignedBuffer(count: count).pointer
        pointer.initialize(repeating: value, count: max(1, count))
    }

    /// Storage whose elements the caller sets.
    init(unfilledCount count: Int) {
        capacity = count
        pointer = AlignedBuffer(count: count).pointer
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

extension Tensor: Equatable {
    /// Same shape and the same elements (NaN ≠ NaN, as for Float).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.withUnsafeBufferPointer { l in rhs.withUnsafeBufferPointer { r in l.elementsEqual(r) } }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", …" : "")])"
    }
}
