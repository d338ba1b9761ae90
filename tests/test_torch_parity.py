"""Parity with PyTorch, float64: every loss, activation, optimizer, schedule and a whole MLP run.

Skipped unless torch is installed; torch is never a requirement of minigrad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: threads only add overhead

Array = np.ndarray[Any, np.dtype[np.float64]]
RTOL = 1e-12


def t(a: Any) -> Any:
    return torch.tensor(np.asarray(a, dtype=np.float64))


# -- activations --------------------------------------------------------------------------------

ACTIVATIONS: list[tuple[Callable[[], mg.Module], Callable[[], Any]]] = [
    (mg.ReLU, lambda: torch.nn.ReLU()),
    (mg.LeakyReLU, lambda: torch.nn.LeakyReLU()),
    (lambda: mg.LeakyReLU(0.3), lambda: torch.nn.LeakyReLU(0.3)),
    (mg.Tanh, lambda: torch.nn.Tanh()),
    (mg.Sigmoid, lambda: torch.nn.Sigmoid()),
]


@pytest.mark.parametrize(("ours", "theirs"), ACTIVATIONS)
def test_activations_match_torch(ours: Callable[[], mg.Module], theirs: Callable[[], Any]) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(scale=3, size=20), [0.0, -0.0, 1000.0, -1000.0, 40.0, -40.0]])
    g = rng.normal(size=x.shape)
    act = ours()
    y = act(x)
    dx = act.backward(g, need_input_grad=True)
    assert dx is not None
    xt = t(x).requires_grad_()
    yt = theirs()(xt)
    yt.backward(t(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=RTOL, atol=1e-300)
    # atol: 1 - y**2 magnifies a one-ulp difference between libm tanh values when |y| is near 1
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=1e-15)


# -- losses -------------------------------------------------------------------------------------


def loss_case(name: str, rng: np.random.Generator) -> tuple[Array, Any]:
    if name == "ce":
        z = rng.normal(scale=3, size=(7, 4))
        z[0] = [1000.0, -1000.0, 0.0, 3.0]
        z[1] = [-1000.0, -1000.0, -1000.0, -1000.0]
        return z, rng.integers(0, 4, size=7)
    x = rng.normal(scale=2, size=(6, 3))
    if name == "bce":
        x[0] = [1000.0, -1000.0, 0.0]
        return x, rng.uniform(size=(6, 3))
    return x, rng.normal(scale=2, size=(6, 3))


LOSSES: list[tuple[str, Callable[..., mg.Loss], Callable[..., Any]]] = [
    ("mse", mg.MSELoss, torch.nn.MSELoss),
    ("l1", mg.L1Loss, torch.nn.L1Loss),
    ("huber", mg.HuberLoss, torch.nn.HuberLoss),
    (
        "huber",
        lambda reduction: mg.HuberLoss(reduction, delta=0.3),
        lambda reduction: torch.nn.HuberLoss(reduction, 0.3),
    ),
    ("bce", mg.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss),
    ("ce", mg.CrossEntropyLoss, torch.nn.CrossEntropyLoss),
]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(("name", "ours", "theirs"), LOSSES)
def test_losses_match_torch(
    name: str, ours: Callable[..., mg.Loss], theirs: Callable[..., Any], reduction: str
) -> None:
    pred, target = loss_case(name, np.random.default_rng(1))
    loss = ours(reduction=reduction)
    value = loss(pred, target)
    grad = loss.backward()
    pt = t(pred).requires_grad_()
    tt = torch.tensor(target) if name == "ce" else t(target)
    vt = theirs(reduction=reduction)(pt, tt)
    vt.backward()
    assert value == pytest.approx(vt.item(), rel=RTOL)
    np.testing.assert_allclose(grad, pt.grad.numpy(), rtol=RTOL, atol=1e-15)


# -- optimizers and schedules -------------------------------------------------------------------

OPTIMIZERS: list[tuple[type[mg.Optimizer], Any, dict[str, Any]]] = [
    (mg.SGD, torch.optim.SGD, {"lr": 0.1}),
    (mg.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    (mg.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (mg.Adam, torch.optim.Adam, {}),
    (mg.Adam, torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    (mg.AdamW, torch.optim.AdamW, {}),
    (mg.AdamW, torch.optim.AdamW, {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 0.3}),
]


@pytest.mark.parametrize(("ours", "theirs", "options"), OPTIMIZERS)
def test_optimizers_match_torch(ours: type[mg.Optimizer], theirs: Any, options: dict[str, Any]) -> None:
    rng = np.random.default_rng(2)
    start = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    params = [mg.Parameter(a.copy()) for a in start]
    tparams = [t(a).requires_grad_() for a in start]
    opt = ours(params, **options)
    topt = theirs(tparams, **options)
    for _ in range(30):
        for p, tp in zip(params, tparams, strict=True):
            g = rng.normal(size=p.data.shape)
            p.grad[...] = g
            tp.grad = t(g)
        opt.step()
        topt.step()
        for p, tp in zip(params, tparams, strict=True):
            np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda o: mg.optim.StepLR(o, step_size=3, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.3)),
        (lambda o: mg.optim.ExponentialLR(o, gamma=0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    ],
)
def test_schedules_match_torch(ours: Callable[[mg.Optimizer], Any], theirs: Callable[[Any], Any]) -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=0.7)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.7)
    sched, tsched = ours(opt), theirs(topt)
    assert sched.get_last_lr() == tsched.get_last_lr()
    for _ in range(12):
        topt.step()
        sched.step()
        tsched.step()
        assert opt.lr == topt.param_groups[0]["lr"]
        assert sched.get_last_lr() == tsched.get_last_lr()


def test_init_gains_match_torch() -> None:
    for name, param in [
        ("linear", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]:
        ours = mg.init.calculate_gain(name, param)  # type: ignore[arg-type]
        assert ours == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-15)


# -- a whole training run -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss_name", "opt_name"), [("ce", "adam"), ("mse", "sgd"), ("bce", "adamw"), ("huber", "adam")]
)
def test_mlp_training_matches_torch_step_by_step(loss_name: str, opt_name: str) -> None:
    rng = np.random.default_rng(3)
    n, fin, hidden, fout = 32, 5, 8, 3
    X = rng.normal(size=(n, fin))
    if loss_name == "ce":
        y: Any = rng.integers(0, fout, size=n)
        yt = torch.tensor(y)
    elif loss_name == "bce":
        y = (rng.uniform(size=(n, fout)) > 0.5).astype(float)
        yt = t(y)
    else:
        y = rng.normal(size=(n, fout))
        yt = t(y)
    model = mg.Sequential(
        mg.Linear(fin, hidden, rng=0), mg.Tanh(), mg.Linear(hidden, hidden, rng=1), mg.LeakyReLU(0.1),
        mg.Linear(hidden, hidden, rng=2), mg.Sigmoid(), mg.Linear(hidden, fout, rng=3),
    )  # fmt: skip
    tmodel = torch.nn.Sequential(
        torch.nn.Linear(fin, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden), torch.nn.LeakyReLU(0.1),
        torch.nn.Linear(hidden, hidden), torch.nn.Sigmoid(), torch.nn.Linear(hidden, fout),
    ).double()  # fmt: skip
    tmodel.load_state_dict({k: t(v) for k, v in model.state_dict().items()})
    losses = {
        "ce": (mg.CrossEntropyLoss, torch.nn.CrossEntropyLoss),
        "mse": (mg.MSELoss, torch.nn.MSELoss),
        "bce": (mg.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss),
        "huber": (mg.HuberLoss, torch.nn.HuberLoss),
    }
    loss, tloss = losses[loss_name][0](), losses[loss_name][1]()
    opts = {
        "adam": (mg.Adam, torch.optim.Adam, {"lr": 0.01}),
        "adamw": (mg.AdamW, torch.optim.AdamW, {"lr": 0.01}),
        "sgd": (mg.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    }
    ours, theirs, kw = opts[opt_name]
    opt, topt = ours(model.parameters(), **kw), theirs(tmodel.parameters(), **kw)
    Xt = t(X)
    for step in range(25):
        value = loss(model(X), y)
        opt.zero_grad()
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
        topt.zero_grad()
        tvalue = tloss(tmodel(Xt), yt)
        tvalue.backward()
        topt.step()
        assert value == pytest.approx(tvalue.item(), rel=1e-10), f"loss differs at step {step}"
        theirs_state = tmodel.state_dict()
        for name, p in model.named_parameters():
            np.testing.assert_allclose(
                p.data, theirs_state[name].numpy(), rtol=1e-9, atol=1e-12, err_msg=f"{name} at step {step}"
            )
