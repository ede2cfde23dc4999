// Stamps out the kernel template once per instruction set and dispatches on the `isa` argument.
#include "CRecurKernels.h"

#define RK_CONCAT2(a, b) a##_##b
#define RK_CONCAT(a, b) RK_CONCAT2(a, b)

// RK_FUSED: the compiler fuses a·b + c into one multiply–add with one rounding (it does wherever the target has the
// instruction; the exp of the sigmoid relies on it, see Kernels.inc.h).

// MARK: - Portable (the build's baseline target: SSE2 on x86-64, NEON on arm64): 4×8 tile, 128-bit vectors
#if defined(__ARM_FEATURE_FMA) || defined(__FMA__)
#define RK_FUSED
#endif
#define RK_ATTR
#define RK_NAME(x) RK_CONCAT(portable, x)
#define RK_LANES 4
#define RK_MR 4
#define RK_NV 2
#include "templates/Kernels.inc.h"
#undef RK_ATTR
#undef RK_NAME
#undef RK_LANES
#undef RK_MR
#undef RK_NV
#undef RK_FUSED

#if defined(__x86_64__)
#include <immintrin.h>
#define RK_FUSED

// MARK: - AVX2 + FMA: 6×16 tile, 12 accumulators in 16 ymm registers
#define RK_ATTR __attribute__((target("avx2,fma")))
#define RK_NAME(x) RK_CONCAT(avx2, x)
#define RK_LANES 8
#define RK_MR 6
#define RK_NV 2
#define RK_RCP(v) ((RK_NAME(vec))_mm256_rcp_ps((__m256)(v)))
#define RK_ROUND(v) ((RK_NAME(vec))_mm256_round_ps((__m256)(v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#include "templates/Kernels.inc.h"
#undef RK_ATTR
#undef RK_NAME
#undef RK_LANES
#undef RK_MR
#undef RK_NV
#undef RK_RCP
#undef RK_ROUND
#undef RK_SCALEF

// MARK: - AVX-512: 6×16 tile, 6 accumulators of one zmm register each; 512-bit vectors throughout.
// The tile has the AVX2 tile's shape, so packing and row shares are the same, and each element of C gets the same
// multiply–adds in the same order, so the same bits. On the Zen 4 cores this was measured on (one 512-bit FMA per
// cycle, latency 4) it runs 3–4 % faster than the AVX2 tile, with 13 vector instructions per depth step instead of 20
// (see BENCHMARKS.md). 12×32 and 6×32 zmm tiles, and an 8×16 zmm tile, were slower. A core with two 512-bit FMA
// units would need 8 accumulators to keep both busy; by that count six would still do 1.5 times the AVX2 tile's work
// per cycle there (not measured: there is no such machine here).
#define RK_ATTR __attribute__((target("avx512f,avx2,fma")))
#define RK_NAME(x) RK_CONCAT(avx512, x)
#define RK_LANES 16
#define RK_MR 6
#define RK_NV 1
#define RK_RCP(v) ((RK_NAME(vec))_mm512_rcp14_ps((__m512)(v)))
#define RK_ROUND(v) ((RK_NAME(vec))_mm512_roundscale_ps((__m512)(v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define RK_SCALEF(p, n) ((RK_NAME(vec))_mm512_scalef_ps((__m512)(p), (__m512)(n)))
#include "templates/Kernels.inc.h"
#undef RK_ATTR
#undef RK_NAME
#undef RK_LANES
#undef RK_MR
#undef RK_NV
#undef RK_RCP
#undef RK_ROUND
#undef RK_SCALEF

#include <cpuid.h>

static unsigned long long recur_xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

int recur_detect_isa(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return RECUR_ISA_PORTABLE;
    const int has_fma = (ecx >> 12) & 1, has_osxsave = (ecx >> 27) & 1, has_avx = (ecx >> 28) & 1;
    if (!has_osxsave || !has_avx || !has_fma) return RECUR_ISA_PORTABLE;
    const unsigned long long xcr0 = recur_xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return RECUR_ISA_PORTABLE; // the OS saves xmm and ymm state
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return RECUR_ISA_PORTABLE;
    const int has_avx2 = (ebx >> 5) & 1, has_avx512f = (ebx >> 16) & 1;
    if (has_avx512f && (xcr0 & 0xE6) == 0xE6) return RECUR_ISA_AVX512; // and opmask + zmm state
    return has_avx2 ? RECUR_ISA_AVX2 : RECUR_ISA_PORTABLE;
}

#define RK_DISPATCH(name, ...)                                         \
    switch (isa) {                                                     \
    case RECUR_ISA_AVX512: avx512_##name(__VA_ARGS__); return;         \
    case RECUR_ISA_AVX2: avx2_##name(__VA_ARGS__); return;              \
    default: portable_##name(__VA_ARGS__); return;                      \
    }
