"""fit and predict on Dask arrays: the same numbers as NumPy, and X never gathered to the client.

Tests that take the ``scheduler`` fixture run under Dask's default threaded scheduler and under
a ``dask.distributed`` ``LocalCluster`` (2 workers on 127.0.0.1, threads, shared by the module
and closed at its end); the others under the threaded scheduler alone.  One test runs on a
cluster of 2 worker processes and measures the client's memory.
What reaches the client is counted by wrapping ``minigrad.nn.dask_blocks._compute``, the one
place where minigrad asks Dask for results.
"""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import dask_blocks

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

N, D = 600, 5
ROW_CHUNK = 130  # 5 row blocks, the last one smaller


@pytest.fixture(scope="module")
def cluster_client() -> Iterator[Any]:
    """A 2-worker LocalCluster (threads) on 127.0.0.1 for the whole module, closed at its end."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster, timeout=30, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(params=["threads", "distributed"])
def scheduler(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test under the default threaded scheduler, then under the module's LocalCluster."""
    if request.param == "threads":
        with dask.config.set(scheduler="threads"):
            yield "threads"
    else:
        client = request.getfixturevalue("cluster_client")
        with client.as_current(), dask.config.set(scheduler=client.get):
            yield "distributed"


class Computes:
    """Records the bytes and the array shapes that each compute brings back to the client."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, *collections: Any) -> tuple[Any, ...]:
        out = self.real(*collections)
        self.sizes.append(self._walk(out))
        return out

    def _walk(self, obj: Any) -> int:
        if isinstance(obj, np.ndarray):
            self.shapes.append(obj.shape)
            return int(obj.nbytes)
        if isinstance(obj, (list, tuple)):
            return sum(self._walk(o) for o in obj)
        return 8

    def assert_no_rows_of_x(self, features: int, most_rows: int = 8) -> None:
        """No computed array looked like rows of X (more than *most_rows* rows of *features* columns)."""
        assert self.sizes, "nothing was computed"
        rows_of_x = [s for s in self.shapes if len(s) == 2 and s[1] == features and s[0] > most_rows]
        assert not rows_of_x, f"rows of X reached the client: {rows_of_x}"

    real = staticmethod(dask_blocks._compute)


@pytest.fixture
def computes(monkeypatch: pytest.MonkeyPatch) -> Computes:
    rec = Computes()
    monkeypatch.setattr(dask_blocks, "_compute", rec)
    return rec


def data(rows: int = N, features: int = D, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = X @ rng.normal(size=features) + 0.5 + rng.normal(scale=0.1, size=rows)
    return X, y


def on_dask(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], rows: int = ROW_CHUNK) -> tuple[Any, Any]:
    return da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)


def mlp(classes: int = 3, dtype: Any = np.float64) -> mg.Sequential:
    return mg.Sequential(mg.Linear(D, 8, dtype=dtype, rng=1), mg.Tanh(), mg.Linear(8, classes, dtype=dtype, rng=2))


CASES = {
    "linear-mse-sgd-momentum": (lambda: mg.Linear(D, 1, rng=0), lambda: mg.MSELoss(), "value", 0.05, 0.9),
    "linear-mse-sum": (lambda: mg.Linear(D, 1, rng=0), lambda: mg.MSELoss(reduction="sum"), "value", 1e-4, 0.0),
    "mlp-cross-entropy-adam": (lambda: mlp(), lambda: mg.CrossEntropyLoss(), "class", 0.01, None),
    "mlp-bce": (lambda: mlp(1), lambda: mg.BCEWithLogitsLoss(), "binary", 0.01, None),
    "linear-huber": (lambda: mg.Linear(D, 1, rng=0), lambda: mg.HuberLoss(delta=0.5), "value", 0.05, 0.0),
    "linear-l1-sum": (lambda: mg.Linear(D, 1, rng=0), lambda: mg.L1Loss(reduction="sum"), "value", 1e-4, 0.0),
}


def targets(kind: str, y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    if kind == "class":
        return np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    if kind == "binary":
        return (y > np.median(y)).astype(float)
    return y


def optimizer(model: mg.Module, lr: float, momentum: float | None) -> mg.Optimizer:
    if momentum is None:
        return mg.Adam(model.parameters(), lr=lr)
    return mg.SGD(model.parameters(), lr=lr, momentum=momentum)


@pytest.mark.parametrize("case", list(CASES))
def test_full_batch_equals_the_numpy_fit(case: str, scheduler: str, computes: Computes) -> None:
    make_model, make_loss, kind, lr, momentum = CASES[case]
    X, y = data()
    y = targets(kind, y)
    losses = {}
    params = {}
    for where in ("numpy", "dask"):
        model = make_model()
        Xi, yi = (X, y) if where == "numpy" else on_dask(X, y)
        h = mg.fit(model, Xi, yi, loss=make_loss(), optimizer=optimizer(model, lr, momentum), epochs=8)
        losses[where] = np.array(h.loss)
        params[where] = [p.data.copy() for p in model.parameters()]
    np.testing.assert_allclose(losses["dask"], losses["numpy"], rtol=1e-10)
    for a, b in zip(params["dask"], params["numpy"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    computes.assert_no_rows_of_x(D)  # only parameter-sized sums, and y for the class check
    assert max(computes.sizes) <= N * 8


def test_many_blocks_are_added_on_the_cluster_in_a_fixed_order(
    scheduler: str, computes: Computes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Block results too large to gather at once: a tree of additions, at most FAN_IN results reach the client."""
    monkeypatch.setattr(dask_blocks, "GATHER_MAX_BYTES", 0)
    X, y = data(rows=1000)
    Xd, yd = on_dask(X, y, rows=50)  # 20 blocks
    assert Xd.numblocks[0] > dask_blocks.FAN_IN**1
    runs = []
    for _ in range(2):
        model = mg.Linear(D, 1, rng=0)
        h = mg.fit(model, Xd, yd, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=3)
        runs.append((h.loss, model.weight.data.copy()))
    ref = mg.Linear(D, 1, rng=0)
    h_ref = mg.fit(ref, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(ref.parameters(), lr=0.1), epochs=3)
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])  # the same bits on every run
    np.testing.assert_allclose(runs[0][0], h_ref.loss, rtol=1e-10)
    per_step = (D + 1) * 8 + 64
    assert max(computes.sizes) <= dask_blocks.FAN_IN * per_step  # at most FAN_IN partial sums per step


