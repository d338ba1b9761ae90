"""Out-of-core NumPy: fit on a large array or np.memmap never holds an X-sized array.

A float X of at least ``fused_step.STREAM_MIN_BYTES`` keeps its dtype through the input checks
and is converted one block at a time; models other than the fused Linear + MSELoss take the
block-wise step of ``minigrad.nn.blockwise`` there (the same algorithm as on Dask, on NumPy
blocks); shuffled mini-batches over a large memmap go block by block.  The sizes are made
small with monkeypatch, except in the one test that fits a 1 GB memmap and measures memory.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import blockwise
from minigrad.training import fused_step
from minigrad.training.fit import check_data

N, D = 3000, 6


def data(dtype: Any = np.float64, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, D))
    y = X @ rng.normal(size=D) + 0.3 + rng.normal(scale=0.1, size=N)
    return X.astype(dtype), y


def mlp(outputs: int = 3, dtype: Any = np.float64) -> mg.Sequential:
    return mg.Sequential(mg.Linear(D, 16, dtype=dtype, rng=1), mg.ReLU(), mg.Linear(16, outputs, dtype=dtype, rng=2))


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every X counts as large, and a block holds 700 numbers (116 rows of 6)."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(blockwise, "BLOCK_ELEMENTS", 700)


def fit_losses(model: mg.Module, X: Any, y: Any, loss: mg.Loss, **kw: Any) -> list[float]:
    opt = mg.Adam(model.parameters(), lr=0.01)
    return mg.fit(model, X, y, loss=loss, optimizer=opt, **kw).loss


@pytest.mark.parametrize(
    ("make_loss", "kind"),
    [(mg.CrossEntropyLoss, "class"), (mg.MSELoss, "value"), (lambda: mg.L1Loss(reduction="sum"), "value")],
)
def test_block_wise_step_equals_the_whole_array_step(
    make_loss: Any, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = data()
    target = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])) if kind == "class" else y[:, None]
    outputs = 3 if kind == "class" else 1
    whole = fit_losses(mlp(outputs), X, target, make_loss(), epochs=6, metrics=["r2"] if kind == "value" else ())
    called = []
    real = blockwise.numpy_sums
    monkeypatch.setattr(blockwise, "numpy_sums", lambda *a: called.append(1) or real(*a))
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(blockwise, "BLOCK_ELEMENTS", 700)
    blocks = fit_losses(mlp(outputs), X, target, make_loss(), epochs=6, metrics=["r2"] if kind == "value" else ())
    assert len(called) == 6
    np.testing.assert_allclose(blocks, whole, rtol=1e-12)


def test_float32_model_on_a_large_float64_x_converts_block_by_block(small_blocks: None) -> None:
    X, y = data()
    Xa, _ = check_data(mg.Linear(D, 1, dtype=np.float32), X, y)
    assert Xa is X  # kept in its own dtype: no X-sized copy
    for make in (lambda: mg.Linear(D, 1, dtype=np.float32, rng=0), lambda: mlp(1, np.float32)):
        ref = fit_losses(make(), X.astype(np.float32), y, mg.MSELoss(), epochs=5)
        model = make()
        got = fit_losses(model, X, y, mg.MSELoss(), epochs=5)
        np.testing.assert_allclose(got, ref, rtol=1e-6)
        assert all(p.data.dtype == np.float32 for p in model.parameters())
        batches = fit_losses(make(), X, y, mg.MSELoss(), epochs=2, batch_size=256, rng=0)
        batches_ref = fit_losses(make(), X.astype(np.float32), y, mg.MSELoss(), epochs=2, batch_size=256, rng=0)
        np.testing.assert_allclose(batches, batches_ref, rtol=1e-6)


@pytest.mark.parametrize("make", [lambda: mg.Linear(D, 1, dtype=np.float32, rng=0), lambda: mlp(1, np.float32)])
def test_values_too_large_for_a_float32_model_are_refused_block_by_block(small_blocks: None, make: Any) -> None:
    X, y = data()
    X[2500, 1] = 1e39
    model = make()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match="X holds values too large for the model's dtype float32"):
        fit_losses(model, X, y, mg.MSELoss(), epochs=2)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("observed", [False, True])
def test_nan_in_a_large_x_is_refused_before_any_update(small_blocks: None, observed: bool) -> None:
    X, y = data()
    X[1234, 4] = np.nan
    model = mlp(1)
    before = [p.data.copy() for p in model.parameters()]
    kw: dict[str, Any] = {"metrics": ["r2"]} if observed else {}
    with pytest.raises(ValueError, match=r"X contains NaN or infinity \(first at row 1234\)"):
        fit_losses(model, X, y, mg.MSELoss(), epochs=3, **kw)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))


def test_block_wise_step_keeps_the_step_guarantees(small_blocks: None) -> None:
    X, y = data()
    h = mg.fit(m := mlp(1), X, y, loss=mg.MSELoss(), optimizer=mg.SGD(m.parameters(), lr=0.05), epochs=300, tol=0.5)
    assert h.stop_reason == "tol" and h.loss[-1] <= 0.5 < h.loss[-2]
    model = mlp(1)
    with pytest.raises(mg.DivergenceError, match="epoch 2"):
        mg.fit(model, X * 1e100, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=1.0), epochs=5)
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    two = mlp(2)
    with pytest.raises(ValueError, match="a 1-D y is accepted only for a single-output model"):
        mg.fit(two, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(two.parameters(), lr=0.1), epochs=1)


def test_shuffled_minibatches_over_a_large_memmap_go_block_by_block(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = data()
    mm = np.memmap(tmp_path / "X.f8", dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    monkeypatch.setattr(blockwise, "SHUFFLE_IN_BLOCKS_MIN_BYTES", 1 << 10)
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 1 << 10)  # so that fit keeps the float64 memmap as it is
    monkeypatch.setattr(blockwise, "SHUFFLE_BLOCK_BYTES", 500 * D * 8)  # 6 blocks of 500 rows
    loads = []
    real = blockwise.block_shuffled_epoch

    def spy(tr: Any, n_blocks: int, load: Any, *a: Any) -> float:
        loads.append(n_blocks)
        return real(tr, n_blocks, load, *a)

    monkeypatch.setattr(blockwise, "block_shuffled_epoch", spy)
    runs = [fit_losses(mlp(1, np.float32), mm, y, mg.MSELoss(), epochs=3, batch_size=64, rng=5) for _ in range(2)]
    assert loads == [6] * 6
    assert runs[0] == runs[1] and runs[0][-1] < runs[0][0]
    in_ram = fit_losses(mlp(1, np.float32), X, y, mg.MSELoss(), epochs=3, batch_size=64, rng=5)
    assert in_ram != runs[0]  # an array in memory keeps the global shuffle
    unshuffled = fit_losses(mlp(1), mm, y, mg.MSELoss(), epochs=1, batch_size=64, shuffle=False)
    assert unshuffled == fit_losses(mlp(1), X, y, mg.MSELoss(), epochs=1, batch_size=64, shuffle=False)


def _rss_anon() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")  # pragma: no cover


@pytest.mark.bigdata
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_a_1gb_memmap_fits_in_a_small_fraction_of_its_size(tmp_path: Any) -> None:
    """A float64 memmap of 1 GiB, float32 models: the process's anonymous memory grows by < 0.1 x X.

    The file is sparse except for its first 32 MiB of random rows, so writing it is quick; the
    page cache that reading it fills is file-backed memory, not the process's own.
    """
    rows, features = (1 << 30) // (64 * 8), 64
    X = np.memmap(tmp_path / "X.f8", dtype=np.float64, mode="w+", shape=(rows, features))
    rng = np.random.default_rng(0)
    filled = (32 << 20) // (features * 8)
    X[:filled] = rng.normal(size=(filled, features))
    X.flush()
    y = np.zeros(rows)
    y[:filled] = X[:filled] @ np.linspace(-1, 1, features)
    models = [
        mg.Linear(features, 1, dtype=np.float32, rng=0),
        mg.Sequential(
            mg.Linear(features, 8, dtype=np.float32, rng=0), mg.ReLU(), mg.Linear(8, 1, dtype=np.float32, rng=1)
        ),
    ]
    opts = [mg.SGD(m.parameters(), lr=0.01) for m in models]
    before = _rss_anon()
    for model, opt in zip(models, opts, strict=True):
        h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2)
        assert h.loss[1] < h.loss[0]
    grown = _rss_anon() - before
    print(f"anonymous memory grew by {grown / 2**20:.1f} MiB for X of {X.nbytes / 2**20:.0f} MiB")
    assert grown < 0.1 * X.nbytes, (
        f"anonymous memory grew by {grown / 2**20:.0f} MiB for X of {X.nbytes / 2**20:.0f} MiB"
    )