#define RK_TILE_ROWS(isa) ((isa) == RECUR_ISA_PORTABLE ? 4 : 6)
#define RK_TILE_COLUMNS(isa) ((isa) == RECUR_ISA_PORTABLE ? 8 : 16)

#else

int recur_detect_isa(void) { return RECUR_ISA_PORTABLE; }

#define RK_DISPATCH(name, ...) portable_##name(__VA_ARGS__); (void)isa; return;
#define RK_TILE_ROWS(isa) 4
#define RK_TILE_COLUMNS(isa) 8

#endif

int recur_gemm_tile_rows(int isa) { (void)isa; return RK_TILE_ROWS(isa); }
int recur_gemm_tile_columns(int isa) { (void)isa; return RK_TILE_COLUMNS(isa); }

void recur_gemm_block(int isa, long kc, const float *a_packed, long mc, const float *b_packed, long nc,
                      float *c, long ldc, int accumulate) {
    RK_DISPATCH(gemm_block, kc, a_packed, mc, b_packed, nc, c, ldc, accumulate)
}

void recur_gemm_block_direct(int isa, long kc, const float *a, long lda, const long *tiles, long tile_count,
                             const float *b_packed, long nc, float *c, long ldc, int accumulate) {
    RK_DISPATCH(gemm_block_direct, kc, a, lda, tiles, tile_count, b_packed, nc, c, ldc, accumulate)
}

void recur_gemm_block_direct_pair(int isa, long k1, const float *a1, long lda1, const float *b1_packed, long k2,
                                  const float *a2, long lda2, const float *b2_packed, const long *tiles,
                                  long tile_count, long nc, float *c, long ldc, int accumulate) {
    RK_DISPATCH(gemm_block_direct_pair, k1, a1, lda1, b1_packed, k2, a2, lda2, b2_packed, tiles, tile_count, nc, c,
                ldc, accumulate)
}

void recur_gemv_rows(int isa, long k, long n, const float *x, const float *b, long ldb,
                     float *y, int accumulate) {
    RK_DISPATCH(gemv_rows, k, n, x, b, ldb, y, accumulate)
}

void recur_gemv_dots(int isa, long k, long n, const float *x, const float *b, long ldb,
                     float *y, int accumulate) {
    RK_DISPATCH(gemv_dots, k, n, x, b, ldb, y, accumulate)
}

void recur_gemv_packed(int isa, long k, long n, const float *x, const float *packed,
                       float *y, int accumulate) {
    RK_DISPATCH(gemv_packed, k, n, x, packed, y, accumulate)
}

void recur_fma_chains(int isa, long steps, float *sink, long *flops_per_step) {
    RK_DISPATCH(fma_chains, steps, sink, flops_per_step)
}
void recur_exp(int isa, const float *x, float *y, long n) { RK_DISPATCH(exp, x, y, n) }
void recur_sigmoid(int isa, const float *x, float *y, long n) { RK_DISPATCH(sigmoid, x, y, n) }
void recur_tanh(int isa, const float *x, float *y, long n) { RK_DISPATCH(tanh, x, y, n) }

void recur_lstm_forward(int isa, long rows, long h, float *gates, const float *bias, float *c, float *c_previous,
                        float *tanh_c, float *hidden, float *output, long output_stride) {
    RK_DISPATCH(lstm_forward, rows, h, gates, bias, c, c_previous, tanh_c, hidden, output, output_stride)
}
void recur_lstm_backward(int isa, long rows, long h, const float *gates, const float *tanh_c,
                         const float *c_previous, const float *da, float *dc, float *d_gates) {
    RK_DISPATCH(lstm_backward, rows, h, gates, tanh_c, c_previous, da, dc, d_gates)
}
void recur_gru_forward(int isa, long rows, long h, float *gates, const float *bias, float *hidden_gates,
                       const float *bias_hn, float *hidden, float *output, long output_stride, int keep_gates) {
    RK_DISPATCH(gru_forward, rows, h, gates, bias, hidden_gates, bias_hn, hidden, output, output_stride, keep_gates)
}
void recur_gru_backward(int isa, long rows, long h, const float *gates, const float *hidden_gates,
                        const float *h_previous, float *dh, float *d_gates, float *d_hidden_gates) {
    RK_DISPATCH(gru_backward, rows, h, gates, hidden_gates, h_previous, dh, d_gates, d_hidden_gates)
}
void recur_course_gru_gates(int isa, long rows, long h, float *gates, const float *bias, const float *product,
                            const float *hidden, float *reset_hidden) {
    RK_DISPATCH(course_gru_gates, rows, h, gates, bias, product, hidden, reset_hidden)
}
void recur_course_gru_update(int isa, long rows, long h, float *gates, const float *bias, float *hidden,
                             float *output, long output_stride) {
    RK_DISPATCH(course_gru_update, rows, h, gates, bias, hidden, output, output_stride)
}
void recur_rnn_forward(int isa, long rows, long h, const float *pre, const float *bias, int relu, float *hidden,
                       float *output, long output_stride) {
    RK_DISPATCH(rnn_forward, rows, h, pre, bias, relu, hidden, output, output_stride)
}
void recur_course_gru_backward_candidate(int isa, long rows, long h, const float *gates, const float *h_previous,
                                         float *dh, float *d_gates) {
    RK_DISPATCH(course_gru_backward_candidate, rows, h, gates, h_previous, dh, d_gates)
}
void recur_course_gru_backward_reset(int isa, long rows, long h, const float *gates, const float *h_previous,
                                     const float *ds, float *dh, float *d_gates) {
    RK_DISPATCH(course_gru_backward_reset, rows, h, gates, h_previous, ds, dh, d_gates)
}
void recur_tanh_backward(int isa, long count, const float *y, const float *dy, float *dx) {
    RK_DISPATCH(tanh_backward, count, y, dy, dx)
}


