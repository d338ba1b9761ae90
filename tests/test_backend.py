"""The same models on every array library: Module.to, layers, losses, optimizers, fit, predict, save/load.

Every test runs once per library of the ``xp`` fixture (NumPy, array-api-strict, torch
CPU by default; see conftest.py) and compares with the NumPy result, computed from the
same seed.  ``xp.check`` fails when an output is not of the input's library, so a silent
conversion cannot pass.  array-api-strict accepts only standard calls: a test passing
there proves the general path needs nothing outside the Array API standard.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from array_libraries import ArrayLibrary

import minigrad as mg
from minigrad import backend

pytestmark = pytest.mark.filterwarnings("error::UserWarning")  # array-api-strict warns on __array__ conversions

RTOL = 1e-12


def _mlp(rng: int = 0, dtype: Any = np.float64, out: int = 1) -> mg.Sequential:
    return mg.Sequential(
        mg.Linear(3, 5, dtype=dtype, rng=rng), mg.Tanh(), mg.Linear(5, 4, dtype=dtype, rng=rng + 1), mg.ReLU(),
        mg.Linear(4, out, dtype=dtype, rng=rng + 2),
    )  # fmt: skip


def _data(n: int = 24, d: int = 3, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, 1)) + 0.1 * rng.normal(size=(n, 1))
    return X, y


def _close(a: Any, b: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=rtol, atol=0)


# -- the seam ---------------------------------------------------------------------------------


def test_library_of_names_arrays_and_leaves_data(xp: ArrayLibrary) -> None:
    assert backend.library_of(xp.asarray([1.0])) == xp.name
    assert backend.library_of([1.0, 2.0]) is None
    assert backend.library_of(3.0) is None
    assert backend.namespace_of(xp.asarray([1.0])) is xp.ns
    assert backend.library_name(xp.ns) == xp.name


def test_namespace_refuses_what_is_no_array_library() -> None:
    with pytest.raises(TypeError, match="array library module"):
        backend.namespace(42)
    with pytest.raises(TypeError, match="Array API standard"):
        backend.namespace(pytest)
    with pytest.raises(TypeError, match="pass the Dask arrays to fit"):
        backend.namespace("dask.array")


# -- Module.to --------------------------------------------------------------------------------


def test_to_moves_parameters_in_place_and_sets_xp_everywhere(xp: ArrayLibrary) -> None:
    model = _mlp()
    params = model.parameters()
    before = [p.data.copy() for p in params]
    assert xp.to(model) is model
    assert model.parameters() == params  # the same Parameter objects: an optimizer built before still works
    for p, old in zip(params, before, strict=True):
        xp.check(p.data, "float64")
        xp.check(p.grad, "float64")
        assert p.xp is xp.ns
        np.testing.assert_array_equal(xp.numpy(p.data), old)
    assert all(m.xp is xp.ns for m in model.modules())
    assert len(list(model.modules())) == 6
    model.to(np)
    assert all(isinstance(p.data, np.ndarray) and p.xp is np for p in params)
    for p, old in zip(params, before, strict=True):
        np.testing.assert_array_equal(p.data, old)


def test_to_moves_buffers_and_kept_arrays_and_keeps_ties(xp: ArrayLibrary) -> None:
    class Scaled(mg.Module):
        _buffer_names = ("running",)

        def __init__(self) -> None:
            self.inner = mg.Linear(2, 2, rng=0)
            self.tied = self.inner.weight
            self.running = np.array([1.0, 2.0])
            self.constant = np.array([3.0])

        def forward(self, x: Any) -> Any:
            return self.inner(x) * self.constant

    m = Scaled()
    m.inner(np.ones((3, 2)))  # a cached input and a kept vector of ones (after backward)
    m.inner.backward(np.ones((3, 2)))
    xp.to(m)
    names = dict(m.named_buffers())
    xp.check(names["running"])
    xp.check(m.constant)
    xp.check(m.inner._input)
    xp.check(m.inner._ones)
    assert m.tied is m.inner.weight
    xp.check(m(xp.asarray(np.ones((1, 2)))))


def test_to_refuses_what_is_no_library() -> None:
    with pytest.raises(TypeError, match="numpy, torch, cupy or array_api_strict"):
        mg.Linear(1, 1).to("not a library")  # type: ignore[arg-type]


# -- layers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: mg.Linear(3, 2, rng=0),
        lambda: mg.Linear(3, 2, bias=False, rng=0),
        mg.ReLU,
        lambda: mg.LeakyReLU(0.1),
        mg.Tanh,
        mg.Sigmoid,
        _mlp,
        mg.GELU,
        lambda: mg.GELU("tanh"),
        mg.ELU,
        mg.Softplus,
        mg.Softmax,
        mg.Identity,
        mg.Flatten,
        lambda: mg.Dropout(0.3, rng=0),
        lambda: mg.BatchNorm1d(3),
        lambda: mg.LayerNorm(3),
        lambda: mg.Sequential(mg.BatchNorm1d(3), mg.Linear(3, 4, rng=0), mg.GELU(), mg.Dropout(0.2, rng=1)),
    ],
    ids=[
        "Linear",
        "Linear-nobias",
        "ReLU",
        "LeakyReLU",
        "Tanh",
        "Sigmoid",
        "Sequential",
        "GELU",
        "GELU-tanh",
        "ELU",
        "Softplus",
        "Softmax",
        "Identity",
        "Flatten",
        "Dropout",
        "BatchNorm1d",
        "LayerNorm",
        "MLP-norm-drop",
    ],
)
def test_layer_forward_backward_match_numpy(xp: ArrayLibrary, make: Any) -> None:
    x = np.random.default_rng(1).normal(size=(6, 3))
    ref, model = make(), make()
    xp.to(model)
    y_ref = ref(x)
    y = model(xp.asarray(x))
    xp.check(y, "float64")
    _close(xp.numpy(y), y_ref)
    g = np.random.default_rng(2).normal(size=y_ref.shape)
    gx_ref = ref.backward(g, need_input_grad=True)
    gx = model.backward(xp.asarray(g), need_input_grad=True)
    xp.check(gx, "float64")
    _close(xp.numpy(gx), gx_ref)
    for p_ref, p in zip(ref.parameters(), model.parameters(), strict=True):
        xp.check(p.grad)
        _close(xp.numpy(p.grad), p_ref.grad)
    assert model.backward(xp.asarray(g), need_input_grad=False) is None


def test_float32_stays_float32(xp: ArrayLibrary) -> None:
    model = xp.to(_mlp(dtype=np.float32))
    x = xp.asarray(np.ones((4, 3)), dtype=np.float32)
    y = model(x)
    xp.check(y, "float32")
    xp.check(model.backward(y, need_input_grad=True), "float32")
    xp.check(mg.Sigmoid().to(xp.module, device=xp.device)(x), "float32")
    loss = mg.MSELoss()
    loss(y, xp.asarray(np.zeros((4, 1)), dtype=np.float32))
    xp.check(loss.backward(), "float32")
    opt = mg.Adam(model.parameters(), lr=0.1)
    opt.step()
    xp.check(opt.state[0]["exp_avg"], "float32")
    xp.check(model.parameters()[0].data, "float32")


def test_gradcheck_on_every_library(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Sequential(mg.Linear(3, 4, rng=0), mg.Sigmoid(), mg.Linear(4, 2, rng=1)))
    x = xp.asarray(np.random.default_rng(0).normal(size=(5, 3)))
    assert mg.gradcheck(model, x, rng=0)

    class Half(mg.Linear):
        def backward(self, grad_output: Any, *, need_input_grad: bool = False) -> Any:
            out = super().backward(grad_output, need_input_grad=need_input_grad)
            self.weight.grad[...] = self.weight.grad * 0.5  # a wrong weight gradient
            return out

    with pytest.raises(mg.GradcheckError, match="'weight'"):
        mg.gradcheck(xp.to(Half(3, 2, rng=0)), x, rng=0)


def test_predict_in_blocks_stays_in_the_library(xp: ArrayLibrary) -> None:
    ref, model = _mlp(), xp.to(_mlp())
    x = np.random.default_rng(0).normal(size=(10, 3))
    out = model.predict(xp.asarray(x), batch_size=3)
    xp.check(out, "float64")
    _close(xp.numpy(out), ref.predict(x, batch_size=3))
    xp.check(model.predict(x.tolist(), batch_size=4))  # a list is converted into the model's library
    xp.check(model.predict(xp.asarray(x)))


# -- losses -----------------------------------------------------------------------------------


LOSSES = {
    "MSELoss": (mg.MSELoss, lambda r: r.normal(size=(5, 2))),
    "MSELoss-sum": (lambda: mg.MSELoss("sum"), lambda r: r.normal(size=(5, 2))),
    "L1Loss": (mg.L1Loss, lambda r: r.normal(size=(5, 2))),
    "HuberLoss": (lambda: mg.HuberLoss(delta=0.5), lambda r: r.normal(size=(5, 2))),
    "BCEWithLogitsLoss": (mg.BCEWithLogitsLoss, lambda r: r.integers(0, 2, size=(5, 2)).astype(float)),
    "CrossEntropyLoss": (mg.CrossEntropyLoss, lambda r: r.integers(0, 2, size=5).astype(float)),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_numpy(xp: ArrayLibrary, name: str) -> None:
    make, target = LOSSES[name]
    r = np.random.default_rng(3)
    pred, t = r.normal(size=(5, 2)) * 3, target(r)
    ref, loss = make(), make()
    value = loss(xp.asarray(pred), xp.asarray(t))
    assert isinstance(value, float)
    _close(value, ref(pred, t))
    grad = loss.backward()
    xp.check(grad, "float64")
    _close(xp.numpy(grad), ref.backward())
    _close(loss(xp.asarray(pred), t.tolist()), ref(pred, t))  # a list target is converted
    with pytest.raises(ValueError):
        loss(xp.asarray(pred), xp.asarray(np.zeros(7)))


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_refuses_a_target_of_another_library(xp: ArrayLibrary, name: str) -> None:
    other = xp.other()
    make, target = LOSSES[name]
    r = np.random.default_rng(3)
    with pytest.raises(TypeError, match=f"target is a {other.name} array .* {xp.name} arrays"):
        make()(xp.asarray(r.normal(size=(5, 2))), other.asarray(target(r)))


def test_loss_bad_targets_are_named(xp: ArrayLibrary) -> None:
    z = xp.asarray(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"in \[0, 1\], got 3"):
        mg.CrossEntropyLoss()(z, xp.asarray(np.array([0, 3, 1])))
    with pytest.raises(ValueError, match=r"whole numbers, got 0\.5"):
        mg.CrossEntropyLoss()(z, xp.asarray(np.array([0.0, 0.5, 1.0])))
    with pytest.raises(ValueError, match=r"y.ravel\(\)"):
        mg.CrossEntropyLoss()(z, xp.asarray(np.zeros((3, 1))))
    with pytest.raises(ValueError, match="integers, got dtype"):
        mg.CrossEntropyLoss()(z, xp.asarray(np.array([True, False, True])))
    with pytest.raises(ValueError, match="probabilities in"):
        mg.BCEWithLogitsLoss()(z, xp.asarray(np.full((3, 2), 2.0)))
    with pytest.raises(ValueError, match="do not broadcast"):
        mg.MSELoss()(z, xp.asarray(np.zeros((3, 1))))


# -- optimizers -------------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda ps: mg.SGD(ps, lr=0.1),
    "SGD-momentum": lambda ps: mg.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
    "SGD-nesterov": lambda ps: mg.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda ps: mg.Adam(ps, lr=0.05, weight_decay=0.01),
    "AdamW": lambda ps: mg.AdamW(ps, lr=0.05),
    "RMSprop": lambda ps: mg.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.01),
    "Adagrad": lambda ps: mg.Adagrad(ps, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_steps_match_numpy_and_state_lives_in_the_library(xp: ArrayLibrary, name: str) -> None:
    ref, model = _mlp(), _mlp()
    ref_opt = OPTIMIZERS[name](ref.parameters())
    opt = OPTIMIZERS[name](model.parameters())  # built before the move: the parameters are the same objects
    xp.to(model)
    x = np.random.default_rng(0).normal(size=(8, 3))
    for _ in range(3):
        for m, o, xx in ((ref, ref_opt, x), (model, opt, xp.asarray(x))):
            o.zero_grad()
            out = m(xx)
            m.backward(out * 1.0)
            o.step()
    for p_ref, p in zip(ref.parameters(), model.parameters(), strict=True):
        xp.check(p.data)
        _close(xp.numpy(p.data), p_ref.data)
    for state in opt.state:
        for value in state.values():
            if not isinstance(value, int):
                xp.check(value)
    saved = opt.copy_state()
    if saved is not None:
        for state in saved:
            for value in state.values():
                if not isinstance(value, int):
                    xp.check(value)
    sd = opt.state_dict()
    other = OPTIMIZERS[name](model.parameters())
    other.load_state_dict(sd)
    for s_new, s_old in zip(other.state, opt.state, strict=True):
        for key, value in s_old.items():
            if not isinstance(value, int):
                xp.check(s_new[key])
                np.testing.assert_array_equal(xp.numpy(s_new[key]), xp.numpy(value))
    # a NumPy state (as read from a file) goes into the parameters' library
    host = {
        "hyperparameters": sd["hyperparameters"],
        "state": [{k: v if isinstance(v, int) else backend.to_numpy(v) for k, v in s.items()} for s in sd["state"]],
    }
    other.load_state_dict(host)
    for state in other.state:
        for value in state.values():
            if not isinstance(value, int):
                xp.check(value)


def test_optimizer_refuses_state_of_a_third_library(xp: ArrayLibrary) -> None:
    p = mg.Parameter(np.zeros(2))
    model_lib = xp
    if xp.name == "numpy":
        other = xp.other()
        bad = other.asarray(np.zeros(2))
    else:
        pytest.importorskip("array_api_strict")
        pytest.importorskip("torch")
        bad = ArrayLibrary.load("torch" if xp.name == "array_api_strict" else "array_api_strict").asarray(np.zeros(2))
    p.data = backend.move(p.data, model_lib.ns, model_lib.device)
    p._grad = backend.move(p._grad, model_lib.ns, model_lib.device)
    p.xp = model_lib.ns
    opt = mg.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match=r"'momentum_buffer' of parameter 0 is a .* array but the model computes on"):
        opt.load_state_dict(
            {"hyperparameters": opt.state_dict()["hyperparameters"], "state": [{"momentum_buffer": bad}]}
        )


# -- fit --------------------------------------------------------------------------------------


FITS = {
    "SGD-momentum-full": (
        lambda: mg.Linear(3, 1, rng=0), mg.MSELoss, lambda ps: mg.SGD(ps, lr=0.05, momentum=0.9), None,
    ),
    "SGD-minibatch": (lambda: mg.Linear(3, 1, rng=0), mg.MSELoss, lambda ps: mg.SGD(ps, lr=0.05), 5),
    "Adam-MLP-minibatch": (_mlp, mg.MSELoss, lambda ps: mg.Adam(ps, lr=0.01), 7),
    "AdamW-MLP-Huber": (_mlp, mg.HuberLoss, lambda ps: mg.AdamW(ps, lr=0.01), None),
    "CrossEntropy-MLP-minibatch": (
        lambda: _mlp(out=3), mg.CrossEntropyLoss, lambda ps: mg.SGD(ps, lr=0.1, momentum=0.5, nesterov=True), 8,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(FITS))
def test_fit_gives_the_numpy_losses(xp: ArrayLibrary, name: str) -> None:
    make, loss, optim, batch = FITS[name]
    X, y = _data()
    if loss is mg.CrossEntropyLoss:
        y = np.digitize(y[:, 0], [-0.5, 0.5]).astype(float)
    histories, models = [], []
    for lib in (None, xp):
        model = make()
        if lib is not None:
            lib.to(model)
        Xl, yl = (X, y) if lib is None else (lib.asarray(X), lib.asarray(y))
        h = mg.fit(model, Xl, yl, loss=loss(), optimizer=optim(model.parameters()), epochs=15, batch_size=batch, rng=3)
        histories.append(h.loss)
        models.append(model)
    _close(histories[1], histories[0])
    for p_ref, p in zip(models[0].parameters(), models[1].parameters(), strict=True):
        xp.check(p.data, "float64")
        _close(xp.numpy(p.data), p_ref.data, rtol=1e-10)


def test_fit_with_validation_metrics_scheduler_and_early_stopping(xp: ArrayLibrary) -> None:
    X, y = _data(40)
    results = []
    for lib in (None, xp):
        model = _mlp()
        if lib is not None:
            lib.to(model)
        conv = (lambda a: a) if lib is None else lib.asarray
        opt = mg.SGD(model.parameters(), lr=0.05, momentum=0.9)
        stop = mg.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
        h = mg.fit(
            model, conv(X[:30]), conv(y[:30]), loss=mg.MSELoss(), optimizer=opt, epochs=40,
            validation_data=(conv(X[30:]), conv(y[30:])), metrics=["r2"], callbacks=[stop],
            scheduler=mg.optim.StepLR(opt, step_size=2, gamma=0.5), batch_size=8, rng=1,
        )  # fmt: skip
        results.append((h, model, stop))
    (h0, m0, s0), (h1, m1, s1) = results
    _close(h1.loss, h0.loss)
    _close(h1.val_loss, h0.val_loss)
    _close(h1.metrics["val_r2"], h0.metrics["val_r2"], rtol=1e-10)
    assert s1.best_epoch == s0.best_epoch
    for p_ref, p in zip(m0.parameters(), m1.parameters(), strict=True):
        xp.check(p.data)
        _close(xp.numpy(p.data), p_ref.data, rtol=1e-10)


def test_fit_accepts_lists_and_converts_them_into_the_model_library(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Linear(2, 1, rng=0))
    mg.fit(model, [[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.01), epochs=2)
    xp.check(model.weight.data, "float64")
    xp.check(model([[1.0, 2.0]]), "float64")


def test_fit_float32_stays_float32(xp: ArrayLibrary) -> None:
    X, y = _data()
    model = xp.to(_mlp(dtype=np.float32))
    mg.fit(
        model, xp.asarray(X, np.float32), xp.asarray(y, np.float32), loss=mg.MSELoss(),
        optimizer=mg.Adam(model.parameters(), lr=0.01), epochs=3, batch_size=8, rng=0,
    )  # fmt: skip
    for p in model.parameters():
        xp.check(p.data, "float32")


# -- bad input, divergence, interruption ------------------------------------------------------


def _snapshot(model: mg.Module, xp: ArrayLibrary) -> list[np.ndarray[Any, Any]]:
    return [xp.numpy(p.data) for p in model.parameters()]


def test_data_of_another_library_is_a_type_error_before_any_update(xp: ArrayLibrary) -> None:
    other = xp.other()
    X, y = _data()
    model = xp.to(_mlp())
    before = _snapshot(model, xp)
    opt = mg.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=rf"X is a {other.name} array but the model computes on {xp.name} arrays: "
                       rf"call model.to\({other.name}\)"):  # fmt: skip
        mg.fit(model, other.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(TypeError, match=rf"y is a {other.name} array"):
        mg.fit(model, xp.asarray(X), other.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(TypeError, match=rf"X_val is a {other.name} array"):
        mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2,
               validation_data=(other.asarray(X), xp.asarray(y)))  # fmt: skip
    with pytest.raises(TypeError, match=rf"input is a {other.name} array"):
        model(other.asarray(X))
    with pytest.raises(TypeError, match=rf"is a {other.name} array"):
        model.predict(other.asarray(X), batch_size=4)
    for a, b in zip(before, _snapshot(model, xp), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_data_is_refused_before_any_update(xp: ArrayLibrary) -> None:
    X, y = _data()
    model = xp.to(_mlp())
    before = _snapshot(model, xp)
    opt = mg.Adam(model.parameters(), lr=0.1)
    Xn = X.copy()
    Xn[7, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or infinity \\(first at row 7\\)"):
        mg.fit(model, xp.asarray(Xn), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    yn = y.copy()
    yn[3, 0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or infinity \\(first at row 3\\)"):
        mg.fit(model, xp.asarray(X), xp.asarray(yn), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(ValueError, match="Expected 2D array for X"):
        mg.fit(model, xp.asarray(X[:, 0]), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(ValueError, match="different numbers of samples"):
        mg.fit(model, xp.asarray(X), xp.asarray(y[:5]), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(ValueError, match="in_features=3"):
        mg.fit(model, xp.asarray(X[:, :2]), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    with pytest.raises(ValueError, match="do not broadcast"):
        mg.fit(model, xp.asarray(X), xp.asarray(np.zeros((24, 2))), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    classifier = xp.to(_mlp(out=3))
    with pytest.raises(ValueError, match="class targets must be in"):
        mg.fit(classifier, xp.asarray(X), xp.asarray(np.full(24, 5.0)), loss=mg.CrossEntropyLoss(),
               optimizer=mg.SGD(classifier, lr=0.1), epochs=1)  # fmt: skip
    for a, b in zip(before, _snapshot(model, xp), strict=True):
        np.testing.assert_array_equal(a, b)
    assert opt.state == [{} for _ in opt.params]


def test_a_tensor_that_requires_grad_is_refused() -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("array_api_compat")
    model = mg.Linear(2, 1).to(torch)
    X = torch.ones((3, 2), dtype=torch.float64, requires_grad=True)
    with pytest.raises(TypeError, match=r"requires grad; .* pass X.detach\(\)"):
        mg.fit(
            model, X, torch.ones(3, dtype=torch.float64), loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=1
        )
    assert model(X.detach()).requires_grad is False


def test_divergence_restores_the_last_finite_parameters(xp: ArrayLibrary) -> None:
    X, y = _data()
    X = X * 1e3
    model = xp.to(_mlp())
    opt = mg.SGD(model.parameters(), lr=1e3, momentum=0.9)
    with pytest.raises(mg.DivergenceError) as info:
        mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=50)
    for p in model.parameters():
        xp.check(p.data)
        assert np.isfinite(xp.numpy(p.data)).all()
    for state in opt.state:
        for value in state.values():
            xp.check(value)
            assert np.isfinite(xp.numpy(value)).all()
    assert info.value.epoch >= 1


def test_ctrl_c_in_the_middle_of_an_update_is_undone(xp: ArrayLibrary) -> None:
    X, y = _data()
    model = xp.to(_mlp())

    class Interrupted(mg.Adam):
        calls = 0

        def step(self) -> None:
            Interrupted.calls += 1
            if Interrupted.calls == 3:
                self.params[0].data[...] = self.params[0].data + 1.0  # half an update
                raise KeyboardInterrupt
            super().step()

    opt = Interrupted(model.parameters(), lr=0.01)
    seen: list[list[np.ndarray[Any, Any]]] = []
    record = mg.training.callbacks.FunctionCallback(lambda epoch, logs: seen.append(_snapshot(model, xp)) and None)
    with pytest.raises(KeyboardInterrupt):
        mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=5, callbacks=[record])
    assert len(seen) == 2
    for a, b in zip(seen[-1], _snapshot(model, xp), strict=True):
        np.testing.assert_array_equal(a, b)
    assert opt.state[0]["step"] == 2
    xp.check(opt.state[0]["exp_avg"])


def test_a_model_half_moved_is_refused(xp: ArrayLibrary) -> None:
    if xp.name == "numpy":
        pytest.skip("needs a second library")
    model = _mlp()
    model[0].to(xp.module, device=xp.device)  # only the first layer
    with pytest.raises(TypeError, match="move the whole model"):
        mg.fit(model, _data()[0], _data()[1], loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=1)


# -- state, save and load ---------------------------------------------------------------------


def test_state_dict_and_early_stopping_copies_stay_in_the_library(xp: ArrayLibrary) -> None:
    model = xp.to(_mlp())
    sd = model.state_dict()
    for value in sd.values():
        xp.check(value)
    target = copy.deepcopy(sd) if xp.name != "array_api_strict" else {k: xp.asarray(xp.numpy(v)) for k, v in sd.items()}
    for p in model.parameters():
        p.data[...] = 0.0
    model.load_state_dict(target)
    for p, v in zip(model.parameters(), sd.values(), strict=True):
        np.testing.assert_array_equal(xp.numpy(p.data), xp.numpy(v))
    model.load_state_dict({k: backend.to_numpy(v) for k, v in sd.items()})  # NumPy values are copied in
    bad = {k: backend.to_numpy(v) for k, v in sd.items()}
    bad["0.weight"] = bad["0.weight"] * np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.load_state_dict(bad)


def test_save_writes_the_numpy_file_and_load_fills_the_current_library(xp: ArrayLibrary, tmp_path: Path) -> None:
    X, y = _data()
    ref = _mlp()
    ref_opt = mg.Adam(ref.parameters(), lr=0.01)
    mg.fit(ref, X, y, loss=mg.MSELoss(), optimizer=ref_opt, epochs=3)
    model = xp.to(_mlp())
    opt = mg.Adam(model.parameters(), lr=0.01)
    mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=3)
    mg.save(ref, tmp_path / "ref.npz", optimizer=ref_opt)
    mg.save(model, tmp_path / "lib.npz", optimizer=opt)
    a, b = np.load(tmp_path / "ref.npz"), np.load(tmp_path / "lib.npz")
    assert sorted(a.files) == sorted(b.files)
    assert str(a["minigrad.meta"]) == str(b["minigrad.meta"])
    for key in a.files:
        if key.startswith(("param:", "optim:")):
            assert b[key].dtype == a[key].dtype
            _close(b[key], a[key])
    fresh = xp.to(_mlp(rng=5))
    fresh_opt = mg.Adam(fresh.parameters(), lr=0.01)
    mg.load(fresh, tmp_path / "ref.npz", optimizer=fresh_opt)  # a file saved from NumPy
    for p, p_ref in zip(fresh.parameters(), ref.parameters(), strict=True):
        xp.check(p.data)
        np.testing.assert_array_equal(xp.numpy(p.data), p_ref.data)
    xp.check(fresh_opt.state[0]["exp_avg"])
    back = _mlp(rng=7)
    mg.load(back, tmp_path / "lib.npz")  # and the other way round
    for p, q in zip(back.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, xp.numpy(q.data))


# -- NumPy models refuse other libraries ------------------------------------------------------


def test_a_numpy_model_refuses_tensors_of_another_library(xp: ArrayLibrary) -> None:
    if xp.name == "numpy":
        pytest.skip("the NumPy model's own data")
    model = mg.Linear(3, 1)
    X, y = _data()
    with pytest.raises(TypeError, match=rf"X is a {xp.name} array but the model computes on numpy arrays: "
                       rf"call model.to\({xp.name}\)"):  # fmt: skip
        mg.fit(model, xp.asarray(X), y, loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=1)
    with pytest.raises(TypeError, match=rf"input is a {xp.name} array"):
        model(xp.asarray(X))
    with pytest.raises(TypeError, match=rf"target is a {xp.name} array"):
        mg.MSELoss()(y, xp.asarray(y))
    # metrics are numbers: they read any library
    assert mg.training.metrics.r2_score(xp.asarray(y[:, 0]), y[:, 0]) == 1.0


def test_init_fills_weights_of_any_library_with_the_numpy_numbers(xp: ArrayLibrary) -> None:
    ref, model = mg.Linear(4, 3), xp.to(mg.Linear(4, 3))
    for fill in (mg.init.xavier_uniform_, mg.init.kaiming_normal_):
        fill(ref.weight, rng=0)
        assert fill(model.weight, rng=0) is model.weight
        xp.check(model.weight.data, "float64")
        np.testing.assert_array_equal(xp.numpy(model.weight.data), ref.weight.data)
    with pytest.raises(TypeError, match="floating-point"):
        mg.init.xavier_uniform_(xp.asarray(np.zeros((2, 2), dtype=np.int64)))
    with pytest.raises(TypeError, match="a Parameter or an array"):
        mg.init.xavier_uniform_([[0.0, 1.0]])  # type: ignore[type-var]


def test_readme_array_library_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    ArrayLibrary.load("torch")  # (one thread for tiny tensors)
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### PyTorch tensors, CuPy and any Array API library", 1)[1]
    section = section.split("\n## ", 1)[0].split("\n### ", 1)[0]  # up to the Dask part, which has its own test
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert blocks, "README's array-library section has no python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "X is a numpy array but the model computes on torch arrays: call model.to(numpy)" in out


# -- edges of the seam ------------------------------------------------------------------------


def test_library_of_other_array_types_and_missing_compat(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = type("Array", (), {"__module__": "jaxlib.xla_extension", "shape": (2,), "dtype": "float32"})()
    assert backend.library_of(fake) == "jax"
    no_array = type("Device", (), {"__module__": "torch"})()  # of a library, but no array
    assert backend.library_of(no_array) is None
    with pytest.raises(TypeError, match="expected an array of an array library, got list"):
        backend.namespace_of([1.0])
    np.testing.assert_array_equal(backend.to_numpy([1.0, 2.0]), [1.0, 2.0])
    monkeypatch.delitem(backend._NAMESPACE_BY_NAME, "cupy", raising=False)
    monkeypatch.setitem(__import__("sys").modules, "array_api_compat.cupy", None)
    with pytest.raises(ImportError, match=r"pip install 'minigrad\[array\]'"):
        backend.namespace("cupy")


def test_general_path_conversions_and_refusals(xp: ArrayLibrary) -> None:
    if xp.name == "numpy":
        pytest.skip("the general path: another library than NumPy")
    relu = mg.ReLU().to(xp.module, device=xp.device)
    xp.check(relu(xp.asarray(np.array([[1, -2]]))), "float64")  # integers become float64
    xp.check(relu([[1.0, -2.0]]), "float64")
    assert relu.dtype == xp.ns.float64  # a module without parameters
    with pytest.raises(TypeError, match="real numbers"):
        relu([["a", "b"]])
    with pytest.raises(TypeError, match="real numbers"):
        relu(xp.ns.asarray(np.array([1 + 2j])))
    backend.check_finite(xp.asarray(np.zeros((0, 3))), xp.ns, "X")  # nothing to check
    with pytest.raises(ValueError, match=r"first at row 1"):
        backend.check_finite(xp.asarray(np.array([1.0, np.nan])), xp.ns, "v")
    p = mg.Parameter(xp.asarray(np.ones(3)))  # a Parameter made from an array of the library
    assert p.xp is xp.ns
    xp.check(p.grad)
    p.grad = [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(xp.numpy(p.grad), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="parameter's shape"):
        p.grad = [1.0]
    loss = mg.MSELoss()
    assert loss([[1.0]], xp.asarray(np.array([[3.0]]))) == 4.0  # a list prediction takes the target's library
    xp.check(loss.backward())


def test_module_edges_on_every_library(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Linear(2, 1, rng=0))
    with pytest.raises(ValueError, match="leading sample axis"):
        model.predict(xp.asarray(np.array(1.0)), batch_size=2)

    class Bad(mg.Module):
        def forward(self, x: Any) -> Any:
            return x[:1, ...] if x.shape[0] > 2 else x

    with pytest.raises(ValueError, match="one output row per input row"):
        xp.to(Bad()).predict(xp.asarray(np.ones((5, 2))), batch_size=3)

    class Ragged(mg.Module):
        def forward(self, x: Any) -> Any:
            return x if x.shape[0] == 3 else x[:, :1]

    with pytest.raises(ValueError, match="blocks of different shapes"):
        xp.to(Ragged()).predict(xp.asarray(np.ones((5, 2))), batch_size=3)
    with pytest.raises(ValueError, match="weight must hold real numbers"):
        model.load_state_dict({"weight": [["a", "b"]], "bias": [0.0]})
    g = xp.asarray(np.ones((3, 1)))
    assert mg.gradcheck(model, xp.asarray(np.ones((3, 2))), grad_output=g)


def test_a_state_of_a_third_library_is_refused(xp: ArrayLibrary) -> None:
    if xp.name == "numpy":
        pytest.skip("a third library: neither NumPy nor the model's")
    third = "torch" if xp.name != "torch" else "array_api_strict"
    pytest.importorskip(third)
    model = xp.to(mg.Linear(2, 1, rng=0))
    bad = ArrayLibrary.load(third).asarray(np.ones((1, 2)))
    with pytest.raises(TypeError, match=f"weight is a {third} array"):
        model.load_state_dict({"weight": bad, "bias": np.zeros(1)})


def test_data_on_another_device_is_refused() -> None:
    xs = pytest.importorskip("array_api_strict")
    model = mg.Linear(2, 1, rng=0).to(xs)
    X = xs.asarray(np.ones((3, 2)), device=xs.Device("device1"))
    with pytest.raises(TypeError, match=r"X is on device .*device1.* call model.to\(array_api_strict, device="):
        mg.fit(model, X, xs.asarray(np.ones(3)), loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=1)


def test_a_stack_of_moved_layers_and_its_slices_are_in_their_library(xp: ArrayLibrary) -> None:
    model = xp.to(_mlp())
    assert model[:2].xp is xp.ns
    xp.check(model[:2].predict(xp.asarray(np.ones((5, 3))), batch_size=2))
    stacked = mg.Sequential(*model)
    assert stacked.xp is xp.ns and str(stacked.device) == str(model.device)


def test_the_general_path_gives_the_numpy_fast_path_bits_on_array_api_strict() -> None:
    """array-api-strict computes with NumPy: the standard-only layers must reproduce the fast path bit for bit."""
    strict = ArrayLibrary.load("array_api_strict")
    x = np.random.default_rng(0).normal(size=(7, 3))
    ref, model = _mlp(), strict.to(_mlp())
    y_ref, y = ref(x), model(strict.asarray(x))
    np.testing.assert_array_equal(strict.numpy(y), y_ref)
    g = np.random.default_rng(1).normal(size=y_ref.shape)
    np.testing.assert_array_equal(
        strict.numpy(model.backward(strict.asarray(g), need_input_grad=True)), ref.backward(g, need_input_grad=True)
    )
    for p_ref, p in zip(ref.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(strict.numpy(p.grad), p_ref.grad)


# -- the bad-input promises, case by case, on every library -----------------------------------

BAD_CASES = {
    "3-D X": (lambda X, y: (X[:, :, None], y), ValueError, "2D"),
    "empty X": (lambda X, y: (X[:0], y[:0]), ValueError, "empty"),
    "3-D y": (lambda X, y: (X, y[:, :, None]), ValueError, "1-D .* or 2-D"),
    "1-D y for two outputs": (lambda X, y: (X, y[:, 0]), ValueError, "single-output"),
    "complex X": (lambda X, y: (X + 1j, y), TypeError, "real numbers"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_cases_raise_before_any_update(xp: ArrayLibrary, case: str) -> None:
    make, error, pattern = BAD_CASES[case]
    X, y = _data()
    y = np.hstack([y, y])
    model = xp.to(mg.Sequential(mg.Linear(3, 2, rng=0)))
    before = _snapshot(model, xp)
    Xb, yb = make(X, y)
    Xl = xp.ns.asarray(Xb) if np.iscomplexobj(Xb) and xp.name != "numpy" else xp.asarray(Xb)
    with pytest.raises(error, match=pattern):
        mg.fit(model, Xl, xp.asarray(yb), loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=2)
    for a, b in zip(before, _snapshot(model, xp), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_callers_arrays_are_never_modified_and_bool_data_is_converted(xp: ArrayLibrary) -> None:
    X, y = _data()
    Xl, yl = xp.asarray(X), xp.asarray(y)
    model = xp.to(_mlp())
    mg.fit(model, Xl, yl, loss=mg.MSELoss(), optimizer=mg.Adam(model, lr=0.1), epochs=3, batch_size=5, rng=0)
    np.testing.assert_array_equal(xp.numpy(Xl), X)
    np.testing.assert_array_equal(xp.numpy(yl), y)
    Xbool = xp.asarray(X > 0)
    h = mg.fit(model, Xbool, yl, loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.01), epochs=2)
    assert len(h.loss) == 2


def test_the_seed_with_alpha_1_diverges_to_the_same_bits(xp: ArrayLibrary) -> None:
    """The seed's alpha = 1 (lr 0.5) diverges in epoch 15 and restores the weight of epoch 14, bit for bit."""
    model = xp.to(mg.Linear(1, 1, bias=False))
    model.weight.data[...] = 1.0
    opt = mg.SGD(model.parameters(), lr=0.5)
    with pytest.raises(mg.DivergenceError, match="training diverged in epoch 15: the loss is not finite"):
        mg.fit(model, [[200_000.0]], [99_750_000.0], loss=mg.MSELoss(), optimizer=opt, epochs=100)
    xp.check(model.weight.data)
    assert float(xp.numpy(model.weight.data)[0, 0]) == 3.3403437045143898e140