def test_float32_model_on_float64_dask_data() -> None:
    X, y = data()
    model = mg.Linear(D, 1, dtype=np.float32, rng=0)
    ref = mg.Linear(D, 1, dtype=np.float32, rng=0)
    h = mg.fit(model, *on_dask(X, y), loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.05), epochs=5)
    h_ref = mg.fit(ref, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(ref.parameters(), lr=0.05), epochs=5)
    assert model.weight.data.dtype == np.float32
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-5)


def test_validation_metrics_callbacks_and_early_stopping(scheduler: str, computes: Computes) -> None:
    X, y = data(rows=800)
    Xt, yt, Xv, yv = X[:600], y[:600], X[600:], y[600:]
    histories = {}
    for where in ("numpy", "dask", "dask-train-numpy-val"):
        model = mg.Linear(D, 1, rng=0)
        seen: list[float] = []
        if where == "numpy":
            train, val = (Xt, yt), (Xv, yv)
        elif where == "dask":
            train, val = on_dask(Xt, yt), on_dask(Xv, yv, rows=64)
        else:
            train, val = on_dask(Xt, yt), (Xv, yv)
        h = mg.fit(
            model,
            *train,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.4),
            epochs=400,
            validation_data=val,
            metrics=["r2"],
            callbacks=[
                mg.EarlyStopping(patience=2, min_delta=1e-3),
                lambda e, logs, seen=seen: seen.append(logs["val_loss"]),
            ],
        )
        histories[where] = h
        assert seen == h.val_loss
    ref = histories["numpy"]
    assert ref.stop_reason == "callback" and ref.epochs < 400
    for where in ("dask", "dask-train-numpy-val"):
        h = histories[where]
        assert h.epochs == ref.epochs and h.stop_reason == ref.stop_reason
        np.testing.assert_allclose(h.loss, ref.loss, rtol=1e-10)
        np.testing.assert_allclose(h.val_loss, ref.val_loss, rtol=1e-10)
        np.testing.assert_allclose(h.metrics["r2"], ref.metrics["r2"], rtol=1e-10)
        np.testing.assert_allclose(h.metrics["val_r2"], ref.metrics["val_r2"], rtol=1e-10)
    computes.assert_no_rows_of_x(D)
    assert max(computes.sizes) <= 600 * 8  # predictions or targets at most, never X (600 x 5)


def test_class_targets_and_accuracy_on_dask() -> None:
    X, y = data()
    c = targets("class", y)
    model, ref = mlp(), mlp()
    kw: dict[str, Any] = {"loss": mg.CrossEntropyLoss(), "epochs": 10, "metrics": ["accuracy"]}
    h = mg.fit(model, *on_dask(X, c), optimizer=mg.Adam(model.parameters(), lr=0.01), **kw)
    h_ref = mg.fit(ref, X, c, optimizer=mg.Adam(ref.parameters(), lr=0.01), **kw)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-10)
    assert h.metrics["accuracy"] == h_ref.metrics["accuracy"]
    bad = c.copy()
    bad[345] = 3
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"class targets must be in \[0, 2\], got 3.0 at index 345"):
        mg.fit(model, *on_dask(X, bad), optimizer=mg.Adam(model.parameters(), lr=0.01), **kw)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))


