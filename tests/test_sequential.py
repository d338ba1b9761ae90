"""Sequential: composition forward, chain rule backward, torch-style names, container behaviour."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray
from recorder import Recorder

import minigrad as mg

Array = NDArray[np.float64]


def mlp(sizes: list[int], seed: int) -> mg.Sequential:
    layers: list[mg.Module] = []
    for i, (fin, fout) in enumerate(itertools.pairwise(sizes)):
        layers.append(mg.Linear(fin, fout, rng=seed + i))
        layers.append(mg.Tanh() if i % 2 == 0 else mg.Sigmoid())
    return mg.Sequential(*layers)


def test_names_follow_positions_as_in_torch() -> None:
    model = mg.Sequential(mg.Linear(2, 3, rng=0), mg.ReLU(), mg.Linear(3, 1, bias=False, rng=1))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight"]
    assert list(model.state_dict()) == names
    assert model.parameters() == [model[0].weight, model[0].bias, model[2].weight]  # type: ignore[attr-defined]
    nested = mg.Sequential(mg.Sequential(mg.Linear(1, 1, rng=0)), mg.Linear(1, 1, rng=1))
    assert [n for n, _ in nested.named_parameters()] == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]


def test_container_protocol() -> None:
    layers = [mg.Linear(2, 3, rng=0), mg.Tanh(), mg.Linear(3, 1, rng=1)]
    model = mg.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    tail = model[1:]
    assert isinstance(tail, mg.Sequential) and list(tail) == layers[1:]
    with pytest.raises(IndexError):
        model[3]
    assert "(1): Tanh()" in repr(model)


@given(
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    n=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_forward_is_composition_and_backward_is_the_chain_rule(sizes: list[int], n: int, seed: int) -> None:
    model = mlp(sizes, seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, sizes[0]))
    g = rng.normal(size=(n, sizes[-1]))
    h = x
    for layer in model:
        h = layer(h)
    np.testing.assert_array_equal(model(x), h)
    model.zero_grad()
    grad_x = model.backward(g, need_input_grad=True)
    # The same chain rule by hand, layer by layer in reverse.
    by_hand = {name: np.zeros_like(p.data) for name, p in model.named_parameters()}
    model(x)
    gg: NDArray[Any] | None = g
    for i in range(len(model) - 1, -1, -1):
        layer = model[i]
        before = [p.grad.copy() for p in layer.parameters()]
        assert gg is not None
        gg = layer.backward(gg, need_input_grad=True)
        for (name, p), b in zip(layer.named_parameters(f"{i}."), before, strict=True):
            by_hand[name] = p.grad - b
    assert grad_x is not None and gg is not None
    np.testing.assert_allclose(grad_x, gg, rtol=1e-14)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad / 2, by_hand[name], rtol=1e-14, atol=1e-300)  # accumulated twice
    assert mg.gradcheck(model, x, grad_output=g)


@given(n=st.integers(1, 3), fin=st.integers(1, 3), seed=st.integers(0, 100))
def test_gradients_match_an_independent_finite_difference(n: int, fin: int, seed: int) -> None:
    model = mg.Sequential(mg.Linear(fin, 3, rng=seed), mg.Sigmoid(), mg.Linear(3, 2, rng=seed + 1), mg.Tanh())
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, fin))
    g = rng.normal(size=(n, 2))
    model(x)
    model.zero_grad()
    model.backward(g)
    h = 1e-6
    for name, p in model.named_parameters():
        for idx in np.ndindex(p.data.shape):
            old = p.data[idx]
            p.data[idx] = old + h
            up = float(np.sum(g * model(x)))
            p.data[idx] = old - h
            down = float(np.sum(g * model(x)))
            p.data[idx] = old
            numeric = (up - down) / (2 * h)
            assert abs(p.grad[idx] - numeric) <= 1e-7 + 1e-6 * abs(numeric), (name, idx, p.grad[idx], numeric)


def test_the_first_layer_gets_the_flag_and_every_later_layer_is_asked_for_its_input_gradient() -> None:
    first, second = Recorder(), Recorder()
    model = mg.Sequential(first, mg.Linear(2, 2, rng=0), second)
    model(np.ones((3, 2)))
    assert model.backward(np.ones((3, 2))) is None  # the default: no gradient for the data
    assert first.flags == [False] and second.flags == [True]
    assert model.backward(np.ones((3, 2)), need_input_grad=False) is None
    assert first.flags == [False, False] and second.flags == [True, True]
    assert model.backward(np.ones((3, 2)), need_input_grad=True) is not None
    assert first.flags == [False, False, True] and second.flags == [True, True, True]


def test_a_layer_may_appear_only_once_and_layers_must_be_modules() -> None:
    layer = mg.Linear(2, 2, rng=0)
    with pytest.raises(ValueError, match="appears twice"):
        mg.Sequential(layer, mg.ReLU(), layer)
    with pytest.raises(TypeError, match="position 1"):
        mg.Sequential(layer, np.tanh)  # type: ignore[arg-type]


def test_state_dict_round_trip_and_training_with_sgd() -> None:
    model = mlp([2, 4, 1], 0)
    state = model.state_dict()
    other = mlp([2, 4, 1], 1)
    other.load_state_dict(state)
    x = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(model(x), other(x))
    with pytest.raises(KeyError):
        other.load_state_dict({k.replace("0.", "1."): v for k, v in state.items()})
    y = np.sin(x[:, :1])
    loss, opt = mg.MSELoss(), mg.SGD(model.parameters(), lr=0.5)
    first = loss(model(x), y)
    for _ in range(50):
        loss(model(x), y)
        opt.zero_grad()
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
    assert loss(model(x), y) < first / 2


def test_empty_sequential_is_the_identity() -> None:
    model = mg.Sequential()
    x = np.ones((2, 2))
    assert model(x) is x
    assert model.backward(x, need_input_grad=True) is x
    assert model.backward(x) is None
    assert model.parameters() == [] and len(model) == 0 and repr(model) == "Sequential()"


def test_a_middle_layer_that_returns_no_input_gradient_is_an_error() -> None:
    class NoGrad(Recorder):
        def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
            return None

    model = mg.Sequential(mg.Linear(2, 2, rng=0), NoGrad())
    model(np.ones((1, 2)))
    with pytest.raises(RuntimeError, match="layer 1"):
        model.backward(np.ones((1, 2)))
