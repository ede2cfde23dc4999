// CRecurKernels: the few inner loops that must run with AVX2/FMA or AVX-512 instructions.
//
// Swift compiles to the x86-64 baseline (SSE2, no FMA) unless -target-cpu is passed, which a
// library cannot do. These C functions carry __attribute__((target(...))) instead and are chosen
// at run time from what the CPU reports, so Recur builds with no unsafeFlags and still runs the
// widest instructions the machine has. Everything around them (blocking, packing, threads) is Swift.
//
// Every function takes the instruction set to use as its first argument; the caller (RecurCore's
// CPUKernel) decides. Passing an instruction set the CPU lacks is a programmer error.
#ifndef CRECUR_KERNELS_H
#define CRECUR_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets with a kernel of their own.
enum {
    RECUR_ISA_PORTABLE = 0, ///< plain C, vectorized by the compiler for the baseline target (SSE2, NEON)
    RECUR_ISA_AVX2 = 1,     ///< AVX2 + FMA, 256-bit
    RECUR_ISA_AVX512 = 2,   ///< AVX-512F, 512-bit
};

/// The widest instruction set this CPU and its operating system support.
int recur_detect_isa(void);

/// Rows (MR) and columns (NR) of one micro-kernel tile for `isa`.
int recur_gemm_tile_rows(int isa);
int recur_gemm_tile_columns(int isa);

/// One block of C (mc rows, nc columns, leading dimension ldc) from packed slivers and panels, tile by tile
/// (MR×NR tiles, columns outer):
///   C[i, j] (+)= Σ_p a_packed[(i / MR)·MR·kc + p·MR + i % MR] · b_packed[(j / NR)·NR·kc + p·NR + j % NR],  p < kc.
/// `a_packed` holds the slivers of the mc rows, `b_packed` the panels of the nc columns (zero-padded past both).
/// With accumulate == 0 the block is overwritten, otherwise added to.
void recur_gemm_block(int isa, long kc, const float *a_packed, long mc, const float *b_packed, long nc,
                      float *c, long ldc, int accumulate);
/// recur_gemm_block with A read in place, row-major with leading dimension lda, instead of packed, in the row
/// tiles given as `tile_count` (first row, row count ≤ MR) pairs:
///   C[i, j] (+)= Σ_p a[i·lda + p] · b_packed[(j / NR)·NR·kc + p·NR + j % NR],  p < kc.
/// For a few rows of A reused across every panel of B (a recurrent step), packing A would cost more than it saves.
void recur_gemm_block_direct(int isa, long kc, const float *a, long lda, const long *tiles, long tile_count,
                             const float *b_packed, long nc, float *c, long ldc, int accumulate);

/// Two products of A read in place into the same C, in one pass over its tiles:
///   C[i, j] = ((accumulate ? C[i, j] + s₁ : s₁) + s₂),  s_q = Σ_p a_q[i·lda_q + p] · b_q_packed[(j / NR)·NR·k_q + p·NR + j % NR],  p < k_q,
/// both sums from zero: the bits of recur_gemm_block_direct with (a₁, b₁) and then with (a₂, b₂) accumulating. For
/// the two products of a recurrent step, x·W_ihᵀ and h·W_hhᵀ, whose depths differ; each panel set is one depth block.
void recur_gemm_block_direct_pair(int isa, long k1, const float *a1, long lda1, const float *b1_packed, long k2,
                                  const float *a2, long lda2, const float *b2_packed, const long *tiles,
                                  long tile_count, long nc, float *c, long ldc, int accumulate);

/// y[0..<n] (+)= Σ_p x[p] · b[p·ldb + 0..<n]  — a row vector times a K×N row-major matrix.
void recur_gemv_rows(int isa, long k, long n, const float *x, const float *b, long ldb,
                     float *y, int accumulate);

/// y[j] (+)= Σ_p x[p] · b[j·ldb + p]  for j < n — a row vector times the transpose of an N×K matrix.
void recur_gemv_dots(int isa, long k, long n, const float *x, const float *b, long ldb,
                     float *y, int accumulate);

/// y[0..<n] (+)= Σ_p x[p] · panels — a row vector times a matrix packed as NR-wide panels
/// (the layout of recur_gemm_block's b_packed, kc = k, panels one after another).
void recur_gemv_packed(int isa, long k, long n, const float *x, const float *packed,
                       float *y, int accumulate);

