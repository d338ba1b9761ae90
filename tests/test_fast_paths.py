"""The fast paths give the numbers of the plain ones.

fit trains a single Linear layer under MSELoss with a fused step
(``minigrad.training.fused_step.LinearMSEStep``): the same arithmetic as ``Linear`` +
``MSELoss`` operation for operation on small data (so the same bits), and a
row-blocked single pass over X on large data (the same numbers to float
rounding).  A subclass of Linear takes the general path, so comparing the two
tests the fused step against the layer-by-layer one.  The cheap finiteness
checks (a sum or a sum of squares first, the exact check only when that is not
finite) must never miss a NaN or inf and never refuse large finite values.
"""

from __future__ import annotations

import tracemalloc
import warnings
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.backend import _array
from minigrad.training import fused_step, trainer
from minigrad.training.fit import check_data
from minigrad.training.fused_step import LinearMSEStep
from minigrad.training.trainer import Trainer

Array = np.ndarray[Any, Any]


class GeneralLinear(mg.Linear):
    """A Linear that fit does not recognise as one: it always takes the general path."""


def data(n: int, fin: int, fout: int, dtype: Any = np.float64, seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, fin))
    y = X @ rng.normal(size=(fin, fout)) + 0.5 + 0.1 * rng.normal(size=(n, fout))
    return X.astype(dtype), y.astype(dtype)


def train(cls: type[mg.Linear], X: Array, y: Array, **kw: Any) -> tuple[mg.Linear, mg.History]:
    bias = kw.pop("bias", True)
    reduction = kw.pop("reduction", "mean")
    momentum = kw.pop("momentum", 0.0)
    model = cls(X.shape[1], y.shape[1], bias=bias, dtype=X.dtype, rng=4)
    opt = mg.SGD(model.parameters(), lr=kw.pop("lr", 0.05), momentum=momentum)
    history = mg.fit(model, X, y, loss=mg.MSELoss(reduction=reduction), optimizer=opt, **kw)
    return model, history


def test_the_fused_step_is_chosen_only_for_a_plain_linear_under_a_plain_mse() -> None:
    layer, loss = mg.Linear(2, 1), mg.MSELoss()
    assert LinearMSEStep.applies(layer, loss)
    assert not LinearMSEStep.applies(GeneralLinear(2, 1), loss)
    assert not LinearMSEStep.applies(mg.Sequential(mg.Linear(2, 1)), loss)
    assert not LinearMSEStep.applies(layer, mg.L1Loss())
    patched = mg.Linear(2, 1)
    patched.forward = lambda x: x  # type: ignore[method-assign,assignment,return-value]
    assert not LinearMSEStep.applies(patched, loss)
    opt = mg.SGD(layer.parameters(), lr=0.1)
    assert Trainer(layer, layer.parameters(), loss, opt).fused is not None
    seq = mg.Sequential(mg.Linear(2, 3), mg.ReLU(), mg.Linear(3, 1))
    assert Trainer(seq, seq.parameters(), loss, mg.SGD(seq.parameters(), lr=0.1)).fused is None


