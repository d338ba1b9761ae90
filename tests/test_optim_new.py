"""RMSprop, Adagrad, CosineAnnealingLR, ReduceLROnPlateau and gradient clipping: rules, state and bad input.

The comparisons with torch, step by step, are in tests/test_torch_parity_optim.py.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg

OPTIMIZERS: list[tuple[str, Any]] = [
    ("rmsprop", lambda ps: mg.RMSprop(ps, lr=0.01)),
    ("rmsprop-all", lambda ps: mg.RMSprop(ps, lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.8, centered=True)),
    ("adagrad", lambda ps: mg.Adagrad(ps, lr=0.1)),
    ("adagrad-all", lambda ps: mg.Adagrad(ps, lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.3)),
]


def run(make: Any, steps: int, model: mg.Linear | None = None, opt: Any = None) -> tuple[mg.Linear, Any]:
    model = model or mg.Linear(3, 2, rng=0)
    opt = opt or make(model.parameters())
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for p in model.parameters():
            p.grad[...] = rng.normal(size=p.shape)
        opt.step()
    return model, opt


def test_rmsprop_rule_by_hand() -> None:
    p = mg.Parameter(np.array([1.0]))
    opt = mg.RMSprop([p], lr=0.1, alpha=0.5, eps=0.0, momentum=0.5, centered=True)
    v = avg = buf = 0.0
    theta = 1.0
    for g in [2.0, -1.0, 0.5]:
        p.grad[...] = g
        opt.step()
        v = 0.5 * v + 0.5 * g * g
        avg = 0.5 * avg + 0.5 * g
        buf = 0.5 * buf + g / math.sqrt(v - avg * avg)
        theta -= 0.1 * buf
        assert p.data[0] == pytest.approx(theta, rel=1e-14)
    assert set(opt.state[0]) == {"step", "square_avg", "momentum_buffer", "grad_avg"} and opt.state[0]["step"] == 3
    assert opt._required_state_keys() == {"step", "square_avg", "momentum_buffer", "grad_avg"}
    assert mg.RMSprop([p])._required_state_keys() == {"step", "square_avg"}


def test_adagrad_rule_by_hand() -> None:
    p = mg.Parameter(np.array([1.0]))
    opt = mg.Adagrad([p], lr=0.5, lr_decay=0.1, initial_accumulator_value=1.0, eps=0.0)
    s, theta = 1.0, 1.0
    for t, g in enumerate([2.0, -1.0, 0.5], start=1):
        p.grad[...] = g
        opt.step()
        s += g * g
        theta -= 0.5 / (1 + (t - 1) * 0.1) * g / math.sqrt(s)
        assert p.data[0] == pytest.approx(theta, rel=1e-14)
    assert set(opt.state[0]) == {"step", "sum"} and opt._state_spec == {"step": "count", "sum": "array"}


@pytest.mark.parametrize(("name", "make"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_state_dict_and_save_load_resume_exactly(name: str, make: Any, tmp_path: Path) -> None:
    straight, _ = run(make, 6)
    model, opt = run(make, 3)
    path = mg.save(model, tmp_path / "ckpt.npz", optimizer=opt)
    via_dict = make(mg.Linear(3, 2, rng=5).parameters())
    via_dict.load_state_dict(opt.state_dict())
    resumed_model = mg.Linear(3, 2, rng=7)
    resumed_opt = make(resumed_model.parameters())
    mg.load(resumed_model, path, optimizer=resumed_opt)
    assert resumed_opt.state_dict()["hyperparameters"] == opt.state_dict()["hyperparameters"]
    for restored in (resumed_opt, via_dict):
        for s_new, s_old in zip(restored.state, opt.state, strict=True):
            assert s_new.keys() == s_old.keys()
            for key in s_old:
                np.testing.assert_array_equal(s_new[key], s_old[key])
    # the last 3 of the 6 steps, with the gradients run() drew for them
    rng = np.random.default_rng(1)
    draws = [[rng.normal(size=p.shape) for p in model.parameters()] for _ in range(6)]
    for step in draws[3:]:
        for p, g in zip(resumed_model.parameters(), step, strict=True):
            p.grad[...] = g
        resumed_opt.step()
    for a, b in zip(resumed_model.parameters(), straight.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda ps: mg.RMSprop(ps, lr=-1), ValueError, "learning rate"),
        (lambda ps: mg.RMSprop(ps, alpha=-0.1), ValueError, "alpha"),
        (lambda ps: mg.RMSprop(ps, eps=float("nan")), ValueError, "epsilon"),
        (lambda ps: mg.RMSprop(ps, momentum=-1), ValueError, "momentum"),
        (lambda ps: mg.RMSprop(ps, weight_decay=-1), ValueError, "weight_decay"),
        (lambda ps: mg.RMSprop(ps, centered=1), TypeError, "centered"),
        (lambda ps: mg.Adagrad(ps, lr_decay=-1), ValueError, "lr_decay"),
        (lambda ps: mg.Adagrad(ps, initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
        (lambda ps: mg.Adagrad(ps, eps="x"), TypeError, "epsilon"),
    ],
)
def test_bad_hyperparameters(make: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make(mg.Linear(2, 1).parameters())


# -- schedules ---------------------------------------------------------------------------------------


def test_cosine_follows_the_closed_form_over_two_periods() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=0.5)
    sched = mg.optim.CosineAnnealingLR(opt, T_max=7, eta_min=0.01)
    assert sched.get_last_lr() == [0.5]
    for e in range(1, 29):
        sched.step()
        closed = 0.01 + (0.5 - 0.01) * (1 + math.cos(math.pi * e / 7)) / 2
        assert opt.lr == pytest.approx(closed, rel=1e-12, abs=1e-15)
        assert sched.get_last_lr() == [opt.lr]
    for bad in ({"T_max": 0}, {"T_max": 2.5}, {"T_max": 3, "eta_min": -1}):
        with pytest.raises(ValueError):
            mg.optim.CosineAnnealingLR(opt, **bad)  # type: ignore[arg-type]


def test_cosine_state_round_trip() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    a = mg.optim.CosineAnnealingLR(opt, T_max=5)
    for _ in range(3):
        a.step()
    opt_b = mg.SGD([mg.Parameter(np.zeros(1))], lr=opt.lr)
    b = mg.optim.CosineAnnealingLR(opt_b, T_max=9)
    b.load_state_dict(a.state_dict())
    assert b.T_max == 5 and b.base_lr == 1.0 and b.last_epoch == 3
    for _ in range(4):
        a.step(), b.step()
        assert opt.lr == opt_b.lr


def test_plateau_cuts_after_patience_with_cooldown_and_floor() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    sched = mg.optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    lrs = []
    for metric in [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.0]:
        sched.step(metric)
        lrs.append(opt.lr)
    assert lrs == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    assert sched.best == 3.0 and sched.get_last_lr() == [0.25]
    for _ in range(20):
        sched.step(10.0)
    assert opt.lr == 0.2  # the floor


def test_plateau_max_mode_abs_threshold_and_state() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    sched = mg.optim.ReduceLROnPlateau(opt, mode="max", threshold=0.1, threshold_mode="abs", patience=0)
    sched.step(0.5)
    sched.step(0.55)  # not better by 0.1
    assert opt.lr == pytest.approx(0.1) and sched.best == 0.5
    state = sched.state_dict()
    assert state["best"] == 0.5 and state["num_bad_epochs"] == 0
    other = mg.optim.ReduceLROnPlateau(mg.SGD([mg.Parameter(np.zeros(1))], lr=0.1), mode="max")
    other.load_state_dict(state)
    assert other.best == 0.5 and other.threshold_mode == "abs"
    with pytest.raises(ValueError, match="num_bad_epochs"):
        other.load_state_dict({**state, "num_bad_epochs": -1})
    with pytest.raises(ValueError, match="best"):
        other.load_state_dict({**state, "best": float("nan")})
    assert other.best == 0.5


def test_plateau_refusals() -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    for bad, error in [
        ({"mode": "low"}, ValueError),
        ({"threshold_mode": "pct"}, ValueError),
        ({"factor": 1.0}, ValueError),
        ({"patience": -1}, ValueError),
        ({"cooldown": 1.5}, ValueError),
        ({"min_lr": -1}, ValueError),
    ]:
        with pytest.raises(error):
            mg.optim.ReduceLROnPlateau(opt, **bad)  # type: ignore[arg-type]
    sched = mg.optim.ReduceLROnPlateau(opt)
    with pytest.raises(TypeError, match="monitored number"):
        sched.step()
    with pytest.raises(TypeError, match="number"):
        sched.step("0.5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        sched.step(float("nan"))
    assert sched.last_epoch == 0


# -- clipping ----------------------------------------------------------------------------------------


def grads(values: list[list[float]]) -> list[mg.Parameter]:
    ps = [mg.Parameter(np.zeros(len(v))) for v in values]
    for p, v in zip(ps, values, strict=True):
        p.grad[...] = v
    return ps


def test_clip_grad_norm_scales_all_gradients_together() -> None:
    ps = grads([[3.0, 0.0], [0.0, 4.0]])
    assert mg.clip_grad_norm_(ps, 1.0) == 5.0
    np.testing.assert_allclose(np.concatenate([p.grad for p in ps]), np.array([3, 0, 0, 4]) / (5 + 1e-6))
    ps = grads([[3.0, 0.0], [0.0, 4.0]])
    assert mg.clip_grad_norm_(ps, 10.0) == 5.0 and ps[1].grad[1] == 4.0  # below the bound: untouched
    ps = grads([[3.0, -7.0], [1.0]])
    assert mg.clip_grad_norm_(ps, 1.0, norm_type=float("inf")) == 7.0
    ps = grads([[3.0, -7.0], [1.0]])
    assert mg.clip_grad_norm_(ps, 100.0, norm_type=1) == pytest.approx(11.0)
    model = mg.Linear(2, 1)
    assert mg.clip_grad_norm_(model, 1.0) == 0.0 and mg.clip_grad_norm_([], 1.0) == 0.0
    single = grads([[0.0, 2.0]])[0]
    assert mg.clip_grad_norm_(single, 1.0) == 2.0


def test_clip_grad_norm_nonfinite_and_refusals() -> None:
    ps = grads([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="cannot be clipped"):
        mg.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert ps[0].grad[1] == 1.0
    mg.clip_grad_norm_(ps, 1.0)
    assert np.isnan(ps[0].grad).all()  # as torch: scaled by NaN
    for bad, error in [({"max_norm": -1.0}, ValueError), ({"max_norm": 1.0, "norm_type": 0}, ValueError)]:
        with pytest.raises(error):
            mg.clip_grad_norm_(grads([[1.0]]), **bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mg.clip_grad_norm_([np.zeros(2)], 1.0)  # type: ignore[list-item]
    with pytest.raises(TypeError):
        mg.clip_grad_norm_(grads([[1.0]]), "1")  # type: ignore[arg-type]


def test_clip_grad_value() -> None:
    ps = grads([[-5.0, 0.5, 2.0], [1e9]])
    mg.clip_grad_value_(ps, 1.0)
    assert ps[0].grad.tolist() == [-1.0, 0.5, 1.0] and ps[1].grad.tolist() == [1.0]
    with pytest.raises(ValueError):
        mg.clip_grad_value_(ps, -1.0)
    with pytest.raises(ValueError):
        mg.clip_grad_value_(ps, float("inf"))


@pytest.mark.parametrize(("name", "make"), OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_load_state_dict_refuses_states_no_step_makes(name: str, make: Any) -> None:
    _, opt = run(make, 2)
    good = opt.state_dict()
    key = "square_avg" if name.startswith("rmsprop") else "sum"
    fresh = make(mg.Linear(3, 2, rng=3).parameters())
    before = fresh.state_dict()
    for change in ({key: -good["state"][0][key]}, {"step": 0}, {key: None}):
        bad_state = [{**good["state"][0], **change}, good["state"][1]]
        with pytest.raises((ValueError, TypeError)):
            fresh.load_state_dict({"hyperparameters": good["hyperparameters"], "state": bad_state})
        assert fresh.state_dict()["state"] == before["state"]
    missing = {k: v for k, v in good["state"][0].items() if k != key}
    with pytest.raises((KeyError, ValueError)):
        fresh.load_state_dict({"hyperparameters": good["hyperparameters"], "state": [missing, good["state"][1]]})
    fresh.load_state_dict(good)
    assert fresh.state[0]["step"] == 2