/// The most arithmetic a core can do: independent chains a ← a·b + c of whole vectors, `steps` steps each, nothing
/// read or written in the loop; writes the flops of one step to *flops_per_step. Reads b and c from sink[0] and
/// sink[1] (keep them near 1 and 0), writes a result to sink[0] (see templates/Kernels.inc.h).
void recur_fma_chains(int isa, long steps, float *sink, long *flops_per_step);

/// Elementwise functions, y may alias x.
///   exp: clamped to the Float range; sigmoid: 1 / (1 + e^-x); tanh: a rational function (see templates/Kernels.inc.h).
void recur_exp(int isa, const float *x, float *y, long n);
void recur_sigmoid(int isa, const float *x, float *y, long n);
void recur_tanh(int isa, const float *x, float *y, long n);

/// Pointwise parts of the recurrent cells for `rows` rows of H units (see templates/Cells.inc.h; the
/// equations and the Swift twin the tests compare with are in RecurLayers' Engine/CellPointwise.swift).
/// [rows, H] arrays have rows H apart; gate arrays rows 3H (GRU) or 4H (LSTM) apart, blocks in PyTorch order.
/// The forward kernels add `bias` (one gate row, G floats) to the gates' pre-activations as they read them,
/// write the new state to `hidden` and, when `output` is not NULL, to `output` too (the layer's packed output rows,
/// `output_stride` floats apart: H, or 2H for one direction's half of a concatenated bidirectional output).
/// What only the backward pass reads is written only when asked for: the LSTM's activated gates and tanh(c)
/// when `tanh_c` and `c_previous` (which receives c<t-1>) are not NULL — both or neither — the GRU's when
/// `keep_gates` is 1.
void recur_lstm_forward(int isa, long rows, long h, float *gates, const float *bias, float *c, float *c_previous,
                        float *tanh_c, float *hidden, float *output, long output_stride);
void recur_lstm_backward(int isa, long rows, long h, const float *gates, const float *tanh_c,
                         const float *c_previous, const float *da, float *dc, float *d_gates);
void recur_gru_forward(int isa, long rows, long h, float *gates, const float *bias, float *hidden_gates,
                       const float *bias_hn, float *hidden, float *output, long output_stride, int keep_gates);
void recur_gru_backward(int isa, long rows, long h, const float *gates, const float *hidden_gates,
                        const float *h_previous, float *dh, float *d_gates, float *d_hidden_gates);
void recur_course_gru_gates(int isa, long rows, long h, float *gates, const float *bias, const float *product,
                            const float *hidden, float *reset_hidden);
void recur_course_gru_update(int isa, long rows, long h, float *gates, const float *bias, float *hidden,
                             float *output, long output_stride);
/// The basic RNN: a = g(pre + bias), g = tanh (relu when `relu` is 1), written to `hidden` and `output`.
void recur_rnn_forward(int isa, long rows, long h, const float *pre, const float *bias, int relu, float *hidden,
                       float *output, long output_stride);
void recur_course_gru_backward_candidate(int isa, long rows, long h, const float *gates, const float *h_previous,
                                         float *dh, float *d_gates);
void recur_course_gru_backward_reset(int isa, long rows, long h, const float *gates, const float *h_previous,
                                     const float *ds, float *dh, float *d_gates);
void recur_tanh_backward(int isa, long count, const float *y, const float *dy, float *dx);

/// Packs `rows` ≤ `height` rows of A (row-major, leading dimension lda) for `kc` columns into one sliver:
///   out[p·height + i] = a[i·lda + p] for i < rows, 0 for rows ≤ i < height.
void recur_pack_rows(const float *a, long lda, long rows, long kc, long height, float *out);
/// The same sliver from A stored transposed (column i of the sliver is row p of the storage):
///   out[p·height + i] = a[p·lda + i] for i < rows, 0 for rows ≤ i < height.
void recur_pack_columns(const float *a, long lda, long rows, long kc, long height, float *out);
/// recur_pack_columns for every sliver of `rows` rows (any number), sliver s at out + s·height·kc; the rows past
/// the last whole sliver are zero-padded to `height`.
void recur_pack_columns_slivers(const float *a, long lda, long rows, long kc, long height, float *out);

/// Asks the CPU to start loading `bytes` bytes at `p` into its caches (for writing too when `for_write`).
void recur_prefetch(const void *p, long bytes, int for_write);

/// A hint to the CPU that the caller is spinning on a shared variable (x86 `pause`, arm64 `yield`).
void recur_spin_pause(void);

#ifdef __cplusplus
}
#endif

#endif
