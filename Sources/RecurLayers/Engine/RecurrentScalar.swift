import Foundation
import RecurCore

/// The element type a recurrent pass runs in.
///
/// `Float` is what models use: its products run on Recur's packed, threaded kernels and its pointwise cell
/// math on the vectorized C ones (`CellPointwise`). `Double` runs the very same recurrent code with plain
/// loops and libm, so that finite-difference gradient checks can be made to 1e-6 on the production backward pass.
protocol RecurrentScalar: BinaryFloatingPoint, Sendable, CellPointwise {
    /// A right-hand matrix op(B), K×N, prepared once for products at every time step.
    associatedtype PreparedMatrix

    /// Prepares op(B), K×N: `b` is stored N×K when `transposed`, else K×N, with leading dimension `ldb`.
    static func prepare(_ b: UnsafePointer<Self>, rows k: Int, columns n: Int, ldb: Int, transposed: Bool,
                        settings: ComputeSettings) -> PreparedMatrix

    /// C (+)= A·B for A M×K (leading dimension `lda`) and a prepared B.
    static func multiply(m: Int, a: UnsafePointer<Self>, lda: Int, prepared b: PreparedMatrix,
                         c: UnsafeMutablePointer<Self>, ldc: Int, accumulate: Bool, settings: ComputeSettings)

    /// C (+)= A₁·B₁ + A₂·B₂ for two prepared B of the same width: the bits of `multiply(a₁, b₁, accumulate)` then
    /// `multiply(a₂, b₂, accumulate: true)`, in one pass where the kernels can.
    static func multiply(m: Int, a first: UnsafePointer<Self>, lda firstLda: Int, prepared firstB: PreparedMatrix,
                         plus second: UnsafePointer<Self>, lda secondLda: Int, prepared secondB: PreparedMatrix,
                         c: UnsafeMutablePointer<Self>, ldc: Int, accumulate: Bool, settings: ComputeSettings)

    /// C (+)= op(A)·op(B), as `MatrixProduct.multiply`.
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Self>, lda: Int, transposeA: Bool,
                         b: UnsafePointer<Self>, ldb: Int, transposeB: Bool,
                         c: UnsafeMutablePointer<Self>, ldc: Int, accumulate: Bool, settings: ComputeSettings)

    /// C₁ (+)= op(A₁)·B and C₂ (+)= op(A₂)·B for one B, K×N stored K×N with leading dimension `ldb`: each C the
    /// bits its own product gives it, B packed once for both (`MatrixProduct.multiply(_:_:n:k:b:…)`).
    static func multiply(_ first: LeftFactor<Self>, _ second: LeftFactor<Self>, n: Int, k: Int,
                         sharing b: UnsafePointer<Self>, ldb: Int, accumulate: Bool, settings: ComputeSettings)

    /// x ← eˣ for `count` elements.
    static func exp(_ x: UnsafeMutablePointer<Self>, count: Int, settings: ComputeSettings)

    /// The natural logarithm of one value (per row, never in an inner loop).
    static func logarithm(_ x: Self) -> Self
}

extension Float: RecurrentScalar {
    static func prepare(_ b: UnsafePointer<Float>, rows k: Int, columns n: Int, ldb: Int, transposed: Bool,
                               settings: ComputeSettings) -> PackedMatrix {
        // Training packs W_hh twice a pass; one thread packing while the other waited was 1.4 % of C4 training's
        // samples. Small weights are not worth waking a thread for.
        PackedMatrix(b, rows: k, columns: n, ldb: ldb, transposed: transposed, kernel: settings.kernel,
                     threads: k * n >= 1 << 16 ? settings.threadCount : 1)
    }

    static func multiply(m: Int, a: UnsafePointer<Float>, lda: Int, prepared b: PackedMatrix,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        MatrixProduct.multiply(m: m, a: a, lda: lda, packed: b, c: c, ldc: ldc, accumulate: accumulate, settings: settings)
    }

