/// A K×N matrix copied once into the panel layout of a kernel's micro-tiles, so that a product with it
/// skips the copy on every call — for a weight such as `W_aa`, multiplied at each of T time steps.
///
/// Layout: depth blocks of `depthBlock` rows one after another; within a block starting at row p0
/// with depth kc, panel s (columns s·NR ..< s·NR + NR) holds element (p, j) at `p0·paddedColumns +
/// s·NR·kc + p·NR + j`. Columns past N are zero. The matrix is immutable once packed.
public final class PackedMatrix: @unchecked Sendable {
    /// K: rows of op(B).
    public let rows: Int
    /// N: columns of op(B).
    public let columns: Int
    /// The kernel whose tile width the panels have; products with this matrix run on it.
    public let kernel: CPUKernel
    let depthBlock: Int
    let paddedColumns: Int
    private let buffer: AlignedBuffer

    /// Packs op(B), K×N: `b` is stored N×K when `transposed`, else K×N, with leading dimension `ldb`; the panels
    /// of each depth block split among `threads` threads (the same bits on any number).
    public init(_ b: UnsafePointer<Float>, rows k: Int, columns n: Int, ldb: Int, transposed: Bool = false,
                kernel: CPUKernel = ComputeSettings.current.kernel, threads: Int = 1) {
        require(k >= 0 && n >= 0, "packed matrix sizes must not be negative: K=\(k) N=\(n)")
        require(ldb >= max(1, transposed ? k : n),
                     "ldb \(ldb) is smaller than a stored row (\(transposed ? "N×K" : "K×N") = \(transposed ? "\(n)×\(k)" : "\(k)×\(n)"))")
        require(kernel.isSupported, "kernel \(kernel) is not supported on this CPU")
        let width = kernel.tileColumns
        rows = k
        columns = n
        self.kernel = kernel
        depthBlock = MatrixProduct.Blocking(kernel: kernel).depthBlock
        paddedColumns = (n + width - 1) / width * width
        buffer = AlignedBuffer(count: k * paddedColumns)
        let panelShares = MatrixProduct.split(blocks: paddedColumns / width, into: threads)
        let depthBlock = depthBlock, paddedColumns = paddedColumns, packed = buffer.pointer
        parallelFor(n == 0 ? 0 : panelShares.count) { part in
            let columns = panelShares[part].lowerBound * width ..< min(n, panelShares[part].upperBound * width)
            for p0 in stride(from: 0, to: k, by: depthBlock) {
                let kc = min(depthBlock, k - p0)
                MatrixProduct.packPanels(b, ldb: ldb, transposed: transposed, depth: p0..<(p0 + kc), columns: columns,
                                         width: width, into: packed + p0 * paddedColumns + columns.lowerBound * kc)
            }
        }
    }

    deinit { buffer.free() }

    /// The panels of the depth block that starts at row `depthStart`, from column `column` (a multiple of NR).
    func panels(depthStart: Int, column: Int) -> UnsafePointer<Float> {
        let kc = min(depthBlock, rows - depthStart)
        return UnsafePointer(buffer.pointer + depthStart * paddedColumns + column * kc)
    }
}