def test_a_dask_array_outside_fit_says_what_to_do() -> None:
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match=r"input is a dask array: .* compute it first \(input\.compute\(\)\)"):
        mg.Linear(2, 1)(da.ones((3, 2)))


def test_optimizer_state_made_before_to_is_named_and_moved_by_a_state_round_trip(xp: ArrayLibrary) -> None:
    if xp.name == "numpy":
        pytest.skip("needs a move to another library")
    X, y = _data()
    model = _mlp()
    opt = mg.Adam(model.parameters(), lr=0.01)
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2)  # NumPy moments
    xp.to(model)
    with pytest.raises(TypeError, match=r"state 'exp_avg' holds numpy arrays .* optimizer.load_state_dict"):
        mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=1)
    opt.load_state_dict(opt.state_dict())
    xp.check(opt.state[0]["exp_avg"])
    mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.MSELoss(), optimizer=opt, epochs=1)
    assert opt.state[0]["step"] == 3


def test_buffers_are_saved_and_loaded_in_the_model_library(xp: ArrayLibrary, tmp_path: Path) -> None:
    class Counted(mg.Module):
        _buffer_names = ("running", "count")

        def __init__(self) -> None:
            self.inner = mg.Linear(2, 1, rng=0)
            self.running = np.array([1.0, 2.0])
            self.count = np.array(3, dtype=np.int64)

        def forward(self, x: Any) -> Any:
            return self.inner(x)

    model = xp.to(Counted())
    mg.save(model, tmp_path / "m.npz")
    stored = np.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(stored["buffer:running"], [1.0, 2.0])
    other = xp.to(Counted())
    other.running[...] = 0.0
    mg.load(other, tmp_path / "m.npz")
    xp.check(other.running)
    np.testing.assert_array_equal(xp.numpy(other.running), [1.0, 2.0])
    if xp.name != "numpy":
        other.running = xp.asarray(np.array(["a"]) == "a")  # a bool buffer is fine; a string one is not
        mg.save(other, tmp_path / "b.npz")


