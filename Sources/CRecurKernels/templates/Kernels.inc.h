// Kernel template: included once per instruction set by Kernels.c with
//   RK_ATTR  the function attribute that enables the instruction set
//   RK_NAME(x)  the suffix-appending macro
//   RK_VEC   the SIMD vector type (GCC vector extension) and RK_LANES its float count
//   RK_MR, RK_NV  micro-tile rows and vectors per row (NR = RK_NV · RK_LANES)
// The code is written once; the compiler turns `acc + a * b` into FMA where the target has it.

#define RK_NR (RK_NV * RK_LANES)

typedef float RK_NAME(vec) __attribute__((vector_size(RK_LANES * 4), aligned(4)));

// Every lane set to x. Written x − 0 (exact for every x, −0 included) so that it folds to a broadcast;
// 0 + x would not fold, since 0 + (−0) is +0.
#define RK_SPLAT(x) ((x) - (RK_NAME(vec)){0})

RK_ATTR static inline RK_NAME(vec) RK_NAME(load)(const float *p) {
    return *(const RK_NAME(vec) *)p;
}
RK_ATTR static inline void RK_NAME(store)(float *p, RK_NAME(vec) v) {
    *(RK_NAME(vec) *)p = v;
}

// acc[i][v] = Σ_p A(i, p) · B(p, v·LANES …), from zero, for the first `rows` rows of a tile (`rows` is a constant at
// each call below, so the loops unroll and a short last tile, M not a multiple of MR, costs only the rows it has).
// A(i, p) is read at a[i·row_step + p·depth_step]: (1, MR) for a packed sliver, (lda, 1) for A in place.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(tile_sums)(
    const int rows, long kc, const float *restrict a, const long row_step, const long depth_step,
    const float *restrict b, RK_NAME(vec) acc[RK_MR][RK_NV]) {
#pragma clang loop unroll(full)
    for (int i = 0; i < rows; i++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < RK_NV; v++) acc[i][v] = (RK_NAME(vec)){0};
    }
    for (long p = 0; p < kc; p++) {
        RK_NAME(vec) bv[RK_NV];
#pragma clang loop unroll(full)
        for (int v = 0; v < RK_NV; v++) bv[v] = RK_NAME(load)(b + v * RK_LANES);
#pragma clang loop unroll(full)
        for (int i = 0; i < rows; i++) {
            RK_NAME(vec) av = RK_SPLAT(a[i * row_step]);
#pragma clang loop unroll(full)
            for (int v = 0; v < RK_NV; v++) acc[i][v] = acc[i][v] + av * bv[v];
        }
        a += depth_step;
        b += RK_NR;
    }
}

// The first nr ≤ NR columns of the tile's rows: C = sums, or C + sums when `accumulate`; then, when `pair` (a
// constant at each call), C + more: in this order, so that C gets the bits two tiles in a row would give it.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(tile_store)(
    const int rows, const int pair, RK_NAME(vec) sums[RK_MR][RK_NV], RK_NAME(vec) more[RK_MR][RK_NV],
    float *restrict c, long ldc, int accumulate, long nr) {
    if (nr == RK_NR) {
#pragma clang loop unroll(full)
        for (int i = 0; i < rows; i++) {
#pragma clang loop unroll(full)
            for (int v = 0; v < RK_NV; v++) {
                float *cp = c + i * ldc + v * RK_LANES;
                RK_NAME(vec) value = accumulate ? RK_NAME(load)(cp) + sums[i][v] : sums[i][v];
                RK_NAME(store)(cp, pair ? value + more[i][v] : value);
            }
        }
        return;
    }
    float tile[RK_MR * RK_NR], second[RK_MR * RK_NR];
#pragma clang loop unroll(full)
    for (int i = 0; i < rows; i++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < RK_NV; v++) {
            RK_NAME(store)(tile + i * RK_NR + v * RK_LANES, sums[i][v]);
            if (pair) RK_NAME(store)(second + i * RK_NR + v * RK_LANES, more[i][v]);
        }
    }
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < nr; j++) {
            float value = accumulate ? c[i * ldc + j] + tile[i * RK_NR + j] : tile[i * RK_NR + j];
            c[i * ldc + j] = pair ? value + second[i * RK_NR + j] : value;
        }
    }
}

