#!/usr/bin/env python3
"""Fits the polynomial behind the C kernels' exp, and prints its coefficients as C literals.

    exp(r) ≈ 1 + r · q(r)   for |r| ≤ ln 2 / 2,  q of degree 5

The kernel reduces x to x = n·ln 2 + r with n an integer, so this range is all it needs. The fit minimizes the
largest relative error on a dense grid by one linear program (the error is linear in q's coefficients):

    |1 + r·q(r) − e^r| ≤ t · e^r

The script then evaluates the rounded coefficients the way the kernel does (Float32, fused multiply–adds,
Estrin's pairs) over [−87, 88] and prints the largest relative error it sees.

Needs numpy and scipy. Run from anywhere:  python3 Scripts/fit_exp.py
"""
import numpy as np
from scipy.optimize import linprog

DEGREE = 5                    # of q: the polynomial 1 + r·q(r) is of degree 6
HALF_RANGE = np.log(2) / 2
LN2_HIGH = np.float32(0.693145751953125)        # exact in Float32, so n·LN2_HIGH is exact for |n| < 2^12
LN2_LOW = np.float32(1.428606765330187e-06)
ROW_SCALE = 1e8


def fit():
    r = np.linspace(-HALF_RANGE, HALF_RANGE, 20001) * 1.0001
    e = np.exp(r)
    terms = np.vstack([r ** (k + 1) for k in range(DEGREE + 1)]).T   # r·r^k, the unknowns' multipliers
    bound = -e[:, None]
    upper = np.hstack([terms, bound])      # r·q − t·e^r ≤ e^r − 1
    lower = np.hstack([-terms, bound])     # −r·q − t·e^r ≤ 1 − e^r
    objective = np.zeros(DEGREE + 2)
    objective[-1] = 1
    # Rows scaled by 1e8: the errors sought (1e-9) are below the solver's tolerance otherwise.
    result = linprog(objective, A_ub=np.vstack([upper, lower]) * ROW_SCALE, b_ub=np.concatenate([e - 1, 1 - e]) * ROW_SCALE,
                     bounds=[(None, None)] * (DEGREE + 1) + [(0, None)], method="highs")
    assert result.status == 0, result.message
    return result.x[:-1], result.x[-1]


def float32_exp(x, q):
    """The kernel's evaluation: Float32 throughout; each a·b + c rounds once, as a fused multiply–add does."""
    f32 = np.float32

    def fma(a, b, c):  # exact in float64 for Float32 inputs up to the final rounding
        return (np.float64(a) * np.float64(b) + np.float64(c)).astype(f32)

    x = np.clip(x, f32(-87), f32(88))
    n = np.rint((x * f32(1.44269504088896341)).astype(f32))
    r = fma(-n, LN2_HIGH, x)
    r = fma(-n, LN2_LOW, r)
    c = q.astype(f32)
    r2 = (r * r).astype(f32)
    q01, q23, q45 = fma(r, c[1], c[0]), fma(r, c[3], c[2]), fma(r, c[5], c[4])
    q = fma((r2 * r2).astype(f32), q45, fma(r2, q23, q01))
    p = fma(r, q, f32(1))
    return np.float64(p) * np.exp2(np.float64(n))   # scaling by 2^n is exact


def main():
    q, error = fit()
    print(f"minimax relative error of the exact polynomial: {error:.3e}")
    print("q:", ", ".join(f"{np.float32(c):.9e}f" for c in q))
    x = np.linspace(-87, 88, 17_500_001, dtype=np.float32)
    reference = np.exp(np.float64(x))
    relative = np.max(np.abs(float32_exp(x, q).astype(np.float32) / reference - 1))
    print(f"Float32 evaluation on [-87, 88]: largest relative error {relative:.3e}")


if __name__ == "__main__":
    main()