@pytest.mark.parametrize("bad", ["X-nan", "X-inf", "y-nan"])
@pytest.mark.parametrize("batch_size", [None, 50])
def test_nan_or_inf_is_refused_before_any_update(
    bad: str, batch_size: int | None, scheduler: str, computes: Computes
) -> None:
    """Full batch: the first step's own pass finds it (one compute, no separate one); mini-batches: a first pass."""
    X, y = data()
    X[:, :] = X  # own copies
    if bad == "X-nan":
        X[400, 2] = np.nan
        X[500, 1] = np.nan
    elif bad == "X-inf":
        X[301, 0] = np.inf
    else:
        y[77] = np.nan
    X[550, 3] = np.nan if bad == "y-nan" else X[550, 3]  # a bad X is named before a bad y
    model = mg.Linear(D, 1, rng=0)
    before = [p.data.copy() for p in model.parameters()]
    expected = {"X-nan": "X contains NaN or infinity \\(first at row 400\\)", "X-inf": "first at row 301"}
    expected["y-nan"] = "X contains NaN or infinity \\(first at row 550\\)"
    with pytest.raises(ValueError, match=expected[bad]):
        mg.fit(
            model,
            *on_dask(X, y),
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=3,
            batch_size=batch_size,
        )
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters(), strict=True))
    if batch_size is None:
        assert len(computes.sizes) == 1  # the check was the first step's own pass
    X[550, 3] = 1.0
    if bad == "y-nan":
        with pytest.raises(ValueError, match="y contains NaN or infinity \\(first at row 77\\)"):
            mg.fit(model, *on_dask(X, y), loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1)


def test_divergence_restores_the_last_finite_parameters() -> None:
    X, y = data()
    X *= 1e100
    outcome = []
    for Xi, yi in ((X, y), on_dask(X, y)):
        model = mg.Sequential(mg.Linear(D, 4, rng=0), mg.ReLU(), mg.Linear(4, 1, rng=1))
        opt = mg.SGD(model.parameters(), lr=1.0, momentum=0.5)
        with pytest.raises(mg.DivergenceError) as info:
            mg.fit(model, Xi, yi, loss=mg.MSELoss(), optimizer=opt, epochs=50)
        outcome.append((str(info.value), [p.data.copy() for p in model.parameters()], opt.state_dict()))
    assert outcome[0][0] == outcome[1][0] and "epoch 2" in outcome[0][0]
    for a, b in zip(outcome[0][1], outcome[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9)
        assert np.isfinite(b).all()


def test_tol_stops_before_the_update() -> None:
    X, y = data()
    model = mg.Linear(D, 1, rng=0)
    h = mg.fit(
        model, *on_dask(X, y), loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=500, tol=0.05
    )
    assert h.stop_reason == "tol" and h.loss[-1] <= 0.05 < h.loss[-2]


def test_minibatches_without_shuffle_equal_numpy_when_batches_fit_the_blocks() -> None:
    X, y = data(rows=520)
    runs = []
    for Xi, yi in ((X, y), on_dask(X, y)):
        model = mg.Sequential(mg.Linear(D, 4, rng=0), mg.ReLU(), mg.Linear(4, 1, rng=1))
        h = mg.fit(
            model,
            Xi,
            yi,
            loss=mg.MSELoss(),
            optimizer=mg.Adam(model.parameters(), lr=0.01),
            epochs=3,
            batch_size=65,
            shuffle=False,
        )
        runs.append(h.loss)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)


def test_shuffled_minibatches_are_reproducible_and_learn(scheduler: str, computes: Computes) -> None:
    X, y = data()
    runs = []
    for seed in (7, 7, 8):
        model = mg.Linear(D, 1, rng=0)
        h = mg.fit(
            model,
            *on_dask(X, y),
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.02),
            epochs=4,
            batch_size=32,
            rng=seed,
        )
        runs.append((h.loss, model.weight.data.copy()))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]
    assert runs[0][0][-1] < 0.05 < runs[0][0][0]
    assert max(computes.sizes) <= ROW_CHUNK * (D + 1) * 8  # one block at a time


