import CRecurKernels
import Synchronization

/// Matrix products in every form backpropagation needs:
///
///     C  = op(A) · op(B)        (accumulate: false)
///     C += op(A) · op(B)        (accumulate: true)
///
/// with op(X) = X or Xᵀ. All matrices are row-major; op(A) is M×K, op(B) is K×N, C is M×N, and each
/// has a leading dimension (the distance between the starts of consecutive stored rows), so a product
/// can read or write a block of a larger matrix.
///
/// The fast path is the classic blocked algorithm (Goto & van de Geijn): B is copied into panels NR
/// columns wide and KC rows deep, A into slivers MR rows tall, and a C micro-kernel for the CPU's
/// instruction set computes MR×NR tiles of C from them. Products with one or two rows of op(A) skip
/// the copies and stream B directly. Large products are split across `settings.threadCount` threads; split
/// by rows, B is packed once for all of them, and a thread that is done early takes over rows of a slower one.
/// `MatrixProduct.naive` is the three-loop twin every fast path is tested against.
public enum MatrixProduct {
    /// Products smaller than this many multiply-adds run on one thread.
    static let parallelThreshold = 1 << 17
    /// Up to this many rows of op(A), a product streams B instead of packing it.
    static let vectorRowLimit = 2
    /// Up to this many rows of op(A) (per thread), a product with a prepared B reads A in place, unpacked.
    static let inPlaceRowLimit = 64
    /// The fewest slivers of A in a chunk of rows that the threads take one at a time (see `SliverChunks`).
    static let minimumChunkSlivers = 8

    /// Cache blocking of the packed path, in elements: A blocks are `rowBlock × depthBlock` (L2),
    /// B panels `depthBlock × columnBlock`; one B sliver is `depthBlock × NR`.
    struct Blocking {
        var rowBlock: Int
        var depthBlock: Int
        var columnBlock: Int

        init(kernel: CPUKernel) {
            depthBlock = 256
            rowBlock = kernel.tileRows * 24
            columnBlock = kernel.tileColumns * 128
        }
    }