    static func multiply(m: Int, a first: UnsafePointer<Float>, lda firstLda: Int, prepared firstB: PackedMatrix,
                                plus second: UnsafePointer<Float>, lda secondLda: Int, prepared secondB: PackedMatrix,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        MatrixProduct.multiply(m: m, a: first, lda: firstLda, packed: firstB, plus: second, lda: secondLda,
                               packed: secondB, c: c, ldc: ldc, accumulate: accumulate, settings: settings)
    }

    static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                                b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        MatrixProduct.multiply(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                               transposeB: transposeB, c: c, ldc: ldc, accumulate: accumulate, settings: settings)
    }

    static func multiply(_ first: LeftFactor<Float>, _ second: LeftFactor<Float>, n: Int, k: Int,
                                sharing b: UnsafePointer<Float>, ldb: Int, accumulate: Bool, settings: ComputeSettings) {
        MatrixProduct.multiply(first, second, n: n, k: k, b: b, ldb: ldb, transposeB: false,
                               accumulate: accumulate, settings: settings)
    }

    static func exp(_ x: UnsafeMutablePointer<Float>, count: Int, settings: ComputeSettings) {
        Activation.exp(x, x, count: count, kernel: settings.kernel)
    }

    static func logarithm(_ x: Float) -> Float { Foundation.log(x) }
}

/// op(B) of a Double product: the matrix itself, read in place.
struct DoubleMatrixOperand {
    let pointer: UnsafePointer<Double>
    let rows: Int, columns: Int, ldb: Int, transposed: Bool
}

extension Double: RecurrentScalar {
    static func prepare(_ b: UnsafePointer<Double>, rows k: Int, columns n: Int, ldb: Int, transposed: Bool,
                               settings: ComputeSettings) -> DoubleMatrixOperand {
        DoubleMatrixOperand(pointer: b, rows: k, columns: n, ldb: ldb, transposed: transposed)
    }

    static func multiply(m: Int, a: UnsafePointer<Double>, lda: Int, prepared b: DoubleMatrixOperand,
                                c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        multiply(m: m, n: b.columns, k: b.rows, a: a, lda: lda, transposeA: false, b: b.pointer, ldb: b.ldb,
                 transposeB: b.transposed, c: c, ldc: ldc, accumulate: accumulate, settings: settings)
    }

    static func multiply(m: Int, a first: UnsafePointer<Double>, lda firstLda: Int,
                                prepared firstB: DoubleMatrixOperand, plus second: UnsafePointer<Double>,
                                lda secondLda: Int, prepared secondB: DoubleMatrixOperand,
                                c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        multiply(m: m, a: first, lda: firstLda, prepared: firstB, c: c, ldc: ldc, accumulate: accumulate,
                 settings: settings)
        multiply(m: m, a: second, lda: secondLda, prepared: secondB, c: c, ldc: ldc, accumulate: true,
                 settings: settings)
    }

    /// Three plain loops: the Float64 check path needs exactness, not speed.
    static func multiply(m: Int, n: Int, k: Int,
                                a: UnsafePointer<Double>, lda: Int, transposeA: Bool,
                                b: UnsafePointer<Double>, ldb: Int, transposeB: Bool,
                                c: UnsafeMutablePointer<Double>, ldc: Int, accumulate: Bool, settings: ComputeSettings) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += (transposeA ? a[p * lda + i] : a[i * lda + p]) * (transposeB ? b[j * ldb + p] : b[p * ldb + j])
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
            }
        }
    }

    static func multiply(_ first: LeftFactor<Double>, _ second: LeftFactor<Double>, n: Int, k: Int,
                                sharing b: UnsafePointer<Double>, ldb: Int, accumulate: Bool, settings: ComputeSettings) {
        for left in [first, second] {
            multiply(m: left.m, n: n, k: k, a: left.a, lda: left.lda, transposeA: left.transposeA, b: b, ldb: ldb,
                     transposeB: false, c: left.c, ldc: left.ldc, accumulate: accumulate, settings: settings)
        }
    }

    static func exp(_ x: UnsafeMutablePointer<Double>, count: Int, settings: ComputeSettings) {
        for i in 0..<count { x[i] = Foundation.exp(x[i]) }
    }

    static func logarithm(_ x: Double) -> Double { Foundation.log(x) }
}

