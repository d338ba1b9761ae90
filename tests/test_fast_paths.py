"""The fast paths give the numbers of the plain ones.

fit trains a single Linear layer under MSELoss with a fused step
(``minigrad.trainer.LinearMSEStep``): the same arithmetic as ``Linear`` +
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
from minigrad import _array, trainer
from minigrad.trainer import LinearMSEStep, Trainer

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
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(trainer, "STREAM_BLOCK_ELEMENTS", 7 * 6)  # 7 rows of 6 features
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
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0)
    X, y = data(50, 3, 1)
    model = mg.Linear(3, 1, rng=0)
    model.weight.grad[...] = 7.0
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=5, tol=1e9)
    assert history.epochs == 1 and history.stop_reason == "tol"
    np.testing.assert_array_equal(model.weight.grad, 7.0)


def test_streamed_divergence_restores_the_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(trainer, "STREAM_BLOCK_ELEMENTS", 8)
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
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0 if streamed else 1 << 40)
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
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(trainer, "STREAM_BLOCK_ELEMENTS", 5 * 4)
    monkeypatch.setattr(trainer, "stream_parts", lambda X: parts)
    X, y = data(101, 4, 2, seed=5)
    runs = [train(mg.Linear, X, y, epochs=3)[0].state_dict() for _ in range(3)]
    slow = train(GeneralLinear, X, y, epochs=3)[0].state_dict()
    for name in slow:
        for run in runs[1:]:
            np.testing.assert_array_equal(run[name], runs[0][name], err_msg=name)
        np.testing.assert_allclose(runs[0][name], slow[name], rtol=1e-12, err_msg=name)


def test_stream_parts_uses_threads_only_on_large_data() -> None:
    small = np.empty((10, 3))
    assert trainer.stream_parts(small) == 1
    large = np.lib.stride_tricks.as_strided(np.empty(1), shape=(trainer.STREAM_MIN_BYTES // 4, 1), strides=(0, 0))
    assert 1 <= trainer.stream_parts(large) <= 4


def test_streamed_fit_accepts_strided_and_fortran_ordered_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(trainer, "STREAM_BLOCK_ELEMENTS", 9 * 3)
    X, y = data(120, 6, 2, seed=8)
    views = [np.asfortranarray(X[:, :3]), X[::2, ::2]]
    for Xv in views:
        yv = y[: Xv.shape[0]]
        fast = train(mg.Linear, Xv, yv, epochs=4)[0].state_dict()
        slow = train(GeneralLinear, np.ascontiguousarray(Xv), yv, epochs=4)[0].state_dict()
        for name in slow:
            np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, err_msg=name)
