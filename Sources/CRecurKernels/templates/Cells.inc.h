// Pointwise parts of the recurrent cells, included by Kernels.inc.h once per instruction set.
// The equations and their Swift reference (the naive twin the tests compare with) are in
// Sources/RecurLayers/Engine/CellPointwise.swift; the names here follow it. Every [rows, H] array is
// row-major with rows H apart, every gate array rows G apart (G = 3H or 4H), gate blocks in PyTorch order.

// The first n ≤ LANES elements at p (the rest of the vector is 0), and their store.
RK_ATTR static inline RK_NAME(vec) RK_NAME(load_n)(const float *p, long n) {
    if (n == RK_LANES) return RK_NAME(load)(p);
    float buffer[RK_LANES] = {0};
    for (long j = 0; j < n; j++) buffer[j] = p[j];
    return RK_NAME(load)(buffer);
}
RK_ATTR static inline void RK_NAME(store_n)(float *p, RK_NAME(vec) v, long n) {
    if (n == RK_LANES) {
        RK_NAME(store)(p, v);
        return;
    }
    float buffer[RK_LANES];
    RK_NAME(store)(buffer, v);
    for (long j = 0; j < n; j++) p[j] = buffer[j];
}

#define RK_ONE RK_SPLAT(1.0f)
// Runs the code after (rows, h) for each row r and each run of n ≤ LANES units starting at unit k. The code is
// stamped out twice: for whole vectors, where n is the constant LANES (so LD and ST are plain vector moves,
// with no test and no buffer), and once for a row's last, partial vector.
#define RK_FOR_UNITS(rows, h, ...)                                     \
    for (long r = 0; r < (rows); r++) {                                  \
        long k = 0;                                                      \
        for (; k + RK_LANES <= (h); k += RK_LANES) {                    \
            const long n = RK_LANES;                                     \
            __VA_ARGS__                                                  \
        }                                                                \
        if (k < (h)) {                                                   \
            const long n = (h) - k;                                      \
            __VA_ARGS__                                                  \
        }                                                                \
    }
#define LD(p) RK_NAME(load_n)((p), n)
#define ST(p, v) RK_NAME(store_n)((p), (v), n)

// `count` vectors (1 or 2) of n ≤ LANES units each, from unit k of row r on; `caches`, `count` and n are constants
// where the callers' are. Each line runs for every vector before the next line: two vectors' chains then interleave,
// which keeps more multiply–adds in flight (the LSTM step kernel alone, inference: AVX2 2.39–2.43 → 2.13–2.17 ns per
// unit, portable 5.81–5.98 → 5.08–5.15; AVX-512, bound by its one 512-bit multiply–add per cycle, unchanged).
// Computed whole one after the other they did not; nor with the caches' stores decided at run time.
RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(lstm_forward_vectors)(
    const int caches, const int count, const long n, long r, long k, long h, float *gates, const float *bias,
    float *c, float *c_previous, float *tanh_c, float *hidden, float *output, long output_stride) {
    float *gi = gates + r * 4 * h + k, *cr = c + r * h + k;
    const float *bi = bias + k;
    RK_NAME(vec) i[2], f[2], g[2], o[2], old[2], updated[2], t[2];
#define RK_EACH(...) _Pragma("clang loop unroll(full)") for (int j = 0; j < count; j++) { __VA_ARGS__ }
    RK_EACH(i[j] = RK_NAME(sigmoidv)(LD(gi + j * n) + LD(bi + j * n));)
    RK_EACH(f[j] = RK_NAME(sigmoidv)(LD(gi + h + j * n) + LD(bi + h + j * n));)
    RK_EACH(g[j] = RK_NAME(tanhv)(LD(gi + 2 * h + j * n) + LD(bi + 2 * h + j * n));)
    RK_EACH(o[j] = RK_NAME(sigmoidv)(LD(gi + 3 * h + j * n) + LD(bi + 3 * h + j * n));)
    RK_EACH(old[j] = LD(cr + j * n); updated[j] = f[j] * old[j] + i[j] * g[j];)
    RK_EACH(t[j] = RK_NAME(tanhv)(updated[j]);)
    RK_EACH({
        const long unit = k + j * n;
        if (caches) {
            ST(c_previous + r * h + unit, old[j]);
            ST(gi + j * n, i[j]); ST(gi + h + j * n, f[j]); ST(gi + 2 * h + j * n, g[j]); ST(gi + 3 * h + j * n, o[j]);
            ST(tanh_c + r * h + unit, t[j]);
        }
        ST(cr + j * n, updated[j]);
        RK_NAME(vec) a = o[j] * t[j];
        ST(hidden + r * h + unit, a);
        ST(output + r * output_stride + unit, a);
    })
#undef RK_EACH
}

