"""L1, Huber, BCEWithLogits and CrossEntropy: values against naive formulas, gradients against finite differences."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import ArrayLike, NDArray

import minigrad as mg

Array = NDArray[np.float64]
REDUCTIONS = ["mean", "sum"]


# -- independent references: one element at a time, with the math module -----------------------


def l1_ref(p: float, t: float, _: float) -> float:
    return abs(p - t)


def huber_ref(p: float, t: float, delta: float) -> float:
    d = abs(p - t)
    return 0.5 * d * d if d < delta else delta * (d - 0.5 * delta)


def bce_ref(x: float, y: float, _: float) -> float:
    # -[y log σ(x) + (1 - y) log(1 - σ(x))], fine for the moderate logits used here
    s = 1 / (1 + math.exp(-x))
    return -(y * math.log(s) + (1 - y) * math.log(1 - s))


def reduce_ref(values: list[float], reduction: str, count: int) -> float:
    total = math.fsum(values)
    return total / count if reduction == "mean" else total


def elementwise_ref(
    f: Callable[[float, float, float], float], p: Array, t: Array, reduction: str, delta: float
) -> float:
    values = [f(float(a), float(b), delta) for a, b in zip(p.ravel(), t.ravel(), strict=True)]
    return reduce_ref(values, reduction, p.size)


def cross_entropy_ref(z: Array, y: NDArray[Any], reduction: str) -> float:
    values = []
    for row, cls in zip(z, y, strict=True):
        m = max(float(v) for v in row)
        lse = m + math.log(math.fsum(math.exp(float(v) - m) for v in row))
        values.append(lse - float(row[int(cls)]))
    return reduce_ref(values, reduction, z.shape[0])


class LossAsModule(mg.Module):
    """A loss with a fixed target seen as a module x -> [loss(x)], so that mg.gradcheck applies to it."""

    def __init__(self, loss: mg.Loss, target: ArrayLike) -> None:
        self.loss = loss
        self.target = target

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        return np.array([self.loss(x, self.target)])

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        return self.loss.backward() * float(grad_output[0])


shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
moderate = st.floats(-4.0, 4.0)


def check_gradient(loss: mg.Loss, p: Array, t: ArrayLike) -> None:
    loss(p, t)
    analytic = loss.backward()
    assert analytic.shape == p.shape
    q = p.copy()
    numeric = central_difference(lambda: loss(q, t), q)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert mg.gradcheck(LossAsModule(loss, t), p, grad_output=np.array([1.0]))


# -- elementwise losses -------------------------------------------------------------------------


def away_from_kinks(p: Array, t: Array, kinks: list[float]) -> bool:
    d = np.abs(p - t)
    return all(bool((np.abs(d - k) > 1e-3).all()) for k in kinks)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_l1_value_and_gradient(reduction: str, data: st.DataObject) -> None:
    shape = data.draw(shapes)
    p = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    t = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    loss = mg.L1Loss(reduction=reduction)  # type: ignore[arg-type]
    assert loss(p, t) == pytest.approx(elementwise_ref(l1_ref, p, t, reduction, 0.0), rel=1e-13, abs=1e-300)
    if away_from_kinks(p, t, [0.0]):
        check_gradient(loss, p, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data(), delta=st.sampled_from([0.5, 1.0, 2.5]))
def test_huber_value_and_gradient(reduction: str, data: st.DataObject, delta: float) -> None:
    shape = data.draw(shapes)
    p = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    t = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    loss = mg.HuberLoss(reduction=reduction, delta=delta)  # type: ignore[arg-type]
    assert loss(p, t) == pytest.approx(elementwise_ref(huber_ref, p, t, reduction, delta), rel=1e-13, abs=1e-300)
    check_gradient(loss, p, t)  # the Huber loss has a continuous gradient everywhere


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=st.data())
def test_bce_with_logits_value_and_gradient(reduction: str, data: st.DataObject) -> None:
    shape = data.draw(shapes)
    x = data.draw(hnp.arrays(np.float64, shape, elements=moderate))
    y = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0)))
    loss = mg.BCEWithLogitsLoss(reduction=reduction)  # type: ignore[arg-type]
    assert loss(x, y) == pytest.approx(elementwise_ref(bce_ref, x, y, reduction, 0.0), rel=1e-12)
    check_gradient(loss, x, y)


def test_l1_gradient_at_zero_is_zero() -> None:
    loss = mg.L1Loss(reduction="sum")
    loss(np.array([1.0, 2.0, 3.0]), np.array([0.0, 2.0, 4.0]))
    np.testing.assert_array_equal(loss.backward(), [1.0, 0.0, -1.0])


def test_huber_pieces_meet_at_delta_and_match_mse_and_l1_far_apart() -> None:
    delta = 2.0
    loss = mg.HuberLoss(reduction="sum", delta=delta)
    assert loss(np.array([delta]), np.array([0.0])) == 0.5 * delta**2
    np.testing.assert_array_equal(loss.backward(), [delta])
    assert loss(np.array([0.5]), np.array([0.0])) == 0.125  # quadratic inside
    assert loss(np.array([-10.0]), np.array([0.0])) == delta * (10 - delta / 2)  # linear outside
    np.testing.assert_array_equal(loss.backward(), [-delta])
    with pytest.raises(ValueError, match="delta"):
        mg.HuberLoss(delta=0.0)
    with pytest.raises(ValueError, match="delta"):
        mg.HuberLoss(delta=float("inf"))
    assert repr(mg.HuberLoss(delta=0.5)) == "HuberLoss(reduction='mean', delta=0.5)"


@contextlib.contextmanager
def no_warnings() -> Iterator[None]:
    """Turn every warning and every floating-point overflow/invalid/divide into an error."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_is_stable_at_plus_minus_1000(dtype: type) -> None:
    x: NDArray[Any] = np.array([-1000.0, -1000.0, 1000.0, 1000.0, 0.0], dtype=dtype)
    y: NDArray[Any] = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=dtype)
    loss = mg.BCEWithLogitsLoss(reduction="sum")
    with no_warnings():
        value = loss(x, y)
        grad = loss.backward()
    assert value == pytest.approx(2000 + math.log(2), rel=1e-6)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(grad, np.array([0.0, -1.0, 1.0, 0.0, 0.0], dtype=dtype))