/// The first `rows` rows of a C tile (+)= A panel · B panel.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(gemm_rows)(
    const int rows, long kc, const float *restrict a, const long row_step, const long depth_step,
    const float *restrict b, float *restrict c, long ldc, int accumulate, long nr) {
    RK_NAME(vec) acc[RK_MR][RK_NV];
    RK_NAME(tile_sums)(rows, kc, a, row_step, depth_step, b, acc);
    RK_NAME(tile_store)(rows, 0, acc, acc, c, ldc, accumulate, nr);
}

/// The first `rows` rows of a C tile (+)= A₁ · B₁ panel + A₂ · B₂ panel, both A read in place: each sum from zero
/// over its own depth, then added to C one after the other, which gives the bits of gemm_rows twice (the second
/// accumulating) and saves the second pass's loads and stores of C.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(gemm_rows_pair)(
    const int rows, long k1, const float *restrict a1, long lda1, const float *restrict b1, long k2,
    const float *restrict a2, long lda2, const float *restrict b2, float *restrict c, long ldc, int accumulate,
    long nr) {
    RK_NAME(vec) first[RK_MR][RK_NV], second[RK_MR][RK_NV];
    RK_NAME(tile_sums)(rows, k1, a1, lda1, 1, b1, first);
    RK_NAME(tile_sums)(rows, k2, a2, lda2, 1, b2, second);
    RK_NAME(tile_store)(rows, 1, first, second, c, ldc, accumulate, nr);
}

// `ROWS(r)` with r the constant mr (1…MR; a full tile for mr ≥ MR), so each row count gets its own unrolled tile.
#if RK_MR > 4
#define RK_FOR_ROW_COUNT(mr, ROWS)                                                                      \
    switch (mr) {                                                                                        \
    case 1: ROWS(1); break;                                                                              \
    case 2: ROWS(2); break;                                                                              \
    case 3: ROWS(3); break;                                                                              \
    case 4: ROWS(4); break;                                                                              \
    case 5: ROWS(5); break;                                                                              \
    default: ROWS(RK_MR); break;                                                                         \
    }
#else
#define RK_FOR_ROW_COUNT(mr, ROWS)                                                                      \
    switch (mr) {                                                                                        \
    case 1: ROWS(1); break;                                                                              \
    case 2: ROWS(2); break;                                                                              \
    case 3: ROWS(3); break;                                                                              \
    default: ROWS(RK_MR); break;                                                                         \
    }
#endif

// One C tile for each row count 1…MR, A read with the given steps (constants where the callers' are: the tile
// functions below are this one inlined with their own steps).
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(gemm_tile_steps)(
    long kc, const float *restrict a, const long row_step, const long depth_step, const float *restrict b,
    float *restrict c, long ldc, int accumulate, long mr, long nr) {
#define RK_ROWS(r) RK_NAME(gemm_rows)(r, kc, a, row_step, depth_step, b, c, ldc, accumulate, nr)
    RK_FOR_ROW_COUNT(mr, RK_ROWS)
#undef RK_ROWS
}

/// One C tile of recur_gemm_block (+)= A sliver · B panel, both packed: mr ≤ MR rows, nr ≤ NR columns.
RK_ATTR static void RK_NAME(gemm_tile)(long kc, const float *restrict a, const float *restrict b,
                                       float *restrict c, long ldc, int accumulate, long mr, long nr) {
    RK_NAME(gemm_tile_steps)(kc, a, 1, RK_MR, b, c, ldc, accumulate, mr, nr);
}

/// The same tile with A read where it is stored (row-major, leading dimension lda) instead of from a packed
/// sliver (one tile of recur_gemm_block_direct).
RK_ATTR static void RK_NAME(gemm_tile_direct)(long kc, const float *restrict a, long lda, const float *restrict b,
                                              float *restrict c, long ldc, int accumulate, long mr, long nr) {
    RK_NAME(gemm_tile_steps)(kc, a, lda, 1, b, c, ldc, accumulate, mr, nr);
}

