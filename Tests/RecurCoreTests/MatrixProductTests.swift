import Synchronization
import Testing
@testable import RecurCore
import RecurTestSupport

/// One product to check: sizes, operand forms and storage padding (leading dimensions past the row).
struct ProductCase: CustomTestStringConvertible, Sendable {
    var m: Int, n: Int, k: Int
    var transposeA = false, transposeB = false, accumulate = false
    var padding = 0
    var testDescription: String {
        "M=\(m) N=\(n) K=\(k)\(transposeA ? " Aᵀ" : "")\(transposeB ? " Bᵀ" : "")\(accumulate ? " +=" : "")\(padding > 0 ? " ld+\(padding)" : "")"
    }
}

/// Odd sizes (1, 7, 33, 129), sizes that cross the depth block (256) and several panels, a thin
/// one- and two-row product (the matrix–vector path), in every transpose/accumulate form.
let productCases: [ProductCase] = {
    let sizes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 7, 33), (7, 33, 1), (33, 129, 7), (129, 33, 129), (7, 7, 7), (2, 129, 33),
        (1, 300, 520), (2, 45, 260), (64, 300, 260), (129, 129, 129), (300, 40, 520), (13, 1, 300),
    ]
    var cases: [ProductCase] = []
    for (index, (m, n, k)) in sizes.enumerated() {
        for form in 0..<8 {
            cases.append(ProductCase(m: m, n: n, k: k, transposeA: form & 1 != 0, transposeB: form & 2 != 0,
                                     accumulate: form & 4 != 0, padding: (index + form) % 3 == 0 ? 3 : 0))
        }
    }
    return cases
}()

/// Runs `product` and the naive twin on the same operands; returns (fast, naive, scale), where scale
/// is Σ_p |op(A)[i,p]|·|op(B)[p,j]| per element (the size a rounding error is measured against).
func compareWithNaive(
    _ c: ProductCase, seed: UInt64,
    product: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void
) -> (fast: [Float], naive: [Float], scale: [Float]) {
    let aRows = c.transposeA ? c.k : c.m, aColumns = c.transposeA ? c.m : c.k
    let bRows = c.transposeB ? c.n : c.k, bColumns = c.transposeB ? c.k : c.n
    let lda = max(1, aColumns + c.padding), ldb = max(1, bColumns + c.padding), ldc = max(1, c.n + c.padding)
    let a = randomScalars(aRows * lda, seed: seed)
    let b = randomScalars(bRows * ldb, seed: seed + 1)
    let c0 = randomScalars(c.m * ldc, seed: seed + 2)
    var fast = c0, naive = c0
    var scale = [Float](repeating: 0, count: c.m * ldc)
    let absA = a.map(abs), absB = b.map(abs)
    product(a, lda, b, ldb, &fast, ldc)
    MatrixProduct.naive(m: c.m, n: c.n, k: c.k, a: a, lda: lda, transposeA: c.transposeA, b: b, ldb: ldb,
                        transposeB: c.transposeB, c: &naive, ldc: ldc, accumulate: c.accumulate)
    MatrixProduct.naive(m: c.m, n: c.n, k: c.k, a: absA, lda: lda, transposeA: c.transposeA, b: absB, ldb: ldb,
                        transposeB: c.transposeB, c: &scale, ldc: ldc)
    if c.accumulate { scale = zip(scale, c0).map { $0 + abs($1) } }
    // Elements outside the M×N block (the padding of C) must be untouched: compare them exactly.
    scale = scale.map { max($0, 1) }
    return (fast, naive, scale)
}

