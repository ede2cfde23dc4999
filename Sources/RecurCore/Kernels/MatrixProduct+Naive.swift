extension MatrixProduct {
    /// The reference twin of `multiply`: three loops, sums in Double, one thread, no packing.
    /// C[i, j] (+)= Σ_p op(A)[i, p] · op(B)[p, j].
    public static func naive(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + Float(sum) : Float(sum)
            }
        }
    }
}
