"""Optimizer.load_state_dict refuses every malformed state and then leaves the optimizer exactly as it was."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg


def trained_sgd() -> tuple[mg.SGD, mg.Linear]:
    model = mg.Linear(3, 2, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        for p in model.parameters():
            p.grad[...] = 1.0
        opt.step()
    return opt, model


def snapshot(opt: mg.Optimizer) -> dict[str, Any]:
    return opt.state_dict()


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["hyperparameters"] == b["hyperparameters"]
    assert len(a["state"]) == len(b["state"])
    for sa, sb in zip(a["state"], b["state"], strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def bad_states(good: dict[str, Any]) -> list[tuple[dict[str, Any], type[Exception], str]]:
    hyper, state = good["hyperparameters"], good["state"]
    return [
        ({"hyperparameters": hyper}, KeyError, "needs keys"),
        ({**good, "extra": 1}, KeyError, "needs keys"),
        ({"hyperparameters": {k: v for k, v in hyper.items() if k != "momentum"}, "state": state}, KeyError, "hyper"),
        ({"hyperparameters": {**hyper, "betas": (0.9, 0.99)}, "state": state}, KeyError, "hyper"),
        ({"hyperparameters": hyper, "state": state[:1]}, ValueError, "state for 1 parameters"),
        (
            {"hyperparameters": hyper, "state": [{"momentum_buffer": np.zeros((3, 2))}, state[1]]},
            ValueError,
            "has shape",
        ),
        ({"hyperparameters": {**hyper, "lr": -1.0}, "state": state}, ValueError, "Invalid learning rate"),
        ({"hyperparameters": {**hyper, "momentum": float("nan")}, "state": state}, ValueError, "momentum"),
    ]


@pytest.mark.parametrize("case", range(8))
def test_bad_state_is_refused_and_changes_nothing(case: int) -> None:
    opt, _ = trained_sgd()
    before = snapshot(opt)
    state, error, message = bad_states(before)[case]
    with pytest.raises(error, match=message):
        opt.load_state_dict(state)
    assert_same(snapshot(opt), before)
    assert opt.lr == 0.1 and opt.momentum == 0.9


def test_good_state_round_trips_and_is_copied() -> None:
    opt, model = trained_sgd()
    saved = opt.state_dict()
    other = mg.SGD(model.parameters(), lr=0.5)
    other.load_state_dict(saved)
    assert_same(other.state_dict(), saved)
    assert other.momentum == 0.9
    buf = other.state[0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray)
    buf += 1.0  # the loaded buffer is the optimizer's own copy
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buf - 1.0)


def test_state_arrays_take_the_parameter_dtype() -> None:
    model = mg.Linear(2, 1, dtype=np.float32, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.5)
    state = {
        "hyperparameters": opt.state_dict()["hyperparameters"],
        "state": [{"momentum_buffer": np.ones((1, 2))}, {"momentum_buffer": np.ones(1)}],
    }
    opt.load_state_dict(state)
    buf = opt.state[0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf.dtype == np.float32


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"step": 1.5, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}, "'step' must be an int"),
        ({"step": True, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}, "'step' must be an int"),
        ({"step": 1, "exp_avg": None, "exp_avg_sq": np.zeros(2)}, "buffer must be an array"),
        ({"step": 1, "exp_avg": np.zeros(2), "exp_avg_sq": 0.0}, "buffer must be an array"),
    ],
)
def test_adam_refuses_damaged_state_at_the_next_step(state: dict[str, Any], message: str) -> None:
    p = mg.Parameter(np.array([1.0, 2.0]))
    opt = mg.Adam([p], lr=0.1)
    opt.state[0] = dict(state)
    with pytest.raises(TypeError, match=message):
        opt.step()


def test_parameter_repr_names_shape_and_dtype() -> None:
    assert repr(mg.Parameter(np.zeros((2, 3), dtype=np.float32))) == "Parameter(shape=(2, 3), dtype=float32)"
