"""Parity with PyTorch, float64, forward and backward, for Dropout, BatchNorm1d, LayerNorm and the new activations.

Skipped unless torch is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

RTOL = 1e-12


def t(a: Any) -> Any:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def compare(ours: mg.Module, theirs: Any, x: np.ndarray, g: np.ndarray, *, atol: float = 0.0) -> None:
    """Forward, input gradient and every parameter gradient of *ours* against *theirs*."""
    y = ours(x)
    for p in ours.parameters():
        p.zero_grad()
    dx = ours.backward(g, need_input_grad=True)
    theirs.zero_grad()
    xt = t(x).requires_grad_()
    yt = theirs(xt)
    yt.backward(t(g))
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=RTOL, atol=atol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=atol)
    theirs_params = dict(theirs.named_parameters())
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == set(theirs_params)
    for name, p in ours_params.items():
        np.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), rtol=RTOL, atol=1e-300, err_msg=name)


def random_params(ours: mg.Module, theirs: Any, rng: np.random.Generator) -> None:
    with torch.no_grad():
        for (name, p), (their_name, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
            assert name == their_name
            p.data[...] = rng.normal(size=p.data.shape)
            q.copy_(t(p.data))


ACTIVATIONS: list[tuple[str, Callable[[], mg.Module], Callable[[], Any]]] = [
    ("gelu", mg.GELU, lambda: torch.nn.GELU()),
    ("gelu-tanh", lambda: mg.GELU("tanh"), lambda: torch.nn.GELU(approximate="tanh")),
    ("elu", mg.ELU, lambda: torch.nn.ELU()),
    ("elu-0.3", lambda: mg.ELU(0.3), lambda: torch.nn.ELU(0.3)),
    ("softplus", mg.Softplus, lambda: torch.nn.Softplus()),
    ("softplus-b2", lambda: mg.Softplus(2.0, 5.0), lambda: torch.nn.Softplus(2.0, 5.0)),
    ("softmax", mg.Softmax, lambda: torch.nn.Softmax(dim=-1)),
    ("softmax-0", lambda: mg.Softmax(0), lambda: torch.nn.Softmax(dim=0)),
    ("identity", mg.Identity, lambda: torch.nn.Identity()),
]


@pytest.mark.parametrize(("name", "ours", "theirs"), ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_torch(name: str, ours: Callable[[], mg.Module], theirs: Callable[[], Any]) -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(scale=3, size=40), [0.0, -0.0, 1000.0, 40.0, -2.0, -0.5, 0.5, 6.0]])
    x = x.reshape(6, 8)
    g = rng.normal(size=x.shape)
    # GELU: torch's 1 + erf(x/√2) for x < -2 holds only 1e-16 absolute (see the next test)
    compare(ours(), theirs(), x, g, atol=2e-15 if name.startswith("gelu") else 1e-300)


def test_gelu_negative_tail_matches_torch_to_its_rounding_and_the_exact_value_closely() -> None:
    """For x < -2 torch computes 1 + erf(x/√2) (or 1 + tanh), which cancels: 1e-16 absolute is all it has.

    There ours is compared with torch to that absolute accuracy, and with x Φ(x) from math.erfc to 1e-14.
    """
    import math

    x = -np.linspace(2.0, 30.0, 200)
    g = np.ones_like(x)
    for approximate in ("none", "tanh"):
        ours = mg.GELU(approximate)
        xt = t(x).requires_grad_()
        yt = torch.nn.GELU(approximate=approximate)(xt)
        yt.backward(t(g))
        y, dx = ours(x), ours.backward(g, need_input_grad=True)
        np.testing.assert_allclose(y, yt.detach().numpy(), rtol=RTOL, atol=4e-16 * 30)
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=RTOL, atol=4e-16 * 30)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    # the rounding of x / √2 (in either computation) moves erfc by a relative 2 (x²/2) ε
    bound = 4 * np.finfo(float).eps * (1 + x * x) * np.abs(exact)
    assert np.all(np.abs(mg.GELU()(x) - exact) <= bound)


def test_softmax_function_matches_torch() -> None:
    z = np.random.default_rng(1).normal(scale=5, size=(4, 3, 5))
    for axis in (-1, 0, 1):
        np.testing.assert_allclose(mg.softmax(z, axis), torch.softmax(t(z), dim=axis).numpy(), rtol=RTOL)


@pytest.mark.parametrize("shape", [(9, 4), (5, 4, 3)])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_matches_torch_training_then_eval(shape: tuple[int, ...], momentum: float | None) -> None:
    rng = np.random.default_rng(2)
    ours, theirs = mg.BatchNorm1d(4, momentum=momentum), torch.nn.BatchNorm1d(4, momentum=momentum).double()
    random_params(ours, theirs, rng)
    for _ in range(3):  # three training batches: the running statistics must follow torch's
        x = rng.normal(loc=2.0, scale=3.0, size=shape)
        compare(ours, theirs, x, rng.normal(size=shape))
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=RTOL)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=RTOL)
        assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
    ours.eval(), theirs.eval()
    x = rng.normal(size=shape)
    compare(ours, theirs, x, rng.normal(size=shape))
    state = ours.state_dict()
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(state[name], value.numpy(), rtol=RTOL)


def test_batchnorm_without_affine_or_running_stats_matches_torch() -> None:
    rng = np.random.default_rng(3)
    ours = mg.BatchNorm1d(3, affine=False, track_running_stats=False, eps=1e-3)
    theirs = torch.nn.BatchNorm1d(3, affine=False, track_running_stats=False, eps=1e-3).double()
    for mode in (True, False):
        ours.train(mode), theirs.train(mode)
        compare(ours, theirs, rng.normal(size=(6, 3)), rng.normal(size=(6, 3)))
    with pytest.raises(ValueError):
        theirs.train()(t(np.ones((1, 3))))  # torch refuses one row too
    with pytest.raises(ValueError):
        ours.train()(np.ones((1, 3)))


@pytest.mark.parametrize(
    ("shape", "normalized", "kwargs"),
    [
        ((5, 6), 6, {}),
        ((3, 4, 2, 3), (2, 3), {}),
        ((4, 5), 5, {"elementwise_affine": False}),
        ((4, 5), 5, {"bias": False}),
    ],
)
def test_layernorm_matches_torch(shape: tuple[int, ...], normalized: Any, kwargs: dict[str, Any]) -> None:
    rng = np.random.default_rng(4)
    ours, theirs = mg.LayerNorm(normalized, eps=1e-4, **kwargs), torch.nn.LayerNorm(normalized, eps=1e-4, **kwargs)
    theirs = theirs.double()
    random_params(ours, theirs, rng)
    compare(ours, theirs, rng.normal(loc=1.0, scale=2.0, size=shape), rng.normal(size=shape))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_scales_kept_entries_as_torch(p: float) -> None:
    """Masks differ (different generators); the scale of kept entries and of their gradient must not."""
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(50, 40)), rng.normal(size=(50, 40))
    ours = mg.Dropout(p, rng=0)
    y, dx = ours(x), ours.backward(g, need_input_grad=True)
    torch.manual_seed(0)
    xt = t(x).requires_grad_()
    yt = torch.nn.Dropout(p)(xt)
    yt.backward(t(g))
    kept_t = yt.detach().numpy() != 0
    kept = y != 0
    both = kept & kept_t
    assert both.sum() > 0
    np.testing.assert_allclose(y[both], yt.detach().numpy()[both], rtol=RTOL)
    np.testing.assert_allclose(dx[both], xt.grad.numpy()[both], rtol=RTOL)
    assert np.all(dx[~kept] == 0) and np.all(xt.grad.numpy()[~kept_t] == 0)
    assert np.array_equal(mg.Dropout(1.0, rng=0)(x), torch.nn.Dropout(1.0)(t(x)).numpy())
    assert np.array_equal(mg.Dropout(p, rng=0).eval()(x), torch.nn.Dropout(p).eval()(t(x)).numpy())


def test_flatten_matches_torch() -> None:
    x = np.random.default_rng(6).normal(size=(2, 3, 4, 5))
    for args in [(), (0,), (1, 2), (-3, -2)]:
        g = np.random.default_rng(7).normal(size=torch.nn.Flatten(*args)(t(x)).shape)
        compare(mg.Flatten(*args), torch.nn.Flatten(*args), x, g)
