"""Bad input: a clear error before anything changes, the caller's data untouched, nothing lost.

Every test that expects an error also checks that the model's parameters are exactly
what they were before the call.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import pytest
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]
BUDGET = 200_000.0
GROSS = 99_750_000.0


def fit(model: mg.Module, X: Any, y: Any, **kwargs: Any) -> mg.History:
    options: dict[str, Any] = {"loss": mg.MSELoss(), "optimizer": mg.SGD(model.parameters(), lr=0.01), "epochs": 3}
    options.update(kwargs)
    return mg.fit(model, X, y, **options)


@contextmanager
def unchanged(model: mg.Module) -> Iterator[None]:
    """Assert that the block leaves every parameter bit for bit as it was (even when it raises)."""
    before = model.state_dict()
    try:
        yield
    finally:
        after = model.state_dict()
        for name in before:
            np.testing.assert_array_equal(after[name], before[name], err_msg=f"{name} changed")


def data(n: int = 6, fin: int = 2, fout: int = 1, seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, fin)), rng.normal(size=(n, fout))


# -- shapes -----------------------------------------------------------------------------------


def test_1d_X_gets_the_reshape_hint() -> None:
    model = mg.Linear(1, 1, rng=0)
    with unchanged(model), pytest.raises(ValueError, match=r"Expected 2D array.*reshape\(-1, 1\)"):
        fit(model, np.arange(5.0), np.arange(5.0))


@pytest.mark.parametrize("X", [np.ones((2, 3, 1)), np.float64(3.0), [[[1.0]]]])
def test_X_that_is_not_2d_raises(X: Any) -> None:
    model = mg.Linear(1, 1, rng=0)
    with unchanged(model), pytest.raises(ValueError, match="2D"):
        fit(model, X, np.ones(2))


def test_wrong_feature_count_names_both_shapes() -> None:
    model = mg.Linear(3, 1, rng=0)
    X, y = data(fin=2)
    with unchanged(model), pytest.raises(ValueError, match=r"\(N, 3\).*\(6, 2\)"):
        fit(model, X, y)


def test_row_counts_that_differ_name_both_shapes() -> None:
    model = mg.Linear(2, 1, rng=0)
    X, _ = data(n=6)
    with unchanged(model), pytest.raises(ValueError) as info:
        fit(model, X, np.ones((5, 1)))
    assert "(6, 2)" in str(info.value) and "(5, 1)" in str(info.value)


def test_target_columns_that_differ_from_the_outputs_name_both_shapes() -> None:
    model = mg.Linear(2, 1, rng=0)
    X, _ = data(n=6)
    with unchanged(model), pytest.raises(ValueError) as info:
        fit(model, X, np.ones((6, 2)))
    assert "(6, 1)" in str(info.value) and "(6, 2)" in str(info.value)


@pytest.mark.parametrize(("pred_shape", "target_shape"), [((5, 1), (5,)), ((5,), (5, 1)), ((5, 1), (1, 5))])
def test_loss_refuses_to_broadcast(pred_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError) as info:
        mg.MSELoss()(np.zeros(pred_shape), np.zeros(target_shape))
    assert str(pred_shape) in str(info.value) and str(target_shape) in str(info.value)


def test_1d_y_is_accepted_for_a_single_output_model() -> None:
    X, y = data(fout=1)
    a, b = mg.Linear(2, 1, rng=0), mg.Linear(2, 1, rng=0)
    ha = fit(a, X, y[:, 0])
    hb = fit(b, X, y)
    assert ha.loss == hb.loss
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[name])
    # Mini-batches too.
    fit(a, X, y[:, 0], batch_size=2, rng=0)


def test_1d_y_for_a_multi_output_model_is_a_clear_error() -> None:
    model = mg.Linear(2, 3, rng=0)
    X, _ = data()
    for batch_size in (None, 2):
        with unchanged(model), pytest.raises(ValueError, match=r"1-D y.*single-output") as info:
            fit(model, X, np.ones(6), batch_size=batch_size)
        assert "(N, 3)" in str(info.value)


def test_y_with_three_dimensions_raises() -> None:
    model = mg.Linear(2, 1, rng=0)
    X, _ = data()
    with unchanged(model), pytest.raises(ValueError, match=r"\(6, 1, 1\)"):
        fit(model, X, np.ones((6, 1, 1)))


@pytest.mark.parametrize("X", [np.zeros((0, 2)), [], [[]]])
def test_empty_X_raises(X: Any) -> None:
    model = mg.Linear(2, 1, rng=0)
    with unchanged(model), pytest.raises(ValueError):
        fit(model, X, np.zeros((0, 1)))


def test_empty_X_message() -> None:
    model = mg.Linear(2, 1, rng=0)
    with pytest.raises(ValueError, match="empty"):
        fit(model, np.zeros((0, 2)), np.zeros(0))


# -- NaN and infinity -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("batch_size", [None, 2])
def test_nan_and_inf_raise_before_any_update(where: str, value: float, batch_size: int | None) -> None:
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=6)
    (X if where == "X" else y)[4, 0] = value  # late in the data: no batch may be trained first
    calls: list[int] = []
    with unchanged(model), pytest.raises(ValueError, match=rf"{where} contains NaN or infinity"):
        fit(model, X, y, batch_size=batch_size, callbacks=[lambda epoch, logs: calls.append(epoch)])
    assert calls == []


@pytest.mark.parametrize("bad", [["a", "b"], np.array([1 + 2j, 3j])])
def test_non_numeric_data_raises_type_error(bad: Any) -> None:
    model = mg.Linear(1, 1, rng=0)
    with unchanged(model), pytest.raises(TypeError, match="real numbers"):
        fit(model, np.ones((2, 1)), bad)


# -- conversion and the caller's arrays ---------------------------------------------------------


def test_lists_and_integer_arrays_are_converted() -> None:
    Xf = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]])
    yf = np.array([[1.0], [0.0], [2.0]])
    reference = mg.Linear(2, 1, rng=0)
    h_ref = fit(reference, Xf, yf)
    for X, y in [
        (Xf.tolist(), yf.tolist()),
        (Xf.astype(np.int64), yf.astype(np.int32)),
        (Xf.astype(np.int8).tolist(), yf[:, 0].astype(np.int16)),
        (tuple(map(tuple, Xf.tolist())), tuple(yf[:, 0].tolist())),
    ]:
        model = mg.Linear(2, 1, rng=0)
        history = fit(model, X, y)
        assert history.loss == h_ref.loss
        np.testing.assert_array_equal(model.weight.data, reference.weight.data)
        assert model.weight.data.dtype == np.float64


def test_bool_data_is_converted() -> None:
    model = mg.Linear(2, 1, rng=0)
    fit(model, np.array([[True, False], [False, True]]), np.array([1, 0]))
    assert model.weight.data.dtype == np.float64


FLAGS = ("c_contiguous", "f_contiguous", "writeable", "owndata", "aligned")


def snapshot(a: np.ndarray) -> tuple[Array, np.dtype[Any], dict[str, bool], tuple[int, ...]]:
    flags = {k: bool(getattr(a.flags, k)) for k in FLAGS}
    return a.copy(), a.dtype, flags, a.strides


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_size", [None, 2])
@pytest.mark.parametrize("order", ["C", "F"])
def test_caller_arrays_are_never_modified(dtype: Any, batch_size: int | None, order: Literal["C", "F"]) -> None:
    X64, y64 = data(n=6, fin=3, fout=2)
    X, y = np.array(X64, dtype=dtype, order=order), np.array(y64, dtype=dtype, order=order)
    for model_dtype in (np.float64, np.float32):
        X_before, y_before = snapshot(X), snapshot(y)
        model = mg.Linear(3, 2, dtype=model_dtype, rng=0)
        fit(
            model,
            X,
            y,
            batch_size=batch_size,
            rng=0,
            optimizer=mg.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
        )
        for arr, before in ((X, X_before), (y, y_before)):
            values, dt, flags, strides = before
            np.testing.assert_array_equal(arr, values)
            assert arr.dtype == dt
            assert {k: bool(getattr(arr.flags, k)) for k in FLAGS} == flags
            assert arr.strides == strides


def test_read_only_arrays_are_accepted() -> None:
    """fit never writes to X or y: read-only arrays (memory-mapped data) work unchanged."""
    X, y = data(n=6, fin=2, fout=1)
    X.flags.writeable = False
    y.flags.writeable = False
    for batch_size in (None, 4):
        model = mg.Linear(2, 1, rng=0)
        fit(model, X, y, batch_size=batch_size, rng=0)
        fit(model, X, y[:, 0], batch_size=batch_size, rng=0)
    assert not X.flags.writeable and not y.flags.writeable


def test_strided_views_are_accepted() -> None:
    X, y = data(n=12, fin=4, fout=1)
    Xv, yv = X[::2, ::2], y[::2]
    model, ref = mg.Linear(2, 1, rng=0), mg.Linear(2, 1, rng=0)
    fit(model, Xv, yv)
    fit(ref, np.ascontiguousarray(Xv), np.ascontiguousarray(yv))
    np.testing.assert_array_equal(model.weight.data, ref.weight.data)


# -- divergence -------------------------------------------------------------------------------


def seed_model(weight: float = 1.0) -> mg.Linear:
    model = mg.Linear(1, 1, bias=False)
    model.weight.data[...] = weight
    return model


def seed_divergence_reference() -> tuple[int, float]:
    """The seed with alpha 1 in Python floats: the first epoch whose loss overflows, and the weight
    with which the previous epoch started (the last weight whose loss was finite)."""
    w, prev, epoch = 1.0, float("nan"), 1
    while True:
        delta = BUDGET * w - GROSS
        if delta * delta == float("inf"):
            return epoch, prev
        prev, w, epoch = w, w - delta * BUDGET * 1.0, epoch + 1


def test_the_seed_with_alpha_1_diverges_cleanly() -> None:
    model = seed_model()
    epoch, last_good = seed_divergence_reference()
    seen: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (overflow, invalid value) fails the test
        with pytest.raises(mg.DivergenceError) as info:
            fit(
                model,
                [[BUDGET]],
                [GROSS],
                optimizer=mg.SGD(model.parameters(), lr=1 / 2),
                epochs=1000,
                callbacks=[lambda e, logs: seen.append(float(model.weight.data[0, 0]))],
            )
    err = info.value
    assert isinstance(err, ArithmeticError)
    assert err.epoch == epoch
    message = str(err)
    assert f"epoch {epoch}" in message
    assert "smaller learning rate" in message
    w = model.weight.data[0, 0]
    assert np.isfinite(w)
    # The weight before the update that made the loss overflow; its loss is finite.
    assert w == last_good
    assert w == seen[-2]
    assert np.isfinite(mg.MSELoss()(model(np.array([[BUDGET]])), np.array([[GROSS]])))


def test_an_overflowing_update_restores_the_previous_parameters() -> None:
    """A finite loss but an update that overflows: the step is undone."""
    model = mg.Linear(2, 1, rng=0)
    before = model.state_dict()
    X, y = data(n=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.DivergenceError, match="epoch 1") as info:
            # The loss is about 1e6, finite; the step lr * gradient is far beyond float64's range.
            fit(model, X, 1e3 * y, optimizer=mg.SGD(model.parameters(), lr=1e308))
    assert info.value.epoch == 1
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_divergence_with_minibatches() -> None:
    model = seed_model()
    X = np.full((4, 1), BUDGET)
    y = np.full(4, GROSS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.DivergenceError):
            fit(model, X, y, optimizer=mg.SGD(model.parameters(), lr=1 / 2), epochs=1000, batch_size=1, rng=0)
    assert np.isfinite(model.weight.data).all()


def test_an_overflowing_update_after_a_callback_set_the_weights_restores_those_weights() -> None:
    """Mini-batches reuse the copy taken after each update as the next one's save, within an epoch only:
    a callback that sets the weights between epochs is followed by a new save, which a failed update puts back."""
    model = mg.Sequential(mg.Linear(2, 3, rng=1), mg.Tanh(), mg.Linear(3, 1, rng=2))
    X, y = data(n=8)
    opt = mg.SGD(model.parameters(), lr=0.01)
    set_by_callback: dict[str, Array] = {}

    def set_weights(epoch: int, logs: dict[str, Any]) -> None:
        if epoch == 1:
            for p in model.parameters():
                p.data[...] = 0.5
            set_by_callback.update(model.state_dict())
            opt.lr = 1e308  # the next update overflows to inf

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.DivergenceError, match="epoch 2") as info:
            fit(model, X, 1e6 * y, optimizer=opt, epochs=3, batch_size=2, rng=0, callbacks=[set_weights])
    assert "a parameter" in str(info.value)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, set_by_callback[name], err_msg=name)


# -- Ctrl-C -----------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 2])
def test_keyboard_interrupt_from_a_callback_keeps_the_last_completed_step(batch_size: int | None) -> None:
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=6)
    snapshots: list[dict[str, Array]] = []

    def interrupt(epoch: int, logs: dict[str, Any]) -> None:
        snapshots.append(model.state_dict())
        if epoch == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, epochs=10, batch_size=batch_size, rng=0, callbacks=[interrupt])
    assert len(snapshots) == 3
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[-1][name])
    assert not np.array_equal(snapshots[-1]["weight"], snapshots[-2]["weight"])


class InterruptedSGD(mg.SGD):
    """SGD whose ``interrupt_at``-th step updates the first parameter, then is interrupted."""

    def __init__(self, *args: Any, interrupt_at: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interrupt_at = interrupt_at
        self.calls = 0
        self.after_step: list[dict[str, Array]] = []

    def step(self) -> None:
        self.calls += 1
        if self.calls == self.interrupt_at:
            first = self.params[0]
            first.data -= self.lr * first.grad  # a partial update: the weight moves, the bias not yet
            raise KeyboardInterrupt
        super().step()
        self.after_step.append([p.data.copy() for p in self.params])  # type: ignore[arg-type]


@pytest.mark.parametrize("batch_size", [None, 2])
def test_keyboard_interrupt_inside_step_undoes_the_partial_update(batch_size: int | None) -> None:
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=6)
    opt = InterruptedSGD(model.parameters(), lr=0.1, interrupt_at=4)
    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, optimizer=opt, epochs=10, batch_size=batch_size, rng=0)
    assert opt.calls == 4
    last_completed = opt.after_step[-1]
    assert len(opt.after_step) == 3
    for p, value in zip(model.parameters(), last_completed, strict=True):
        np.testing.assert_array_equal(p.data, value)


def test_keyboard_interrupt_inside_step_via_monkeypatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through a patched step of a plain SGD: the whole first update is undone."""
    model = mg.Linear(2, 1, rng=0)
    before = model.state_dict()
    X, y = data(n=6)
    opt = mg.SGD(model.parameters(), lr=0.1)
    original = opt.step

    def step() -> None:
        model.weight.data += 1.0
        original()
        raise KeyboardInterrupt

    monkeypatch.setattr(opt, "step", step)
    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, optimizer=opt)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# -- the optimizer's state is undone with the parameters ----------------------------------------


