"""Adam and AdamW against a reference loop written from torch.optim's documented update rules."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg


def reference_adam(
    theta: list[float],
    grads: list[list[float]],
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled: bool,
) -> list[list[float]]:
    """The documented algorithm, one scalar at a time; returns θ after each step."""
    b1, b2 = betas
    m = [0.0] * len(theta)
    v = [0.0] * len(theta)
    theta = list(theta)
    out = []
    for t, g_t in enumerate(grads, start=1):
        for i, g in enumerate(g_t):
            if weight_decay:
                if decoupled:
                    theta[i] = theta[i] - lr * weight_decay * theta[i]
                else:
                    g = g + weight_decay * theta[i]
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat = m[i] / (1 - b1**t)
            v_hat = v[i] / (1 - b2**t)
            theta[i] = theta[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(list(theta))
    return out


def run(opt_cls: type[mg.Optimizer], theta: list[float], grads: list[list[float]], **kw: Any) -> list[list[float]]:
    p = mg.Parameter(np.array(theta))
    opt = opt_cls([p], **kw)
    out = []
    for g in grads:
        p.grad[...] = g
        opt.step()
        out.append(p.data.tolist())
    return out


OPTIONS = [
    (mg.Adam, {}),
    (mg.Adam, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-3}),
    (mg.Adam, {"lr": 0.01, "weight_decay": 0.1}),
    (mg.AdamW, {}),
    (mg.AdamW, {"lr": 0.1, "weight_decay": 0.5, "betas": (0.0, 0.0)}),
    (mg.AdamW, {"lr": 0.02, "weight_decay": 0.0}),
]


@pytest.mark.parametrize(("opt_cls", "options"), OPTIONS)
def test_every_option_matches_the_reference(opt_cls: type[mg.Optimizer], options: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    theta = rng.normal(size=4).tolist()
    grads = rng.normal(size=(25, 4)).tolist()
    full: dict[str, Any] = {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.01 if opt_cls is mg.AdamW else 0.0,
    }
    full.update(options)
    expected = reference_adam(theta, grads, decoupled=opt_cls is mg.AdamW, **full)
    np.testing.assert_allclose(run(opt_cls, theta, grads, **options), expected, rtol=1e-13, atol=1e-15)


@given(
    lr=st.floats(1e-4, 0.5),
    b1=st.floats(0.0, 0.99),
    b2=st.floats(0.0, 0.9999),
    eps=st.floats(1e-10, 1e-2),
    wd=st.floats(0.0, 0.5),
    decoupled=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_drawn_hyperparameters_match_the_reference(
    lr: float, b1: float, b2: float, eps: float, wd: float, decoupled: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=3).tolist()
    grads = rng.normal(size=(6, 3)).tolist()
    opt_cls = mg.AdamW if decoupled else mg.Adam
    kw = {"lr": lr, "betas": (b1, b2), "eps": eps, "weight_decay": wd}
    expected = reference_adam(theta, grads, decoupled=decoupled, **kw)  # type: ignore[arg-type]
    np.testing.assert_allclose(run(opt_cls, theta, grads, **kw), expected, rtol=1e-12, atol=1e-14)


def test_defaults_are_torchs() -> None:
    p = [mg.Parameter(np.zeros(1))]
    adam, adamw = mg.Adam(p), mg.AdamW(p)
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.01)


def test_first_step_moves_each_entry_by_lr_and_state_counts_steps() -> None:
    p = mg.Parameter(np.array([1.0, 2.0, 3.0]))
    opt = mg.Adam([p], lr=0.1, eps=0.0)
    p.grad[...] = [1e-6, -5.0, 1e6]
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 2.1, 2.9], rtol=1e-15)  # m̂/sqrt(v̂) = sign(g) at t = 1
    assert opt.state[0]["step"] == 1
    opt.step()
    assert opt.state[0]["step"] == 2
    assert set(opt.state[0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_adamw_decays_the_weights_directly_and_adam_through_the_gradient() -> None:
    pw, pa = mg.Parameter(np.array([10.0])), mg.Parameter(np.array([10.0]))
    mg.AdamW([pw], lr=0.1, weight_decay=0.5).step()
    mg.Adam([pa], lr=0.1, weight_decay=0.5).step()
    assert pw.data[0] == 10.0 * (1 - 0.1 * 0.5)  # zero gradient: only the decay
    assert pa.data[0] == pytest.approx(9.9, rel=1e-9)  # the penalty 5 is a gradient: one step of about lr


def test_state_dict_resumes_exactly() -> None:
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(10, 2, 3))
    start = rng.normal(size=(2, 3))

    def make() -> tuple[mg.Parameter, mg.AdamW]:
        p = mg.Parameter(start.copy())
        return p, mg.AdamW([p], lr=0.05, betas=(0.8, 0.99))

    p_full, opt_full = make()
    for g in grads:
        p_full.grad[...] = g
        opt_full.step()
    p_a, opt_a = make()
    for g in grads[:4]:
        p_a.grad[...] = g
        opt_a.step()
    saved, saved_data = opt_a.state_dict(), p_a.data.copy()
    for g in grads[4:6]:  # training after the save must not change the saved state
        p_a.grad[...] = g
        opt_a.step()
    p_b, opt_b = make()
    p_b.data[...] = saved_data
    opt_b.load_state_dict(saved)
    assert opt_b.state[0]["step"] == 4
    for g in grads[4:]:
        p_b.grad[...] = g
        opt_b.step()
    np.testing.assert_array_equal(p_b.data, p_full.data)


def test_load_state_dict_is_all_or_nothing() -> None:
    p = mg.Parameter(np.zeros(2))
    opt = mg.Adam([p], lr=0.1)
    p.grad[...] = 1.0
    opt.step()
    good = opt.state_dict()
    bad = {"hyperparameters": {**good["hyperparameters"], "betas": (0.9, 1.0)}, "state": good["state"]}
    other = mg.Adam([mg.Parameter(np.zeros(2))], lr=0.5)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        other.load_state_dict(bad)
    assert other.lr == 0.5 and other.state == [{}]
    wrong_shape = {"hyperparameters": good["hyperparameters"], "state": [{**good["state"][0], "exp_avg": np.zeros(3)}]}
    with pytest.raises(ValueError, match="shape"):
        other.load_state_dict(wrong_shape)
    other.load_state_dict(good)
    assert other.lr == 0.1 and other.state[0]["step"] == 1


@pytest.mark.parametrize("opt_cls", [mg.Adam, mg.AdamW])
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"lr": -0.1}, "Invalid learning rate: -0.1"),
        ({"lr": float("nan")}, "Invalid learning rate"),
        ({"eps": -1e-8}, "Invalid epsilon value: -1e-08"),
        ({"betas": (1.0, 0.999)}, "Invalid beta parameter at index 0: 1.0"),
        ({"betas": (0.9, -0.1)}, "Invalid beta parameter at index 1: -0.1"),
        ({"betas": (0.9,)}, "pair"),
        ({"betas": 0.9}, "pair"),
        ({"weight_decay": -0.01}, "Invalid weight_decay value: -0.01"),
    ],
)
def test_invalid_hyperparameters_raise(opt_cls: type[mg.Optimizer], options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        opt_cls([mg.Parameter(np.zeros(1))], **options)


def test_float32_parameters_stay_float32() -> None:
    p = mg.Parameter(np.ones(3, dtype=np.float32))
    opt = mg.Adam([p], lr=0.1)
    p.grad[...] = [1.0, -2.0, 3.0]
    opt.step()
    assert p.data.dtype == np.float32
    assert opt.state[0]["exp_avg"].dtype == np.float32  # type: ignore[union-attr]


def test_adam_trains_a_small_network() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = np.sin(X[:, :1]) + X[:, 1:] ** 2
    model = mg.Sequential(mg.Linear(2, 16, rng=1), mg.Tanh(), mg.Linear(16, 1, rng=2))
    loss, opt = mg.MSELoss(), mg.Adam(model.parameters(), lr=0.02)
    first = loss(model(X), y)
    for _ in range(200):
        loss(model(X), y)
        opt.zero_grad()
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
    assert loss(model(X), y) < first / 10