RK_ATTR static inline __attribute__((always_inline)) void RK_NAME(lstm_forward_rows)(
    const int caches, long rows, long h, float *gates, const float *bias, float *c, float *c_previous, float *tanh_c,
    float *hidden, float *output, long output_stride) {
    for (long r = 0; r < rows; r++) {
        long k = 0;
        // Training keeps a vector's every value for its caches: two at a time, they measured slower there.
        for (; !caches && k + 2 * RK_LANES <= h; k += 2 * RK_LANES) {
            RK_NAME(lstm_forward_vectors)(caches, 2, RK_LANES, r, k, h, gates, bias, c, c_previous, tanh_c, hidden,
                                          output, output_stride);
        }
        for (; k + RK_LANES <= h; k += RK_LANES) {
            RK_NAME(lstm_forward_vectors)(caches, 1, RK_LANES, r, k, h, gates, bias, c, c_previous, tanh_c, hidden,
                                          output, output_stride);
        }
        if (k < h) {
            RK_NAME(lstm_forward_vectors)(caches, 1, h - k, r, k, h, gates, bias, c, c_previous, tanh_c, hidden,
                                          output, output_stride);
        }
    }
}

// Training passes both caches (c<t-1> and tanh(c<t>), and the activated gates over their pre-activations), inference
// neither. Without `output` the new state goes to `hidden` only (written twice, so that one loop serves both).
RK_ATTR static void RK_NAME(lstm_forward)(long rows, long h, float *gates, const float *bias, float *c,
                                          float *c_previous, float *tanh_c, float *hidden, float *output,
                                          long output_stride) {
    if (!output) {
        output = hidden;
        output_stride = h;
    }
    if (c_previous && tanh_c) {
        RK_NAME(lstm_forward_rows)(1, rows, h, gates, bias, c, c_previous, tanh_c, hidden, output, output_stride);
    } else {
        RK_NAME(lstm_forward_rows)(0, rows, h, gates, bias, c, 0, 0, hidden, output, output_stride);
    }
}

RK_ATTR static void RK_NAME(lstm_backward)(long rows, long h, const float *gates, const float *tanh_c,
                                           const float *c_previous, const float *da, float *dc, float *d_gates) {
    RK_FOR_UNITS(rows, h, {
        const float *gi = gates + r * 4 * h + k;
        float *d = d_gates + r * 4 * h + k, *dcr = dc + r * h + k;
        RK_NAME(vec) i = LD(gi), f = LD(gi + h), g = LD(gi + 2 * h), o = LD(gi + 3 * h);
        RK_NAME(vec) t = LD(tanh_c + r * h + k), a = LD(da + r * h + k);
        RK_NAME(vec) total = LD(dcr) + a * o * (RK_ONE - t * t);
        ST(d, total * g * i * (RK_ONE - i));
        ST(d + h, total * LD(c_previous + r * h + k) * f * (RK_ONE - f));
        ST(d + 2 * h, total * i * (RK_ONE - g * g));
        ST(d + 3 * h, a * t * o * (RK_ONE - o));
        ST(dcr, total * f);
    })
}

RK_ATTR static void RK_NAME(gru_forward)(long rows, long h, float *gates, const float *bias, float *hidden_gates,
                                         const float *bias_hn, float *hidden, float *output, long output_stride,
                                         int keep_gates) {
    RK_FOR_UNITS(rows, h, {
        float *gi = gates + r * 3 * h + k, *q = hidden_gates + r * 3 * h + k, *state = hidden + r * h + k;
        const float *bi = bias + k;
        RK_NAME(vec) reset = RK_NAME(sigmoidv)(LD(gi) + LD(bi) + LD(q));
        RK_NAME(vec) keep = RK_NAME(sigmoidv)(LD(gi + h) + LD(bi + h) + LD(q + h));
        RK_NAME(vec) hn = LD(q + 2 * h) + LD(bias_hn + k);
        RK_NAME(vec) candidate = RK_NAME(tanhv)(LD(gi + 2 * h) + LD(bi + 2 * h) + reset * hn);
        if (keep_gates) { ST(gi, reset); ST(gi + h, keep); ST(gi + 2 * h, candidate); ST(q + 2 * h, hn); }
        RK_NAME(vec) updated = (RK_ONE - keep) * candidate + keep * LD(state);
        ST(state, updated);
        if (output) ST(output + r * output_stride + k, updated);
    })
}

