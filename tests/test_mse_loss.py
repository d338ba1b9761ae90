"""MSELoss: value and gradient against the formula and central finite differences; no broadcasting."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]

ELEMENTS = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False, width=64)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
REDUCTIONS = st.sampled_from(["mean", "sum"])


@st.composite
def pred_target(draw: st.DrawFn) -> tuple[Array, Array]:
    shape = draw(SHAPES)
    return (
        draw(hnp.arrays(np.float64, shape, elements=ELEMENTS)),
        draw(hnp.arrays(np.float64, shape, elements=ELEMENTS)),
    )


def formula(p: Array, t: Array, reduction: str) -> float:
    """sum((p - t)^2), divided by the number of elements for "mean", summed exactly."""
    total = math.fsum(float(d) ** 2 for d in (p - t).ravel())
    return total / p.size if reduction == "mean" else total


@given(pred_target(), REDUCTIONS)
def test_value_and_gradient_match_the_formula(case: tuple[Array, Array], reduction: Any) -> None:
    p, t = case
    loss_fn = mg.MSELoss(reduction=reduction)
    value = loss_fn(p, t)
    assert isinstance(value, float)
    assert value == pytest.approx(formula(p, t, reduction), rel=1e-12, abs=1e-300)
    grad = loss_fn.backward()
    assert grad.shape == p.shape and grad.dtype == np.float64
    scale = 2.0 / p.size if reduction == "mean" else 2.0
    np.testing.assert_allclose(grad, scale * (p - t), rtol=1e-15, atol=0)


@given(pred_target(), REDUCTIONS)
def test_gradient_matches_central_differences(case: tuple[Array, Array], reduction: Any) -> None:
    """The loss is quadratic in each entry, so central differences are exact up to rounding."""
    p, t = case
    p = p.copy()
    loss_fn = mg.MSELoss(reduction=reduction)
    loss_fn(p, t)
    grad = loss_fn.backward().copy()
    h = 1e-3
    for idx in np.ndindex(p.shape):
        old = p[idx]
        p[idx] = old + h
        up = mg.MSELoss(reduction=reduction)(p, t)
        p[idx] = old - h
        down = mg.MSELoss(reduction=reduction)(p, t)
        p[idx] = old
        numeric = (up - down) / (2 * h)
        # Rounding: ~100 ulps of the loss over 2h, plus the rounding of old +- h itself.
        tol = 1e-14 * max(1.0, abs(up)) / h + 1e-8 * abs(grad[idx])
        assert abs(grad[idx] - numeric) <= tol, (
            f"pred{list(idx)}: analytic {grad[idx]!r}, numeric {numeric!r}, "
            f"relative error {abs(grad[idx] - numeric) / max(1.0, abs(numeric)):.3g}"
        )


def test_mean_is_sum_divided_by_count() -> None:
    p = np.array([[1.0, 2.0], [3.0, 5.0]])
    t = np.array([[0.0, 0.0], [3.0, 1.0]])
    assert mg.MSELoss(reduction="sum")(p, t) == 1.0 + 4.0 + 0.0 + 16.0
    assert mg.MSELoss()(p, t) == 21.0 / 4


def test_the_seeds_error() -> None:
    loss_fn = mg.MSELoss()
    assert loss_fn(np.array([[500_000.0]]), np.array([[99_750_000.0]])) == 9850562500000000.0
    assert loss_fn.backward()[0, 0] == -198500000.0


def test_backward_is_for_the_last_forward() -> None:
    loss_fn = mg.MSELoss()
    loss_fn(np.array([[1.0]]), np.array([[0.0]]))
    loss_fn(np.array([[3.0, 1.0]]), np.array([[0.0, 0.0]]))
    np.testing.assert_array_equal(loss_fn.backward(), [[3.0, 1.0]])


def test_backward_before_forward_raises() -> None:
    with pytest.raises(RuntimeError):
        mg.MSELoss().backward()


def test_does_not_modify_its_arguments() -> None:
    p = np.array([[1.0, 2.0]])
    t = np.array([[0.5, 0.5]])
    p0, t0 = p.copy(), t.copy()
    loss_fn = mg.MSELoss()
    loss_fn(p, t)
    g = loss_fn.backward()
    g *= 100  # the caller owns the returned gradient
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(t, t0)


@pytest.mark.parametrize(
    ("pred_shape", "target_shape"),
    [((4, 1), (4,)), ((4,), (4, 1)), ((1, 4), (4, 1)), ((3, 2), (3, 1)), ((3, 2), (2,)), ((2, 2), (1, 2))],
)
def test_never_broadcasts(pred_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> None:
    """(N, 1) against (N,) would silently be an (N, N) matrix in NumPy; it must be an error naming both."""
    with pytest.raises(ValueError) as info:
        mg.MSELoss()(np.zeros(pred_shape), np.ones(target_shape))
    assert str(pred_shape) in str(info.value) and str(target_shape) in str(info.value)


def test_empty_prediction_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        mg.MSELoss()(np.zeros((0, 1)), np.zeros((0, 1)))


def test_invalid_reduction_raises() -> None:
    with pytest.raises(ValueError, match="reduction"):
        mg.MSELoss(reduction="none")  # type: ignore[arg-type]


def test_float32_kept() -> None:
    loss_fn = mg.MSELoss()
    p = np.array([[1.5, -2.0]], dtype=np.float32)
    value = loss_fn(p, np.zeros((1, 2)))
    assert value == (1.5**2 + 2.0**2) / 2
    assert loss_fn.backward().dtype == np.float32


def test_lists_are_accepted() -> None:
    loss_fn = mg.MSELoss(reduction="sum")
    assert loss_fn([[1, 2]], [[0, 0]]) == 5.0
    np.testing.assert_array_equal(loss_fn.backward(), [[2.0, 4.0]])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_matches_torch(reduction: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p = rng.normal(size=(7, 3))
    t = rng.normal(size=(7, 3))
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.MSELoss(reduction=reduction)(tp, torch.tensor(t))
    tl.backward()
    loss_fn = mg.MSELoss(reduction=reduction)  # type: ignore[arg-type]
    assert loss_fn(p, t) == pytest.approx(tl.item(), rel=1e-14)
    np.testing.assert_allclose(loss_fn.backward(), tp.grad.numpy(), rtol=1e-14)