/// Every tile of a block, C[0..<mc, 0..<nc] (+)= slivers · panels (see recur_gemm_block): the loops around the tiles
/// are here, not in Swift, so each tile is a plain call (measured: the loops and dispatch around 96 tile calls per
/// step took 1.6 % of C4 inference's cycles).
RK_ATTR static void RK_NAME(gemm_block)(long kc, const float *restrict a, long mc, const float *restrict b, long nc,
                                        float *restrict c, long ldc, int accumulate) {
    for (long jr = 0; jr < nc; jr += RK_NR) {
        const long nr = nc - jr < RK_NR ? nc - jr : RK_NR;
        for (long ir = 0; ir < mc; ir += RK_MR) {
            RK_NAME(gemm_tile)(kc, a + ir * kc, b + jr * kc, c + ir * ldc + jr, ldc, accumulate,
                               mc - ir < RK_MR ? mc - ir : RK_MR, nr);
        }
    }
}

/// The same with A read where it is stored, in the given row tiles (see recur_gemm_block_direct).
RK_ATTR static void RK_NAME(gemm_block_direct)(long kc, const float *restrict a, long lda, const long *restrict tiles,
                                               long tile_count, const float *restrict b, long nc, float *restrict c,
                                               long ldc, int accumulate) {
    for (long jr = 0; jr < nc; jr += RK_NR) {
        const long nr = nc - jr < RK_NR ? nc - jr : RK_NR;
        for (long t = 0; t < tile_count; t++) {
            const long first = tiles[2 * t], rows = tiles[2 * t + 1];
            RK_NAME(gemm_tile_direct)(kc, a + first * lda, lda, b + jr * kc, c + first * ldc + jr, ldc, accumulate,
                                      rows, nr);
        }
    }
}

/// One tile of recur_gemm_block_direct_pair: mr ≤ MR rows, nr ≤ NR columns.
RK_ATTR static void RK_NAME(gemm_tile_pair)(long k1, const float *restrict a1, long lda1, const float *restrict b1,
                                            long k2, const float *restrict a2, long lda2, const float *restrict b2,
                                            float *restrict c, long ldc, int accumulate, long mr, long nr) {
#define RK_ROWS(r) RK_NAME(gemm_rows_pair)(r, k1, a1, lda1, b1, k2, a2, lda2, b2, c, ldc, accumulate, nr)
    RK_FOR_ROW_COUNT(mr, RK_ROWS)
#undef RK_ROWS
}

/// Two products into the same C in one pass over its tiles (see recur_gemm_block_direct_pair).
RK_ATTR static void RK_NAME(gemm_block_direct_pair)(long k1, const float *restrict a1, long lda1,
                                                    const float *restrict b1, long k2, const float *restrict a2,
                                                    long lda2, const float *restrict b2, const long *restrict tiles,
                                                    long tile_count, long nc, float *restrict c, long ldc,
                                                    int accumulate) {
    for (long jr = 0; jr < nc; jr += RK_NR) {
        const long nr = nc - jr < RK_NR ? nc - jr : RK_NR;
        for (long t = 0; t < tile_count; t++) {
            const long first = tiles[2 * t], rows = tiles[2 * t + 1];
            RK_NAME(gemm_tile_pair)(k1, a1 + first * lda1, lda1, b1 + jr * k1, k2, a2 + first * lda2, lda2,
                                    b2 + jr * k2, c + first * ldc + jr, ldc, accumulate, rows, nr);
        }
    }
}

/// y (+)= x · B with B row-major K×N. Eight rows of B per pass over y (which stays in L1), so B is
/// read in long contiguous runs that the hardware prefetchers follow.
RK_ATTR static void RK_NAME(gemv_rows)(long k, long n, const float *restrict x, const float *restrict b,
                                       long ldb, float *restrict y, int accumulate) {
    if (!accumulate) for (long j = 0; j < n; j++) y[j] = 0;
    long p = 0;
    for (; p + 8 <= k; p += 8) {
        const float *r = b + p * ldb;
        const float x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
        const float x4 = x[p + 4], x5 = x[p + 5], x6 = x[p + 6], x7 = x[p + 7];
        const long s = ldb;
        for (long j = 0; j < n; j++) {
            y[j] = y[j] + ((x0 * r[j] + x1 * r[j + s]) + (x2 * r[j + 2 * s] + x3 * r[j + 3 * s]))
                        + ((x4 * r[j + 4 * s] + x5 * r[j + 5 * s]) + (x6 * r[j + 6 * s] + x7 * r[j + 7 * s]));
        }
    }
    for (; p < k; p++) {
        const float xp = x[p];
        const float *r = b + p * ldb;
        for (long j = 0; j < n; j++) y[j] = y[j] + xp * r[j];
    }
}

