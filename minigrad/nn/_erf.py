"""erf and erfc to float64 accuracy, for any array library (NumPy has neither, and minigrad needs no SciPy).

The error function and its complement::

    erf(x) = (2 / sqrt(π)) ∫_0^x exp(-s²) ds,        erfc(x) = 1 - erf(x)

are evaluated in pieces of ``a = |x|``, each a polynomial (Horner's rule, in ``t`` scaled to ``[-1, 1]``
on the piece) of a smooth function whose values never come from a subtraction that cancels:

- ``a < 0.75``: ``erf(x) = x · P(x²)`` with ``P(u) ≈ erf(√u) / √u`` on ``[0, 0.5625]``;
  ``erfc(x) = 1 - erf(x)`` (≥ 0.28, so nothing cancels).
- ``0.75 ≤ a < 27``: ``erfc(a) = exp(-a²) · R(a)`` with ``R(a) ≈ erfcx(a) = exp(a²) erfc(a)`` on five
  intervals; ``erf(x) = sign(x) (1 - erfc(a))`` (≥ 0.71), ``erfc(-a) = 2 - erfc(a)``.
- ``a ≥ 27``: ``erfc(a) = 0`` (the true value is below 1e-318), ``erf(x) = sign(x)``.

``exp(-a²)`` is where the accuracy would go: ``a²`` rounded to float64 carries a relative error of
``1e-16 · a²``, up to 7e-14 at ``a = 27``.  So ``a = h + l`` with ``h`` rounded to float32 (24 bits, so
``h²`` is exact in float64) and ``exp(-a²) = exp(-h²) · exp(-(2h + l) l)``, whose second argument is
tiny.  Each polynomial is the Chebyshev interpolant at ``n`` points, computed in 40-digit arithmetic by
``tools/erf_coefficients.py`` with ``n`` the smallest for a relative error below 1e-17; with rounding,
``erf`` and ``erfc`` agree with ``math.erf`` and ``math.erfc`` to a few units in the last place
(tests/test_erf.py checks 200,000 points).

Both functions compute in float64 (a float32 input gives a float32 result) with Array API standard
calls; under NumPy each piece is evaluated only on its own entries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["erf", "erfc"]

# (lo, hi, coefficients m_0 .. m_{n-1} of the polynomial in t) of each piece; the first is P(u), the others R(a).
_PIECES = (
    (
        0.0,
        0.5625,
        (
            1.0309528156012642,
            -0.0896037671090999,
            0.007314485234578211,
            -0.000480872478031452,
            2.599164517570422e-05,
            -1.186568422147177e-06,
            4.678558330163392e-08,
            -1.6217928017585119e-09,
            5.012952566544622e-11,
            -1.3998947677380024e-12,
            3.552903127102359e-14,
        ),
    ),
    (
        0.75,
        2.0,
        (
            0.3432958898621254,
            -0.11519716873416737,
            0.035102390096467206,
            -0.009888518365088089,
            0.0026069628307293967,
            -0.0006489375214877762,
            0.000153554724285609,
            -3.4722893707062555e-05,
            7.535582481018568e-06,
            -1.575053367443546e-06,
            3.180032544033732e-07,
            -6.217600183137735e-08,
            1.18010280543007e-08,
            -2.1772095807516602e-09,
            3.8817104905128333e-10,
            -6.807839041303652e-11,
            1.3283154219642882e-11,
            -2.2119950529996576e-12,
        ),
    ),
    (
        2.0,
        4.0,
        (
            0.17900115118138996,
            -0.05437226000717289,
            0.01588437115987134,
            -0.004479431018371144,
            0.0012230390523765237,
            -0.00032412554452200884,
            8.355413963369297e-05,
            -2.0989464259545496e-05,
            5.146436522511331e-06,
            -1.2333685934914701e-06,
            2.8926684651166363e-07,
            -6.64646639786765e-08,
            1.4977253627698686e-08,
            -3.316229237177357e-09,
            7.20516363335066e-10,
            -1.5077563830210874e-10,
            3.1724792006762475e-11,
            -8.134236373235494e-12,
            1.6482525468969957e-12,
        ),
    ),
    (
        4.0,
        8.0,
        (
            0.09277656780053835,
            -0.030120706978104626,
            0.009657787464897703,
            -0.003059585555765277,
            0.0009580615952114573,
            -0.00029664123218254245,
            9.085053143832909e-05,
            -2.7531014973502908e-05,
            8.257487378452703e-06,
            -2.452045503849968e-06,
            7.21076866527264e-07,
            -2.1005200881616014e-07,
            6.06245456895272e-08,
            -1.7330648991970454e-08,
            4.913804611061174e-09,
            -1.3937659647511046e-09,
            3.883418054464011e-10,
            -9.742170220757401e-11,
            2.6803378811860745e-11,
            -1.1714957103580166e-11,
            3.1448491722541887e-12,
        ),
    ),
    (
        8.0,
        14.0,
        (
            0.051080594758088446,
            -0.013818247252700437,
            0.003723193483681636,
            -0.0009992268752079191,
            0.0002671272356347581,
            -7.11372403438546e-05,
            1.8872063146801446e-05,
            -4.9877371667679015e-06,
            1.3133102917960582e-06,
            -3.445309806498744e-07,
            9.005466231402031e-08,
            -2.34537279589863e-08,
            6.085100690340356e-09,
            -1.5735701750830275e-09,
            4.074002858997099e-10,
            -1.0460844903580732e-10,
            2.5146713177485253e-11,
            -6.4192746505680326e-12,
            2.396254530313317e-12,
            -6.057480641697555e-13,
        ),
    ),
    (
        14.0,
        27.0,
        (
            0.02748881515193487,
            -0.008695348130188308,
            0.002747301821656152,
            -0.0008669938431787522,
            0.000273286180703552,
            -8.604251831182257e-05,
            2.7058523198142333e-05,
            -8.499479712790097e-06,
            2.666733563391258e-06,
            -8.357330731463857e-07,
            2.6161120139815905e-07,
            -8.179953400640011e-08,
            2.555050953661584e-08,
            -7.970887286829109e-09,
            2.478508777680921e-09,
            -7.714837180939591e-10,
            2.46261930789219e-10,
            -7.646648794711586e-11,
            1.8954213483182516e-11,
            -5.880405651877687e-12,
            3.827732904115192e-12,
            -1.1820341301240548e-12,
        ),
    ),
)

_SMALL = 0.75
_LARGE = 27.0
_EDGES = np.array([_SMALL] + [hi for _, hi, _ in _PIECES[1:]])  # 0.75, 2, 4, 8, 14, 27


def _polynomial(xp: Any, piece: tuple[float, float, tuple[float, ...]], x: Any) -> Any:
    """``sum_k m_k t^k`` with ``t = (2x - lo - hi) / (hi - lo)``, by Horner's rule (in place under NumPy)."""
    lo, hi, m = piece
    t = (2.0 * x - (lo + hi)) / (hi - lo)
    y = xp.zeros_like(t) + m[-1]
    if xp is np:
        for mk in m[-2::-1]:
            y *= t
            y += mk
        return y
    for mk in m[-2::-1]:
        y = y * t + mk
    return y


