"""StepLR and ExponentialLR against reference loops of torch's schedules; state and validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.optim import lr_scheduler


def sgd(lr: float = 0.1) -> mg.SGD:
    return mg.SGD([mg.Parameter(np.zeros(1))], lr=lr)


def reference_step(lr0: float, step_size: int, gamma: float, epochs: int) -> list[float]:
    """torch's chainable StepLR: multiply by gamma whenever the epoch is a multiple of step_size."""
    lrs, lr = [], lr0
    for epoch in range(1, epochs + 1):
        if epoch % step_size == 0:
            lr = lr * gamma
        lrs.append(lr)
    return lrs


def reference_exponential(lr0: float, gamma: float, epochs: int) -> list[float]:
    lrs, lr = [], lr0
    for _ in range(epochs):
        lr = lr * gamma
        lrs.append(lr)
    return lrs


@given(lr0=st.floats(1e-5, 1.0), step_size=st.integers(1, 5), gamma=st.floats(0.01, 2.0), epochs=st.integers(1, 20))
def test_step_lr_matches_the_reference_and_the_closed_form(
    lr0: float, step_size: int, gamma: float, epochs: int
) -> None:
    opt = sgd(lr0)
    scheduler = mg.optim.StepLR(opt, step_size=step_size, gamma=gamma)
    assert scheduler.get_last_lr() == [lr0] and scheduler.last_epoch == 0
    lrs = []
    for _ in range(epochs):
        scheduler.step()
        lrs.append(opt.lr)
        assert scheduler.get_last_lr() == [opt.lr]
    assert lrs == reference_step(lr0, step_size, gamma, epochs)
    closed = [lr0 * gamma ** (e // step_size) for e in range(1, epochs + 1)]
    np.testing.assert_allclose(lrs, closed, rtol=1e-13)


@given(lr0=st.floats(1e-5, 1.0), gamma=st.floats(0.01, 2.0), epochs=st.integers(1, 20))
def test_exponential_lr_matches_the_reference_and_the_closed_form(lr0: float, gamma: float, epochs: int) -> None:
    opt = mg.Adam([mg.Parameter(np.zeros(1))], lr=lr0)
    scheduler = mg.optim.ExponentialLR(opt, gamma=gamma)
    lrs = []
    for _ in range(epochs):
        scheduler.step()
        lrs.append(opt.lr)
    assert lrs == reference_exponential(lr0, gamma, epochs)
    np.testing.assert_allclose(lrs, [lr0 * gamma**e for e in range(1, epochs + 1)], rtol=1e-13)


def test_step_lr_example_values() -> None:
    opt = sgd(0.1)
    scheduler = lr_scheduler.StepLR(opt, step_size=3)
    seen = []
    for _ in range(7):
        scheduler.step()
        seen.append(opt.lr)
    assert seen == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001], rel=1e-15)


def test_schedules_are_chainable_like_torchs() -> None:
    opt = sgd(1.0)
    scheduler = mg.optim.ExponentialLR(opt, gamma=0.5)
    scheduler.step()
    opt.lr = 4.0  # changed by hand: the schedule goes on from the new value
    scheduler.step()
    assert opt.lr == 2.0 and scheduler.get_last_lr() == [2.0]


def test_state_dict_resumes_exactly_and_does_not_touch_the_optimizer() -> None:
    opt_a = sgd(0.3)
    a = mg.optim.StepLR(opt_a, step_size=2, gamma=0.7)
    for _ in range(5):
        a.step()
    state = a.state_dict()
    assert state == {"step_size": 2, "gamma": 0.7, "base_lr": 0.3, "last_epoch": 5, "last_lr": opt_a.lr}
    opt_b = sgd(opt_a.lr)  # the optimizer's lr comes back with the optimizer's own state_dict
    b = mg.optim.StepLR(opt_b, step_size=9, gamma=0.1)
    b.load_state_dict(state)
    assert opt_b.lr == opt_a.lr
    for _ in range(6):
        a.step()
        b.step()
        assert opt_a.lr == opt_b.lr and a.get_last_lr() == b.get_last_lr()
    assert b.last_epoch == 11 and b.step_size == 2 and b.gamma == 0.7


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"gamma": -1.0}, ValueError),
        ({"step_size": 0}, ValueError),
        ({"last_epoch": -2}, ValueError),
        ({"last_epoch": 10**400}, ValueError),  # (it overflowed in the next step's gamma ** epochs)
        ({"last_epoch": 1.0}, ValueError),
        ({"base_lr": 10**400}, ValueError),
        ({"gamma": 10**400}, ValueError),
        ({"last_lr": float("nan")}, ValueError),
        ({"extra": 1}, KeyError),
    ],
)
def test_load_state_dict_is_all_or_nothing(change: dict[str, Any], error: type[Exception]) -> None:
    scheduler = mg.optim.StepLR(sgd(), step_size=2)
    good = mg.optim.StepLR(sgd(), step_size=5, gamma=0.5).state_dict()
    before = scheduler.state_dict()
    with pytest.raises(error):
        scheduler.load_state_dict({**good, **change})
    assert scheduler.state_dict() == before
    with pytest.raises(KeyError):
        scheduler.load_state_dict({k: v for k, v in good.items() if k != "gamma"})
    with pytest.raises(KeyError):
        mg.optim.ExponentialLR(sgd(), gamma=0.5).load_state_dict(good)


@pytest.mark.parametrize("step_size", [0, -1, 1.5, True, "2"])
def test_step_size_must_be_a_positive_integer(step_size: Any) -> None:
    with pytest.raises(ValueError, match="step_size"):
        mg.optim.StepLR(sgd(), step_size=step_size)


@pytest.mark.parametrize("gamma", [0.0, -0.5, float("nan"), float("inf")])
def test_gamma_must_be_positive_and_finite(gamma: float) -> None:
    with pytest.raises(ValueError, match="gamma"):
        mg.optim.ExponentialLR(sgd(), gamma=gamma)
    with pytest.raises(ValueError, match="gamma"):
        mg.optim.StepLR(sgd(), step_size=1, gamma=gamma)


def test_needs_a_minigrad_optimizer() -> None:
    with pytest.raises(TypeError, match="Optimizer"):
        mg.optim.ExponentialLR(object(), gamma=0.5)  # type: ignore[arg-type]
    assert "last_epoch=0" in repr(mg.optim.StepLR(sgd(), step_size=3))
    assert issubclass(mg.optim.StepLR, mg.optim.LRScheduler)
    assert mg.optim.lr_scheduler.ExponentialLR is mg.optim.ExponentialLR