def test_block_shuffled_epoch_sees_every_row_once_in_batches_within_blocks() -> None:
    from minigrad.nn.blockwise import block_shuffled_epoch

    class Recorder:
        loss = mg.MSELoss()
        fused = None

        def __init__(self) -> None:
            self.batches: list[np.ndarray[Any, Any]] = []

        def step(self, xb: Any, yb: Any, epoch: int, tol: Any, y_was_1d: bool) -> float:
            self.batches.append(xb[:, 0].astype(int))
            return 1.0

    rows = np.arange(100.0)[:, None]
    starts = [0, 30, 60, 100]

    def load(i: int) -> tuple[Any, Any]:
        return rows[starts[i] : starts[i + 1]], rows[starts[i] : starts[i + 1]]

    rec = Recorder()
    assert block_shuffled_epoch(rec, 3, load, 8, np.random.default_rng(0), 1, False) == 1.0  # type: ignore[arg-type]
    seen = np.concatenate(rec.batches)
    assert sorted(seen.tolist()) == list(range(100)) and seen.tolist() != list(range(100))
    for b in rec.batches:
        assert len({int(np.searchsorted(starts, r, side="right")) for r in b}) == 1  # one block per batch
        assert len(b) <= 8


def test_predict_is_lazy_and_takes_the_parameters_at_the_call(scheduler: str) -> None:
    X, _ = data()
    model = mlp()
    Xd = da.from_array(X, chunks=(100, 2))  # the feature axis split: rechunked
    pred = model.predict(Xd)
    assert isinstance(pred, da.Array) and pred.shape == (N, 3) and pred.chunks[0] == Xd.chunks[0]
    expected = model(X)
    for p in model.parameters():
        p.data += 1.0
    np.testing.assert_allclose(pred.compute(), expected, rtol=1e-13)

    class Squeeze(mg.Module):  # one output per row, as a 1-D array
        def forward(self, x: Any) -> Any:
            return x[:, 0]

    one = mg.Sequential(mg.Linear(D, 1, rng=0), Squeeze())
    lazy = one.predict(Xd)
    assert lazy.ndim == 1
    np.testing.assert_allclose(lazy.compute(), one(X), rtol=1e-13)


def test_chunks_split_features_and_misaligned_y_are_fixed() -> None:
    X, y = data()
    model, ref = mg.Linear(D, 1, rng=0), mg.Linear(D, 1, rng=0)
    Xd = da.from_array(X, chunks=(100, 2))
    yd = da.from_array(y, chunks=170)
    h = mg.fit(model, Xd, yd, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=4)
    h_ref = mg.fit(ref, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(ref.parameters(), lr=0.1), epochs=4)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-10)
    for Xi, yi in ((Xd, y), (X, yd)):  # NumPy on one side: cut into the other's row chunks
        m = mg.Linear(D, 1, rng=0)
        h2 = mg.fit(m, Xi, yi, loss=mg.MSELoss(), optimizer=mg.SGD(m.parameters(), lr=0.1), epochs=4)
        np.testing.assert_allclose(h2.loss, h_ref.loss, rtol=1e-10)


def test_bad_dask_input_gets_clear_errors() -> None:
    X, y = data()
    Xd, yd = on_dask(X, y)
    model = mg.Linear(D, 1, rng=0)
    kw: dict[str, Any] = {"loss": mg.MSELoss(), "optimizer": mg.SGD(model.parameters(), lr=0.1), "epochs": 1}
    unknown = Xd[Xd[:, 0] > -100]  # boolean indexing: unknown row chunk sizes
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*X = X\.compute_chunk_sizes\(\)"):
        mg.fit(model, unknown, yd, **kw)
    fixed = unknown.compute_chunk_sizes()
    mg.fit(model, fixed, yd, **kw)
    with pytest.raises(ValueError, match="different numbers of samples"):
        mg.fit(model, Xd[:-1], yd, **kw)
    with pytest.raises(ValueError, match="Expected 2D array for X, got 1D"):
        mg.fit(model, Xd[:, 0], yd, **kw)
    with pytest.raises(TypeError, match="X must hold real numbers, got dtype complex128"):
        mg.fit(model, Xd.astype(complex), yd, **kw)
    with pytest.raises(ValueError, match="X is empty"):
        mg.fit(model, Xd[:0], yd[:0], **kw)
    with pytest.raises(ValueError, match=r"must be 1-D \(single output\) or 2-D"):
        mg.fit(model, Xd, yd.reshape(N, 1, 1), **kw)
    with pytest.raises(ValueError, match="must hold class indices of shape"):
        mg.fit(model, Xd, yd[:, None], loss=mg.CrossEntropyLoss(), optimizer=kw["optimizer"], epochs=1)
    with pytest.raises(ValueError, match="a 1-D y is accepted only for a single-output model"):
        two = mg.Linear(D, 2, rng=0)
        mg.fit(two, Xd, yd, loss=mg.MSELoss(), optimizer=mg.SGD(two.parameters(), lr=0.1), epochs=1)
    bce = mg.Linear(D, 1, rng=0)
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss targets must be probabilities in \[0, 1\]"):
        mg.fit(bce, Xd, yd, loss=mg.BCEWithLogitsLoss(), optimizer=mg.SGD(bce.parameters(), lr=0.1), epochs=1)
    elsewhere = mg.Linear(D, 1, rng=0)
    elsewhere.xp = types.ModuleType("array_api_strict")  # as if moved to another array library
    with pytest.raises(TypeError, match=r"needs a model on NumPy .* is on array_api_strict: call model.to\(numpy\)"):
        dask_blocks.check_data(elsewhere, Xd, yd)
    with pytest.raises(TypeError, match="must be a Dask array or a NumPy array"):
        dask_blocks.check_data(model, Xd, dask.delayed(y))
    Xn = X.copy()
    Xn[10, 0] = np.nan
    with pytest.raises(ValueError, match=r"X_val contains NaN or infinity \(first at row 10\)"):
        mg.fit(model, Xd, yd, validation_data=on_dask(Xn, y), **kw)
    with pytest.raises(TypeError, match="never gathers it"):
        np.asarray(dask_blocks.check_data(model, Xd, yd)[0])