@pytest.mark.parametrize(
    ("n", "fin", "fout", "bias", "reduction", "dtype", "batch_size", "momentum"),
    [
        (1, 1, 1, False, "mean", np.float64, None, 0.0),  # the seed's shape
        (1, 1, 1, True, "mean", np.float64, None, 0.0),
        (32, 10, 1, True, "mean", np.float64, None, 0.0),
        (40, 5, 3, True, "sum", np.float64, None, 0.9),
        (50, 4, 2, False, "mean", np.float32, None, 0.0),
        (64, 3, 1, True, "mean", np.float64, 8, 0.0),  # mini-batches
        (61, 3, 2, True, "mean", np.float32, 16, 0.5),  # and a last partial batch
        (3000, 8, 1, True, "mean", np.float64, None, 0.0),  # a residual updated in place
    ],
)
def test_fused_fit_equals_the_general_path_bit_for_bit(
    n: int, fin: int, fout: int, bias: bool, reduction: str, dtype: Any, batch_size: int | None, momentum: float
) -> None:
    X, y = data(n, fin, fout, dtype)
    lr = 0.05 if reduction == "mean" else 0.05 / (n * fout)
    kw: dict[str, Any] = {"bias": bias, "reduction": reduction, "momentum": momentum, "lr": lr, "epochs": 5}
    kw |= {"batch_size": batch_size, "rng": 7}
    fast, h_fast = train(mg.Linear, X, y, **dict(kw))
    slow, h_slow = train(GeneralLinear, X, y, **dict(kw))
    assert h_fast.loss == h_slow.loss
    for (name, a), (_, b) in zip(fast.named_parameters(), slow.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=f"{name}.grad")
        assert a.data.dtype == a.grad.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    ("dtype", "fout", "bias", "reduction", "rtol"),
    [
        (np.float64, 1, True, "mean", 1e-12),
        (np.float64, 3, False, "sum", 1e-12),
        (np.float32, 2, True, "mean", 2e-5),
    ],
)
def test_streamed_fit_equals_the_general_path_to_rounding(
    monkeypatch: pytest.MonkeyPatch, dtype: Any, fout: int, bias: bool, reduction: str, rtol: float
) -> None:
    """Small blocks (and a last partial one) over a small X: the row-blocked pass, checked cheaply."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 7 * 6)  # 7 rows of 6 features
    X, y = data(100, 6, fout, dtype, seed=2)
    lr = 0.05 if reduction == "mean" else 0.05 / (100 * fout)
    kw: dict[str, Any] = {"bias": bias, "reduction": reduction, "lr": lr, "epochs": 6}
    fast, h_fast = train(mg.Linear, X, y, **dict(kw))
    slow, h_slow = train(GeneralLinear, X, y, **dict(kw))
    np.testing.assert_allclose(h_fast.loss, h_slow.loss, rtol=rtol)
    for (name, a), (_, b) in zip(fast.named_parameters(), slow.named_parameters(), strict=True):
        np.testing.assert_allclose(a.data, b.data, rtol=rtol, atol=rtol, err_msg=name)
        np.testing.assert_allclose(a.grad, b.grad, rtol=rtol, atol=rtol, err_msg=f"{name}.grad")
        assert a.data.dtype == a.grad.dtype == np.dtype(dtype)


def test_streamed_fit_stops_at_tol_without_touching_the_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    X, y = data(50, 3, 1)
    model = mg.Linear(3, 1, rng=0)
    model.weight.grad[...] = 7.0
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=5, tol=1e9)
    assert history.epochs == 1 and history.stop_reason == "tol"
    np.testing.assert_array_equal(model.weight.grad, 7.0)


def test_streamed_divergence_restores_the_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 8)
    X, y = data(30, 4, 1)
    model = mg.Linear(4, 1, rng=0)
    before = model.state_dict()
    with pytest.raises(mg.DivergenceError, match="epoch 1"):
        mg.fit(model, X, 1e3 * y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=1e308), epochs=1)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


@pytest.mark.parametrize("streamed", [False, True])
def test_full_batch_fit_needs_no_memory_that_grows_like_X(monkeypatch: pytest.MonkeyPatch, streamed: bool) -> None:
    """Validation, loss, gradient and update together: far below 5% of X (no copy, no dX, no X-sized temporary)."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0 if streamed else 1 << 40)
    X, y = data(20_000, 50, 1)  # 8 MB
    model = mg.Linear(50, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.01)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak <= 0.05 * X.nbytes, f"peak {peak} bytes for an X of {X.nbytes}"


# -- the cheap finiteness checks ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_accepts_values_whose_squares_overflow(dtype: Any) -> None:
    big = np.finfo(dtype).max
    assert _array.all_finite([np.array([big, -big, big / 3], dtype=dtype)])
    assert _array.all_finite([np.zeros((0, 3), dtype=dtype), np.ones((2, 2), dtype=dtype)])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_finds_any_nan_or_inf(dtype: Any, bad: float) -> None:
    for size in (1, 2, 37):
        for i in range(size):
            a = np.ones(size, dtype=dtype)
            a[i] = bad
            assert not _array.all_finite([np.ones(3, dtype=dtype), a]), (size, i)