@Suite("Matrix products")
struct MatrixProductTests {
    @Test("Every kernel agrees with the naive product", arguments: CPUKernel.supported, productCases)
    func agreesWithNaive(kernel: CPUKernel, product: ProductCase) {
        for threads in [1, 2] {
            let settings = ComputeSettings(kernel: kernel, threadCount: threads)
            let result = compareWithNaive(product, seed: UInt64(product.m * 1000 + product.n + product.k)) { a, lda, b, ldb, c, ldc in
                MatrixProduct.multiply(m: product.m, n: product.n, k: product.k,
                                       a: a, lda: lda, transposeA: product.transposeA,
                                       b: b, ldb: ldb, transposeB: product.transposeB,
                                       c: c, ldc: ldc, accumulate: product.accumulate, settings: settings)
            }
            expectClose(result.fast, result.naive, scale: result.scale, tolerance: 1e-5, "\(kernel), \(threads) threads")
        }
    }

    @Test("A packed B gives the same product", arguments: CPUKernel.supported, productCases.filter { !$0.transposeA || $0.m < 100 })
    func packedAgreesWithNaive(kernel: CPUKernel, product: ProductCase) {
        let settings = ComputeSettings(kernel: kernel, threadCount: 2)
        let result = compareWithNaive(product, seed: UInt64(product.k * 7 + product.n)) { a, lda, b, ldb, c, ldc in
            let packed = PackedMatrix(b, rows: product.k, columns: product.n, ldb: ldb,
                                      transposed: product.transposeB, kernel: kernel)
            MatrixProduct.multiply(m: product.m, a: a, lda: lda, transposeA: product.transposeA, packed: packed,
                                   c: c, ldc: ldc, accumulate: product.accumulate, settings: settings)
        }
        expectClose(result.fast, result.naive, scale: result.scale, tolerance: 1e-5, "\(kernel) packed")
    }

