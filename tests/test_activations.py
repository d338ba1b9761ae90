"""Activations: forward against the formulas, backward against finite differences, stability, conventions."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]

ACTIVATIONS: list[Callable[[], mg.Module]] = [mg.ReLU, mg.LeakyReLU, lambda: mg.LeakyReLU(0.2), mg.Tanh, mg.Sigmoid]


def reference(act: mg.Module, x: Array) -> Array:
    """The forward pass, element by element with the math module."""
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape):
        v = float(x[idx])
        if isinstance(act, mg.ReLU):
            out[idx] = v if v > 0 else 0.0
        elif isinstance(act, mg.LeakyReLU):
            out[idx] = v if v > 0 else act.negative_slope * v
        elif isinstance(act, mg.Tanh):
            out[idx] = math.tanh(v)
        else:
            out[idx] = 1 / (1 + math.exp(-v))
    return out


# Inputs at least 0.01 away from the kink at 0, so that x ± h stays on one side.
AWAY_FROM_ZERO = st.floats(0.01, 4.0).flatmap(lambda m: st.sampled_from([m, -m]))
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


@pytest.mark.parametrize("make", ACTIVATIONS)
@given(data=st.data())
def test_forward_matches_the_formula_and_backward_matches_finite_differences(
    make: Callable[[], mg.Module], data: st.DataObject
) -> None:
    act = make()
    shape = data.draw(shapes)
    x = data.draw(hnp.arrays(np.float64, shape, elements=AWAY_FROM_ZERO))
    g = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2)))
    x_before = x.copy()
    np.testing.assert_allclose(act(x), reference(act, x), rtol=1e-14, atol=1e-300)
    analytic = act.backward(g, need_input_grad=True)
    assert analytic is not None
    numeric = central_difference(lambda: float(np.sum(g * act(x))), x)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert mg.gradcheck(act, x, grad_output=g)
    np.testing.assert_array_equal(x, x_before)


def test_relu_gradient_at_zero_is_zero_and_leaky_relu_gradient_is_the_slope() -> None:
    x = np.array([-1.0, 0.0, 1.0])
    relu, leaky = mg.ReLU(), mg.LeakyReLU(negative_slope=0.3)
    relu(x)
    leaky(x)
    np.testing.assert_array_equal(relu.backward(np.ones(3), need_input_grad=True), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(leaky.backward(np.ones(3), need_input_grad=True), [0.3, 0.3, 1.0])


def test_relu_propagates_nan_and_blocks_gradients_of_negative_inputs() -> None:
    relu = mg.ReLU()
    out = relu(np.array([np.nan, -np.inf, 2.0]))
    assert np.isnan(out[0]) and out[1] == 0 and out[2] == 2
    np.testing.assert_array_equal(relu.backward(np.array([1.0, np.inf, 1.0]), need_input_grad=True), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_are_stable_at_plus_minus_1000(dtype: type) -> None:
    x: NDArray[Any] = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        for act in (mg.Sigmoid(), mg.Tanh()):
            y = act(x)
            g = act.backward(np.ones_like(x), need_input_grad=True)
            assert y.dtype == dtype and g is not None and g.dtype == dtype
            assert np.isfinite(y).all() and np.isfinite(g).all()
    s = mg.Sigmoid()
    y = s(x)
    assert y[0] == 0.0 and y[2] == 0.5 and y[-1] == 1.0
    assert 0 < float(s(np.array([-700.0]))[0]) < 1e-300  # the tiny tail is kept, not rounded to 0


def test_sigmoid_is_symmetric() -> None:
    x = np.linspace(-40, 40, 161)
    s = mg.Sigmoid()
    np.testing.assert_allclose(s(x) + s(-x), 1.0, rtol=0, atol=1e-15)


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_backward_checks_its_argument(make: Callable[[], mg.Module]) -> None:
    act = make()
    with pytest.raises(RuntimeError, match="before forward"):
        act.backward(np.ones(2))
    act(np.ones((2, 3)))
    with pytest.raises(ValueError, match="expected"):
        act.backward(np.ones((3, 2)))
    assert act.backward(np.ones((2, 3)), need_input_grad=False) is None
    assert act.parameters() == []


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_float32_stays_float32_and_lists_become_float64(make: Callable[[], mg.Module]) -> None:
    act = make()
    assert act(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert act([1, -2, 3]).dtype == np.float64


def test_leaky_relu_validates_its_slope() -> None:
    with pytest.raises(ValueError, match="finite"):
        mg.LeakyReLU(float("nan"))
    with pytest.raises(TypeError):
        mg.LeakyReLU("0.1")  # type: ignore[arg-type]
    assert repr(mg.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_relu_backward_equals_where_bit_for_bit_signs_and_non_finite_included() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 33))
    x[0, :4] = [0.0, -0.0, np.nan, -np.inf]
    g = rng.normal(size=(64, 33))
    g[1, :6] = [np.inf, -np.inf, np.nan, -0.0, 0.0, -1.0]
    g[5, 7] = 1e308
    g[5, 8] = 1e308  # a finite g whose sum overflows
    relu = mg.ReLU()
    relu(x)
    got = relu.backward(g, need_input_grad=True)
    expected = np.where(x > 0, g, 0)
    assert got is not None
    np.testing.assert_array_equal(got, expected)
    assert not np.signbit(got[x <= 0]).any()  # +0.0 where the input was not positive, as np.where gives