@pytest.mark.parametrize("dtypes", [(np.float64,) * 3, (np.float32,) * 3, (np.float32, np.float64, np.float32)])
def test_a_snapshot_finds_any_nan_or_inf_and_accepts_values_whose_squares_overflow(dtypes: tuple[Any, ...]) -> None:
    """The trainer's parameter copies: one flat array (one dot product) when the dtypes agree, else one each."""
    params = [mg.Parameter(np.ones(shape, dtype=dt)) for shape, dt in zip([(2, 3), (3,), ()], dtypes, strict=True)]
    snap = trainer.Snapshot(params, np)
    assert (snap.flat is not None) == (len(set(dtypes)) == 1)
    for p in params:
        p.data[...] = np.finfo(p.data.dtype).max
    snap.take()
    assert snap.is_finite()
    for i, p in enumerate(params):
        for bad in (np.nan, np.inf, -np.inf):
            for flat_index in range(p.data.size):
                p.data.reshape(-1)[flat_index] = bad
                snap.take()
                assert not snap.is_finite(), (i, bad, flat_index)
                p.data[...] = 1.0
                snap.take()
                assert snap.is_finite()
    assert all(saved is not p.data and not np.shares_memory(saved, p.data) for saved, p in snap.pairs)


def test_check_finite_accepts_finite_blocks_whose_sum_overflows() -> None:
    X = np.full((5, 3), np.finfo(np.float64).max)
    X[::2] *= -1
    X[1] = np.finfo(np.float64).max  # two rows of +max in a row: their sum is inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no RuntimeWarning about the overflow
        _array.check_finite(X, "X")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite_finds_a_bad_value_in_any_block(monkeypatch: pytest.MonkeyPatch, bad: float) -> None:
    monkeypatch.setattr(_array, "FINITE_BLOCK_ELEMENTS", 8)
    for row in (0, 5, 11):
        X = np.ones((12, 4))
        X[row, 3] = bad
        with pytest.raises(ValueError, match=f"first at row {row}"):
            _array.check_finite(X, "X")
    _array.check_finite(np.ones((12, 4)), "X")


def test_in_place_helpers_update_the_array_itself() -> None:
    for shape in [(1,), (1, 1), (3, 2)]:
        a = np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 1.0
        b = np.full(shape, 0.25)
        ref_add, ref_sub = a + b, a - b
        view = a
        _array.add_into(a, b)
        np.testing.assert_array_equal(view, ref_add)
        _array.subtract_into(a, b)
        _array.subtract_into(a, b)
        np.testing.assert_array_equal(view, ref_sub)
        assert view is a