/// y[j] (+)= dot(x, B[j, :]) with B row-major N×K.
RK_ATTR static void RK_NAME(gemv_dots)(long k, long n, const float *restrict x, const float *restrict b,
                                       long ldb, float *restrict y, int accumulate) {
    for (long j = 0; j < n; j++) {
        const float *row = b + j * ldb;
        RK_NAME(vec) s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
        long p = 0;
        for (; p + 4 * RK_LANES <= k; p += 4 * RK_LANES) {
            s0 = s0 + RK_NAME(load)(x + p) * RK_NAME(load)(row + p);
            s1 = s1 + RK_NAME(load)(x + p + RK_LANES) * RK_NAME(load)(row + p + RK_LANES);
            s2 = s2 + RK_NAME(load)(x + p + 2 * RK_LANES) * RK_NAME(load)(row + p + 2 * RK_LANES);
            s3 = s3 + RK_NAME(load)(x + p + 3 * RK_LANES) * RK_NAME(load)(row + p + 3 * RK_LANES);
        }
        RK_NAME(vec) s = (s0 + s1) + (s2 + s3);
        float total = 0;
        for (int l = 0; l < RK_LANES; l++) total += s[l];
        for (; p < k; p++) total += x[p] * row[p];
        y[j] = accumulate ? y[j] + total : total;
    }
}

// `panels` consecutive panels (a constant at each call below, so the loops unroll) of y (+)= x · packed; the
// first `width` columns of them are written.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(gemv_panels)(
    const int panels, long k, const float *restrict x, const float *restrict panel, float *restrict y, long width,
    int accumulate) {
    RK_NAME(vec) acc[4][RK_NV];
#pragma clang loop unroll(full)
    for (int q = 0; q < panels; q++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < RK_NV; v++) acc[q][v] = (RK_NAME(vec)){0};
    }
    for (long p = 0; p < k; p++) {
        RK_NAME(vec) xp = RK_SPLAT(x[p]);
#pragma clang loop unroll(full)
        for (int q = 0; q < panels; q++) {
#pragma clang loop unroll(full)
            for (int v = 0; v < RK_NV; v++) {
                acc[q][v] = acc[q][v] + xp * RK_NAME(load)(panel + q * k * RK_NR + p * RK_NR + v * RK_LANES);
            }
        }
    }
    if (width == panels * RK_NR) {
#pragma clang loop unroll(full)
        for (int q = 0; q < panels; q++) {
#pragma clang loop unroll(full)
            for (int v = 0; v < RK_NV; v++) {
                float *out = y + q * RK_NR + v * RK_LANES;
                RK_NAME(store)(out, accumulate ? RK_NAME(load)(out) + acc[q][v] : acc[q][v]);
            }
        }
        return;
    }
    float out[4 * RK_NR];
#pragma clang loop unroll(full)
    for (int q = 0; q < panels; q++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < RK_NV; v++) RK_NAME(store)(out + q * RK_NR + v * RK_LANES, acc[q][v]);
    }
    for (long j = 0; j < width; j++) y[j] = accumulate ? y[j] + out[j] : out[j];
}

/// y (+)= x · packed panels (NR columns each, k rows, zero-padded). Each output adds up its products in order of
/// depth, from zero, and is then added to y: what a tile does for each of its rows, so a row gets the same bits
/// from either (a product of one or two rows comes here; how many rows a product has depends on the threads and
/// on which sequences are still running). The independent sums that keep the multiply–add units busy come from
/// four panels at once, not from splitting one sum in two.
RK_ATTR static void RK_NAME(gemv_packed)(long k, long n, const float *restrict x, const float *restrict packed,
                                         float *restrict y, int accumulate) {
    long j0 = 0;
    for (; j0 + 4 * RK_NR <= n; j0 += 4 * RK_NR) {
        RK_NAME(gemv_panels)(4, k, x, packed + (j0 / RK_NR) * k * RK_NR, y + j0, 4 * RK_NR, accumulate);
    }
    for (; j0 < n; j0 += RK_NR) {
        RK_NAME(gemv_panels)(1, k, x, packed + (j0 / RK_NR) * k * RK_NR, y + j0, n - j0 < RK_NR ? n - j0 : RK_NR,
                             accumulate);
    }
}