def test_a_state_array_given_as_a_list_is_refused(xp: ArrayLibrary) -> None:
    model = xp.to(mg.Linear(2, 1, rng=0))
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    hyper = opt.state_dict()["hyperparameters"]
    with pytest.raises(TypeError, match="must be an array of shape"):
        opt.load_state_dict({"hyperparameters": hyper, "state": [{"momentum_buffer": [[0.0, 0.0]]}, {}]})


def test_a_moved_model_pickles_and_deep_copies_in_its_library(xp: ArrayLibrary) -> None:
    import pickle

    model = xp.to(_mlp())
    for twin in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert twin.xp is xp.ns and all(m.xp is xp.ns for m in twin.modules())
        for p, q in zip(twin.parameters(), model.parameters(), strict=True):
            assert p.xp is xp.ns and p is not q
            xp.check(p.data)
            np.testing.assert_array_equal(xp.numpy(p.data), xp.numpy(q.data))
        x = xp.asarray(np.ones((2, 3)))
        np.testing.assert_array_equal(xp.numpy(twin(x)), xp.numpy(model(x)))


@pytest.mark.parametrize("batch_size", [None, 5])
def test_weighted_training_is_numpys(xp: ArrayLibrary, batch_size: int | None) -> None:
    """sample_weight and class_weight on every library: the same numbers as NumPy's, to rounding."""
    X, y = _data()
    w = np.linspace(0.0, 2.0, len(X))
    reference = _mlp()
    mg.fit(reference, X, y, loss=mg.HuberLoss(), optimizer=mg.SGD(reference, lr=0.1), epochs=3,
           batch_size=batch_size, rng=0, sample_weight=w)  # fmt: skip
    model = xp.to(_mlp())
    mg.fit(model, xp.asarray(X), xp.asarray(y), loss=mg.HuberLoss(), optimizer=mg.SGD(model, lr=0.1), epochs=3,
           batch_size=batch_size, rng=0, sample_weight=xp.asarray(w))  # fmt: skip
    for p, q in zip(model.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(xp.numpy(p.data), q.data, rtol=1e-12, atol=1e-14)
    classes = (X[:, 0] > 0).astype(np.int64)
    a, b = xp.to(mg.Linear(X.shape[1], 2, rng=0)), mg.Linear(X.shape[1], 2, rng=0)
    mg.fit(a, xp.asarray(X), xp.asarray(classes), loss=mg.CrossEntropyLoss(), optimizer=mg.SGD(a, lr=0.1),
           epochs=2, class_weight="balanced")  # fmt: skip
    mg.fit(b, X, classes, loss=mg.CrossEntropyLoss(), optimizer=mg.SGD(b, lr=0.1), epochs=2, class_weight="balanced")
    np.testing.assert_allclose(xp.numpy(a.weight.data), b.weight.data, rtol=1e-12)
