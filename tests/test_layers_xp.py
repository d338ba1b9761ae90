"""The new layers on every array library of the ``xp`` fixture (NumPy, array-api-strict, torch), moved by ``to``.

Training and evaluation mode, running statistics (buffers), state_dict, gradcheck with a fixed dropout
mask and summary: the numbers must be NumPy's and every array must stay in the model's library.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from array_libraries import ArrayLibrary

import minigrad as mg

LAYERS: list[tuple[str, Callable[[], mg.Module], tuple[int, ...]]] = [
    ("gelu", lambda: mg.GELU(), (4, 5)),
    ("gelu-tanh", lambda: mg.GELU("tanh"), (4, 5)),
    ("elu", lambda: mg.ELU(0.5), (4, 5)),
    ("softplus", lambda: mg.Softplus(2.0, 3.0), (4, 5)),
    ("softmax", lambda: mg.Softmax(0), (4, 5)),
    ("identity", lambda: mg.Identity(), (4, 5)),
    ("flatten", lambda: mg.Flatten(), (2, 3, 4)),
    ("dropout", lambda: mg.Dropout(0.3, rng=0), (4, 5)),
    ("batchnorm", lambda: mg.BatchNorm1d(5, momentum=None), (4, 5)),
    ("batchnorm-3d", lambda: mg.BatchNorm1d(3), (4, 3, 2)),
    ("layernorm", lambda: mg.LayerNorm((2, 5)), (3, 2, 5)),
]


def close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(("name", "make", "shape"), LAYERS, ids=[case[0] for case in LAYERS])
def test_layer_in_both_modes_matches_numpy(
    xp: ArrayLibrary, name: str, make: Callable[[], mg.Module], shape: tuple[int, ...]
) -> None:
    rng = np.random.default_rng(0)
    reference, moved = make(), make()
    for a, b in zip(reference.parameters(), moved.parameters(), strict=True):
        a.data[...] = b.data[...] = rng.normal(size=a.shape)
    xp.to(moved)
    for mode in (True, True, False):  # two training batches (running statistics), then evaluation
        reference.train(mode), moved.train(mode)
        x = rng.normal(size=shape)
        y_ref, y = reference(x), moved(xp.asarray(x))
        g = rng.normal(size=y_ref.shape)
        dx_ref, dx = reference.backward(g, need_input_grad=True), moved.backward(xp.asarray(g), need_input_grad=True)
        close(xp.numpy(y), y_ref)
        close(xp.numpy(dx), dx_ref)
    for (n, p), (_, q) in zip(reference.named_parameters(), moved.named_parameters(), strict=True):
        np.testing.assert_allclose(xp.numpy(q.grad), p.grad, rtol=1e-13, atol=1e-15, err_msg=n)
    for (n, a), (_, b) in zip(reference.named_buffers(), moved.named_buffers(), strict=True):
        xp.check(b)
        np.testing.assert_allclose(xp.numpy(b), a, rtol=1e-13, atol=1e-15, err_msg=n)


def test_state_dict_with_buffers_stays_in_the_library_and_loads_back(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4)))
    model(xp.asarray(np.random.default_rng(0).normal(size=(6, 3))))
    state = model.state_dict()
    for value in state.values():
        xp.check(value)
    assert int(xp.numpy(state["1.num_batches_tracked"])) == 1
    other = xp.to(mg.Sequential(mg.Linear(3, 4, rng=1), mg.BatchNorm1d(4)))
    other.load_state_dict(state)  # arrays of the library
    host = {k: xp.numpy(v) for k, v in state.items()}
    other.load_state_dict(host)  # a saved state: NumPy arrays
    for name, value in other.state_dict().items():
        xp.check(value)
        np.testing.assert_array_equal(xp.numpy(value), host[name])
    with pytest.raises(ValueError, match="num_batches_tracked"):
        other.load_state_dict({**host, "1.num_batches_tracked": np.array(-1)})
    with pytest.raises(ValueError):
        other.load_state_dict({**host, "1.running_var": np.full(4, np.nan)})
    with pytest.raises(ValueError, match="must be >= 0"):
        other.load_state_dict({**host, "1.running_var": -np.ones(4)})
    np.testing.assert_array_equal(xp.numpy(other[1].running_var), host["1.running_var"])


def test_gradcheck_with_dropout_and_batchnorm_in_training_mode(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4), mg.GELU(), mg.Dropout(0.3, rng=1)))
    model.eval()
    x = xp.asarray(np.random.default_rng(2).normal(size=(5, 3)))
    assert mg.gradcheck(model, x, rng=0, train=True)
    assert not model.training


def test_predict_and_summary_on_the_library(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4), mg.Dropout(0.5, rng=0)))
    x = np.random.default_rng(3).normal(size=(7, 3))
    model(xp.asarray(x))
    out = model.predict(xp.asarray(x), batch_size=3)
    xp.check(out, "float64")
    assert model.training and model[2].training
    lines: list[str] = []
    model.summary((2, 3), print_fn=lines.append)
    assert any(line.split() == ["1", "BatchNorm1d", "(2,", "4)", "8"] for line in lines)


def test_softmax_function_on_the_library(xp: ArrayLibrary) -> None:
    z = np.random.default_rng(1).normal(size=(3, 4))
    p = mg.softmax(xp.asarray(z), axis=0, xp=xp.ns)
    xp.check(p, "float64")
    close(xp.numpy(p), mg.softmax(z, axis=0))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_gradient_clipping_on_the_library(xp: ArrayLibrary, norm_type: float) -> None:
    ref, model = mg.Linear(3, 2, rng=0), xp.to(mg.Linear(3, 2, rng=0))
    grads = [np.random.default_rng(4).normal(scale=3, size=p.shape) for p in ref.parameters()]
    for p_ref, p, g in zip(ref.parameters(), model.parameters(), grads, strict=True):
        p_ref.grad[...] = g
        p.grad[...] = xp.asarray(g)
    assert mg.clip_grad_norm_(model, 1.0, norm_type=norm_type) == pytest.approx(
        mg.clip_grad_norm_(ref, 1.0, norm_type=norm_type), rel=1e-13
    )
    mg.clip_grad_value_(model, 0.2), mg.clip_grad_value_(ref, 0.2)
    for p_ref, p in zip(ref.parameters(), model.parameters(), strict=True):
        xp.check(p.grad)
        close(xp.numpy(p.grad), p_ref.grad)


def test_reduce_on_plateau_takes_a_0d_array_of_the_library(xp: ArrayLibrary) -> None:
    opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
    sched = mg.optim.ReduceLROnPlateau(opt, patience=0)
    sched.step(xp.asarray(1.0))
    sched.step(xp.asarray(2.0))
    assert opt.lr == pytest.approx(0.1) and sched.best == 1.0
    with pytest.raises(TypeError, match="number"):
        sched.step(xp.asarray([1.0]))


def test_buffers_of_a_third_library_and_appends_across_libraries(xp: ArrayLibrary) -> None:
    other = xp.other()
    bn = xp.to(mg.BatchNorm1d(2, affine=False))  # buffers only
    state = {k: other.asarray(xp.numpy(v)) for k, v in bn.state_dict().items()}
    if xp.name != "numpy":
        with pytest.raises(TypeError, match="array of"):
            bn.load_state_dict(state)
    stack = mg.Sequential(mg.Linear(2, 2, rng=0))
    stack.append(other.to(mg.ReLU()))  # a layer of another library: the stack stays NumPy's
    assert stack.xp is np
    moved = other.to(mg.Sequential(mg.Linear(2, 2, rng=0))).append(other.to(mg.Tanh()))
    assert moved.xp is other.ns