    /// C (+)= op(A)·op(B) on raw row-major storage.
    ///
    /// - Parameters:
    ///   - m: rows of op(A) and C.
    ///   - n: columns of op(B) and C.
    ///   - k: columns of op(A), rows of op(B).
    ///   - a: A, stored K×M when `transposeA`, else M×K.
    ///   - lda: the distance between A's stored rows, in elements.
    ///   - transposeA: op(A) = Aᵀ.
    ///   - b: B, stored N×K when `transposeB`, else K×N.
    ///   - ldb: the distance between B's stored rows, in elements.
    ///   - transposeB: op(B) = Bᵀ.
    ///   - c: C, M×N; must not overlap A or B.
    ///   - ldc: the distance between C's rows, in elements.
    ///   - accumulate: add to C instead of overwriting it.
    ///   - settings: the kernel and the number of threads.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, settings: ComputeSettings = .current
    ) {
        checkDimensions(m: m, n: n, k: k, lda: lda, transposeA: transposeA, ldc: ldc)
        checkB(n: n, k: k, ldb: ldb, transposeB: transposeB)
        if m == 0 || n == 0 { return }
        if k == 0 { clear(m: m, n: n, c: c, ldc: ldc, unless: accumulate); return }
        let operandB = BOperand.matrix(b, ldb: ldb, transposed: transposeB)
        run(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: operandB,
            c: c, ldc: ldc, accumulate: accumulate, kernel: settings.kernel, threads: threads(m, n, k, settings))
    }

    /// C (+)= op(A)·B with B packed once beforehand (`PackedMatrix`), for a weight used at every time step.
    /// The packed matrix's own kernel computes the product.
    public static func multiply(
        m: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        packed b: PackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, settings: ComputeSettings = .current
    ) {
        let n = b.columns, k = b.rows
        checkDimensions(m: m, n: n, k: k, lda: lda, transposeA: transposeA, ldc: ldc)
        if m == 0 || n == 0 { return }
        if k == 0 { clear(m: m, n: n, c: c, ldc: ldc, unless: accumulate); return }
        run(m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: .packed(b),
            c: c, ldc: ldc, accumulate: accumulate, kernel: b.kernel, threads: threads(m, n, k, settings))
    }

    /// C (+)= A₁·B₁ + A₂·B₂ with both B packed beforehand, of the same width and for the same kernel: the two
    /// products of a recurrent step that projects its input as it goes, x·W_ihᵀ and h·W_hhᵀ. C gets the bits of
    /// `multiply(a₁, b₁, accumulate)` followed by `multiply(a₂, b₂, accumulate: true)`, which is what runs unless the
    /// pair can share one pass over the tiles of C: a few rows (at most `inPlaceRowLimit`, and more than
    /// `vectorRowLimit`) on one thread, each depth within one depth block. That pass saves the second product's
    /// loads and stores of C and its own trip through the tiles.
    public static func multiply(
        m: Int,
        a first: UnsafePointer<Float>, lda firstLda: Int, packed firstB: PackedMatrix,
        plus second: UnsafePointer<Float>, lda secondLda: Int, packed secondB: PackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        accumulate: Bool = false, settings: ComputeSettings = .current
    ) {
        let n = firstB.columns, k1 = firstB.rows, k2 = secondB.rows, kernel = firstB.kernel
        require(secondB.columns == n, "the two products of a pair have \(n) and \(secondB.columns) columns")
        let sharesPass = m > vectorRowLimit && m <= min(inPlaceRowLimit, Blocking(kernel: kernel).rowBlock)
            && secondB.kernel.isa == kernel.isa && k1 > 0 && k2 > 0
            && k1 <= firstB.depthBlock && k2 <= secondB.depthBlock && threads(m, n, k1 + k2, settings) == 1
        guard sharesPass else {
            multiply(m: m, a: first, lda: firstLda, packed: firstB, c: c, ldc: ldc, accumulate: accumulate,
                     settings: settings)
            multiply(m: m, a: second, lda: secondLda, packed: secondB, c: c, ldc: ldc, accumulate: true,
                     settings: settings)
            return
        }
        checkDimensions(m: m, n: n, k: k1, lda: firstLda, transposeA: false, ldc: ldc)
        checkDimensions(m: m, n: n, k: k2, lda: secondLda, transposeA: false, ldc: ldc)
        if n == 0 { return }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rowTileCapacity(m, height: kernel.tileRows)) { tiles in
            let tileCount = writeRowTiles(m, height: kernel.tileRows, into: tiles.baseAddress!)
            recur_gemm_block_direct_pair(kernel.isa, k1, first, firstLda, firstB.panels(depthStart: 0, column: 0),
                                         k2, second, secondLda, secondB.panels(depthStart: 0, column: 0),
                                         tiles.baseAddress!, tileCount, n, c, ldc, accumulate ? 1 : 0)
        }
    }

    /// C₁ (+)= op(A₁)·op(B) and C₂ (+)= op(A₂)·op(B), B K×N: two products with the same right factor, which is packed
    /// once for both. The threads split the columns in whole panels, so each packs only its part of B; each C
    /// gets the bits its own `multiply` gives it. For products whose B is larger than their A: a small layer's
    /// weight gradients dW_ihᵀ = xᵀ·dGates and dW_hhᵀ = `h<t-1>`ᵀ·dGates, where packing took a tenth of the time.
    public static func multiply(
        _ first: LeftFactor<Float>, _ second: LeftFactor<Float>, n: Int, k: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        accumulate: Bool = false, settings: ComputeSettings = .current
    ) {
        for left in [first, second] {
            checkDimensions(m: left.m, n: n, k: k, lda: left.lda, transposeA: left.transposeA, ldc: left.ldc)
        }
        checkB(n: n, k: k, ldb: ldb, transposeB: transposeB)
        let kernel = settings.kernel, nr = kernel.tileColumns
        guard min(first.m, second.m) > vectorRowLimit, n > 0, k > 0 else {
            for left in [first, second] {
                multiply(m: left.m, n: n, k: k, a: left.a, lda: left.lda, transposeA: left.transposeA, b: b, ldb: ldb,
                         transposeB: transposeB, c: left.c, ldc: left.ldc, accumulate: accumulate, settings: settings)
            }
            return
        }
        let threads = threads(first.m + second.m, n, k, settings)
        let parts = split(blocks: (n + nr - 1) / nr, into: threads)
        parallelFor(parts.count) { part in
            let columns = parts[part].lowerBound * nr ..< min(n, parts[part].upperBound * nr)
            packedBlocks(k: k, first: RowsOfA(all: first), second: RowsOfA(all: second), columns: columns,
                         b: .matrix(b, ldb: ldb, transposed: transposeB), accumulate: accumulate, kernel: kernel,
                         readsAInPlace: false)
        }
    }

    // MARK: - Implementation

    /// Rows of op(A) and where their rows of C go.
    struct RowsOfA {
        var rows: Range<Int>
        var a: UnsafePointer<Float>, lda: Int, transposeA: Bool
        var c: UnsafeMutablePointer<Float>, ldc: Int
    }

    enum BOperand {
        case matrix(UnsafePointer<Float>, ldb: Int, transposed: Bool)
        case packed(PackedMatrix)
    }

    private static func checkDimensions(m: Int, n: Int, k: Int, lda: Int, transposeA: Bool, ldc: Int) {
        require(m >= 0 && n >= 0 && k >= 0, "matrix product sizes must not be negative: M=\(m) N=\(n) K=\(k)")
        require(lda >= max(1, transposeA ? m : k),
                     "lda \(lda) is smaller than a stored row of A (\(transposeA ? "K×M" : "M×K") = \(transposeA ? "\(k)×\(m)" : "\(m)×\(k)"))")
        require(ldc >= max(1, n), "ldc \(ldc) is smaller than a row of C (M×N = \(m)×\(n))")
    }

    private static func checkB(n: Int, k: Int, ldb: Int, transposeB: Bool) {
        require(ldb >= max(1, transposeB ? k : n),
                "ldb \(ldb) is smaller than a stored row of B (\(transposeB ? "N×K" : "K×N") = \(transposeB ? "\(n)×\(k)" : "\(k)×\(n)"))")
    }

    private static func threads(_ m: Int, _ n: Int, _ k: Int, _ settings: ComputeSettings) -> Int {
        m * n * k >= parallelThreshold ? settings.threadCount : 1
    }

    private static func clear(m: Int, n: Int, c: UnsafeMutablePointer<Float>, ldc: Int, unless accumulate: Bool) {
        if accumulate { return }
        for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
    }

    private static func run(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool, b: BOperand,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: CPUKernel, threads: Int
    ) {
        let mr = kernel.tileRows, nr = kernel.tileColumns
        if m <= vectorRowLimit {
            // Split columns into whole panels, so packed and unpacked B cut at the same places.
            let parts = split(blocks: (n + nr - 1) / nr, into: threads)
            parallelFor(parts.count) { part in
                let columns = parts[part].lowerBound * nr ..< min(n, parts[part].upperBound * nr)
                vectorRows(m: m, k: k, columns: columns, a: a, lda: lda, transposeA: transposeA, b: b,
                           c: c, ldc: ldc, accumulate: accumulate, kernel: kernel)
            }
            return
        }
        let panelCount = (n + nr - 1) / nr, sliverCount = (m + mr - 1) / mr
        let splitColumns = panelCount >= threads * 2 && (panelCount >= sliverCount || sliverCount < threads * 2)
        let parts = split(blocks: splitColumns ? panelCount : sliverCount, into: threads)
        // A few rows of A times a prepared B is a recurrent step (the state times W_hhᵀ): A is read where it is,
        // since packing it costs more than it saves there (measured: 16–32 rows, +2–6 % in `recur bench gemm
        // --packed`; at thousands of rows the packed sliver is 5 % faster).
        let rowsPerPart = splitColumns ? m : (m + parts.count - 1) / parts.count
        let rowBlock = Blocking(kernel: kernel).rowBlock
        let readsAInPlace: Bool = {
            if case .packed = b { !transposeA && rowsPerPart <= min(inPlaceRowLimit, rowBlock) } else { false }
        }()
        if !splitColumns, !transposeA, parts.count > 1, sliverCount >= parts.count * 2 * minimumChunkSlivers {
            // Split by rows, every thread would pack all of B for its rows: it is packed once instead, the panels
            // shared out, and read by all. With B packed once for all, a thread that has run its rows can then
            // take over some of another's at no extra cost: on a shared machine one core is often slower for a
            // while, and with fixed shares the other waited for it at the end of every large product (0.6–2.7 %
            // of C4 inference's cycles in profiles). Measured, 2 threads, median of alternating rounds: the input
            // gradient's 6400×512×2048 +16 %, C4's input projection 1600×512×65 (B packed) +9 %. A stored
            // transposed (the weight gradients, K = every row of a batch) keeps the even split below: taken a
            // chunk at a time it lost 9–16 % (1536×512×6400 and 2048×128×6400).
            let packed: PackedMatrix
            switch b {
            case .packed(let matrix): packed = matrix
            case .matrix(let pointer, let ldb, let transposed):
                packed = PackedMatrix(pointer, rows: k, columns: n, ldb: ldb, transposed: transposed, kernel: kernel,
                                      threads: parts.count)
            }
            let chunks = SliverChunks(shares: parts, minimum: minimumChunkSlivers, alignment: rowBlock / mr)
            parallelFor(parts.count) { part in
                while let slivers = chunks.take(for: part) {
                    let rows = slivers.lowerBound * mr ..< min(m, slivers.upperBound * mr)
                    packedBlocks(k: k, first: RowsOfA(rows: rows, a: a, lda: lda, transposeA: transposeA, c: c, ldc: ldc),
                                 columns: 0..<n, b: .packed(packed), accumulate: accumulate, kernel: kernel,
                                 readsAInPlace: readsAInPlace)
                }
            }
            return
        }
        parallelFor(parts.count) { part in
            let blocks = parts[part]
            let rows = splitColumns ? 0..<m : blocks.lowerBound * mr ..< min(m, blocks.upperBound * mr)
            let columns = splitColumns ? blocks.lowerBound * nr ..< min(n, blocks.upperBound * nr) : 0..<n
            packedBlocks(k: k, first: RowsOfA(rows: rows, a: a, lda: lda, transposeA: transposeA, c: c, ldc: ldc),
                         columns: columns, b: b, accumulate: accumulate, kernel: kernel, readsAInPlace: readsAInPlace)
        }
    }

    /// Row ranges of the tiles covering `rows` rows, `height` at a time, except that a short last tile of at most
    /// half the height shares the rows of the one before it evenly: a tile of few rows has too few independent
    /// sums to keep the multiply–add units busy (measured, 6-row tiles, 32×512×512 with B packed, one thread:
    /// 6+6+6+6+6+2 rows 106 GFLOP/s, 30 or 36 rows 112). Each row's sums are the same whichever tile it is in.
    static func rowTiles(_ rows: Int, height: Int) -> [Range<Int>] {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rowTileCapacity(rows, height: height)) { pairs in
            let count = writeRowTiles(rows, height: height, into: pairs.baseAddress!)
            return (0..<count).map { pairs[2 * $0] ..< pairs[2 * $0] + pairs[2 * $0 + 1] }
        }
    }

    /// Room `writeRowTiles` needs.
    static func rowTileCapacity(_ rows: Int, height: Int) -> Int { 2 * (rows / height + 1) }

    /// `rowTiles` as (first row, row count) pairs, written to `pairs`; returns the number of tiles. Without an array:
    /// a step's product is a few microseconds, and the allocations around it showed in profiles.
    static func writeRowTiles(_ rows: Int, height: Int, into pairs: UnsafeMutablePointer<Int>) -> Int {
        var count = 0
        for first in stride(from: 0, to: rows, by: height) {
            pairs[2 * count] = first
            pairs[2 * count + 1] = min(height, rows - first)
            count += 1
        }
        if count >= 2, pairs[2 * count - 1] <= height / 2 {
            let start = pairs[2 * count - 4], shared = height + pairs[2 * count - 1]
            pairs[2 * count - 3] = (shared + 1) / 2
            pairs[2 * count - 2] = start + (shared + 1) / 2
            pairs[2 * count - 1] = rows - (start + (shared + 1) / 2)
        }
        return count
    }

    /// `blocks` whole blocks in at most `parts` nearly equal, non-empty runs.
    static func split(blocks: Int, into parts: Int) -> [Range<Int>] {
        let count = max(1, min(parts, blocks))
        return (0..<count).map { part in blocks * part / count ..< blocks * (part + 1) / count }
    }

    /// C[rows, columns] (+)= op(A)[rows, :] · op(B)[:, columns] through packed panels and slivers, for one group of
    /// rows or two with the same B (each B panel packed once for both; only one group when A is read in place).
    private static func packedBlocks(
        k: Int, first: RowsOfA, second: RowsOfA? = nil, columns: Range<Int>, b: BOperand, accumulate: Bool,
        kernel: CPUKernel, readsAInPlace inPlaceA: Bool
    ) {
        let mr = kernel.tileRows, nr = kernel.tileColumns, isa = kernel.isa
        var blocking = Blocking(kernel: kernel)
        if case .packed(let matrix) = b { blocking.depthBlock = matrix.depthBlock }
        // Buffers only for what is packed here, no larger than this call's blocks: small products allocate little.
        let depth = min(blocking.depthBlock, k)
        let rowCount = max(first.rows.count, second?.rows.count ?? 0)
        let rowsPacked = min(blocking.rowBlock, (rowCount + mr - 1) / mr * mr)
        let columnsPacked = min(blocking.columnBlock, (columns.count + nr - 1) / nr * nr)
        // In place, the rows are one row block: one set of row tiles serves every block of depth and columns,
        // as (first row, row count) pairs.
        let tileCapacity = inPlaceA ? rowTileCapacity(first.rows.count, height: mr) : 0
        withUnsafeTemporaryAllocation(of: Int.self, capacity: tileCapacity) { tiles in
            let tileCount = inPlaceA ? writeRowTiles(first.rows.count, height: mr, into: tiles.baseAddress!) : 0
            let aBuffer = inPlaceA ? nil : AlignedBuffer(count: rowsPacked * depth)
            let bBuffer: AlignedBuffer? =
                if case .matrix = b { AlignedBuffer(count: depth * columnsPacked) } else { nil }
            defer { aBuffer?.free(); bBuffer?.free() }
            /// One group's rows of C[:, jc ..< jc + nc] (+)= its op(A)[:, pc ..< pc + kc] · panels.
            func rowBlocks(_ group: RowsOfA, panels: UnsafePointer<Float>, jc: Int, nc: Int, pc: Int, kc: Int) {
                let a = group.a, lda = group.lda, c = group.c, ldc = group.ldc
                for ic in stride(from: group.rows.lowerBound, to: group.rows.upperBound, by: blocking.rowBlock) {
                    let mc = min(blocking.rowBlock, group.rows.upperBound - ic)
                    let add: Int32 = accumulate || pc > 0 ? 1 : 0
                    if inPlaceA {
                        recur_gemm_block_direct(isa, kc, a + ic * lda + pc, lda, tiles.baseAddress!, tileCount,
                                                panels, nc, c + ic * ldc + jc, ldc, add)
                        continue
                    }
                    packSlivers(a, lda: lda, transposed: group.transposeA, rows: ic..<(ic + mc), depth: pc..<(pc + kc),
                                height: mr, into: aBuffer!.pointer)
                    recur_gemm_block(isa, kc, aBuffer!.pointer, mc, panels, nc, c + ic * ldc + jc, ldc, add)
                }
            }
            for jc in stride(from: columns.lowerBound, to: columns.upperBound, by: blocking.columnBlock) {
                let nc = min(blocking.columnBlock, columns.upperBound - jc)
                for pc in stride(from: 0, to: k, by: blocking.depthBlock) {
                    let kc = min(blocking.depthBlock, k - pc)
                    let panels: UnsafePointer<Float>
                    switch b {
                    case .matrix(let pointer, let ldb, let transposed):
                        packPanels(pointer, ldb: ldb, transposed: transposed, depth: pc..<(pc + kc),
                                   columns: jc..<(jc + nc), width: nr, into: bBuffer!.pointer)
                        panels = UnsafePointer(bBuffer!.pointer)
                    case .packed(let matrix):
                        panels = matrix.panels(depthStart: pc, column: jc)
                    }
                    rowBlocks(first, panels: panels, jc: jc, nc: nc, pc: pc, kc: kc)
                    if let second { rowBlocks(second, panels: panels, jc: jc, nc: nc, pc: pc, kc: kc) }
                }
            }
        }
    }

    /// C[0..<m, columns] (+)= op(A) · op(B)[:, columns] for a few rows of A, streaming B.
    private static func vectorRows(
        m: Int, k: Int, columns: Range<Int>,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool, b: BOperand,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, kernel: CPUKernel
    ) {
        let width = columns.count, j0 = columns.lowerBound, isa = kernel.isa
        // Only a transposed A needs its row gathered; otherwise nothing is allocated per call.
        let row = transposeA ? AlignedBuffer(count: k) : nil
        defer { row?.free() }
        for i in 0..<m {
            let x: UnsafePointer<Float>
            if let row {
                for p in 0..<k { row.pointer[p] = a[p * lda + i] }
                x = UnsafePointer(row.pointer)
            } else {
                x = a + i * lda
            }
            let y = c + i * ldc + j0
            let add: Int32 = accumulate ? 1 : 0
            switch b {
            case .matrix(let pointer, let ldb, false):
                recur_gemv_rows(isa, k, width, x, pointer + j0, ldb, y, add)
            case .matrix(let pointer, let ldb, true):
                recur_gemv_dots(isa, k, width, x, pointer + j0 * ldb, ldb, y, add)
            case .packed(let matrix):
                for pc in stride(from: 0, to: k, by: matrix.depthBlock) {
                    let kc = min(matrix.depthBlock, k - pc)
                    recur_gemv_packed(isa, kc, width, x + pc, matrix.panels(depthStart: pc, column: j0), y,
                                      accumulate || pc > 0 ? 1 : 0)
                }
            }
        }
    }

    /// Copies op(A)[rows, depth] into slivers `height` rows tall: element (i, p) of sliver s goes to
    /// `out[s·height·kc + p·height + i]`, rows past the end of A are zero.
    static func packSlivers(
        _ a: UnsafePointer<Float>, lda: Int, transposed: Bool, rows: Range<Int>, depth: Range<Int>,
        height: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let kc = depth.count
        // Stored transposed, with a sliver's row a whole cache line (B's panels): every sliver at once, reading A's
        // stored rows from start to end (C4 training, one thread: packing 7.3 → 4.6 % of the samples). Narrower
        // slivers (A's, 6 rows) keep one at a time: a line serves the next slivers from L1, and all at once
        // measured 1.5 % slower in C3 training.
        if transposed && height * MemoryLayout<Float>.stride >= 64 {
            recur_pack_columns_slivers(a + depth.lowerBound * lda + rows.lowerBound, lda, rows.count, kc, height, out)
            return
        }
        for s in stride(from: 0, to: rows.count, by: height) {
            let sliver = out + s * kc
            let filled = min(height, rows.count - s)
            let first = rows.lowerBound + s
            // Both copies are in C. In Swift, element by element (checked arithmetic, a store every `height`
            // floats) the row copy took 5 % of a recurrent layer's time; the transposed one, which the optimizer
            // turned into a library memmove per 6 or 16 floats, took 8 % of an RNN's training step.
            if transposed {
                recur_pack_columns(a + depth.lowerBound * lda + first, lda, filled, kc, height, sliver)
            } else {
                recur_pack_rows(a + first * lda + depth.lowerBound, lda, filled, kc, height, sliver)
            }
        }
    }

    /// Copies op(B)[depth, columns] into panels `width` columns wide: element (p, j) of panel s goes to
    /// `out[s·width·kc + p·width + j]`, columns past the end of B are zero.
    /// This is `packSlivers` of op(B)ᵀ: its rows are B's columns, and transposing flips how B is stored.
    static func packPanels(
        _ b: UnsafePointer<Float>, ldb: Int, transposed: Bool, depth: Range<Int>, columns: Range<Int>,
        width: Int, into out: UnsafeMutablePointer<Float>
    ) {
        packSlivers(b, lda: ldb, transposed: !transposed, rows: columns, depth: depth, height: width, into: out)
    }
}

