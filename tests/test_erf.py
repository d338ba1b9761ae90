"""minigrad's float64 erf and erfc against the C library's (math.erf, math.erfc) and their edge values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from minigrad.nn._erf import _PIECES, erf, erfc

ULP = np.finfo(np.float64).eps


def points() -> np.ndarray:
    rng = np.random.default_rng(0)
    edges = [lo for lo, _, _ in _PIECES[1:]] + [0.75, 27.0]
    near_edges = np.concatenate([np.nextafter(e, [-np.inf, np.inf]) for e in edges])
    return np.concatenate(
        [
            rng.uniform(-6, 6, 100_000),
            rng.uniform(-26.5, 26.5, 50_000),
            rng.normal(scale=0.3, size=30_000),
            10.0 ** rng.uniform(-300, 0, 20_000) * rng.choice([-1, 1], 20_000),
            near_edges,
            -near_edges,
            np.array(edges),
        ]
    )


def test_erf_matches_math_erf_to_a_few_ulps() -> None:
    x = points()
    ref = np.array([math.erf(v) for v in x])
    y = erf(x)
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, ref, rtol=4 * ULP, atol=0)


def test_erfc_matches_math_erfc_relatively_also_where_it_is_tiny() -> None:
    x = points()
    ref = np.array([math.erfc(v) for v in x])
    keep = ref > 1e-300  # subnormal results carry fewer digits in any library
    np.testing.assert_allclose(erfc(x)[keep], ref[keep], rtol=6 * ULP, atol=0)


def test_edge_values() -> None:
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 27.0, 40.0, -40.0, 1e300, -1e300])
    y = erf(x)
    assert np.array_equal(y, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, 1.0, -1.0, 1.0, -1.0], equal_nan=True)
    assert np.signbit(y[1])
    assert np.array_equal(erfc(x), [1.0, 1.0, 0.0, 2.0, np.nan, 0.0, 0.0, 2.0, 0.0, 2.0], equal_nan=True)


def test_float32_in_float32_out_and_shapes_kept() -> None:
    x = np.linspace(-3, 3, 12, dtype=np.float32).reshape(3, 4)
    assert erf(x).dtype == np.float32 and erf(x).shape == (3, 4)
    np.testing.assert_allclose(erf(x), [[math.erf(v) for v in row] for row in x.astype(np.float64)], rtol=1e-6)
    assert erf(np.float64(0.5)).shape == ()


def test_array_api_strict_gives_the_numpy_numbers() -> None:
    xps = pytest.importorskip("array_api_strict")
    x = points()[::7]
    for f in (erf, erfc):
        y = f(xps.asarray(x), xps)
        assert isinstance(y, type(xps.asarray(1.0)))
        np.testing.assert_allclose(np.asarray(y), f(x), rtol=2 * ULP, atol=0)


def test_torch_erf_agrees() -> None:
    torch = pytest.importorskip("torch")
    x = points()
    np.testing.assert_allclose(erf(x), torch.erf(torch.tensor(x)).numpy(), rtol=4 * ULP, atol=0)
    keep = np.abs(x) < 26
    np.testing.assert_allclose(erfc(x)[keep], torch.erfc(torch.tensor(x[keep])).numpy(), rtol=1e-14, atol=0)