def _exp_minus_square(xp: Any, a: Any) -> Any:
    """``exp(-a²)`` for ``0 ≤ a ≤ 27`` without the rounding error of ``a²`` (see the module docstring)."""
    h = xp.astype(xp.astype(a, xp.float32), a.dtype)
    low = a - h
    return xp.exp(-(h * h)) * xp.exp(-((2.0 * h + low) * low))


def _erfc_large(xp: Any, a: Any) -> Any:
    """``erfc(a)`` for ``0.75 ≤ a ≤ 27`` (the entries of *a* outside give numbers that must be discarded)."""
    a = xp.clip(a, _SMALL, _LARGE)
    r = xp.zeros_like(a)
    for piece in _PIECES[1:]:
        lo, hi, _ = piece
        inside = (a >= lo) & (a <= hi)
        r = xp.where(inside, _polynomial(xp, piece, xp.clip(a, lo, hi)), r)
    return _exp_minus_square(xp, a) * r


def _erf_small(xp: Any, x: Any) -> Any:
    """``erf(x)`` for ``|x| ≤ 0.75`` (entries outside give numbers that must be discarded)."""
    u = xp.clip(x * x, 0.0, _PIECES[0][1])
    return x * _polynomial(xp, _PIECES[0], u)


def _as_float64(xp: Any, x: Any) -> tuple[Any, Any]:
    x = xp.asarray(x)
    dtype = x.dtype
    if dtype != xp.float64:
        x = xp.astype(x, xp.float64)
    return x, dtype


