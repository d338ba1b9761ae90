"""Initialisers: torch's gains and fans, the exact draws from a seed, in place, dtype kept."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import init


@pytest.mark.parametrize(
    ("nonlinearity", "param", "gain"),
    [
        ("linear", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / 1.04)),
        ("leaky_relu", 0, math.sqrt(2)),
        ("selu", None, 0.75),
    ],
)
def test_gains_are_torchs(nonlinearity: Any, param: float | None, gain: float) -> None:
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_unknown_nonlinearity_raises() -> None:
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("softplus")  # type: ignore[arg-type]


# Each case: the function, its keyword arguments, and the distribution it must draw from,
# written out from torch's formula (fan_in = 6, fan_out = 4 for a (4, 6) weight).
FAN_IN, FAN_OUT = 6, 4
CASES: list[tuple[Callable[..., Any], dict[str, Any], str, float]] = [
    (init.xavier_uniform_, {}, "uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_uniform_, {"gain": 2.0}, "uniform", 2 * math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (init.xavier_normal_, {}, "normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.xavier_normal_, {"gain": 5 / 3}, "normal", 5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (init.kaiming_uniform_, {}, "uniform", math.sqrt(2) * math.sqrt(3 / FAN_IN)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, "uniform", 1 / math.sqrt(FAN_IN)),  # torch's Linear default
    (init.kaiming_uniform_, {"mode": "fan_out", "nonlinearity": "relu"}, "uniform", math.sqrt(6 / FAN_OUT)),
    (init.kaiming_normal_, {}, "normal", math.sqrt(2 / FAN_IN)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "tanh"}, "normal", 5 / 3 / math.sqrt(FAN_OUT)),
    (init.kaiming_normal_, {"nonlinearity": "linear"}, "normal", 1 / math.sqrt(FAN_IN)),
]


@pytest.mark.parametrize(("fn", "kwargs", "kind", "scale"), CASES)
def test_draws_exactly_the_formula_from_the_seed(
    fn: Callable[..., Any], kwargs: dict[str, Any], kind: str, scale: float
) -> None:
    w = np.zeros((FAN_OUT, FAN_IN))
    out = fn(w, rng=7, **kwargs)
    assert out is w
    ref = np.random.default_rng(7)
    expected = ref.uniform(-scale, scale, size=w.shape) if kind == "uniform" else ref.normal(0.0, scale, size=w.shape)
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize(("fn", "kwargs", "kind", "scale"), CASES[::3])
def test_statistics_of_a_large_draw(fn: Callable[..., Any], kwargs: dict[str, Any], kind: str, scale: float) -> None:
    # A (400, 600) weight has other fans; rescale the expected spread to them.
    w = np.zeros((400, 600))
    fn(w, rng=0, **kwargs)
    ratio_in, ratio_out, ratio_sum = math.sqrt(FAN_IN / 600), math.sqrt(FAN_OUT / 400), math.sqrt(10 / 1000)
    mode = kwargs.get("mode", "fan_in")
    ratio = ratio_sum if "xavier" in fn.__name__ else (ratio_in if mode == "fan_in" else ratio_out)
    std = scale * ratio / (math.sqrt(3) if kind == "uniform" else 1)
    assert abs(w.mean()) < 5 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)
    if kind == "uniform":
        assert np.abs(w).max() <= scale * ratio and np.abs(w).max() > 0.999 * scale * ratio


def test_fans_count_the_receptive_field() -> None:
    w = np.zeros((8, 3, 2, 5))  # fan_in = 3*10, fan_out = 8*10
    init.xavier_uniform_(w, rng=0)
    bound = math.sqrt(6 / (30 + 80))
    expected = np.random.default_rng(0).uniform(-bound, bound, size=w.shape)
    np.testing.assert_allclose(w, expected, rtol=1e-14, atol=1e-15)  # atol: -a + 2a u cancels near 0
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fn(np.zeros(3), rng=0)


def test_parameters_are_filled_in_place_and_dtypes_kept() -> None:
    layer = mg.Linear(6, 4, rng=0)
    data = layer.weight.data
    assert init.kaiming_uniform_(layer.weight, rng=3) is layer.weight
    assert layer.weight.data is data
    w32 = np.zeros((4, 6), dtype=np.float32)
    init.kaiming_uniform_(w32, rng=3)
    assert w32.dtype == np.float32
    np.testing.assert_array_equal(w32, data.astype(np.float32))


def test_same_seed_same_values_and_a_generator_advances() -> None:
    a, b = np.zeros((3, 3)), np.zeros((3, 3))
    init.xavier_normal_(a, rng=1)
    init.xavier_normal_(b, rng=1)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(1)
    init.xavier_normal_(a, rng=gen)
    init.xavier_normal_(b, rng=gen)
    assert not np.array_equal(a, b)


def test_bad_arguments_raise() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        init.xavier_uniform_(np.zeros((2, 2), dtype=int), rng=0)
    with pytest.raises(TypeError, match="Parameter or an array"):
        init.xavier_uniform_([[0.0]], rng=0)  # type: ignore[type-var]
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(np.zeros((2, 2)), mode="fan_avg", rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gain"):
        init.xavier_normal_(np.zeros((2, 2)), gain=-1.0, rng=0)
    with pytest.raises(TypeError, match="rng"):
        init.xavier_normal_(np.zeros((2, 2)), rng=1.5)  # type: ignore[arg-type]


def test_empty_weights_are_left_alone() -> None:
    w = np.zeros((0, 3))
    for fn in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_):
        assert fn(w, rng=0) is w