/// op(A) and the C it goes to, in one of two products that share their op(B) (see
/// `MatrixProduct.multiply(_:_:n:k:b:ldb:transposeB:accumulate:settings:)`): op(A) is m×K, stored K×m when
/// `transposeA`, else m×K, with leading dimension `lda`; C is m×N with leading dimension `ldc`.
public struct LeftFactor<Scalar> {
    /// M, rows of op(A) and C.
    public var m: Int
    /// A (stored K×M when transposed, else M×K), its leading dimension, and whether op(A) = Aᵀ.
    public var a: UnsafePointer<Scalar>, lda: Int, transposeA: Bool
    /// C, M×N, and its leading dimension.
    public var c: UnsafeMutablePointer<Scalar>, ldc: Int

    /// A left factor and the product it writes.
    public init(m: Int, a: UnsafePointer<Scalar>, lda: Int, transposeA: Bool = false, c: UnsafeMutablePointer<Scalar>,
                ldc: Int) {
        self.m = m
        self.a = a
        self.lda = lda
        self.transposeA = transposeA
        self.c = c
        self.ldc = ldc
    }
}

extension MatrixProduct.RowsOfA {
    /// Every row of a left factor.
    init(all left: LeftFactor<Float>) {
        self.init(rows: 0..<left.m, a: left.a, lda: left.lda, transposeA: left.transposeA, c: left.c, ldc: left.ldc)
    }
}

