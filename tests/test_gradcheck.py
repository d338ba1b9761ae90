"""gradcheck: passes correct layers, names the broken gradient, leaves the module as it found it."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import ArrayLike, NDArray

import minigrad as mg


class ScaledLinear(mg.Linear):
    """A Linear whose backward is wrong in one chosen place (for the checker to find)."""

    def __init__(self, *args: Any, broken: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broken = broken

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        x = self._input
        assert x is not None
        weight_grad = grad_output.T @ x
        if self.broken == "weight":
            weight_grad[0, 1] *= 1.01  # one entry off by 1 %
        self.weight.grad += weight_grad
        if self.bias is not None:
            self.bias.grad += grad_output.sum(axis=0) * (-1 if self.broken == "bias" else 1)
        dx: NDArray[Any] = grad_output @ self.weight.data
        return dx.T.copy() if self.broken == "input_transposed" else dx * (2 if self.broken == "input" else 1)


@given(
    n=st.integers(1, 3),
    sizes=st.lists(st.integers(1, 3), min_size=2, max_size=3),
    seed=st.integers(0, 1000),
    act=st.sampled_from([mg.Tanh, mg.Sigmoid, lambda: mg.LeakyReLU(0.1)]),
)
def test_correct_models_pass(n: int, sizes: list[int], seed: int, act: Any) -> None:
    layers: list[mg.Module] = []
    for i, (fin, fout) in enumerate(itertools.pairwise(sizes)):
        layers += [mg.Linear(fin, fout, bias=bool(i % 2 == 0), rng=seed + i), act()]
    x = np.random.default_rng(seed).uniform(0.1, 1.0, size=(n, sizes[0])) * np.sign(seed % 3 - 1 or 1)
    assert mg.gradcheck(mg.Sequential(*layers), x, rng=seed)


@pytest.mark.parametrize(
    ("broken", "name", "index"),
    [("weight", "0.weight", (0, 1)), ("bias", "0.bias", None), ("input", "input", None)],
)
def test_a_wrong_gradient_is_named_with_index_values_and_relative_error(
    broken: str, name: str, index: tuple[int, ...] | None
) -> None:
    model = mg.Sequential(ScaledLinear(3, 2, rng=0, broken=broken), mg.Tanh())
    x = np.random.default_rng(1).normal(size=(4, 3))
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(model, x, rng=0)
    err = info.value
    assert err.name == name
    if index is not None:
        assert err.index == index
    message = str(err)
    assert f"{name!r}" in message and f"index {err.index}" in message
    assert repr(err.analytic) in message and repr(err.numerical) in message and "relative error" in message
    assert err.analytic != pytest.approx(err.numerical, rel=1e-4)
    assert mg.gradcheck(model, x, raise_exception=False, rng=0) is False


def test_a_wrongly_shaped_input_gradient_is_an_error() -> None:
    model = ScaledLinear(3, 3, rng=0, broken="input_transposed")
    with pytest.raises(ValueError, match="shape"):
        mg.gradcheck(model, np.ones((2, 3)))


def test_a_small_error_within_tolerance_passes_and_a_tight_tolerance_catches_it() -> None:
    model = ScaledLinear(3, 2, rng=0, broken="weight")
    x = np.random.default_rng(1).normal(size=(4, 3))
    assert mg.gradcheck(model, x, rtol=0.05, rng=0)
    assert not mg.gradcheck(model, x, raise_exception=False, rng=0)


def test_the_module_and_the_input_are_left_as_they_were() -> None:
    model = mg.Sequential(mg.Linear(3, 4, rng=0), mg.Sigmoid(), mg.Linear(4, 2, rng=1))
    x = np.random.default_rng(0).normal(size=(5, 3))
    x0 = x.copy()
    data = [p.data.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad[...] = 7.0  # gradients accumulated by the caller survive the check
    assert mg.gradcheck(model, x, rng=0)
    np.testing.assert_array_equal(x, x0)
    for p, d in zip(model.parameters(), data, strict=True):
        np.testing.assert_array_equal(p.data, d)
        np.testing.assert_array_equal(p.grad, 7.0)


def test_grad_output_is_used_when_given() -> None:
    """With G zero in one column, a wrong gradient flowing only through that column goes unseen."""

    class Broken(mg.Module):
        def forward(self, x: ArrayLike) -> NDArray[Any]:
            self.x: NDArray[Any] = np.asarray(x, dtype=float)
            out: NDArray[Any] = self.x * np.array([1.0, 3.0])
            return out

        def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
            grad: NDArray[Any] = grad_output * np.array([1.0, 0.0])  # the second column is wrong
            return grad

    x = np.ones((2, 2))
    assert mg.gradcheck(Broken(), x, grad_output=np.array([[1.0, 0.0], [2.0, 0.0]]))
    assert not mg.gradcheck(Broken(), x, raise_exception=False, rng=0)
    with pytest.raises(ValueError, match="grad_output has shape"):
        mg.gradcheck(Broken(), x, grad_output=np.ones(2))


def test_refuses_float32_and_bad_settings() -> None:
    with pytest.raises(ValueError, match="float64"):
        mg.gradcheck(mg.Linear(2, 2, dtype=np.float32, rng=0), np.ones((1, 2)))
    with pytest.raises(ValueError, match="eps"):
        mg.gradcheck(mg.Linear(2, 2, rng=0), np.ones((1, 2)), eps=0.0)
    with pytest.raises(ValueError, match="atol"):
        mg.gradcheck(mg.Linear(2, 2, rng=0), np.ones((1, 2)), atol=-1.0)


def test_nan_gradients_fail() -> None:
    class NanGrad(mg.Module):
        def forward(self, x: ArrayLike) -> NDArray[Any]:
            return np.asarray(x, dtype=float) * 2

        def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
            return grad_output * np.nan

    assert not mg.gradcheck(NanGrad(), np.ones(3), raise_exception=False, rng=0)