RK_ATTR static void RK_NAME(gru_backward)(long rows, long h, const float *gates, const float *hidden_gates,
                                          const float *h_previous, float *dh, float *d_gates,
                                          float *d_hidden_gates) {
    RK_FOR_UNITS(rows, h, {
        const float *gi = gates + r * 3 * h + k;
        float *d = d_gates + r * 3 * h + k, *e = d_hidden_gates + r * 3 * h + k, *dhr = dh + r * h + k;
        RK_NAME(vec) reset = LD(gi), keep = LD(gi + h), candidate = LD(gi + 2 * h), up = LD(dhr);
        RK_NAME(vec) dn = up * (RK_ONE - keep) * (RK_ONE - candidate * candidate);
        RK_NAME(vec) dz = up * (LD(h_previous + r * h + k) - candidate) * keep * (RK_ONE - keep);
        RK_NAME(vec) dr = dn * LD(hidden_gates + r * 3 * h + 2 * h + k) * reset * (RK_ONE - reset);
        ST(d, dr); ST(d + h, dz); ST(d + 2 * h, dn);
        ST(e, dr); ST(e + h, dz); ST(e + 2 * h, reset * dn);
        ST(dhr, up * keep);
    })
}

RK_ATTR static void RK_NAME(course_gru_gates)(long rows, long h, float *gates, const float *bias,
                                              const float *product, const float *hidden, float *reset_hidden) {
    RK_FOR_UNITS(rows, h, {
        float *gi = gates + r * 3 * h + k;
        const float *p = product + r * 2 * h + k, *bi = bias + k;
        RK_NAME(vec) reset = RK_NAME(sigmoidv)(LD(gi) + LD(bi) + LD(p));
        RK_NAME(vec) update = RK_NAME(sigmoidv)(LD(gi + h) + LD(bi + h) + LD(p + h));
        ST(gi, reset); ST(gi + h, update);
        ST(reset_hidden + r * h + k, reset * LD(hidden + r * h + k));
    })
}

RK_ATTR static void RK_NAME(course_gru_update)(long rows, long h, float *gates, const float *bias, float *hidden,
                                               float *output, long output_stride) {
    RK_FOR_UNITS(rows, h, {
        float *gi = gates + r * 3 * h + k, *c = hidden + r * h + k;
        RK_NAME(vec) update = LD(gi + h), candidate = RK_NAME(tanhv)(LD(gi + 2 * h) + LD(bias + 2 * h + k));
        ST(gi + 2 * h, candidate);
        RK_NAME(vec) updated = update * candidate + (RK_ONE - update) * LD(c);
        ST(c, updated);
        if (output) ST(output + r * output_stride + k, updated);
    })
}

RK_ATTR static void RK_NAME(rnn_forward)(long rows, long h, const float *pre, const float *bias, int relu,
                                         float *hidden, float *output, long output_stride) {
    RK_FOR_UNITS(rows, h, {
        RK_NAME(vec) z = LD(pre + r * h + k) + LD(bias + k);
        RK_NAME(vec) a = relu ? __builtin_elementwise_max(z, (RK_NAME(vec)){0}) : RK_NAME(tanhv)(z);
        ST(hidden + r * h + k, a);
        if (output) ST(output + r * output_stride + k, a);
    })
}

RK_ATTR static void RK_NAME(course_gru_backward_candidate)(long rows, long h, const float *gates,
                                                           const float *h_previous, float *dh, float *d_gates) {
    RK_FOR_UNITS(rows, h, {
        const float *gi = gates + r * 3 * h + k;
        float *d = d_gates + r * 3 * h + k, *dc = dh + r * h + k;
        RK_NAME(vec) update = LD(gi + h), candidate = LD(gi + 2 * h), up = LD(dc);
        ST(d + 2 * h, up * update * (RK_ONE - candidate * candidate));
        ST(d + h, up * (candidate - LD(h_previous + r * h + k)) * update * (RK_ONE - update));
        ST(dc, up * (RK_ONE - update));
    })
}

RK_ATTR static void RK_NAME(course_gru_backward_reset)(long rows, long h, const float *gates,
                                                       const float *h_previous, const float *ds, float *dh,
                                                       float *d_gates) {
    RK_FOR_UNITS(rows, h, {
        RK_NAME(vec) reset = LD(gates + r * 3 * h + k), s = LD(ds + r * h + k);
        ST(d_gates + r * 3 * h + k, s * LD(h_previous + r * h + k) * reset * (RK_ONE - reset));
        ST(dh + r * h + k, LD(dh + r * h + k) + s * reset);
    })
}

RK_ATTR static void RK_NAME(tanh_backward)(long count, const float *y, const float *dy, float *dx) {
    RK_FOR_UNITS(1, count, {
        RK_NAME(vec) v = LD(y + k);
        ST(dx + k, LD(dy + k) * (RK_ONE - v * v));
    })
}

#undef LD
#undef ST
#undef RK_FOR_UNITS
#undef RK_ONE