/// Floats on a 64-byte boundary, so that no 512-bit load of a packed panel straddles two cache lines.
struct AlignedBuffer {
    let pointer: UnsafeMutablePointer<Float>

    init(count: Int) {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(1, count))
    }

    func free() { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// The slivers of a product shared among its threads in chunks, so that a thread slowed down for a while gets help.
///
/// Each thread starts with its fixed share, as an even split would give it, and takes chunks from the front of
/// it: one row block at a time while more than two are left, then halves of the rest, at least `minimum`. A
/// thread whose share is done takes the back half of the share with the most slivers left, if that is at least
/// two chunks of `minimum`. With equal speeds each thread runs its own share, the rows it ran last time.
final class SliverChunks: Sendable {
    /// One share: front index in the low 32 bits, end in the high 32 bits, changed by compare-and-exchange.
    private final class Share: Sendable {
        let bounds: Atomic<Int>
        init(_ range: Range<Int>) { bounds = Atomic(range.lowerBound | range.upperBound << 32) }
    }

    private let shares: [Share]
    let minimum: Int, alignment: Int

    /// - Parameters: shares, one per thread, of sliver indices (below 2³¹); minimum and alignment in slivers.
    init(shares: [Range<Int>], minimum: Int, alignment: Int) {
        self.shares = shares.map(Share.init)
        self.minimum = minimum
        self.alignment = alignment
    }

    /// The next slivers for thread `part` to run; nil when none are left that it may take.
    func take(for part: Int) -> Range<Int>? {
        let own = shares[part]
        var seen = own.bounds.load(ordering: .relaxed)
        while true {
            let front = seen & 0xFFFF_FFFF, end = seen >> 32, left = end - front
            if left <= 0 { break }
            let size = left > 2 * alignment ? alignment : min(left, max(minimum, left / 2))
            let (exchanged, now) = own.bounds.compareExchange(expected: seen, desired: (front + size) | end << 32,
                                                              ordering: .relaxed)
            if exchanged { return front..<(front + size) }
            seen = now
        }
        // Help the thread with the most left: take the back half of its share.
        while true {
            var victim: Int?, most = 2 * minimum - 1, victimBounds = 0
            for (index, share) in shares.enumerated() where index != part {
                let bounds = share.bounds.load(ordering: .relaxed)
                let left = (bounds >> 32) - (bounds & 0xFFFF_FFFF)
                if left > most { victim = index; most = left; victimBounds = bounds }
            }
            guard let victim else { return nil }
            let front = victimBounds & 0xFFFF_FFFF, end = victimBounds >> 32, size = (end - front) / 2
            let (exchanged, _) = shares[victim].bounds.compareExchange(
                expected: victimBounds, desired: front | (end - size) << 32, ordering: .relaxed)
            if exchanged { return (end - size)..<end }
        }
    }
}