/// The arithmetic a core can do at most: RK_FMA_CHAINS independent chains a ← a·b + c of whole vectors, `steps`
/// steps each (2 · RK_FMA_CHAINS · LANES flops per step, written to `flops_per_step`; one fused multiply–add where
/// the instruction set has it). Nothing is read or written inside the loop, and the chains outnumber the
/// multiply–add units times their latency (2 × 4 on the cores measured), so nothing but the units' throughput
/// limits it. b and c come from `sink`, so the compiler cannot fold the loop; the chains' sum goes back to `sink[0]`.
#define RK_FMA_CHAINS 12
RK_ATTR static void RK_NAME(fma_chains)(long steps, float *sink, long *flops_per_step) {
    *flops_per_step = 2L * RK_FMA_CHAINS * RK_LANES;
    RK_NAME(vec) a[RK_FMA_CHAINS];
#pragma clang loop unroll(full)
    for (int i = 0; i < RK_FMA_CHAINS; i++) a[i] = RK_SPLAT(1.0f + 0.001f * (float)i);
    const RK_NAME(vec) b = RK_SPLAT(sink[0]), c = RK_SPLAT(sink[1]);
    for (long step = 0; step < steps; step++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < RK_FMA_CHAINS; i++) a[i] = a[i] * b + c;
    }
    RK_NAME(vec) total = a[0];
#pragma clang loop unroll(full)
    for (int i = 1; i < RK_FMA_CHAINS; i++) total = total + a[i];
    sink[0] = total[0];
}
#undef RK_FMA_CHAINS

// Elementwise functions, on whole vectors (a last partial vector goes through a padded copy).
// exp(x) = 2^n · e^r with n = round(x / ln 2), r = x − n·ln 2 (|r| ≤ ln2 / 2), e^r = 1 + r·q(r) with q fitted by
// Scripts/fit_exp.py. n is rounded by the instruction set's rounding instruction where it has one (RK_ROUND), else
// by adding and subtracting 1.5·2^23; 2^n is applied by AVX-512's scalef (RK_SCALEF), else built in the exponent
// bits, which is why the inputs are clamped so that n stays within [−126, 127].
typedef int RK_NAME(ivec) __attribute__((vector_size(RK_LANES * 4), aligned(4)));

RK_ATTR static inline __attribute__((always_inline)) RK_NAME(vec) RK_NAME(round_to_integer)(RK_NAME(vec) y) {
#ifdef RK_ROUND
    return RK_ROUND(y);
#else
    const RK_NAME(vec) shifter = RK_SPLAT(12582912.0f); // 1.5 · 2^23: adding it rounds to an integer
    return (y + shifter) - shifter;
#endif
}

// p · 2^n for integral n in [−126, 127].
RK_ATTR static inline __attribute__((always_inline)) RK_NAME(vec) RK_NAME(scale_by_power_of_two)(RK_NAME(vec) p,
                                                                                              RK_NAME(vec) n) {
#ifdef RK_SCALEF
    return RK_SCALEF(p, n);
#else
    RK_NAME(ivec) bits = (__builtin_convertvector(n, RK_NAME(ivec)) + 127) << 23;
    return p * (RK_NAME(vec))bits;
#endif
}

// e^x to 1.2e-7 relative over [−87, 88], the rounding of a Float: q of degree 5 (relative error 2e-9 on
// [−ln2/2, ln2/2]), and ln 2 in a high part (exact in Float, so n·ln2_high is exact) and a low part.
RK_ATTR static inline RK_NAME(vec) RK_NAME(expv)(RK_NAME(vec) x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, RK_SPLAT(-87.0f)), RK_SPLAT(88.0f));
    RK_NAME(vec) n = RK_NAME(round_to_integer)(x * RK_SPLAT(1.44269504088896341f));
    RK_NAME(vec) r = x - n * RK_SPLAT(0.693145751953125f);
    r = r - n * RK_SPLAT(1.428606765330187e-06f);
    // In pairs (Estrin's scheme): three dependent steps instead of five; the last step rounds once, as Horner's would.
    RK_NAME(vec) r2 = r * r;
    RK_NAME(vec) q01 = r * RK_SPLAT(4.999999404e-01f) + RK_SPLAT(1.0f);
    RK_NAME(vec) q23 = r * RK_SPLAT(4.166800156e-02f) + RK_SPLAT(1.666643173e-01f);
    RK_NAME(vec) q45 = r * RK_SPLAT(1.384364441e-03f) + RK_SPLAT(8.374162950e-03f);
    RK_NAME(vec) q = (r2 * r2) * q45 + (r2 * q23 + q01);
    return RK_NAME(scale_by_power_of_two)(r * q + RK_SPLAT(1.0f), n);
}