/// Scalars on a 64-byte boundary, owned by one pass; zero unless made with `uninitializedCount`.
/// With a `workspace`, the memory comes from it and goes back to it at the end. A buffer made with
/// `borrowing` is someone else's memory, used in place and left to its owner.
final class ScalarBuffer<Scalar: RecurrentScalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Scalar>
    let count: Int
    private let capacity: Int
    private let workspace: Workspace?
    private let owned: Bool

    /// `count` scalars at `pointer`, which must stay valid while the buffer is in use.
    init(borrowing pointer: UnsafeMutablePointer<Scalar>, count: Int) {
        self.pointer = pointer
        self.count = count
        capacity = count
        workspace = nil
        owned = false
    }

    convenience init(count: Int, workspace: Workspace? = nil) {
        self.init(uninitializedCount: count, workspace: workspace)
        pointer.update(repeating: 0, count: count)
    }

    /// A buffer whose every element the caller writes before reading it.
    init(uninitializedCount count: Int, workspace: Workspace? = nil) {
        self.count = count
        self.workspace = workspace
        owned = true
        if let (reused, capacity) = workspace?.take(count, of: Scalar.self) {
            pointer = reused
            self.capacity = capacity
        } else {
            capacity = max(1, count)
            let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * MemoryLayout<Scalar>.stride, alignment: 64)
            pointer = raw.bindMemory(to: Scalar.self, capacity: capacity)
        }
    }

    deinit {
        guard owned else { return }
        if workspace?.give(pointer, capacity: capacity) != true { UnsafeMutableRawPointer(pointer).deallocate() }
    }
}

/// Memory a network's passes hand on to the next: the buffers of a pass return here when it ends, and the
/// next pass of similar size takes them back, instead of asking the system for fresh pages (whose first
/// touch costs a page fault each: tens of milliseconds per pass at T·B·H in the millions).
///
/// A buffer is reused for a request of at least half its size; at most `limit` bytes are kept.
public final class Workspace: @unchecked Sendable {
    private let lock = NSLock()
    /// Kept buffers: raw pointers and byte counts, so that nothing here depends on the scalar type at run time (a
    /// buffer is given back from its generic deinit, where a tuple of generic type made the runtime look up its
    /// metadata at every call: with the locking closures, 0.3 % of C4 inference's samples).
    private var free: [(bytes: Int, pointer: UnsafeMutableRawPointer)] = []   // guarded by `lock`
    private var kept = 0                                                       // guarded by `lock`
    /// Most bytes kept for reuse.
    public let limit: Int

    /// A workspace that keeps at most `limit` bytes (2 GiB by default).
    public init(limit: Int = 1 << 31) { self.limit = limit }

    deinit { release() }

    /// Bytes kept for reuse now.
    public var keptBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }

    /// Gives every kept buffer back to the system.
    public func release() {
        lock.lock()
        let all = free
        free.removeAll()
        kept = 0
        lock.unlock()
        for entry in all { entry.pointer.deallocate() }
    }

    /// The smallest kept buffer of at least `count` and at most twice that, removed from the pool.
    func take<Scalar>(_ count: Int, of _: Scalar.Type) -> (UnsafeMutablePointer<Scalar>, Int)? {
        let stride = MemoryLayout<Scalar>.stride, wanted = max(1, count) * stride
        lock.lock()
        defer { lock.unlock() }
        var best: Int? = nil
        for (index, entry) in free.enumerated() where entry.bytes >= wanted && entry.bytes <= 2 * wanted {
            if best == nil || entry.bytes < free[best!].bytes { best = index }
        }
        guard let best else { return nil }
        let found = free.remove(at: best)
        kept -= found.bytes
        return (found.pointer.assumingMemoryBound(to: Scalar.self), found.bytes / stride)
    }

    /// Keeps `pointer` for reuse unless that would pass `limit`; false when the caller must free it.
    func give<Scalar>(_ pointer: UnsafeMutablePointer<Scalar>, capacity: Int) -> Bool {
        let bytes = capacity * MemoryLayout<Scalar>.stride
        lock.lock()
        defer { lock.unlock() }
        if kept + bytes > limit { return false }
        kept += bytes
        free.append((bytes, UnsafeMutableRawPointer(pointer)))
        return true
    }
}
