#!/usr/bin/env python3
"""Fits the rational function behind the C kernels' tanh, and prints its coefficients as C literals.

    tanh(x) ≈ x · P(x²) / Q(x²)   for 0 ≤ x ≤ 9,  P and Q of degree 4, Q(0) = 1

The fit minimizes the largest relative error on a dense grid of (0, 9] by the differential-correction
method: each round solves a linear program for P, Q and the error bound t,

    |x·P(s) − tanh(x)·Q(s)| ≤ t · tanh(x) · Q_previous(s),   s = x²,

which converges to the minimax rational approximation. Past 9, tanh is 1 to within 3e-8 (half a Float
step below 1), so the kernel clamps |x| to 9. The script then evaluates the rounded coefficients the way
the kernel does (Float32, fused multiply–adds, Horner's scheme) and prints the largest error it sees.

Needs numpy and scipy. Run from anywhere:  python3 Scripts/fit_tanh.py
"""
import numpy as np
from scipy.optimize import linprog

CLAMP = 9.0
NUMERATOR_DEGREE = 4    # in s = x²: x·P(s) is odd, of degree 9 in x
DENOMINATOR_DEGREE = 4  # in s: Q(s) is even, of degree 8 in x
ROUNDS = 60


def fit():
    # Uniform points plus Chebyshev-like points crowding both ends.
    uniform = np.linspace(1e-4, CLAMP, 4000)
    crowded = CLAMP * (1 - np.cos(np.linspace(0, np.pi / 2, 4000)))
    x = np.unique(np.concatenate([uniform, crowded]))
    x = x[x > 0]
    y, s = np.tanh(x), x * x
    numerator_terms = np.vstack([x * s ** k for k in range(NUMERATOR_DEGREE + 1)]).T
    denominator_terms = np.vstack([s ** k for k in range(1, DENOMINATOR_DEGREE + 1)]).T
    unknowns = NUMERATOR_DEGREE + 1 + DENOMINATOR_DEGREE + 1  # P's, Q's past Q(0) = 1, and t
    q_previous = np.ones_like(x)
    best = None
    for _ in range(ROUNDS):
        bound = -(y * q_previous)[:, None]
        upper = np.hstack([numerator_terms, -y[:, None] * denominator_terms, bound])
        lower = np.hstack([-numerator_terms, y[:, None] * denominator_terms, bound])
        objective = np.zeros(unknowns)
        objective[-1] = 1
        result = linprog(objective, A_ub=np.vstack([upper, lower]), b_ub=np.concatenate([y, -y]),
                         bounds=[(None, None)] * (unknowns - 1) + [(0, None)], method="highs")
        if result.status != 0:
            break
        p = result.x[:NUMERATOR_DEGREE + 1]
        q = np.concatenate([[1.0], result.x[NUMERATOR_DEGREE + 1:-1]])
        q_values = np.polyval(q[::-1], s)
        error = np.max(np.abs(x * np.polyval(p[::-1], s) / q_values / y - 1))
        if best is None or error < best[0]:
            best = (error, p, q)
        q_previous = q_values
    return best


def float32_tanh(x, p, q):
    """The kernel's evaluation: Float32 throughout; each a·b + c rounds once, as a fused multiply–add does."""
    f32 = np.float32

    def fma(a, b, c):  # exact in float64 for Float32 inputs up to the final rounding
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(f32)

    a = np.minimum(np.abs(x), f32(CLAMP))
    s = (a * a).astype(f32)

    def horner(coefficients):
        c = coefficients.astype(f32)
        accumulator = np.full_like(s, c[-1])
        for k in range(len(c) - 2, -1, -1):
            accumulator = fma(accumulator, s, np.full_like(s, c[k]))
        return accumulator

    numerator = (a * horner(p)).astype(f32)
    ratio = (numerator.astype(np.float64) / horner(q).astype(np.float64)).astype(f32)
    return np.copysign(np.minimum(ratio, f32(1)), x)


def main():
    error, p, q = fit()
    print(f"minimax relative error of the exact rational: {error:.3e}")
    print("P:", ", ".join(f"{np.float32(c):.9e}f" for c in p))
    print("Q:", ", ".join(f"{np.float32(c):.9e}f" for c in q))
    x = np.linspace(0, 12, 12_000_001, dtype=np.float32)
    reference = np.tanh(x.astype(np.float64))
    absolute = np.max(np.abs(float32_tanh(x, p, q) - reference))
    tiny = (x > 0) & (x < 0.01)
    relative = np.max(np.abs(float32_tanh(x[tiny], p, q) / reference[tiny] - 1))
    print(f"Float32 evaluation on [0, 12]: largest absolute error {absolute:.3e}; below 0.01, relative {relative:.3e}")


if __name__ == "__main__":
    main()