def test_nothing_imports_dask_until_a_dask_array_comes() -> None:
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, minigrad as mg\n"
        "m = mg.Linear(2, 1, rng=0); opt = mg.SGD(m.parameters(), lr=0.1)\n"
        "mg.fit(m, np.ones((300000, 2)), np.ones(300000), loss=mg.MSELoss(), optimizer=opt, epochs=2)\n"
        "mg.fit(mg.Sequential(m), np.ones((5, 2)), np.ones(5), loss=mg.L1Loss(), optimizer=opt, epochs=2)\n"
        "mg.Sequential(m).predict(np.ones((5, 2)), batch_size=2)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('dask', 'distributed')))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"


def _rss_anon() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no RssAnon in /proc/self/status")  # pragma: no cover


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux's /proc")
def test_process_cluster_trains_without_gathering_x() -> None:
    """Two worker processes hold a persisted X of 40 MB; the client's own memory grows by far less."""
    rows, features = 100_000, 50
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout=60, set_as_default=False) as client,
        client.as_current(),
        dask.config.set(scheduler=client.get),
    ):
        X = da.random.default_rng(0).normal(size=(rows, features), chunks=(12_500, features)).persist()
        w = np.linspace(-1, 1, features)
        y = (X @ w + 0.5).persist()
        distributed.wait([X, y])
        model = mg.Sequential(mg.Linear(features, 8, rng=1), mg.ReLU(), mg.Linear(8, 1, rng=2))
        opt = mg.Adam(model.parameters(), lr=0.01)
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=1)  # warm-up: imports, connections
        before = _rss_anon()
        h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3, validation_data=(X[:1000], y[:1000]))
        grown = _rss_anon() - before
        print(f"client memory grew by {grown / 2**20:.1f} MiB")
        assert h.loss[-1] < h.loss[0]
        assert grown < 0.1 * X.nbytes, f"the client grew by {grown / 2**20:.1f} MiB for X of {X.nbytes / 2**20:.0f} MiB"
        pred = model.predict(X)
        assert isinstance(pred, da.Array) and pred.shape == (rows, 1)


def _readme_dask_examples() -> list[str]:
    """The ```python blocks of README's Dask section, in order."""
    readme = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    section = text.split("### Dask: data beyond one machine", 1)[1].split("\n### ", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_readme_dask_examples_run_and_print_what_they_say() -> None:
    """Each example's last line ends with the comment of what it prints; the cluster's workers are threads here."""
    import contextlib
    import io

    examples = _readme_dask_examples()
    assert len(examples) == 2
    for code in examples:
        code = code.replace(
            'host="127.0.0.1")', 'host="127.0.0.1", processes=False, protocol="tcp", dashboard_address=None)'
        )
        expected = code.rstrip().rsplit("# ", 1)[1]
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
        assert out.getvalue().strip() == expected


def test_sample_weights_on_dask_are_refused_before_any_update() -> None:
    X, y = data()
    Xd, yd = on_dask(X, y)
    model = mg.Linear(D, 1, rng=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="not supported for Dask"):
        mg.fit(
            model,
            Xd,
            yd,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=2,
            sample_weight=np.ones(len(X)),
        )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
