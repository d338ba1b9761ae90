"""SGD against an independent reference loop written from torch.optim.SGD's documented rule.

The rule (PyTorch's docs), for each parameter θ with gradient g_t at step t::

    g_t <- g_t + λ θ_{t-1}                          if weight_decay λ != 0
    b_t <- g_t                                      if momentum μ != 0 and t = 1
    b_t <- μ b_{t-1} + (1 - τ) g_t                  if momentum μ != 0 and t > 1
    g_t <- g_t + μ b_t  (nesterov)  or  b_t         if momentum μ != 0
    θ_t <- θ_{t-1} - lr g_t
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]
SHAPES = [(3, 2), (3,), (1, 1)]


def reference_sgd(
    thetas: list[Array],
    grads_per_step: list[list[Array]],
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
) -> list[list[Array]]:
    """The documented rule, one parameter at a time, in fresh arrays; returns θ after every step."""
    thetas = [t.copy() for t in thetas]
    buffers: list[Array | None] = [None] * len(thetas)
    trace = []
    for grads in grads_per_step:
        for i, g in enumerate(grads):
            d_p = g + weight_decay * thetas[i] if weight_decay != 0 else g
            if momentum != 0:
                prev = buffers[i]
                buf = d_p.copy() if prev is None else momentum * prev + (1 - dampening) * d_p
                buffers[i] = buf
                d_p = d_p + momentum * buf if nesterov else buf
            thetas[i] = thetas[i] - lr * d_p
        trace.append([t.copy() for t in thetas])
    return trace


def run_minigrad(
    thetas: list[Array], grads_per_step: list[list[Array]], **options: Any
) -> tuple[list[list[Array]], mg.SGD]:
    params = [mg.Parameter(t.copy()) for t in thetas]
    opt = mg.SGD(params, **options)
    trace = []
    for grads in grads_per_step:
        for p, g in zip(params, grads, strict=True):
            p.grad[...] = g
        opt.step()
        for p, g in zip(params, grads, strict=True):
            np.testing.assert_array_equal(p.grad, g, err_msg="step() must not modify the gradients")
        trace.append([p.data.copy() for p in params])
    return trace, opt


def problem(seed: int, steps: int) -> tuple[list[Array], list[list[Array]]]:
    rng = np.random.default_rng(seed)
    thetas = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(steps)]
    return thetas, grads


def valid_options() -> list[dict[str, Any]]:
    out = []
    for momentum, dampening, weight_decay, nesterov in itertools.product(
        [0.0, 0.9], [0.0, 0.3], [0.0, 0.05], [False, True]
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        out.append(
            {
                "lr": 0.1,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
            }
        )
    return out


OPTIONS = valid_options()


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_every_option_matches_the_reference(options: dict[str, Any]) -> None:
    thetas, grads = problem(0, steps=6)
    got, _ = run_minigrad(thetas, grads, **options)
    want = reference_sgd(thetas, grads, **options)
    for step, (g_step, w_step) in enumerate(zip(got, want, strict=True), start=1):
        for i, (g, w) in enumerate(zip(g_step, w_step, strict=True)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"step {step}, parameter {i}")


def test_plain_sgd_is_exact() -> None:
    """No momentum, no decay: θ - lr * g, bit for bit (the seed relies on it)."""
    thetas, grads = problem(1, steps=5)
    got, _ = run_minigrad(thetas, grads, lr=0.37)
    want = reference_sgd(thetas, grads, lr=0.37)
    for g_step, w_step in zip(got, want, strict=True):
        for g, w in zip(g_step, w_step, strict=True):
            np.testing.assert_array_equal(g, w)


@given(
    lr=st.floats(0.0, 1.0),
    momentum=st.floats(0.0, 0.99),
    dampening=st.floats(0.0, 1.0),
    weight_decay=st.floats(0.0, 0.5),
    nesterov=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_drawn_hyperparameters_match_the_reference(
    lr: float, momentum: float, dampening: float, weight_decay: float, nesterov: bool, seed: int
) -> None:
    if nesterov:
        dampening = 0.0
        momentum = max(momentum, 0.1)
    options: dict[str, Any] = {"lr": lr, "momentum": momentum, "dampening": dampening}
    options.update(weight_decay=weight_decay, nesterov=nesterov)
    thetas, grads = problem(seed, steps=4)
    got, _ = run_minigrad(thetas, grads, **options)
    want = reference_sgd(thetas, grads, **options)
    for g_step, w_step in zip(got, want, strict=True):
        for g, w in zip(g_step, w_step, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_momentum_buffer_starts_as_the_first_gradient_undampened() -> None:
    p = mg.Parameter(np.array([1.0, -2.0]))
    opt = mg.SGD([p], lr=0.5, momentum=0.9, dampening=0.5, weight_decay=0.1)
    p.grad[...] = [0.2, 0.4]
    opt.step()
    # First step: buffer = g + λθ (no dampening), θ = θ - lr * buffer.
    expected_buf = np.array([0.2 + 0.1 * 1.0, 0.4 + 0.1 * -2.0])
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], expected_buf, rtol=1e-15)  # type: ignore[arg-type]
    np.testing.assert_allclose(p.data, np.array([1.0, -2.0]) - 0.5 * expected_buf, rtol=1e-15)
    # Second step: buffer = μ b + (1 - τ) (g + λθ).
    theta1 = p.data.copy()
    opt.step()
    buf2 = 0.9 * expected_buf + 0.5 * (np.array([0.2, 0.4]) + 0.1 * theta1)
    np.testing.assert_allclose(opt.state[0]["momentum_buffer"], buf2, rtol=1e-15)  # type: ignore[arg-type]


def test_lr_zero_changes_nothing() -> None:
    thetas, grads = problem(2, steps=3)
    got, _ = run_minigrad(thetas, grads, lr=0.0, momentum=0.9)
    for step in got:
        for g, t in zip(step, thetas, strict=True):
            np.testing.assert_array_equal(g, t)


def test_zero_grad_clears_every_parameter() -> None:
    params = [mg.Parameter(np.ones(3)), mg.Parameter(np.ones((2, 2)))]
    for p in params:
        p.grad[...] = 5.0
    mg.SGD(params, lr=0.1).zero_grad()
    assert all(not p.grad.any() for p in params)


def test_state_dict_resumes_exactly() -> None:
    options = {"lr": 0.1, "momentum": 0.8, "weight_decay": 0.01, "nesterov": True}
    thetas, grads = problem(3, steps=6)
    full, _ = run_minigrad(thetas, grads, **options)
    first, opt = run_minigrad(thetas, grads[:3], **options)
    saved = opt.state_dict()
    params = [mg.Parameter(t.copy()) for t in first[-1]]
    resumed = mg.SGD(params, lr=1.0)
    resumed.load_state_dict(saved)
    assert (resumed.lr, resumed.momentum, resumed.nesterov) == (0.1, 0.8, True)
    for grads_t, want in zip(grads[3:], full[3:], strict=True):
        for p, g in zip(params, grads_t, strict=True):
            p.grad[...] = g
        resumed.step()
        for p, w in zip(params, want, strict=True):
            np.testing.assert_array_equal(p.data, w)


def test_accepts_a_module() -> None:
    model = mg.Linear(2, 1, rng=0)
    assert mg.SGD(model, lr=0.1).params == model.parameters()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"lr": -0.1}, "Invalid learning rate"),
        ({"lr": float("nan")}, "Invalid learning rate"),
        ({"lr": 0.1, "momentum": -0.5}, "momentum"),
        ({"lr": 0.1, "weight_decay": -1e-4}, "weight_decay"),
        ({"lr": 0.1, "nesterov": True}, "Nesterov"),
        ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov"),
    ],
)
def test_invalid_hyperparameters_raise(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mg.SGD([mg.Parameter(np.zeros(2))], **options)


def test_invalid_parameter_lists_raise() -> None:
    p = mg.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        mg.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        mg.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError):
        mg.SGD([np.zeros(2)], lr=0.1)  # type: ignore[list-item]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
def test_matches_torch(options: dict[str, Any]) -> None:
    torch = pytest.importorskip("torch")
    thetas, grads = problem(4, steps=5)
    got, _ = run_minigrad(thetas, grads, **options)
    tparams = [torch.tensor(t.copy(), requires_grad=True) for t in thetas]
    topt = torch.optim.SGD(tparams, **options)
    for step, grads_t in enumerate(grads):
        for tp, g in zip(tparams, grads_t, strict=True):
            tp.grad = torch.tensor(g)
        topt.step()
        for tp, mine in zip(tparams, got[step], strict=True):
            np.testing.assert_allclose(mine, tp.detach().numpy(), rtol=1e-12, atol=1e-15)