// One sliver: out[p·height + i] = A(i, p) = a[i·row_step + p·depth_step] for i < rows, 0 for rows ≤ i < height.
// p outer, so each step of p writes `height` consecutive floats. The two callers below pass one of the steps as
// the literal 1, and the common heights get constant trip counts: the loops unroll, and the contiguous case
// (A stored transposed) becomes a few vector moves instead of a library call per 6 or 16 floats.
#define RK_PACK_SLIVER(H)                                                            \
    for (long p = 0; p < kc; p++) {                                                  \
        float *target = out + p * (H);                                               \
        for (long i = 0; i < (H); i++) target[i] = a[i * row_step + p * depth_step]; \
    }
static inline __attribute__((always_inline)) void recur_pack_sliver(
    const float *restrict a, const long row_step, const long depth_step, long rows, long kc, long height,
    float *restrict out) {
    if (rows == height) {
        switch (height) {
        case 4: RK_PACK_SLIVER(4) return;
        case 6: RK_PACK_SLIVER(6) return;
        case 8: RK_PACK_SLIVER(8) return;
        case 16: RK_PACK_SLIVER(16) return;
        default: break;
        }
    }
    for (long p = 0; p < kc; p++) {
        float *target = out + p * height;
        for (long i = 0; i < rows; i++) target[i] = a[i * row_step + p * depth_step];
        for (long i = rows; i < height; i++) target[i] = 0;
    }
}
#undef RK_PACK_SLIVER

void recur_pack_rows(const float *restrict a, long lda, long rows, long kc, long height, float *restrict out) {
    recur_pack_sliver(a, lda, 1, rows, kc, height, out);
}

void recur_pack_columns(const float *restrict a, long lda, long rows, long kc, long height, float *restrict out) {
    recur_pack_sliver(a, 1, lda, rows, kc, height, out);
}

// Every sliver at once, depth outer: each step of p reads one stored row of A from start to end and hands it
// out `height` floats to a sliver, instead of reading `height` floats from each of kc rows per sliver (rows a
// cache line or more apart, which the prefetchers followed poorly: packing dGates' panels for a weight gradient
// ran at 7 GB/s that way).
#define RK_PACK_SLIVERS(H)                                                        \
    for (long p = 0; p < kc; p++) {                                               \
        const float *source = a + p * lda;                                        \
        float *target = out + p * (H);                                            \
        for (long s = 0; s < whole; s++) {                                        \
            for (long i = 0; i < (H); i++) target[s * (H) * kc + i] = source[s * (H) + i]; \
        }                                                                         \
    }
void recur_pack_columns_slivers(const float *restrict a, long lda, long rows, long kc, long height,
                                float *restrict out) {
    const long whole = rows / height;
    switch (height) {
    case 4: RK_PACK_SLIVERS(4) break;
    case 6: RK_PACK_SLIVERS(6) break;
    case 8: RK_PACK_SLIVERS(8) break;
    case 16: RK_PACK_SLIVERS(16) break;
    default: RK_PACK_SLIVERS(height) break;
    }
    if (whole * height < rows) {
        recur_pack_columns(a + whole * height, lda, rows - whole * height, kc, height, out + whole * height * kc);
    }
}
#undef RK_PACK_SLIVERS

void recur_prefetch(const void *p, long bytes, int for_write) {
    const char *c = (const char *)p;
    if (for_write) {
        for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 1, 3);
    } else {
        for (long offset = 0; offset < bytes; offset += 64) __builtin_prefetch(c + offset, 0, 3);
    }
}

void recur_spin_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