@pytest.mark.parametrize("parts", [1, 3])
def test_streaming_in_several_threads_is_deterministic(monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    """Row ranges streamed side by side are summed in range order: the same bits on every run."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 5 * 4)
    monkeypatch.setattr(fused_step, "stream_parts", lambda X: parts)
    X, y = data(101, 4, 2, seed=5)
    runs = [train(mg.Linear, X, y, epochs=3)[0].state_dict() for _ in range(3)]
    slow = train(GeneralLinear, X, y, epochs=3)[0].state_dict()
    for name in slow:
        for run in runs[1:]:
            np.testing.assert_array_equal(run[name], runs[0][name], err_msg=name)
        np.testing.assert_allclose(runs[0][name], slow[name], rtol=1e-12, err_msg=name)


def test_stream_parts_uses_threads_only_on_large_data() -> None:
    small = np.empty((10, 3))
    assert fused_step.stream_parts(small) == 1
    large = np.lib.stride_tricks.as_strided(np.empty(1), shape=(fused_step.STREAM_MIN_BYTES // 4, 1), strides=(0, 0))
    assert 1 <= fused_step.stream_parts(large) <= 4


def test_streamed_fit_accepts_strided_and_fortran_ordered_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 9 * 3)
    X, y = data(120, 6, 2, seed=8)
    views = [np.asfortranarray(X[:, :3]), X[::2, ::2]]
    for Xv in views:
        yv = y[: Xv.shape[0]]
        fast = train(mg.Linear, Xv, yv, epochs=4)[0].state_dict()
        slow = train(GeneralLinear, np.ascontiguousarray(Xv), yv, epochs=4)[0].state_dict()
        for name in slow:
            np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, err_msg=name)


# -- fit's epochs with nothing to call between them ---------------------------------------------
#
# Without callbacks, validation, metrics or scheduler, fit lets the trainer run the epochs itself
# (Trainer.full_batch), and on small data with a nonzero in every column of X the parameter check
# after each update is left to the next epoch's loss.  Errors, epochs and restored values must be
# those of the check after every update, which a callback that does nothing forces.


def outcome(
    X: Array, y: Array, opt_factory: Any, *, observed: bool, epochs: int, bias: bool = True
) -> tuple[Any, dict[str, Array], dict[str, Array], Any]:
    """Fit a Linear; return (error or losses, parameters, gradients, optimizer state)."""
    model = mg.Linear(X.shape[1], y.shape[1], bias=bias, dtype=X.dtype, rng=3)
    opt = opt_factory(model)
    callbacks: Any = [lambda epoch, logs: None] if observed else None
    try:
        result: Any = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=epochs, callbacks=callbacks).loss
    except mg.DivergenceError as exc:
        result = (exc.epoch, exc.lr, str(exc))
    grads = {name: p.grad.copy() for name, p in model.named_parameters()}
    return result, model.state_dict(), grads, opt.state_dict()


def assert_same_outcome(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    assert a[0] == b[0]
    for one, other in ((a[1], b[1]), (a[2], b[2])):
        assert one.keys() == other.keys()
        for name in one:
            np.testing.assert_array_equal(one[name], other[name], err_msg=name)
    assert a[3]["hyperparameters"] == b[3]["hyperparameters"]
    for s_a, s_b in zip(a[3]["state"], b[3]["state"], strict=True):
        assert s_a.keys() == s_b.keys()
        for key in s_a:
            np.testing.assert_array_equal(s_a[key], s_b[key], err_msg=key)


class InfAtStep(mg.SGD):
    """SGD whose ``bad_step``-th step writes ``value`` into the first weight after updating."""

    def __init__(self, *args: Any, bad_step: int, value: float = np.inf, index: Any = (0, 0), **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.bad_step, self.value, self.index, self.calls = bad_step, value, index, 0

    def step(self) -> None:
        super().step()
        self.calls += 1
        if self.calls == self.bad_step:
            self.params[0].data[self.index] = self.value


@pytest.mark.parametrize(
    ("n", "fin", "fout", "bias", "dtype"),
    [
        (1, 1, 1, False, np.float64),
        (1, 1, 1, True, np.float64),
        (32, 10, 1, True, np.float64),
        (9, 3, 2, True, np.float32),
    ],
)
def test_unobserved_fit_diverges_like_the_checked_one(n: int, fin: int, fout: int, bias: bool, dtype: Any) -> None:
    X, y = data(n, fin, fout, dtype, seed=1)
    Xb = np.hstack([X, np.ones((n, 1))]) if bias else X
    unstable = 20.0 / np.linalg.eigvalsh(2.0 / (n * fout) * Xb.T.astype(np.float64) @ Xb)[-1]  # 20x the curvature
    cases: list[tuple[Any, int]] = [
        (lambda m: mg.SGD(m.parameters(), lr=0.05), 6),  # no divergence
        (lambda m: mg.SGD(m.parameters(), lr=0.05, momentum=0.9), 6),
        (lambda m: mg.SGD(m.parameters(), lr=np.finfo(dtype).max), 6),  # the first update overflows
        (lambda m: mg.SGD(m.parameters(), lr=unstable), 400),  # the loss grows until it overflows
        (lambda m: InfAtStep(m.parameters(), lr=0.01, bad_step=3), 6),  # a parameter is inf after update 3
        (lambda m: InfAtStep(m.parameters(), lr=0.01, bad_step=2, value=np.nan), 6),
        (lambda m: InfAtStep(m.parameters(), lr=0.01, bad_step=4), 4),  # ... after the last update
        (lambda m: InfAtStep(m.parameters(), lr=0.01, bad_step=1, momentum=0.5), 3),  # and the momentum restored
    ]
    for i, (factory, epochs) in enumerate(cases):
        checked = outcome(X, y, factory, observed=True, epochs=epochs, bias=bias)
        deferred = outcome(X, y, factory, observed=False, epochs=epochs, bias=bias)
        assert_same_outcome(deferred, checked)
        if i >= 2:
            assert isinstance(checked[0], tuple), (i, checked[0])  # each of these diverges
    # the parameter cases name the update that went wrong
    assert outcome(X, y, cases[4][0], observed=False, epochs=6, bias=bias)[0][0] == 3
    assert "a parameter" in outcome(X, y, cases[6][0], observed=False, epochs=4, bias=bias)[0][2]
    assert outcome(X, y, cases[6][0], observed=False, epochs=4, bias=bias)[0][0] == 4


def test_a_zero_column_keeps_the_check_after_every_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """A weight whose column of X is all zeros might not reach the loss: it is checked after each update."""
    used: list[bool] = []
    original = Trainer._fused_epochs

    def spy(self: Trainer, *args: Any) -> bool:
        used.append(True)
        return original(self, *args)

    monkeypatch.setattr(Trainer, "_fused_epochs", spy)
    X, y = data(8, 3, 1, seed=2)
    assert outcome(X, y, lambda m: mg.SGD(m.parameters(), lr=0.01), observed=False, epochs=3)[0]
    assert used == [True]
    X[:, 1] = 0.0
    factory = lambda m: InfAtStep(m.parameters(), lr=0.01, bad_step=2, index=(0, 1))  # noqa: E731
    deferred = outcome(X, y, factory, observed=False, epochs=5)
    assert used == [True]
    assert_same_outcome(deferred, outcome(X, y, factory, observed=True, epochs=5))
    assert deferred[0][0] == 2 and "a parameter" in deferred[0][2]


def test_ctrl_c_before_an_unchecked_update_is_checked_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """An update made a parameter inf and Ctrl-C came before the next loss: the update is undone."""
    X, y = data(16, 3, 1, seed=4)
    model = mg.Linear(3, 1, rng=0)
    opt = InfAtStep(model.parameters(), lr=0.01, bad_step=2)
    snapshots: list[dict[str, Array]] = []
    original_step = opt.step

    def step() -> None:
        original_step()
        snapshots.append(model.state_dict())

    monkeypatch.setattr(opt, "step", step)
    calls = [0]
    vdot = np.vdot

    def interrupting_vdot(a: Array, b: Array) -> Any:
        calls[0] += 1
        if calls[0] == 3:  # the third epoch's loss, after the second (bad) update
            raise KeyboardInterrupt
        return vdot(a, b)

    monkeypatch.setattr(np, "vdot", interrupting_vdot)
    with pytest.raises(KeyboardInterrupt):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=5)
    monkeypatch.undo()
    assert len(snapshots) == 2 and not np.isfinite(snapshots[1]["weight"]).all()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[0][name], err_msg=name)


def test_nonzero_in_every_column() -> None:
    assert _array.nonzero_in_every_column(np.array([[0.0, 2.0], [3.0, 0.0]]))
    assert _array.nonzero_in_every_column(np.array([[1.0, 2.0]]))
    assert not _array.nonzero_in_every_column(np.array([[0.0, 2.0], [0.0, 1.0]]))
    assert not _array.nonzero_in_every_column(np.array([[1.0, -0.0], [5.0, 0.0]]))
    assert not _array.nonzero_in_every_column(np.zeros((0, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lr", [0.1, 3, np.float32(0.3), np.float64(1e-3), 1e300])
def test_one_number_parameters_take_the_array_arithmetic(dtype: Any, lr: Any) -> None:
    """SGD updates a one-element array with NumPy scalars, the same bits as with arrays; Linear.backward adds
    g.T @ x and ones @ g to one-element gradients exactly as the formulas say."""
    rng = np.random.default_rng(9)
    for shape in [(1,), (1, 1), ()]:
        for _ in range(20):
            p = mg.Parameter(np.array(rng.normal(size=shape) * 10.0 ** rng.integers(-30, 30), dtype=dtype))
            p.grad[...] = rng.normal(size=shape) * 10.0 ** rng.integers(-30, 30)
            with np.errstate(all="ignore"):
                expected = p.data - p.grad * lr
                opt = mg.SGD([p], lr=1.0)
                opt.lr = lr
                opt.step()
            assert p.data.dtype == np.dtype(dtype)
            np.testing.assert_array_equal(p.data, expected.astype(dtype))
            assert p.data.tobytes() == expected.astype(dtype).tobytes()
    layer = mg.Linear(1, 1, dtype=dtype, rng=1)
    for _ in range(20):
        x = rng.normal(size=(3, 1)).astype(dtype)
        g = rng.normal(size=(3, 1)).astype(dtype)
        before_w, before_b = layer.weight.grad.copy(), layer.bias.grad.copy()  # type: ignore[union-attr]
        layer(x)
        layer.backward(g, need_input_grad=False)
        assert layer.weight.grad.tobytes() == (before_w + g.T @ x).tobytes()
        assert layer.bias.grad.tobytes() == (before_b + np.ones(3, dtype) @ g).tobytes()  # type: ignore[union-attr]


@pytest.mark.parametrize("lr", [0.05, np.float64(0.05), np.float32(0.05)])
def test_unobserved_float32_fit_takes_sgds_promotion(lr: Any) -> None:
    """A float32 model and a np.float64 lr: g * lr is float64 before it is subtracted, as in SGD.step."""
    X, y = data(20, 3, 2, np.float32, seed=6)

    def factory(model: mg.Module) -> mg.SGD:
        opt = mg.SGD(model.parameters(), lr=0.05)
        opt.lr = lr  # as a schedule or a user may set it: any number type
        return opt

    assert_same_outcome(
        outcome(X, y, factory, observed=False, epochs=5), outcome(X, y, factory, observed=True, epochs=5)
    )


# -- the NaN/inf check of a streamed X, done in the first pass -------------------------------


def refused(model: mg.Linear, X: Array, y: Array, **kw: Any) -> str:
    """The ValueError message fit gives for (X, y); the model and optimizer must be left as they were."""
    opt = mg.SGD(model.parameters(), lr=0.01, momentum=0.9)
    before = model.state_dict()
    grads = [p.grad.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="NaN or infinity") as info:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3, **kw)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    assert opt.state_dict()["state"] == [{}, {}]
    return str(info.value)


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("rows", [[0], [41], [99], [70, 12], [90, 60]])
def test_a_streamed_X_is_checked_for_nan_and_inf_in_its_first_pass(
    monkeypatch: pytest.MonkeyPatch, parts: int, bad: float, rows: list[int]
) -> None:
    """The pass refuses X with check_data's own message (the first bad row, whichever thread finds it)."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 7 * 4)
    monkeypatch.setattr(fused_step, "stream_parts", lambda X: parts)
    X, y = data(100, 4, 1, seed=3)
    for r in rows:
        X[r, r % 4] = bad
    with pytest.raises(ValueError) as expected:
        check_data(mg.Linear(4, 1), X, y)
    assert str(expected.value).startswith(f"X contains NaN or infinity (first at row {min(rows)})")
    checked: list[str] = []
    real_check = _array.check_finite

    def recorded_check(a: Array, name: str, first_row: int = 0) -> None:
        checked.append(name)
        real_check(a, name, first_row)

    monkeypatch.setattr(_array, "check_finite", recorded_check)
    assert refused(mg.Linear(4, 1, rng=0), X, y) == str(expected.value)
    assert "X" in checked  # ... found by the pass, which checks only the block whose sum is not finite
    checked.clear()
    observed = refused(mg.Linear(4, 1, rng=0), X, y, callbacks=[lambda epoch, logs: None])
    assert observed == str(expected.value) and checked[0] == "X"  # with a callback: checked up front, as before


def test_the_first_pass_replaces_the_up_front_check_of_X(monkeypatch: pytest.MonkeyPatch) -> None:
    """A finite streamed X is read once per epoch, the check included; y is still checked first."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 5 * 3)
    X, y = data(60, 3, 1, seed=4)
    checked: list[str] = []
    monkeypatch.setattr(_array, "check_finite", lambda a, name, first_row=0: checked.append(name))
    model = mg.Linear(3, 1, rng=0)
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2)
    assert checked == ["y"]
    monkeypatch.undo()
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    y_bad = y.copy()
    y_bad[5] = np.nan
    X_bad = X.copy()
    X_bad[50, 0] = np.inf
    assert refused(mg.Linear(3, 1, rng=0), X, y_bad).startswith("y contains NaN")
    assert refused(mg.Linear(3, 1, rng=0), X_bad, y_bad).startswith("X contains NaN or infinity (first at row 50)")


def test_large_finite_values_pass_the_streamed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block sums that overflow only send the block to the exact check: the same outcome as up front."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 4 * 2)
    monkeypatch.setattr(fused_step, "stream_parts", lambda X: 2)
    X = np.full((40, 2), 1.5e308)
    X[::2] *= -1.0
    y = np.zeros((40, 1))
    outcomes = []
    for callbacks in (None, [lambda epoch, logs: None]):
        model = mg.Linear(2, 1, rng=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(mg.DivergenceError) as info:
                mg.fit(
                    model,
                    X,
                    y,
                    loss=mg.MSELoss(),
                    optimizer=mg.SGD(model.parameters(), lr=0.1),
                    epochs=2,
                    callbacks=callbacks,
                )
        outcomes.append((str(info.value), model.state_dict()))
    assert outcomes[0][0] == outcomes[1][0]
    for name in outcomes[0][1]:
        np.testing.assert_array_equal(outcomes[0][1][name], outcomes[1][1][name])


def _streamed_weights(touch: bool | None, monkeypatch: pytest.MonkeyPatch) -> tuple[Array, Array, list[bool]]:
    """Weights after 6 streamed epochs with the touch forced on, off (by the times it sees), or measured."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 5 * 4)
    X, y = data(90, 4, 1, seed=5)
    model = mg.Linear(4, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.05)
    t = Trainer(model, model.parameters(), mg.MSELoss(), opt)
    assert t.fused is not None
    used: list[bool] = []  # the way each pass took (one entry per pass, however many threads streamed it)
    calls: set[bool] = set()
    rows = t.fused._stream_rows

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.add(args[5] if len(args) > 5 else kwargs.get("touch", True))
        return rows(*args, **kwargs)

    t.fused._stream_rows = spy  # type: ignore[method-assign]
    for epoch in range(1, 7):
        if touch is not None:  # the other way timed as ten times slower
            t.fused.touch_seconds = {touch: 1.0, not touch: 10.0}
        calls.clear()
        t.step(X, y, epoch, None, False)
        assert len(calls) == 1  # every thread of a pass takes the same way
        used.append(calls.pop())
    assert model.bias is not None
    return model.weight.data.copy(), model.bias.data.copy(), used


def test_streamed_pass_gives_the_same_bits_with_and_without_the_touch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The touch only reads: whichever way the timing chooses, every number of every step is the same."""
    w_on, b_on, used_on = _streamed_weights(True, monkeypatch)
    w_off, b_off, used_off = _streamed_weights(False, monkeypatch)
    assert set(used_on) == {True} and False in used_off  # both ways ran (the retry pass aside)
    np.testing.assert_array_equal(w_on, w_off)
    np.testing.assert_array_equal(b_on, b_off)


def test_streamed_pass_times_both_ways_then_takes_the_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, used = _streamed_weights(None, monkeypatch)
    assert used[:2] == [True, False]  # the first two passes time each way once
    monkeypatch.setattr(fused_step, "TOUCH_RETRY_PASSES", 3)
    X, y = data(90, 4, 1, seed=5)
    step = LinearMSEStep(mg.Linear(4, 1, rng=0), mg.MSELoss())
    step.touch_seconds = {True: 2.0, False: 1.0}
    choices = []
    for passes in range(1, 7):
        step._passes = passes
        choices.append(step._use_touch())
    assert choices == [False, False, True, False, False, True]  # the faster, and the slower every 3rd pass
    assert step.loss_value(X, y) > 0  # (a plain step still works after the choices)
