#!/usr/bin/env python3
"""Fits the polynomials behind the C kernels' exp and sigmoid, and prints their coefficients as C literals.

    exp(r) ≈ 1 + r · q(r)   for |r| ≤ ln 2 / 2,  q of degree 5 (exp) or 4 (the sigmoid's e^−x)

The kernels reduce x to x = n·ln 2 + r with n an integer, so this range is all they need. Each fit minimizes the
largest relative error on a dense grid by one linear program (the error is linear in q's coefficients):

    |1 + r·q(r) − e^r| ≤ t · e^r

The sigmoid 1 / (1 + e^−x) needs less of its exp: a relative error δ in e^−x moves it by σ(1 − σ)·δ ≤ δ/4, so a
polynomial one degree lower (9.2e-8 against 2e-9) leaves its error at the rounding of a Float near 1.

The script then evaluates the rounded coefficients the way the kernels do (Float32, fused multiply–adds, Estrin's
pairs; for the sigmoid, r from one multiply–add with ln 2 rounded to a Float) and prints the largest errors it sees:
exp's relative error over [−87, 88], the sigmoid's absolute error over [−20, 20] and its relative error over
[−87, −16], where σ ≈ e^x. The kernels' reciprocal is taken as exact here.

Needs numpy and scipy. Run from anywhere:  python3 Scripts/fit_exp.py
"""
import numpy as np
from scipy.optimize import linprog

EXP_DEGREE = 5                # of q: the polynomial 1 + r·q(r) is of degree 6
SIGMOID_DEGREE = 4            # of the sigmoid's q
HALF_RANGE = np.log(2) / 2
LN2_HIGH = np.float32(0.693145751953125)        # exact in Float32, so n·LN2_HIGH is exact for |n| < 2^12
LN2_LOW = np.float32(1.428606765330187e-06)
ROW_SCALE = 1e8


def fit(degree):
    r = np.linspace(-HALF_RANGE, HALF_RANGE, 20001) * 1.0001
    e = np.exp(r)
    terms = np.vstack([r ** (k + 1) for k in range(degree + 1)]).T   # r·r^k, the unknowns' multipliers
    bound = -e[:, None]
    upper = np.hstack([terms, bound])      # r·q − t·e^r ≤ e^r − 1
    lower = np.hstack([-terms, bound])     # −r·q − t·e^r ≤ 1 − e^r
    objective = np.zeros(degree + 2)
    objective[-1] = 1
    # Rows scaled by 1e8: the errors sought (1e-9) are below the solver's tolerance otherwise.
    result = linprog(objective, A_ub=np.vstack([upper, lower]) * ROW_SCALE, b_ub=np.concatenate([e - 1, 1 - e]) * ROW_SCALE,
                     bounds=[(None, None)] * (degree + 1) + [(0, None)], method="highs")
    assert result.status == 0, result.message
    return result.x[:-1], result.x[-1]


def fma(a, b, c):
    """a·b + c rounded once to Float32, as a fused multiply–add does (exact in float64 for Float32 inputs)."""
    return (np.float64(a) * np.float64(b) + np.float64(c)).astype(np.float32)


def estrin(r, q):
    """1 + r·q(r) the way the kernels evaluate it: q's terms in pairs, then the pairs."""
    f32 = np.float32
    c = q.astype(f32)
    r2 = (r * r).astype(f32)
    pairs = [fma(r, c[k + 1], c[k]) if k + 1 < len(c) else np.full_like(r, c[k]) for k in range(0, len(c), 2)]
    if len(pairs) == 3:
        total = fma((r2 * r2).astype(f32), pairs[2], fma(r2, pairs[1], pairs[0]))
    else:
        raise ValueError("the kernels take q of degree 4 or 5")
    return fma(r, total, f32(1))


def float32_exp(x, q):
    """The kernel's exp: Float32 throughout, ln 2 in a high part (exact products with n) and a low part."""
    f32 = np.float32
    x = np.clip(x, f32(-87), f32(88))
    n = np.rint((x * f32(1.44269504088896341)).astype(f32))
    r = fma(-n, LN2_HIGH, x)
    r = fma(-n, LN2_LOW, r)
    return np.float64(estrin(r, q)) * np.exp2(np.float64(n))   # scaling by 2^n is exact


def float32_sigmoid(x, q):
    """The kernel's sigmoid, 1 / (1 + e^−x), with e^−x from the shorter polynomial and r from one multiply–add."""
    f32 = np.float32
    x = np.clip(x, f32(-88), f32(87))
    n = np.rint((x * f32(-1.44269504088896341)).astype(f32))
    r = fma(-n, f32(np.log(2)), -x)
    e = (np.float64(estrin(r, q)) * np.exp2(np.float64(n))).astype(f32)
    return (1 / np.float64((e + f32(1)).astype(f32))).astype(f32)


def main():
    q, error = fit(EXP_DEGREE)
    print(f"exp: minimax relative error of the exact polynomial {error:.3e}")
    print("q:", ", ".join(f"{np.float32(c):.9e}f" for c in q))
    x = np.linspace(-87, 88, 17_500_001, dtype=np.float32)
    reference = np.exp(np.float64(x))
    relative = np.max(np.abs(float32_exp(x, q).astype(np.float32) / reference - 1))
    print(f"  Float32 evaluation on [-87, 88]: largest relative error {relative:.3e}")

    q, error = fit(SIGMOID_DEGREE)
    print(f"sigmoid's e^-x: minimax relative error of the exact polynomial {error:.3e}")
    print("q:", ", ".join(f"{np.float32(c):.9e}f" for c in q))
    x = np.linspace(-20, 20, 4_000_001, dtype=np.float32)
    absolute = np.max(np.abs(float32_sigmoid(x, q) - 1 / (1 + np.exp(-np.float64(x)))))
    tail = np.linspace(-87, -16, 2_000_001, dtype=np.float32)
    reference = 1 / (1 + np.exp(-np.float64(tail)))
    relative = np.max(np.abs(float32_sigmoid(tail, q) / reference - 1))
    print(f"  Float32 sigmoid (exact reciprocal): largest absolute error on [-20, 20] {absolute:.3e}, "
          f"relative on [-87, -16] {relative:.3e}")


if __name__ == "__main__":
    main()