// e^−x to what the sigmoid 1 / (1 + e^−x) needs, two steps shorter than expv: a relative error δ in e^−x moves the
// sigmoid by σ(1 − σ)·δ ≤ δ/4, so
//   - e^r = 1 + r·s(r) takes s of degree 4 (relative error 9.2e-8, Scripts/fit_exp.py), which moves σ by 2.3e-8;
//   - where multiply–adds are fused (RK_FUSED), r comes from one of them with ln 2 rounded to a Float: the product
//     n·ln 2 is exact inside it, and ln 2's rounding (1.9e-9) changes e^−x by |n|·1.9e-9, which moves σ by less
//     than 1e-9, since σ(1 − σ) < e^−|x| shrinks faster than |n| ≈ 1.44|x| grows. Without fusion n·ln 2 would be
//     rounded on its own (by up to 4e-6 near |x| = 88), so the exact high part and the low part stay.
// The sigmoid's largest error is the same as with expv (Float's rounding near 1 dominates); its relative error where
// it is tiny (x < −16, σ ≈ e^x) reaches 4.2e-7 near x = −88, against 2e-7 with expv.
RK_ATTR static inline __attribute__((always_inline)) RK_NAME(vec) RK_NAME(exp_negated_for_sigmoid)(RK_NAME(vec) x) {
    x = __builtin_elementwise_min(__builtin_elementwise_max(x, RK_SPLAT(-88.0f)), RK_SPLAT(87.0f));
    RK_NAME(vec) n = RK_NAME(round_to_integer)(x * RK_SPLAT(-1.44269504088896341f));
    // v = −r = x + n·ln 2, and e^r = 1 + r·s(r) = 1 + v·(−s(−v)): s's coefficient of r^k times (−1)^(k+1) below.
#ifdef RK_FUSED
    RK_NAME(vec) v = x + n * RK_SPLAT(0.693147180559945309f);
#else
    RK_NAME(vec) v = x + n * RK_SPLAT(0.693145751953125f);
    v = v + n * RK_SPLAT(1.428606765330187e-06f);
#endif
#ifdef RK_FUSED
    // Horner's scheme where multiply–adds are fused: five instructions, two fewer than in pairs. The cells run two
    // vectors' chains side by side, which hides the longer chain; the multiply–add units are what they wait for
    // (the LSTM step kernel alone, AVX-512 1.31–1.32 → 1.24–1.27 ns per unit, AVX2 2.12–2.16 → 2.06–2.07).
    RK_NAME(vec) s = v * RK_SPLAT(-8.290306665e-03f) + RK_SPLAT(4.189797491e-02f);
    s = s * v + RK_SPLAT(-1.666763723e-01f);
    s = s * v + RK_SPLAT(4.999915063e-01f);
    s = s * v + RK_SPLAT(-9.999997020e-01f);
#else
    // In pairs (Estrin's scheme): without fusion Horner's steps are two instructions each, and measured slower.
    RK_NAME(vec) v2 = v * v;
    RK_NAME(vec) s01 = v * RK_SPLAT(4.999915063e-01f) + RK_SPLAT(-9.999997020e-01f);
    RK_NAME(vec) s23 = v * RK_SPLAT(4.189797491e-02f) + RK_SPLAT(-1.666763723e-01f);
    RK_NAME(vec) s = (v2 * v2) * RK_SPLAT(-8.290306665e-03f) + (v2 * s23 + s01);
#endif
    return RK_NAME(scale_by_power_of_two)(v * s + RK_SPLAT(1.0f), n);
}