def optimizers_with_state(model: mg.Module, lr: float) -> list[mg.Optimizer]:
    return [
        mg.SGD(model.parameters(), lr=lr, momentum=0.9),
        mg.Adam(model.parameters(), lr=lr),
        mg.AdamW(model.parameters(), lr=lr),
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["sgd-momentum", "adam", "adamw"])
def test_an_overflowing_update_restores_the_optimizer_state_too(which: int) -> None:
    """An update that overflows in a later epoch: parameters and optimizer state as before that step."""
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=4)
    opt = optimizers_with_state(model, 0.01)[which]
    fit(model, X, y, optimizer=opt, epochs=2)
    params_before = model.state_dict()
    state_before = opt.state_dict()
    model.weight.grad[...] = 0.0
    # From here on, every gradient is huge: the third update overflows to inf.
    opt.lr = 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.DivergenceError, match="epoch 1"):
            fit(model, X, 1e6 * y, optimizer=opt, epochs=1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, params_before[name])
    after = opt.state_dict()["state"]
    assert len(after) == len(state_before["state"])
    for s_after, s_before in zip(after, state_before["state"], strict=True):
        assert s_after.keys() == s_before.keys()
        for key, value in s_before.items():
            np.testing.assert_array_equal(s_after[key], value, err_msg=f"optimizer state {key!r} changed")


def test_interrupted_momentum_step_restores_the_momentum_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the momentum buffers moved but before the step ended: both are put back."""
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=6)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fit(model, X, y, optimizer=opt, epochs=2)
    params_before = model.state_dict()
    buffers_before = [np.array(s["momentum_buffer"]) for s in opt.state]
    original = opt.step

    def step() -> None:
        original()
        raise KeyboardInterrupt

    monkeypatch.setattr(opt, "step", step)
    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, optimizer=opt, epochs=1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, params_before[name])
    for s, before in zip(opt.state, buffers_before, strict=True):
        np.testing.assert_array_equal(s["momentum_buffer"], before)


def test_the_first_step_diverging_leaves_the_optimizer_state_empty() -> None:
    model = mg.Linear(2, 1, rng=0)
    X, y = data(n=4)
    opt = mg.SGD(model.parameters(), lr=1e308, momentum=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(mg.DivergenceError):
            fit(model, X, 1e6 * y, optimizer=opt)
    assert opt.state == [{}, {}]
