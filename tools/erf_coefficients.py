"""Compute the Chebyshev coefficients in ``minigrad/nn/_erf.py`` (a development tool; needs mpmath).

Each piece of ``erf``/``erfc`` is a smooth function ``f`` on an interval ``[lo, hi]``, interpolated at
``n`` Chebyshev points of the first kind in 40-digit arithmetic::

    c_k = (2 / n) * sum_j f(x_j) cos(k θ_j),   θ_j = π (j + 1/2) / n,   x_j = mid + half cos(θ_j)

so that ``f(x) ≈ c_0 / 2 + sum_{k≥1} c_k T_k(t)`` with ``t = (2x - lo - hi) / (hi - lo)``, and that
polynomial is rewritten exactly (still in 40 digits) in powers of ``t``, ``sum_k m_k t^k``, for Horner's
rule; the ``m_k`` shrink geometrically, so Horner's rule in float64 loses nothing.  The pieces:
``erf(x) / x`` as a function of ``u = x²`` on ``[0, 0.75²]``, and ``erfcx(a) = exp(a²) erfc(a)`` on
``[0.75, 2]``, ``[2, 4]``, ``[4, 8]``, ``[8, 14]``, ``[14, 27]``.  ``n`` is the smallest count whose
relative error, checked at 301 points per piece, is below 1e-17.  Run ``python tools/erf_coefficients.py``
and paste its output over ``_PIECES`` in ``minigrad/nn/_erf.py``.
"""

from __future__ import annotations

import mpmath as mp  # type: ignore[import-untyped]

mp.mp.dps = 40


def erfcx(a: mp.mpf) -> mp.mpf:
    return mp.exp(a * a) * mp.erfc(a)


def erf_over_x(u: mp.mpf) -> mp.mpf:
    return mp.erf(mp.sqrt(u)) / mp.sqrt(u) if u > 0 else 2 / mp.sqrt(mp.pi)


def chebyshev(f, lo, hi, n):  # type: ignore[no-untyped-def]
    lo, hi = mp.mpf(lo), mp.mpf(hi)
    theta = [mp.pi * (j + mp.mpf(1) / 2) / n for j in range(n)]
    fx = [f((hi + lo) / 2 + (hi - lo) / 2 * mp.cos(t)) for t in theta]
    return [2 * mp.fsum(fx[j] * mp.cos(k * theta[j]) for j in range(n)) / n for k in range(n)]


def clenshaw(c, t):  # type: ignore[no-untyped-def]
    b1 = b2 = 0
    for ck in reversed(c[1:]):
        b1, b2 = 2 * t * b1 - b2 + ck, b1
    return t * b1 - b2 + c[0] / 2


def monomial(c):  # type: ignore[no-untyped-def]
    """The coefficients m_0 .. m_{n-1} of c_0 / 2 + sum_k c_k T_k(t) in powers of t."""
    n = len(c)
    m = [mp.mpf(0)] * n
    t_prev, t_cur = [mp.mpf(1)] + [mp.mpf(0)] * (n - 1), [mp.mpf(0), mp.mpf(1)] + [mp.mpf(0)] * (n - 2)
    for k in range(n):
        tk = t_prev if k == 0 else t_cur
        weight = c[0] / 2 if k == 0 else c[k]
        for j in range(n):
            m[j] += weight * tk[j]
        if k >= 1:
            t_prev, t_cur = t_cur, [2 * (t_cur[j - 1] if j else 0) - t_prev[j] for j in range(n)]
    return m


def worst_relative_error(f, lo, hi, c):  # type: ignore[no-untyped-def]
    worst = mp.mpf(0)
    for i in range(301):
        x = mp.mpf(lo) + (mp.mpf(hi) - lo) * i / 300
        worst = max(worst, abs(clenshaw(c, (2 * x - lo - hi) / (hi - lo)) / f(x) - 1))
    return worst


PIECES = [(erf_over_x, 0.0, 0.5625), (erfcx, 0.75, 2.0), (erfcx, 2.0, 4.0), (erfcx, 4.0, 8.0)]
PIECES += [(erfcx, 8.0, 14.0), (erfcx, 14.0, 27.0)]

if __name__ == "__main__":
    print("_PIECES = (")
    for f, lo, hi in PIECES:
        n = 8
        while worst_relative_error(f, lo, hi, c := chebyshev(f, lo, hi, n)) >= 1e-17:
            n += 1
        coefficients = ", ".join(repr(float(mk)) for mk in monomial(c))
        print(f"    ({lo!r}, {hi!r}, ({coefficients},)),")
    print(")")