def test_bce_with_logits_refuses_targets_outside_0_1() -> None:
    loss = mg.BCEWithLogitsLoss()
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            loss(np.zeros(3), np.array([0.0, bad, 1.0]))


@pytest.mark.parametrize("make", [mg.L1Loss, mg.HuberLoss, mg.BCEWithLogitsLoss])
def test_elementwise_losses_never_broadcast_and_keep_inputs(make: Callable[[], mg.Loss]) -> None:
    loss = make()
    with pytest.raises(ValueError, match="do not broadcast"):
        loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="empty"):
        loss(np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(RuntimeError, match="before"):
        make().backward()
    p = np.array([[0.3], [0.9]])
    t = np.array([[0.0], [1.0]])
    p0, t0 = p.copy(), t.copy()
    loss(p, t)
    loss.backward()
    np.testing.assert_array_equal(p, p0)
    np.testing.assert_array_equal(t, t0)
    assert isinstance(loss(p.astype(np.float32), t), float)
    assert loss.backward().dtype == np.float32
    assert not loss.class_targets


# -- cross-entropy ------------------------------------------------------------------------------


@st.composite
def ce_case(draw: st.DrawFn) -> tuple[Array, NDArray[np.int64]]:
    n = draw(st.integers(1, 5))
    c = draw(st.integers(1, 5))
    z = draw(hnp.arrays(np.float64, (n, c), elements=moderate))
    y = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return z, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(case=ce_case())
def test_cross_entropy_value_and_gradient(reduction: str, case: tuple[Array, NDArray[np.int64]]) -> None:
    z, y = case
    loss = mg.CrossEntropyLoss(reduction=reduction)  # type: ignore[arg-type]
    assert loss(z, y) == pytest.approx(cross_entropy_ref(z, y, reduction), rel=1e-12, abs=1e-15)
    # the gradient in closed form: softmax minus one-hot, divided by N for "mean"
    e = np.exp(z - z.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    expected[np.arange(len(y)), y] -= 1
    if reduction == "mean":
        expected /= len(y)
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-12, atol=1e-15)
    check_gradient(loss, z, y)


def test_cross_entropy_is_stable_for_logits_of_plus_minus_1000() -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, -1000.0]])
    y = np.array([1, 2, 0])
    loss = mg.CrossEntropyLoss(reduction="sum")
    with no_warnings():
        value = loss(z, y)
        grad = loss.backward()
    assert value == pytest.approx(2000 + math.log(3) + math.log(2), rel=1e-12)
    expected = np.array([[1.0, -1.0, 0.0], [1 / 3, 1 / 3, -2 / 3], [-0.5, 0.5, 0.0]])
    np.testing.assert_allclose(grad, expected, rtol=1e-15, atol=1e-300)
    z32 = z.astype(np.float32)
    assert math.isfinite(loss(z32, y)) and loss.backward().dtype == np.float32


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (np.array([0, 3]), r"in \[0, 2\], got 3 at index 1"),
        (np.array([-1, 0]), r"in \[0, 2\], got -1 at index 0"),
        (np.array([0.0, 1.5]), "whole numbers, got 1.5 at index 1"),
        (np.array([np.nan, 1.0]), "whole numbers"),
        (np.array([np.inf, 1.0]), "whole numbers"),
        (np.array([True, False]), "integers"),
        (np.array(["a", "b"]), "integers"),
        (np.array([[0], [1]]), r"shape \(2,\).*y.ravel\(\)"),
        (np.array([[1, 0, 0], [0, 1, 0]]), "one-hot"),
        (np.array([0, 1, 2]), r"shape \(2,\)"),
        (np.int64(1), r"shape \(2,\)"),
    ],
)
def test_cross_entropy_refuses_bad_targets(target: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mg.CrossEntropyLoss()(np.zeros((2, 3)), target)


def test_cross_entropy_accepts_whole_floats_and_every_integer_dtype() -> None:
    z = np.array([[0.5, -1.0, 2.0], [0.0, 0.1, 0.2]])
    loss = mg.CrossEntropyLoss()
    expected = loss(z, np.array([2, 0]))
    for target in ([2, 0], np.array([2.0, 0.0]), np.array([2, 0], dtype=np.uint8), np.array([2, 0], dtype=np.int32)):
        assert loss(z, target) == expected


def test_cross_entropy_checks_logits_and_says_it_takes_class_targets() -> None:
    loss = mg.CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        loss(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        loss(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(RuntimeError, match="before"):
        mg.CrossEntropyLoss().backward()
    assert loss.class_targets and not mg.MSELoss.class_targets
    z = np.array([[1.0, 2.0]])
    z0 = z.copy()
    loss(z, [1])
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(z, z0)


def test_a_single_class_costs_nothing() -> None:
    loss = mg.CrossEntropyLoss()
    assert loss(np.array([[3.0], [-7.0]]), np.array([0, 0])) == 0.0
    np.testing.assert_array_equal(loss.backward(), [[0.0], [0.0]])