    /// A recurrent step's product has as many rows as sequences still run on its thread, one or two at the end of
    /// a ragged batch (the matrix–vector kernel) where another split gives the same rows dozens (tiles). With B
    /// packed, every row must come out with the same bits either way, with and without accumulating.
    @Test("With B packed, a row has the same bits in a product of one, two or many rows", arguments: CPUKernel.supported)
    func packedRowsAreIndependent(kernel: CPUKernel) {
        let m = 40, n = 16 * 4 * 2 + 16 + 5, k = 300   // two 4-panel groups, a lone panel, a partial one; 2 depth blocks
        let a = randomScalars(m * k, seed: 21), b = randomScalars(k * n, seed: 22), start = randomScalars(m * n, seed: 23)
        let packed = PackedMatrix(b, rows: k, columns: n, ldb: n, transposed: false, kernel: kernel)
        for accumulate in [false, true] {
            var whole = start
            MatrixProduct.multiply(m: m, a: a, lda: k, packed: packed, c: &whole, ldc: n, accumulate: accumulate,
                                   settings: .init(kernel: kernel, threadCount: 1))
            for (first, count) in [(0, 1), (7, 2), (39, 1), (3, 3), (10, 30)] {
                var part = Array(start[(first * n)..<((first + count) * n)])
                MatrixProduct.multiply(m: count, a: Array(a[(first * k)...]), lda: k, packed: packed, c: &part, ldc: n,
                                       accumulate: accumulate, settings: .init(kernel: kernel, threadCount: 1))
                #expect(part == Array(whole[(first * n)..<((first + count) * n)]),
                        "\(kernel): rows \(first)..<\(first + count), accumulate \(accumulate)")
            }
        }
    }

    /// The AVX2 and AVX-512 tiles have the same shape (6×16) and give every element of C the same multiply–adds in
    /// the same order, one in two ymm registers per row, the other in one zmm register: their products must have the
    /// same bits, packed or not, with B packed beforehand (a recurrent step) or not, accumulating or not.
    @Test("The AVX2 and AVX-512 tiles give the same bits",
          .enabled(if: CPUKernel.avx512.isSupported, "needs a CPU with AVX-512"))
    func tilesAgreeToTheBit() {
        let ymm = ComputeSettings(kernel: .avx2, threadCount: 1), zmm = ComputeSettings(kernel: .avx512, threadCount: 1)
        for (m, n, k) in [(16, 512, 65), (16, 512, 128), (32, 16 * 3 + 5, 300), (200, 100, 70)] {
            let a = randomScalars(m * k, seed: 31), b = randomScalars(k * n, seed: 32), start = randomScalars(m * n, seed: 33)
            let aTensor = Tensor(shape: [m, k], scalars: a), bTensor = Tensor(shape: [k, n], scalars: b)
            #expect(Tensor.matmul(aTensor, bTensor, settings: ymm).scalars
                        == Tensor.matmul(aTensor, bTensor, settings: zmm).scalars, "\(m)×\(n)×\(k)")
            for accumulate in [false, true] {
                var results: [[Float]] = []
                for (kernel, settings) in [(CPUKernel.avx2, ymm), (.avx512, zmm)] {
                    let packed = PackedMatrix(b, rows: k, columns: n, ldb: n, transposed: false, kernel: kernel)
                    var c = start
                    MatrixProduct.multiply(m: m, a: a, lda: k, packed: packed, c: &c, ldc: n, accumulate: accumulate,
                                           settings: settings)
                    results.append(c)
                }
                #expect(results[0] == results[1], "\(m)×\(n)×\(k) with B packed, accumulate \(accumulate)")
            }
        }
    }

    /// A recurrent step that projects its own input makes x·W_ihᵀ and h·W_hhᵀ into the same gates, in one pass
    /// over the tiles when it can. Either way the gates must have the bits of the two products one after the other:
    /// a few rows in one pass (a partial last panel, padded leading dimensions), and the cases that fall back to two
    /// products (one or two rows, more rows than are read in place, a depth past one block, two threads).
    @Test("Two products in one pass give the bits of the two one after the other", arguments: CPUKernel.supported)
    func productPairs(kernel: CPUKernel) {
        let cases: [(m: Int, n: Int, k1: Int, k2: Int, threads: Int)] = [
            (16, 512, 65, 128, 1), (32, 16 * 3 + 5, 7, 33, 1), (7, 40, 1, 256, 1), (64, 100, 129, 65, 1),
            (1, 70, 65, 128, 1), (2, 70, 65, 128, 1), (100, 70, 65, 128, 1), (16, 70, 300, 128, 1),
            (48, 1024, 128, 256, 2),
        ]
        for (index, (m, n, k1, k2, threads)) in cases.enumerated() {
            let settings = ComputeSettings(kernel: kernel, threadCount: threads)
            let lda1 = k1 + 3, lda2 = k2 + 1, ldc = n + 2, seed = UInt64(40 + 4 * index)
            let a1 = randomScalars(m * lda1, seed: seed), a2 = randomScalars(m * lda2, seed: seed + 1)
            let b1 = PackedMatrix(randomScalars(k1 * n, seed: seed + 2), rows: k1, columns: n, ldb: n, transposed: false,
                                  kernel: kernel)
            let b2 = PackedMatrix(randomScalars(n * k2, seed: seed + 3), rows: k2, columns: n, ldb: k2, transposed: true,
                                  kernel: kernel)
            let start = randomScalars(m * ldc, seed: seed + 4)
            for accumulate in [false, true] {
                var apart = start, together = start
                MatrixProduct.multiply(m: m, a: a1, lda: lda1, packed: b1, c: &apart, ldc: ldc, accumulate: accumulate,
                                       settings: settings)
                MatrixProduct.multiply(m: m, a: a2, lda: lda2, packed: b2, c: &apart, ldc: ldc, accumulate: true,
                                       settings: settings)
                MatrixProduct.multiply(m: m, a: a1, lda: lda1, packed: b1, plus: a2, lda: lda2, packed: b2,
                                       c: &together, ldc: ldc, accumulate: accumulate, settings: settings)
                let differing = zip(together, apart).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(kernel) \(m)×\(n), K \(k1) + \(k2), \(threads) threads, accumulate \(accumulate)")
            }
        }
    }

    @Test("Two products sharing B give each C the bits of its own product", arguments: CPUKernel.supported)
    func productsSharingB(kernel: CPUKernel) {
        // A weight-gradient shape (x and h<t-1> transposed, B = dGates), mixed forms, a product of two rows (which
        // runs apart), and more threads than C4 uses.
        let cases: [(m1: Int, m2: Int, n: Int, k: Int, transpose1: Bool, transpose2: Bool, threads: Int)] = [
            (65, 128, 512, 300, true, true, 2), (7, 33, 16 * 3 + 5, 260, false, true, 1),
            (2, 40, 70, 33, true, false, 2), (100, 3, 40, 520, true, true, 3), (13, 13, 16, 1, false, false, 1),
        ]
        for (index, c) in cases.enumerated() {
            let settings = ComputeSettings(kernel: kernel, threadCount: c.threads)
            let seed = UInt64(90 + 5 * index), ldb = c.n + 1
            let lda1 = (c.transpose1 ? c.m1 : c.k) + 2, lda2 = (c.transpose2 ? c.m2 : c.k) + 3
            let a1 = randomScalars((c.transpose1 ? c.k : c.m1) * lda1, seed: seed)
            let a2 = randomScalars((c.transpose2 ? c.k : c.m2) * lda2, seed: seed + 1)
            let b = randomScalars(c.k * ldb, seed: seed + 2)
            let ldc1 = c.n + 2, ldc2 = c.n
            let start1 = randomScalars(c.m1 * ldc1, seed: seed + 3), start2 = randomScalars(c.m2 * ldc2, seed: seed + 4)
            for accumulate in [false, true] {
                var apart1 = start1, apart2 = start2, together1 = start1, together2 = start2
                MatrixProduct.multiply(m: c.m1, n: c.n, k: c.k, a: a1, lda: lda1, transposeA: c.transpose1, b: b, ldb: ldb,
                                       c: &apart1, ldc: ldc1, accumulate: accumulate, settings: settings)
                MatrixProduct.multiply(m: c.m2, n: c.n, k: c.k, a: a2, lda: lda2, transposeA: c.transpose2, b: b, ldb: ldb,
                                       c: &apart2, ldc: ldc2, accumulate: accumulate, settings: settings)
                a1.withUnsafeBufferPointer { a1 in
                    a2.withUnsafeBufferPointer { a2 in
                        together1.withUnsafeMutableBufferPointer { c1 in
                            together2.withUnsafeMutableBufferPointer { c2 in
                                MatrixProduct.multiply(
                                    LeftFactor(m: c.m1, a: a1.baseAddress!, lda: lda1, transposeA: c.transpose1,
                                               c: c1.baseAddress!, ldc: ldc1),
                                    LeftFactor(m: c.m2, a: a2.baseAddress!, lda: lda2, transposeA: c.transpose2,
                                               c: c2.baseAddress!, ldc: ldc2),
                                    n: c.n, k: c.k, b: b, ldb: ldb, accumulate: accumulate, settings: settings)
                            }
                        }
                    }
                }
                let label = "\(kernel) \(c.m1) and \(c.m2) × \(c.n), K \(c.k), \(c.threads) threads, accumulate \(accumulate)"
                #expect(zip(together1, apart1).allSatisfy { $0.bitPattern == $1.bitPattern }, "first: \(label)")
                #expect(zip(together2, apart2).allSatisfy { $0.bitPattern == $1.bitPattern }, "second: \(label)")
            }
        }
    }

    @Test("Row tiles cover the rows in order, none taller than the tile or, past the first, shorter than half of it")
    func rowTiles() {
        for height in [4, 6] {
            for rows in 1...70 {
                let tiles = MatrixProduct.rowTiles(rows, height: height)
                #expect(tiles.first?.lowerBound == 0 && tiles.last?.upperBound == rows, "\(rows) rows, height \(height)")
                #expect(zip(tiles, tiles.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect(tiles.allSatisfy { $0.count <= height })
                #expect(rows <= height || tiles.allSatisfy { $0.count >= height / 2 }, "\(rows) rows: \(tiles)")
            }
        }
        #expect(MatrixProduct.rowTiles(32, height: 6) == [0..<6, 6..<12, 12..<18, 18..<24, 24..<28, 28..<32])
    }

    @Test("Large products split across threads match one thread")
    func threadSplits() {
        // Shapes that split by columns (wide), by rows (tall) and the matrix–vector path.
        for (m, n, k) in [(64, 2048, 300), (1000, 40, 200), (1, 4000, 300), (600, 600, 64)] {
            let a = Tensor(shape: [m, k], scalars: randomScalars(m * k, seed: 5))
            let b = Tensor(shape: [k, n], scalars: randomScalars(k * n, seed: 6))
            for kernel in CPUKernel.supported {
                let one = Tensor.matmul(a, b, settings: .init(kernel: kernel, threadCount: 1))
                let two = Tensor.matmul(a, b, settings: .init(kernel: kernel, threadCount: 2))
                let three = Tensor.matmul(a, b, settings: .init(kernel: kernel, threadCount: 3))
                #expect(one == two && one == three, "M=\(m) N=\(n) K=\(k) \(kernel): thread counts disagree")
            }
        }
    }

    @Test("Sliver chunks hand out every sliver once, and a thread done with its share takes over part of another's")
    func sliverChunks() {
        for count in [32, 33, 100, 267, 1000] {
            for threads in [2, 3] {
                let shares = MatrixProduct.split(blocks: count, into: threads)
                // One after the other (as when the worker pool is busy): part 0 runs first and helps the others.
                let serial = SliverChunks(shares: shares, minimum: 8, alignment: 24)
                var taken: [[Range<Int>]] = Array(repeating: [], count: threads)
                for part in 0..<threads {
                    while let chunk = serial.take(for: part) { taken[part].append(chunk) }
                }
                let all = taken.flatMap { $0 }.sorted { $0.lowerBound < $1.lowerBound }
                #expect(all.first?.lowerBound == 0 && all.last?.upperBound == count, "\(count), \(threads) threads")
                #expect(zip(all, all.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(count): \(all)")
                if shares.dropFirst().contains(where: { $0.count >= 2 * 8 }) {
                    #expect(taken[0].contains { $0.upperBound > shares[0].upperBound }, "\(count): part 0 never helped")
                }
                #expect(taken[threads - 1].reduce(0) { $0 + $1.count } < 2 * 8, "\(count): too little was taken over")
                // At the same time, on the worker pool.
                let concurrent = SliverChunks(shares: shares, minimum: 8, alignment: 24)
                let collected = Mutex<[Range<Int>]>([])
                parallelFor(threads) { part in
                    while let chunk = concurrent.take(for: part) { collected.withLock { $0.append(chunk) } }
                }
                let ranges = collected.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
                #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == count)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "\(count): \(ranges)")
            }
        }
    }

    @Test("B packed by several threads is the same as packed by one", arguments: CPUKernel.supported)
    func packedInParallel(kernel: CPUKernel) {
        let (k, n, m) = (300, 70, 9)
        for transposed in [false, true] {
            let b = randomScalars(k * n, seed: 11), a = randomScalars(m * k, seed: 12)
            let one = PackedMatrix(b, rows: k, columns: n, ldb: transposed ? k : n, transposed: transposed,
                                   kernel: kernel, threads: 1)
            let three = PackedMatrix(b, rows: k, columns: n, ldb: transposed ? k : n, transposed: transposed,
                                     kernel: kernel, threads: 3)
            var c1 = [Float](repeating: 0, count: m * n), c3 = c1
            let single = ComputeSettings(kernel: kernel, threadCount: 1)
            MatrixProduct.multiply(m: m, a: a, lda: k, packed: one, c: &c1, ldc: n, settings: single)
            MatrixProduct.multiply(m: m, a: a, lda: k, packed: three, c: &c3, ldc: n, settings: single)
            #expect(c1 == c3, "\(kernel), transposed: \(transposed)")
        }
    }

    @Test("K = 0 clears C, or leaves it when accumulating; empty M or N does nothing")
    func emptyProducts() {
        let a: [Float] = [1], b: [Float] = [1]
        var c: [Float] = [5, 6, 7, 8]
        MatrixProduct.multiply(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, c: &c, ldc: 2, accumulate: true)
        #expect(c == [5, 6, 7, 8])
        MatrixProduct.multiply(m: 2, n: 2, k: 0, a: a, lda: 1, b: b, ldb: 2, c: &c, ldc: 2)
        #expect(c == [0, 0, 0, 0])
        c = [9]
        MatrixProduct.multiply(m: 0, n: 1, k: 3, a: a, lda: 3, b: b, ldb: 1, c: &c, ldc: 1)
        #expect(c == [9])
    }

    @Test("Tensor matmul flattens leading axes: [T, B, D]·[D, G] is [T, B, G]")
    func tensorMatmul() {
        var generator = SeededGenerator(seed: 3)
        let x = Tensor.uniform([3, 2, 4], in: -1...1, using: &generator)
        let w = Tensor.uniform([4, 5], in: -1...1, using: &generator)
        let y = Tensor.matmul(x, w)
        #expect(y.shape == [3, 2, 5])
        for t in 0..<3 {
            let step = Tensor.matmul(x[t], w)
            expectClose(y[t].scalars, step.scalars, tolerance: 1e-6)
        }
        // Element (1, 0, 2) by hand.
        var expected: Float = 0
        for d in 0..<4 { expected += x[element: 1, 0, d] * w[element: d, 2] }
        #expect(abs(y[element: 1, 0, 2] - expected) < 1e-5)
        // Transposed forms: (xᵀ)ᵀ·w = x·w for a 2-D x.
        let x2 = x.reshaped([6, 4])
        let xT = Tensor(shape: [4, 6]) { i in x2[element: i % 6, i / 6] }
        expectClose(Tensor.matmul(xT, w, transposeA: true).scalars, y.scalars, tolerance: 1e-6)
        let wT = Tensor(shape: [5, 4]) { i in w[element: i % 4, i / 4] }
        expectClose(Tensor.matmul(x, wT, transposeB: true).scalars, y.scalars, tolerance: 1e-6)
        expectClose(Tensor.matmul(x, PackedMatrix(w)).scalars, y.scalars, tolerance: 1e-6)
        // K = 0: the product is all zeros of the right shape, packed or not.
        let empty = Tensor.zeros([3, 0]), noRows = Tensor.zeros([0, 4])
        #expect(Tensor.matmul(empty, noRows) == Tensor.zeros([3, 4]))
        #expect(Tensor.matmul(empty, PackedMatrix(noRows)) == Tensor.zeros([3, 4]))
    }

    @Test("A shape mismatch stops with a message naming both shapes")
    func shapeMismatch() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.matmul(Tensor.zeros([2, 3]), Tensor.zeros([4, 5]))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("[2, 3]") && message.contains("[4, 5]"), "message was: \(message)")
    }
}

@Suite("Arithmetic peak")
struct ArithmeticPeakTests {
    @Test("the multiply–add chains compute what they count", arguments: CPUKernel.supported)
    func chains(kernel: CPUKernel) {
        // Each step grows a by 0.5 %: one step more or less, or a chain missing, is far outside the tolerance.
        let steps = 200
        let (sum, flopsPerStep) = ArithmeticPeak.chains(kernel: kernel, steps: steps, b: 1.005, c: 0.001)
        let lanes = switch kernel { case .portable: 4; case .avx2: 8; case .avx512: 16 }
        #expect(flopsPerStep == 2 * 12 * lanes)
        // Chain i starts at 1 + 0.001·i; the sum of the chains' first lanes comes back.
        var expected = 0.0
        for i in 0..<12 {
            var a = Double(Float(1) + Float(0.001) * Float(i))
            for _ in 0..<steps { a = a * Double(Float(1.005)) + Double(Float(0.001)) }
            expected += a
        }
        #expect(abs(Double(sum) - expected) < 1e-4 * expected, "\(kernel): \(sum) against \(expected)")
    }
}