// 1 / x. With the instruction set's reciprocal estimate (RK_RCP: 12 bits AVX2, 14 bits AVX-512) and one Newton
// step r + r(1 − x r), which squares its error to below Float's rounding: a divider is not pipelined, and the cells
// need five of these per unit. (On the Zen 4 cores measured a divide was a little faster for the sigmoid alone,
// 0.268 → 0.255 ns, and no faster in the LSTM step; many x86 cores divide far more slowly.)
RK_ATTR static inline RK_NAME(vec) RK_NAME(reciprocalv)(RK_NAME(vec) x) {
#ifdef RK_RCP
    RK_NAME(vec) r = RK_RCP(x);
    return r + r * (RK_SPLAT(1.0f) - x * r);
#else
    return RK_SPLAT(1.0f) / x;
#endif
}

RK_ATTR static inline RK_NAME(vec) RK_NAME(sigmoidv)(RK_NAME(vec) x) {
    return RK_NAME(reciprocalv)(RK_SPLAT(1.0f) + RK_NAME(exp_negated_for_sigmoid)(x));
}

// tanh(x) = sign(x) · min(1, a·P(a²) / Q(a²)), a = min(|x|, 9): a rational function of degree 9 over 8, fitted by
// Scripts/fit_tanh.py (minimax relative error 2.6e-8 on (0, 9]; past 9, tanh is 1 to within half a Float step). It
// takes 19 vector instructions against 42 for 1 − 2/(e^2a + 1) with a series near zero, and keeps the relative
// accuracy near zero by itself: a·P/Q ≈ a there, as P(0) = Q(0) = 1. Rounding in Float makes its largest error
// about 3e-7 absolute (five Float steps near 1), measured by the tests and the script.
RK_ATTR static inline RK_NAME(vec) RK_NAME(tanhv)(RK_NAME(vec) v) {
    const RK_NAME(ivec) sign = (RK_NAME(ivec)){0} + (int)0x80000000;
    RK_NAME(vec) a = __builtin_elementwise_min((RK_NAME(vec))((RK_NAME(ivec))v & ~sign), RK_SPLAT(9.0f));
    RK_NAME(vec) s = a * a;
    RK_NAME(vec) p = s * RK_SPLAT(1.329316657e-08f) + RK_SPLAT(2.056045923e-05f);
    p = p * s + RK_SPLAT(3.492449177e-03f);
    p = p * s + RK_SPLAT(1.337832212e-01f);
    p = p * s + RK_SPLAT(1.0f);
    RK_NAME(vec) q = s * RK_SPLAT(7.750138593e-07f) + RK_SPLAT(3.280630626e-04f);
    q = q * s + RK_SPLAT(2.586485259e-02f);
    q = q * s + RK_SPLAT(4.671163559e-01f);
    q = q * s + RK_SPLAT(1.0f);
    RK_NAME(vec) t = __builtin_elementwise_min((a * p) * RK_NAME(reciprocalv)(q), RK_SPLAT(1.0f));
    return (RK_NAME(vec))((RK_NAME(ivec))t | ((RK_NAME(ivec))v & sign));
}

// y[i] = f(x[i]) for n elements; y may be x.
#define RK_ELEMENTWISE(function, vector_function)                                          \
    RK_ATTR static void RK_NAME(function)(const float *x, float *y, long n) {              \
        long i = 0;                                                                         \
        for (; i + RK_LANES <= n; i += RK_LANES)                                           \
            RK_NAME(store)(y + i, RK_NAME(vector_function)(RK_NAME(load)(x + i)));          \
        if (i < n) {                                                                        \
            float buffer[RK_LANES] = {0};                                                   \
            for (long j = 0; j < n - i; j++) buffer[j] = x[i + j];                          \
            RK_NAME(store)(buffer, RK_NAME(vector_function)(RK_NAME(load)(buffer)));        \
            for (long j = 0; j < n - i; j++) y[i + j] = buffer[j];                          \
        }                                                                                   \
    }

RK_ELEMENTWISE(exp, expv)
RK_ELEMENTWISE(sigmoid, sigmoidv)
RK_ELEMENTWISE(tanh, tanhv)
#undef RK_ELEMENTWISE

#include "Cells.inc.h"

#undef RK_NR
#undef RK_FOR_ROW_COUNT
#undef RK_SPLAT