def _numpy_pieces(a: np.ndarray[Any, Any]) -> list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]]:
    """NumPy: ``(indices, erfc(a[indices]))`` for each piece of ``0.75 ≤ a < 27`` of the flat *a*.

    Each piece is evaluated on its own entries only (NaN belongs to none).
    """
    which = np.searchsorted(_EDGES, a, side="right")  # 0: a < 0.75, k: piece k, 6: a ≥ 27 or NaN
    found = []
    for k, piece in enumerate(_PIECES[1:], start=1):
        idx = np.flatnonzero(which == k)
        if idx.size:
            ak = a[idx]
            values = _polynomial(np, piece, ak)
            values *= _exp_minus_square(np, ak)
            found.append((idx, values))
    return found


def erf(x: Any, xp: Any = np) -> Any:
    """The error function ``erf(x)``, element-wise, to float64 accuracy (see the module docstring).

    Example:
        >>> import math, numpy as np
        >>> bool(np.all(erf(np.array([-1.0, 0.5, 3.0])) == [math.erf(-1.0), math.erf(0.5), math.erf(3.0)]))
        True
    """
    x, dtype = _as_float64(xp, x)
    if xp is np:
        flat = x.reshape(-1)
        a = np.abs(flat)
        out = np.sign(flat)  # |x| ≥ 27 and ±inf: ±1; NaN stays NaN
        small = np.flatnonzero(a < _SMALL)
        out[small] = _erf_small(np, flat[small])
        for idx, erfc_piece in _numpy_pieces(a):
            out[idx] = np.sign(flat[idx]) * (1.0 - erfc_piece)
        y = out.reshape(x.shape)
    else:
        a = xp.abs(x)
        y = xp.where(a < _SMALL, _erf_small(xp, x), xp.sign(x) * (1.0 - xp.where(a >= _LARGE, 0.0, _erfc_large(xp, a))))
    return y if dtype == xp.float64 else xp.astype(y, dtype)


def erfc(x: Any, xp: Any = np) -> Any:
    """The complementary error function ``erfc(x) = 1 - erf(x)``, element-wise, accurate also where it is tiny.

    Example:
        >>> import math, numpy as np
        >>> abs(float(erfc(np.array(10.0))) / math.erfc(10.0) - 1) < 1e-15
        True
    """
    x, dtype = _as_float64(xp, x)
    if xp is np:
        flat = x.reshape(-1)
        a = np.abs(flat)
        out = np.where(flat > 0, 0.0, 2.0)  # |x| ≥ 27 and ±inf
        out[np.isnan(flat)] = np.nan
        small = np.flatnonzero(a < _SMALL)
        out[small] = 1.0 - _erf_small(np, flat[small])
        for idx, erfc_piece in _numpy_pieces(a):
            out[idx] = np.where(flat[idx] > 0, erfc_piece, 2.0 - erfc_piece)
        y = out.reshape(x.shape)
    else:
        a = xp.abs(x)
        large = xp.where(a >= _LARGE, 0.0, _erfc_large(xp, a))
        y = xp.where(a < _SMALL, 1.0 - _erf_small(xp, x), xp.where(x > 0, large, 2.0 - large))
    return y if dtype == xp.float64 else xp.astype(y, dtype)
