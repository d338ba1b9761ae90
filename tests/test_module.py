"""Module and Parameter: parameter discovery, gradients, state_dict copies, all-or-nothing loading."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

import minigrad as mg

Array = NDArray[np.float64]


class TwoLayer(mg.Module):
    """A hand-written composite module: two Linear layers applied one after the other."""

    def __init__(self, rng: int = 0) -> None:
        gen = np.random.default_rng(rng)
        self.first = mg.Linear(3, 4, rng=gen)
        self.scale = mg.Parameter(np.array([2.0]))
        self.second = mg.Linear(4, 2, rng=gen)

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        self._h = self.first(x)
        return self.second(self._h * self.scale.data)

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        g_scaled = self.second.backward(grad_output, need_input_grad=True)
        assert g_scaled is not None
        self.scale.grad += np.sum(g_scaled * self._h)
        return self.first.backward(g_scaled * self.scale.data, need_input_grad=need_input_grad)


def test_named_parameters_are_dotted_in_attribute_order() -> None:
    model = TwoLayer()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["first.weight", "first.bias", "scale", "second.weight", "second.bias"]
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert list(model.state_dict()) == names


def test_zero_grad_reaches_sub_modules() -> None:
    model = TwoLayer()
    model(np.ones((5, 3)))
    model.backward(np.ones((5, 2)))
    assert all(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert not any(p.grad.any() for p in model.parameters())


def test_gradients_accumulate_across_backward_calls() -> None:
    model = TwoLayer()
    X, G = np.linspace(-1, 1, 15).reshape(5, 3), np.linspace(0, 1, 10).reshape(5, 2)
    model(X)
    model.backward(G)
    once = [p.grad.copy() for p in model.parameters()]
    model(X)
    model.backward(G)
    for p, g in zip(model.parameters(), once, strict=True):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-15)


def test_composite_module_trains_with_fit() -> None:
    model = TwoLayer()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=(20, 2))
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.01), epochs=20)
    assert history.loss[-1] < history.loss[0]


def test_dtype_is_the_first_parameters() -> None:
    assert mg.Linear(2, 2, dtype=np.float32).dtype == np.float32
    assert TwoLayer().dtype == np.float64


# -- state_dict -------------------------------------------------------------------------------


def test_state_dict_returns_copies() -> None:
    model = mg.Linear(2, 2, rng=0)
    state = model.state_dict()
    before = model.weight.data.copy()
    state["weight"][...] = 99.0  # changing the copy leaves the model alone
    np.testing.assert_array_equal(model.weight.data, before)
    snapshot = {k: v.copy() for k, v in model.state_dict().items()}
    saved = model.state_dict()
    mg.fit(
        model,
        np.ones((3, 2)),
        np.zeros((3, 2)),
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.1),
        epochs=2,
    )
    assert not np.array_equal(model.weight.data, snapshot["weight"])  # training moved the model ...
    for name in snapshot:  # ... but not the saved state
        np.testing.assert_array_equal(saved[name], snapshot[name])


def test_load_state_dict_round_trip_copies_in() -> None:
    source, target = TwoLayer(rng=1), TwoLayer(rng=2)
    state = source.state_dict()
    target.load_state_dict(state)
    for name, value in target.state_dict().items():
        np.testing.assert_array_equal(value, state[name])
    state["first.weight"][...] = 0.0  # the model does not alias the dict's arrays
    assert target.first.weight.data.any()
    X = np.ones((2, 3))
    np.testing.assert_array_equal(source(X), target(X))


def test_load_state_dict_writes_in_place() -> None:
    """The optimizer holds the same Parameter objects and arrays after loading."""
    model = mg.Linear(2, 1, rng=0)
    weight_array = model.weight.data
    opt = mg.SGD(model.parameters(), lr=0.1)
    model.load_state_dict({"weight": [[1.0, 2.0]], "bias": [3]})
    assert model.weight.data is weight_array
    assert opt.params[0] is model.weight
    np.testing.assert_array_equal(model.weight.data, [[1.0, 2.0]])
    assert model.bias is not None and model.bias.data.dtype == np.float64


def test_load_state_dict_keeps_float32() -> None:
    model = mg.Linear(2, 1, dtype=np.float32, rng=0)
    model.load_state_dict({"weight": np.array([[0.1, 0.2]]), "bias": np.array([0.3])})
    assert model.weight.data.dtype == np.float32
    np.testing.assert_array_equal(model.weight.data, np.array([[0.1, 0.2]], dtype=np.float32))


def valid_state() -> dict[str, Any]:
    return TwoLayer(rng=5).state_dict()


def broken(change: str) -> dict[str, Any]:
    """A state dict for TwoLayer whose *last* entries are wrong, so that a loader writing
    as it checks would already have changed the first ones."""
    state = valid_state()
    if change == "missing":
        del state["second.bias"]
    elif change == "unexpected":
        state["third.weight"] = np.zeros((1, 1))
    elif change == "shape":
        state["second.bias"] = np.zeros(3)
    elif change == "transposed":
        state["second.weight"] = state["second.weight"].T.copy()
    elif change == "nan":
        state["second.bias"] = np.array([0.0, np.nan])
    elif change == "inf":
        state["second.weight"][0, 0] = np.inf
    elif change == "strings":
        state["second.bias"] = np.array(["a", "b"])
    return state


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("missing", KeyError),
        ("unexpected", KeyError),
        ("shape", ValueError),
        ("transposed", ValueError),
        ("nan", ValueError),
        ("inf", ValueError),
        ("strings", ValueError),
    ],
)
def test_load_state_dict_is_all_or_nothing(change: str, error: type[Exception]) -> None:
    model = TwoLayer(rng=0)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    with pytest.raises(error):
        model.load_state_dict(broken(change))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=f"{name} changed by a failed load")


def test_load_state_dict_messages_name_the_problem() -> None:
    model = TwoLayer()
    with pytest.raises(KeyError, match=r"second\.bias"):
        model.load_state_dict(broken("missing"))
    with pytest.raises(KeyError, match=r"third\.weight"):
        model.load_state_dict(broken("unexpected"))
    with pytest.raises(ValueError, match=r"second\.bias.*\(2,\).*\(3,\)"):
        model.load_state_dict(broken("shape"))


# -- Parameter --------------------------------------------------------------------------------


def test_parameter_grad_is_zeros_of_the_same_shape_and_dtype() -> None:
    for dtype in (np.float32, np.float64):
        p = mg.Parameter(np.ones((2, 3), dtype=dtype))
        assert p.grad.shape == (2, 3) and p.grad.dtype == dtype and not p.grad.any()
        assert p.shape == (2, 3) and p.dtype == dtype
        assert p.grad is not p.data
        p.grad[...] = 1.0
        p.zero_grad()
        assert not p.grad.any()


def test_zero_grad_is_seen_by_every_reader_of_grad() -> None:
    """zero_grad only marks the gradient; whoever reads p.grad next gets zeros, and in-place edits count."""
    p = mg.Parameter(np.ones((2, 3)))
    a, b = np.full((2, 4), 0.5), np.arange(12.0).reshape(4, 3)
    p.add_dot(a, b)
    np.testing.assert_array_equal(p.grad, a @ b)
    p.zero_grad()
    p.grad += 1.0  # read (so cleared), then edited in place: add_dot must add to it, not overwrite it
    p.add_dot(a, b)
    np.testing.assert_array_equal(p.grad, 1.0 + a @ b)
    p.zero_grad()
    p.add_dot(a, b)  # straight after zero_grad: written into grad
    p.add_dot(a, b)  # then accumulated
    np.testing.assert_array_equal(p.grad, 2 * (a @ b))
    p.zero_grad()
    p.add_dot(a.astype(np.float32), b)  # a product of another dtype takes the adding path, from zeros
    np.testing.assert_array_equal(p.grad, a @ b)


def test_grad_keeps_its_array_and_checks_assignments() -> None:
    p = mg.Parameter(np.zeros((2, 2), dtype=np.float32))
    g = p.grad
    p.grad = [[1.0, 2.0], [3.0, 4.0]]
    assert p.grad is g and p.grad.dtype == np.float32
    np.testing.assert_array_equal(g, [[1, 2], [3, 4]])
    p.zero_grad()
    p.grad = np.ones((2, 2))  # an assignment replaces the pending zeros
    np.testing.assert_array_equal(p.grad, np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"shape \(2, 2\), got \(4,\)"):
        p.grad = np.ones(4)
    np.testing.assert_array_equal(p.grad, np.ones((2, 2)))


def test_grad_is_c_contiguous_for_any_data_layout() -> None:
    """add_dot writes the product straight into grad, which np.dot allows only for a C-ordered array."""
    p = mg.Parameter(np.asfortranarray(np.ones((3, 2))))
    assert p.grad.flags.c_contiguous
    p.zero_grad()
    p.add_dot(np.ones((3, 5)), np.ones((5, 2)))
    np.testing.assert_array_equal(p.grad, np.full((3, 2), 5.0))


def test_named_buffers_follow_the_attribute_names_and_nest_with_dotted_names() -> None:
    class Counter(mg.Module):
        _buffer_names = ("count", "absent")

        def __init__(self) -> None:
            self.count = np.zeros(2)
            self.absent = None

    inner = Counter()
    model = mg.Sequential(mg.Linear(2, 2, rng=0), inner)
    assert [name for name, _ in model.named_buffers()] == ["1.count"]
    assert next(iter(model.named_buffers()))[1] is inner.count
    assert mg.Module.xp is np and model.xp is np
