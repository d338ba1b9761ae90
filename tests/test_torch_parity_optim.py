"""RMSprop, Adagrad, CosineAnnealingLR, ReduceLROnPlateau and gradient clipping against torch, float64.

Skipped unless torch is installed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

RTOL = 1e-12


def t(a: Any) -> Any:
    return torch.tensor(np.asarray(a, dtype=np.float64))


OPTIMIZERS = [
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.05, "alpha": 0.9, "eps": 1e-6}),
    ("RMSprop", {"weight_decay": 0.1}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"lr": 0.02, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.3, "lr_decay": 0.05}),
    ("Adagrad", {"weight_decay": 0.2, "initial_accumulator_value": 0.5, "eps": 1e-6}),
]


@pytest.mark.parametrize(("name", "kwargs"), OPTIMIZERS)
def test_optimizer_matches_torch_step_by_step(name: str, kwargs: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (1, 1)]
    params = [mg.Parameter(rng.normal(size=s)) for s in shapes]
    tparams = [t(p.data).requires_grad_() for p in params]
    opt = getattr(mg, name)(params, **kwargs)
    topt = getattr(torch.optim, name)(tparams, **kwargs)
    for step in range(25):
        for p, tp in zip(params, tparams, strict=True):
            g = rng.normal(scale=10.0 if step % 7 == 0 else 1.0, size=p.shape)
            p.grad[...] = g
            tp.grad = t(g)
        opt.step()
        topt.step()
        for p, tp in zip(params, tparams, strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=RTOL, atol=1e-15)
    tstate = topt.state_dict()["state"]
    for i, state in enumerate(opt.state):
        assert state["step"] == int(tstate[i]["step"])
        for key, value in state.items():
            if key != "step":
                np.testing.assert_allclose(value, tstate[i][key].numpy(), rtol=RTOL, atol=1e-300, err_msg=key)


@pytest.mark.parametrize(("t_max", "eta_min", "epochs"), [(10, 0.0, 35), (7, 0.01, 30), (1, 0.001, 5)])
def test_cosine_annealing_matches_torch_epoch_by_epoch(t_max: int, eta_min: float, epochs: int) -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=0.3)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.3)
    sched = mg.optim.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=t_max, eta_min=eta_min)
    assert sched.get_last_lr() == tsched.get_last_lr()
    for _ in range(epochs):
        topt.step()
        sched.step()
        tsched.step()
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], rel=RTOL, abs=1e-18)
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=RTOL, abs=1e-18)


PLATEAU = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2},
    {"threshold": 0.05, "threshold_mode": "abs", "patience": 1, "cooldown": 2},
    {"factor": 0.3, "patience": 0, "min_lr": 0.01, "eps": 1e-3},
    {"mode": "max", "threshold_mode": "abs", "threshold": 0.0, "patience": 3, "cooldown": 1},
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_on_plateau_matches_torch_epoch_by_epoch(kwargs: dict[str, Any]) -> None:
    rng = np.random.default_rng(3)
    # a noisy plateau: slow progress, long flat stretches, and repeats of the best value
    metrics = np.concatenate([np.linspace(1.0, 0.5, 10), np.full(15, 0.5), 0.5 + rng.normal(scale=0.02, size=40)])
    metrics = np.round(metrics, 3)
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = mg.optim.ReduceLROnPlateau(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    for m in metrics:
        topt.step()
        sched.step(float(m))
        tsched.step(float(m))
        assert opt.lr == topt.param_groups[0]["lr"]
        assert sched.get_last_lr() == tsched.get_last_lr()
        assert (sched.best, sched.num_bad_epochs, sched.cooldown_counter) == (
            tsched.best,
            tsched.num_bad_epochs,
            tsched.cooldown_counter,
        )


@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
def test_fit_with_a_max_mode_plateau_on_val_accuracy_matches_torch_stepped_on_the_same_numbers(
    threshold_mode: str,
) -> None:
    """fit(monitor="val_accuracy") with mode="max": torch's scheduler, stepped on the recorded accuracies, agrees."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 2))
    y = (X @ np.array([1.0, 0.5]) + 0.6 * rng.normal(size=120) > 0).astype(float)
    model = mg.Sequential(mg.Linear(2, 8, rng=0), mg.Tanh(), mg.Linear(8, 1, rng=1))
    opt = mg.SGD(model.parameters(), lr=0.4, momentum=0.9)
    kwargs: dict[str, Any] = {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01,
                              "threshold_mode": threshold_mode, "cooldown": 1}  # fmt: skip
    scheduler = mg.optim.ReduceLROnPlateau(opt, **kwargs)
    h = mg.fit(model, X[:80], y[:80], loss=mg.BCEWithLogitsLoss(), optimizer=opt, epochs=40, batch_size=16, rng=0,
               metrics=["accuracy"], validation_data=(X[80:], y[80:]), scheduler=scheduler,
               monitor="val_accuracy")  # fmt: skip
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.4)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
    torch_lr = []
    for value in h.metrics["val_accuracy"]:
        torch_lr.append(topt.param_groups[0]["lr"])
        topt.step()
        tsched.step(value)
    assert h.lr == torch_lr and min(h.lr) < 0.4  # every epoch's rate, and it did cut
    assert opt.lr == topt.param_groups[0]["lr"]
    assert (scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter) == (
        tsched.best,
        tsched.num_bad_epochs,
        tsched.cooldown_counter,
    )


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1e9])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    rng = np.random.default_rng(4)
    grads = [rng.normal(size=s) for s in [(3, 4), (4,), (1,)]]
    params = [mg.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad[...] = g
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for tp, g in zip(tparams, grads, strict=True):
        tp.grad = t(g)
    total = mg.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(ttotal), rel=RTOL)
    for p, tp in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=RTOL, atol=1e-300)


def test_clip_grad_value_matches_torch() -> None:
    g = np.random.default_rng(5).normal(scale=3, size=(5, 4))
    p = mg.Parameter(np.zeros_like(g))
    p.grad[...] = g
    tp = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
    tp.grad = t(g)
    mg.clip_grad_value_([p], 1.5)
    torch.nn.utils.clip_grad_value_([tp], 1.5)
    np.testing.assert_array_equal(p.grad, tp.grad.numpy())
