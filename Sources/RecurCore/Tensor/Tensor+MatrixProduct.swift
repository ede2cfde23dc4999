extension Tensor {
    /// op(a) · op(b) for a of shape [..., K] (leading axes flattened into M rows, or [K, M] when
    /// transposed) and b of shape [K, N] (or [N, K] when transposed). Returns [..., N] — e.g. all time
    /// steps of a [T, B, D] input times a [D, G] weight give [T, B, G] in one product.
    public static func matmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
        settings: ComputeSettings = .current
    ) -> Tensor {
        let (m, k) = rowsAndDepth(a, transposed: transposeA)
        require(b.rank == 2, "matmul needs b of rank 2, got shape \(b.shape)")
        let (bk, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        require(bk == k, "matmul shapes do not match: op(a) is \(m)×\(k) (from \(a.shape)), op(b) is \(bk)×\(n) (from \(b.shape))")
        var outputShape = transposeA ? [m] : Array(a.shape.dropLast())
        outputShape.append(n)
        var c = Tensor(shape: outputShape)
        c.addMatmul(a, b, transposeA: transposeA, transposeB: transposeB, accumulate: false, settings: settings)
        return c
    }

    /// op(a) · B with B packed beforehand. a is [..., K]; returns [..., N].
    public static func matmul(_ a: Tensor, _ b: PackedMatrix, settings: ComputeSettings = .current) -> Tensor {
        require(a.rank >= 1 && a.shape[a.rank - 1] == b.rows,
                     "matmul shapes do not match: a is \(a.shape), packed b is \(b.rows)×\(b.columns)")
        var c = Tensor(shape: Array(a.shape.dropLast()) + [b.columns])
        let m = a.shape.dropLast().reduce(1, *)
        c.withUnsafeMutableBufferPointer { cp in
            a.withUnsafeBufferPointer { ap in
                MatrixProduct.multiply(m: m, a: ap.baseAddress!, lda: Swift.max(1, b.rows), packed: b,
                                       c: cp.baseAddress!, ldc: Swift.max(1, b.columns), settings: settings)
            }
        }
        return c
    }

    /// self (+)= op(a) · op(b), in place; self must have the product's shape (flattened to M×N).
    public mutating func addMatmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
        accumulate: Bool = true, settings: ComputeSettings = .current
    ) {
        let (m, k) = Tensor.rowsAndDepth(a, transposed: transposeA)
        require(b.rank == 2, "matmul needs b of rank 2, got shape \(b.shape)")
        let (bk, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        require(bk == k, "matmul shapes do not match: op(a) is \(m)×\(k) (from \(a.shape)), op(b) is \(bk)×\(n) (from \(b.shape))")
        require(rank >= 1 && shape[rank - 1] == n && count == m * n,
                     "matmul result shape \(shape) does not hold \(m)×\(n)")
        withUnsafeMutableBufferPointer { cp in
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    MatrixProduct.multiply(
                        m: m, n: n, k: k,
                        a: ap.baseAddress!, lda: Swift.max(1, transposeA ? m : k), transposeA: transposeA,
                        b: bp.baseAddress!, ldb: Swift.max(1, transposeB ? k : n), transposeB: transposeB,
                        c: cp.baseAddress!, ldc: Swift.max(1, n), accumulate: accumulate, settings: settings)
                }
            }
        }
    }

    /// (M, K) of op(a): a [..., K] flattens its leading axes into M; transposed, a must be [K, M].
    private static func rowsAndDepth(_ a: Tensor, transposed: Bool) -> (Int, Int) {
        if transposed {
            require(a.rank == 2, "a transposed operand must have rank 2, got shape \(a.shape)")
            return (a.shape[1], a.shape[0])
        }
        require(a.rank >= 1, "matmul needs a of rank ≥ 1")
        let k = a.shape[a.rank - 1]
        return (k == 0 ? a.shape.dropLast().reduce(1, *) : a.count / k, k)
    }
}

extension PackedMatrix {
    /// Packs a [K, N] tensor (or, `transposed`, an [N, K] tensor used as its transpose).
    public convenience init(_ tensor: Tensor, transposed: Bool = false,
                            kernel: CPUKernel = ComputeSettings.current.kernel) {
        require(tensor.rank == 2, "a packed matrix needs a tensor of rank 2, got shape \(tensor.shape)")
        let (k, n) = transposed ? (tensor.shape[1], tensor.shape[0]) : (tensor.shape[0], tensor.shape[1])
        // The tensor is a parameter, so its storage outlives this call.
        self.init(UnsafePointer(tensor.storage.pointer + tensor.offset), rows: k, columns: n,
                  ldb: Swift.max(1, tensor.shape[1]), transposed: transposed, kernel: kernel)
    }
}
