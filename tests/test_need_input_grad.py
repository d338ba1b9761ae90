"""The backward contract: the outermost call computes no input gradient unless asked.

``backward(g)`` adds the parameter gradients and returns None; ``backward(g, need_input_grad=True)``
also returns ``dL/dx``.  A composite module asks every sub-module fed by another sub-module and passes
its own flag to the one that receives its input.  So the manual loop as a newcomer writes it,
``model.backward(loss_fn.backward())``, never makes an N×D array for the data.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray
from recorder import Recorder

import minigrad as mg

Array = NDArray[np.float64]


def regression(n: int, d: int, seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1))


def backward_peak(model: mg.Module, X: Array, y: Array, **flag: bool) -> tuple[Any, int]:
    """The newcomer's step up to backward; return what backward returned and the peak bytes it allocated."""
    loss_fn = mg.MSELoss()
    opt = mg.SGD(model.parameters(), lr=0.01)
    for _ in range(2):  # the second step: every buffer a layer keeps between steps already exists
        loss_fn(model(X), y)
        opt.zero_grad()
        tracemalloc.start()
        try:
            out = model.backward(loss_fn.backward(), **flag)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        opt.step()
    return out, peak


@pytest.mark.parametrize(
    "make",
    [
        lambda d: mg.Linear(d, 1, rng=0),
        lambda d: mg.Sequential(mg.Linear(d, 4, rng=0), mg.ReLU(), mg.Linear(4, 1, rng=1)),
    ],
    ids=["Linear", "Sequential"],
)
def test_the_newcomers_backward_returns_none_and_allocates_nothing_the_size_of_x(make: Any) -> None:
    X, y = regression(20_000, 50)  # X: 8 MB
    out, peak = backward_peak(make(50), X, y)
    assert out is None
    assert peak < 0.3 * X.nbytes, f"backward allocated {peak} bytes, {peak / X.nbytes:.2f}× X"
    # the measurement sees an input gradient when one is made
    out, peak = backward_peak(make(50), X, y, need_input_grad=True)
    assert out is not None and out.shape == X.shape
    assert peak >= X.nbytes


def test_asking_for_the_input_gradient_gives_the_chain_rule_bit_for_bit() -> None:
    """need_input_grad=True: the same dL/dx as each layer's formula applied in reverse; same parameter gradients."""
    rng = np.random.default_rng(3)
    X, G = rng.normal(size=(7, 5)), rng.normal(size=(7, 2))

    def make() -> mg.Sequential:
        return mg.Sequential(mg.Linear(5, 4, rng=0), mg.Tanh(), mg.Linear(4, 2, rng=1))

    asked, plain = make(), make()
    asked(X)
    plain(X)
    dx = asked.backward(G, need_input_grad=True)
    assert plain.backward(G) is None
    lin1, _, lin2 = asked
    W1, W2 = lin1.weight.data, lin2.weight.data  # type: ignore[attr-defined]
    h = np.tanh(np.dot(X, W1.T) + lin1.bias.data)  # type: ignore[attr-defined]
    g_h = np.dot(G, W2)  # Linear: dL/dx = g @ W
    g_a = g_h * (1 - h * h)  # Tanh: dL/dx = g * (1 - y**2)
    np.testing.assert_array_equal(dx, np.dot(g_a, W1))
    for (name, p), q in zip(asked.named_parameters(), plain.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad, err_msg=name)


def test_a_single_layer_gives_its_formula_only_when_asked() -> None:
    rng = np.random.default_rng(4)
    X, G = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    layer = mg.Linear(3, 2, rng=0)
    layer(X)
    assert layer.backward(G) is None
    np.testing.assert_array_equal(layer.backward(G, need_input_grad=True), np.dot(G, layer.weight.data))


class Residual(mg.Module):
    """README's composite module: ``y = x + f(x)``, written as README documents it."""

    def __init__(self, f: mg.Module) -> None:
        self.f = f

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        out: NDArray[Any] = np.asarray(x, dtype=np.float64) + self.f(x)
        return out

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        grad_f = self.f.backward(grad_output, need_input_grad=need_input_grad)  # f's input is ours
        return grad_output + grad_f if need_input_grad else None


def test_a_composite_module_written_as_readme_documents_it_trains_and_checks() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))
    inner = Recorder()
    block = Residual(mg.Sequential(inner, mg.Linear(3, 3, rng=2), mg.Tanh()))
    assert mg.gradcheck(block, x, rng=0)  # gradcheck asks for dL/dx, so the block asks its inside
    assert inner.flags[-1] is True
    model = mg.Sequential(mg.Linear(3, 3, rng=0), block, mg.Linear(3, 1, rng=1))
    assert mg.gradcheck(model, x, rng=0)
    loss_fn, opt = mg.MSELoss(), mg.SGD(model.parameters(), lr=0.1)
    y = np.ones((4, 1))
    first = loss_fn(model(x), y)
    for _ in range(30):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        assert model.backward(loss_fn.backward()) is None
        opt.step()
    assert loss < first / 2
    assert inner.flags[-1] is True  # not the first layer of the model: asked, the layer below needs it
    inner.flags.clear()
    block(x)
    assert block.backward(np.ones((4, 3))) is None  # outermost: the data needs no gradient
    assert inner.flags == [False]


def test_gradcheck_asks_for_the_input_gradient_and_checks_it() -> None:
    class WrongInputGrad(mg.Linear):
        def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
            dx = super().backward(grad_output, need_input_grad=need_input_grad)
            return None if dx is None else 2 * dx  # wrong, and only when asked

    x = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.raises(mg.GradcheckError, match="'input'"):
        mg.gradcheck(WrongInputGrad(2, 2, rng=0), x, rng=0)
