"""minigrad's benchmark suite: how fast is a training step, next to what NumPy allows and to the peers?

Run from the repository root::

    python benchmarks/bench.py                      # full run (a few minutes)
    python benchmarks/bench.py --quick              # smoke test, well under a minute
    python benchmarks/bench.py --json out.json --plot out.png

What it measures, all in one process with the contenders interleaved:

- One full-batch step of linear regression (forward, MSE loss, backward,
  SGD update) at sizes N×D×O from 1×1×1 to 1e6×100×1, float64 and float32:
  minigrad's ``fit`` (time per epoch), minigrad's manual loop, *numpy-min*
  (the leanest hand-written NumPy step: preallocated buffers,
  ``np.dot(..., out=)``, in-place updates), plain allocating NumPy,
  pure-Python floats (1×1×1 only) and, when installed, torch
  (``nn.Linear`` + ``nn.MSELoss`` + ``optim.SGD``) and scikit-learn
  (``SGDRegressor.partial_fit``: one epoch of per-sample SGD, and
  ``LinearRegression``: the closed-form "just solve it" reference).
  Ratios are against numpy-min's median.
- One read of X (``X @ v`` and ``X.sum()``): the memory-bandwidth limit of a
  step that must read X at least once, and the fraction of it each
  contender reaches.
- Mini-batch epochs (batch 32 and 256, shuffled) against a hand-written
  NumPy mini-batch loop; an MLP epoch on scikit-learn's digits (synthetic
  data of the same shape when scikit-learn is missing); the seed's 73-step
  fit against the same loop in pure-Python floats.
- Extra peak memory (tracemalloc, validation included) of a full-batch
  ``fit`` relative to the size of X, and the log-log slope of time per epoch
  against N.

Timing: every sample runs the step enough times to last at least
``--sample`` seconds (0.2 s; 0.02 s with ``--quick``) after a pause
(0.1 s), the contenders take turns sample by sample, and the median, min
and max of the per-step times are reported.  The pause and the long samples
matter: OpenBLAS's worker threads keep spinning for a while after a BLAS
call and would otherwise slow down whichever contender runs next.

Nothing here asserts anything about time; the "targets" section compares
the ratios with minigrad's goals and prints ``ok`` or ``MISS``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

if __name__ == "__main__" and __package__ in (None, ""):  # run as a script from a source checkout
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad as mg

Runner = Callable[[int], object]
"""A prepared contender: ``run(k)`` performs k steps (or epochs, or runs)."""

NUMPY_MIN = "numpy-min"
LR = 0.01


# -- optional peers -----------------------------------------------------------


def _try_import(name: str) -> Any:
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # a broken optional install is as good as a missing one
        return None


@dataclass
class Peers:
    torch: Any = None
    sklearn_linear: Any = None
    sklearn_datasets: Any = None
    threadpoolctl: Any = None

    @classmethod
    def load(cls, use_torch: bool, use_sklearn: bool) -> Peers:
        return cls(
            torch=_try_import("torch") if use_torch else None,
            sklearn_linear=_try_import("sklearn.linear_model") if use_sklearn else None,
            sklearn_datasets=_try_import("sklearn.datasets") if use_sklearn else None,
            threadpoolctl=_try_import("threadpoolctl"),
        )


# -- the machine ----------------------------------------------------------------


def machine_info(peers: Peers) -> dict[str, Any]:
    """CPU, core count, Python, NumPy, the BLAS (library, kernel, threads) and the peers' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "minigrad": mg.__version__,
        "env": {
            k: os.environ[k]
            for k in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
            )
            if k in os.environ
        },
        "blas": [],
    }
    if peers.threadpoolctl is not None:
        for pool in peers.threadpoolctl.threadpool_info():
            info["blas"].append(
                {
                    k: pool.get(k)
                    for k in (
                        "user_api",
                        "internal_api",
                        "version",
                        "architecture",
                        "num_threads",
                        "threading_layer",
                        "prefix",
                    )
                }
            )
    else:
        info["blas"].append({"note": "install threadpoolctl to see the BLAS library, kernel and threads"})
    if peers.torch is not None:
        info["torch"] = {"version": peers.torch.__version__, "threads": peers.torch.get_num_threads()}
    if peers.sklearn_linear is not None:
        import sklearn

        info["scikit-learn"] = sklearn.__version__
    return info


def print_machine(info: dict[str, Any]) -> None:
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['platform']}")
    print(f"python {info['python']}, numpy {info['numpy']}, minigrad {info['minigrad']}", end="")
    if "torch" in info:
        print(f", torch {info['torch']['version']} ({info['torch']['threads']} threads)", end="")
    if "scikit-learn" in info:
        print(f", scikit-learn {info['scikit-learn']}", end="")
    print()
    for pool in info["blas"]:
        if "note" in pool:
            print(f"BLAS: {pool['note']}")
        else:
            print(
                f"BLAS: {pool['internal_api']} {pool['version']} ({pool['prefix']}), kernel {pool['architecture']}, "
                f"{pool['num_threads']} threads ({pool['threading_layer']})"
            )
    env = info["env"]
    print("environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env else "no BLAS/thread variables set"))


# -- timing -----------------------------------------------------------------------


@dataclass
class Case:
    """One contender: ``make()`` prepares its state and returns ``run(k)``."""

    name: str
    make: Callable[[], Runner]
    min_iters: int = 1


@dataclass
class Result:
    name: str
    samples: list[float]
    iters: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self, baseline: tuple[float, float] | None, limit: float | None) -> dict[str, Any]:
        return {
            "name": self.name,
            "median_s": self.median,
            "min_s": min(self.samples),
            "max_s": max(self.samples),
            "samples_s": self.samples,
            "iters_per_sample": self.iters,
            "ratio": self.median / baseline[0] if baseline else None,
            "ratio_of_mins": min(self.samples) / baseline[1] if baseline else None,
            "bandwidth_fraction": limit / self.median if limit else None,
        }


@dataclass
class Settings:
    sample_s: float
    pause_s: float
    reps: int
    quick: bool
    threads: int | None = None


def _timed(run: Runner, k: int) -> float:
    t0 = time.perf_counter()
    run(k)
    return time.perf_counter() - t0


def calibrate(run: Runner, min_iters: int, sample_s: float) -> int:
    """How many iterations (at least *min_iters*) make a sample last about *sample_s*.

    k grows tenfold until a run lasts a fifth of the sample; the faster of two
    runs at that k sets the count (a busy moment only ever slows a run down).
    """
    k = min_iters
    t = _timed(run, k)
    while t < sample_s / 5 and k < 100_000:
        k *= 10
        t = _timed(run, k)
    if t < sample_s:
        t = min(t, _timed(run, k))
    return max(min_iters, min(1_000_000, math.ceil(sample_s * k / max(t, 1e-9))))


def measure(cases: Sequence[Case], st: Settings) -> list[Result]:
    """Time every case, interleaved: each round runs one sample of every case, in a rotating order."""
    runners: list[Runner] = []
    iters: list[int] = []
    for case in cases:
        run = case.make()
        run(case.min_iters)  # warm-up: first-call costs, caches, thread start-up
        runners.append(run)
        iters.append(calibrate(run, case.min_iters, st.sample_s))
    samples: list[list[float]] = [[] for _ in cases]
    n = len(cases)
    for rep in range(st.reps):
        for j in range(n):
            i = (j + rep) % n
            gc.collect()
            time.sleep(st.pause_s)
            t0 = time.perf_counter()
            runners[i](iters[i])
            samples[i].append((time.perf_counter() - t0) / iters[i])
    return [Result(c.name, s, k) for c, s, k in zip(cases, samples, iters, strict=True)]


def _bind(make: Callable[..., Runner], *args: Any) -> Callable[[], Runner]:
    """``make`` with its arguments, called only when the case is prepared."""
    return lambda: make(*args)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:8.2f} µs"
    if s < 1.0:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.3f} s "


def print_results(title: str, rows: list[dict[str, Any]], baseline_name: str | None) -> None:
    print(f"\n== {title} ==  [{time.strftime('%H:%M:%S')}]")
    head = f"{'contender':44s} {'median':>11s} {'min':>11s} {'max':>11s}"
    if baseline_name:
        head += f" {'ratio':>7s} {'(mins)':>7s}"
    if any(r.get("bandwidth_fraction") for r in rows):
        head += f" {'of BW limit':>11s}"
    print(head)
    for r in rows:
        line = f"{r['name']:44s} {fmt_time(r['median_s'])} {fmt_time(r['min_s'])} {fmt_time(r['max_s'])}"
        if baseline_name:
            line += f" {r['ratio']:7.2f} {r['ratio_of_mins']:7.2f}" if r["ratio"] is not None else f" {'':15s}"
        if r.get("bandwidth_fraction"):
            line += f" {r['bandwidth_fraction']:11.2f}"
        print(line)


# -- data -----------------------------------------------------------------------------


def regression_data(
    n: int, d: int, o: int, dtype: np.dtype[Any], seed: int = 0
) -> tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]:
    """X (n, d) standard normal, y = X w + noise (n, o), and initial W (o, d), b (o,) as torch draws them."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=dtype)
    w_true = rng.standard_normal((d, o))
    y = (X @ w_true.astype(dtype) + 0.1 * rng.standard_normal((n, o)).astype(dtype)).astype(dtype)
    bound = 1.0 / math.sqrt(d)
    W0 = rng.uniform(-bound, bound, (o, d)).astype(dtype)
    b0 = rng.uniform(-bound, bound, (o,)).astype(dtype)
    return np.ascontiguousarray(X), np.ascontiguousarray(y), W0, b0


# -- contenders: one full-batch linear-regression step ------------------------------------


def numpy_min_step(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """The leanest NumPy step: preallocated buffers, ``np.dot(out=)``, in-place updates."""
    W, b = W0.copy(), b0.copy()
    r = np.empty(y.shape, dtype=X.dtype)
    gW = np.empty_like(W)
    gb = np.empty_like(b)
    WT, rT = W.T, r.T
    rflat = r.reshape(-1)
    scale = X.dtype.type(2.0 / r.size)
    lr_ = X.dtype.type(lr)
    dot, add, sub, mul, add_reduce = np.dot, np.add, np.subtract, np.multiply, np.add.reduce

    def run(k: int) -> float:
        loss = 0.0
        for _ in range(k):  # 11 NumPy calls, every output given positionally (the fastest way to pass it)
            dot(X, WT, r)
            add(r, b, r)
            sub(r, y, r)
            loss = float(dot(rflat, rflat))
            mul(r, scale, r)
            dot(rT, X, gW)
            add_reduce(r, 0, None, gb)  # type: ignore[call-overload]
            mul(gW, lr_, gW)
            sub(W, gW, W)
            mul(gb, lr_, gb)
            sub(b, gb, b)
        return loss / r.size

    return run


def numpy_plain_step(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """The NumPy step as one would first write it: every expression allocates."""
    W, b = W0.copy(), b0.copy()

    def run(k: int) -> float:
        loss = 0.0
        for _ in range(k):
            pred = X @ W.T + b
            diff = pred - y
            loss = float(np.mean(diff**2))
            g = diff * (2.0 / diff.size)
            W[...] -= lr * (g.T @ X)
            b[...] -= lr * g.sum(axis=0)
        return loss

    return run


def minigrad_model(d: int, o: int, W0: NDArray[Any], b0: NDArray[Any]) -> mg.Linear:
    model = mg.Linear(d, o, dtype=W0.dtype, rng=0)
    model.weight.data[...] = W0
    assert model.bias is not None
    model.bias.data[...] = b0
    return model


def minigrad_fit(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """``fit`` for k epochs in one call (full batch): validation and set-up are paid once per call."""
    model = minigrad_model(X.shape[1], y.shape[1], W0, b0)
    opt = mg.SGD(model.parameters(), lr=lr)
    loss_fn = mg.MSELoss()

    def run(k: int) -> float:
        return mg.fit(model, X, y, loss=loss_fn, optimizer=opt, epochs=k).loss[-1]

    return run


def minigrad_fit_calls(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """k calls of ``fit(epochs=1)``: what one epoch costs with validation and set-up included."""
    model = minigrad_model(X.shape[1], y.shape[1], W0, b0)
    opt = mg.SGD(model.parameters(), lr=lr)
    loss_fn = mg.MSELoss()

    def run(k: int) -> float:
        loss = 0.0
        for _ in range(k):
            loss = mg.fit(model, X, y, loss=loss_fn, optimizer=opt, epochs=1).loss[-1]
        return loss

    return run


def minigrad_manual(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """The manual loop: ``model(X)``, loss, ``zero_grad``, ``backward``, ``step``."""
    model = minigrad_model(X.shape[1], y.shape[1], W0, b0)
    opt = mg.SGD(model.parameters(), lr=lr)
    loss_fn = mg.MSELoss()

    def run(k: int) -> float:
        loss = 0.0
        for _ in range(k):
            pred = model(X)
            loss = loss_fn(pred, y)
            opt.zero_grad()
            model.backward(loss_fn.backward(), need_input_grad=False)
            opt.step()
        return loss

    return run


def python_step(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
    """The 1×1×1 step in pure-Python floats."""
    x, t = float(X[0, 0]), float(y[0, 0])
    state = [float(W0[0, 0]), float(b0[0])]

    def run(k: int) -> float:
        w, b = state
        loss = 0.0
        for _ in range(k):
            diff = x * w + b - t
            loss = diff * diff
            g = 2.0 * diff
            w -= lr * (g * x)
            b -= lr * g
        state[0], state[1] = w, b
        return loss

    return run


def torch_step(torch: Any) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """torch's standard loop: ``nn.Linear``, ``nn.MSELoss``, ``optim.SGD``, ``loss.item()``."""
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        lin = torch.nn.Linear(X.shape[1], y.shape[1], dtype=Xt.dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W0))
            lin.bias.copy_(torch.from_numpy(b0))
        opt = torch.optim.SGD(lin.parameters(), lr=lr)
        loss_fn = torch.nn.MSELoss()

        def run(k: int) -> float:
            loss = 0.0
            for _ in range(k):
                opt.zero_grad()
                out = loss_fn(lin(Xt), yt)
                out.backward()
                opt.step()
                loss = out.item()
            return loss

        return run

    return make


def sklearn_sgd(linear_model: Any) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """``SGDRegressor.partial_fit``: one epoch of per-sample SGD (a different algorithm; reference only)."""
        est = linear_model.SGDRegressor(
            penalty=None, alpha=0.0, learning_rate="constant", eta0=lr * 1e-2, shuffle=False, random_state=0
        )
        yr = y.ravel()

        def run(k: int) -> object:
            for _ in range(k):
                est.partial_fit(X, yr)
            return est

        return run

    return make


def sklearn_solve(linear_model: Any) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """``LinearRegression().fit``: the closed-form least-squares solution, the "just solve it" reference."""

        def run(k: int) -> object:
            est = None
            for _ in range(k):
                est = linear_model.LinearRegression().fit(X, y)
            return est

        return run

    return make


def read_dot(X: NDArray[Any], *_: Any) -> Runner:
    """One read of X by BLAS: ``X @ v`` into a preallocated vector."""
    v = np.ones(X.shape[1], dtype=X.dtype)
    out = np.empty(X.shape[0], dtype=X.dtype)

    def run(k: int) -> None:
        for _ in range(k):
            np.dot(X, v, out=out)

    return run


def read_sum(X: NDArray[Any], *_: Any) -> Runner:
    """One read of X by NumPy's reduction: ``X.sum()``."""

    def run(k: int) -> None:
        for _ in range(k):
            X.sum()

    return run


READ_CASES = ("read X once: X @ v", "read X once: X.sum()")

#: Sizes whose X is under this many bytes (1×1×1 and 32×10×1) take TINY_REPS_FACTOR times the
#: samples: their steps last a few µs, and a few seconds of another job on the machine would
#: otherwise decide a median.
TINY_X_BYTES = 100_000
TINY_REPS_FACTOR = 3


def step_group(n: int, d: int, o: int, dtype: Any, peers: Peers, st: Settings, *, with_sklearn: bool) -> dict[str, Any]:
    """Time one full-batch step at N×D×O for every contender; return the group's record."""
    dt = np.dtype(dtype)
    X, y, W0, b0 = regression_data(n, d, o, dt)
    makers: list[tuple[str, Callable[..., Runner], int]] = [
        (NUMPY_MIN, numpy_min_step, 1),
        ("minigrad fit (per epoch)", minigrad_fit, 5),
        ("minigrad manual loop", minigrad_manual, 1),
        ("numpy plain (allocating)", numpy_plain_step, 1),
    ]
    if n >= 100_000:
        makers.append(("minigrad fit (epochs=1 per call)", minigrad_fit_calls, 1))
    if n == d == o == 1:
        makers.append(("pure-Python floats", python_step, 1))
    if peers.torch is not None:
        makers.append(("torch nn.Linear+MSELoss+SGD", torch_step(peers.torch), 1))
    if with_sklearn and peers.sklearn_linear is not None:
        if o == 1:
            makers.append(("sklearn SGDRegressor.partial_fit (epoch)", sklearn_sgd(peers.sklearn_linear), 1))
        makers.append(("sklearn LinearRegression.fit (solve)", sklearn_solve(peers.sklearn_linear), 1))
    if n >= 10_000:
        makers.append((READ_CASES[0], read_dot, 1))
        makers.append((READ_CASES[1], read_sum, 1))
    cases = [Case(name, _bind(m, X, y, W0, b0, LR), mi) for name, m, mi in makers]
    if X.nbytes < TINY_X_BYTES:  # steps of a few µs: more samples, so that a busy phase moves no median
        st = replace(st, reps=st.reps * TINY_REPS_FACTOR)
    results = measure(cases, st)
    ref = next(r for r in results if r.name == NUMPY_MIN)
    base = (ref.median, min(ref.samples))
    limit = min((r.median for r in results if r.name in READ_CASES), default=None)
    rows = [r.as_dict(base, limit) for r in results]
    title = f"full-batch step, N={n} D={d} O={o} {dt.name} (X: {X.nbytes / 1e6:.1f} MB)"
    print_results(title, rows, NUMPY_MIN)
    return {
        "kind": "step",
        "title": title,
        "n": n,
        "d": d,
        "o": o,
        "dtype": dt.name,
        "x_bytes": X.nbytes,
        "baseline": NUMPY_MIN,
        "results": rows,
    }


# -- mini-batch epochs -------------------------------------------------------------------


def numpy_minibatch(bs: int) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """A hand-written NumPy mini-batch epoch: shuffle, fancy-index each batch, allocating step."""
        W, b = W0.copy(), b0.copy()
        rng = np.random.default_rng(1)
        n = X.shape[0]

        def run(k: int) -> float:
            total = 0.0
            for _ in range(k):
                order = rng.permutation(n)
                total = 0.0
                for s in range(0, n, bs):
                    idx = order[s : s + bs]
                    xb, yb = X[idx], y[idx]
                    diff = xb @ W.T + b - yb
                    flat = diff.reshape(-1)
                    total += float(flat @ flat) / flat.size * len(idx)
                    g = diff * (2.0 / flat.size)
                    W[...] -= lr * (g.T @ xb)
                    b[...] -= lr * g.sum(axis=0)
            return float(total / n)

        return run

    return make


def minigrad_minibatch(bs: int) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """``fit(batch_size=bs, shuffle=True)``, k epochs in one call."""
        model = minigrad_model(X.shape[1], y.shape[1], W0, b0)
        opt = mg.SGD(model.parameters(), lr=lr)
        loss_fn = mg.MSELoss()
        rng = np.random.default_rng(1)

        def run(k: int) -> float:
            return mg.fit(model, X, y, loss=loss_fn, optimizer=opt, epochs=k, batch_size=bs, rng=rng).loss[-1]

        return run

    return make


def torch_minibatch_runner(torch: Any, model: Any, Xt: Any, yt: Any, lr: float, bs: int) -> Runner:
    """torch's standard loop over shuffled index batches: zero_grad, loss, backward, SGD step.

    ``run(k)`` runs k epochs and returns the last epoch's sample-weighted mean loss.  No DataLoader,
    which would only add to torch's time.
    """
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss()
    gen = torch.Generator().manual_seed(1)
    n = Xt.shape[0]

    def run(k: int) -> float:
        total = 0.0
        for _ in range(k):
            order = torch.randperm(n, generator=gen)
            total = 0.0
            for s in range(0, n, bs):
                idx = order[s : s + bs]
                opt.zero_grad()
                out = loss_fn(model(Xt[idx]), yt[idx])
                out.backward()
                opt.step()
                total += out.item() * len(idx)
        return float(total / n)

    return run


def torch_minibatch(torch: Any, bs: int) -> Callable[..., Runner]:
    def make(X: NDArray[Any], y: NDArray[Any], W0: NDArray[Any], b0: NDArray[Any], lr: float) -> Runner:
        """torch's loop over shuffled index batches (no DataLoader, which would only add to its time)."""
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        lin = torch.nn.Linear(X.shape[1], y.shape[1], dtype=Xt.dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W0))
            lin.bias.copy_(torch.from_numpy(b0))
        return torch_minibatch_runner(torch, lin, Xt, yt, lr, bs)

    return make


def minibatch_group(n: int, d: int, bs: int, peers: Peers, st: Settings) -> dict[str, Any]:
    X, y, W0, b0 = regression_data(n, d, 1, np.dtype(np.float64))
    base = f"numpy mini-batch loop (batch {bs})"
    makers: list[tuple[str, Callable[..., Runner], int]] = [
        (base, numpy_minibatch(bs), 1),
        (f"minigrad fit (batch {bs}, per epoch)", minigrad_minibatch(bs), 3),
    ]
    if peers.torch is not None and not st.quick:
        makers.append((f"torch loop (batch {bs})", torch_minibatch(peers.torch, bs), 1))
    cases = [Case(name, _bind(m, X, y, W0, b0, LR), mi) for name, m, mi in makers]
    results = measure(cases, st)
    rows = [r.as_dict((results[0].median, min(results[0].samples)), None) for r in results]
    title = f"mini-batch epoch, N={n} D={d} O=1 float64, batch {bs}, shuffled"
    print_results(title, rows, base)
    return {"kind": "minibatch", "title": title, "n": n, "d": d, "batch_size": bs, "baseline": base, "results": rows}


# -- an MLP epoch on a real data set ------------------------------------------------------


def mlp_data(peers: Peers, quick: bool) -> tuple[NDArray[Any], NDArray[Any], str]:
    """Digits (1797×64, 10 classes) standardised, with one-hot targets; synthetic if scikit-learn is missing."""
    if peers.sklearn_datasets is not None:
        ds = peers.sklearn_datasets.load_digits()
        X = np.asarray(ds.data, dtype=np.float64)
        labels = np.asarray(ds.target)
        name = "sklearn digits"
    else:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((1797, 64))
        labels = rng.integers(0, 10, 1797)
        name = "synthetic (install scikit-learn for digits)"
    X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8)
    Y = np.zeros((X.shape[0], 10))
    Y[np.arange(X.shape[0]), labels] = 1.0
    return np.ascontiguousarray(X), Y, name


def mlp_weights(d: int, h: int, o: int) -> list[NDArray[Any]]:
    rng = np.random.default_rng(2)
    b1, b2 = 1 / math.sqrt(d), 1 / math.sqrt(h)
    return [
        rng.uniform(-b1, b1, (h, d)),
        rng.uniform(-b1, b1, h),
        rng.uniform(-b2, b2, (o, h)),
        rng.uniform(-b2, b2, o),
    ]


def numpy_mlp(bs: int, lr: float) -> Callable[[NDArray[Any], NDArray[Any]], Runner]:
    def make(X: NDArray[Any], Y: NDArray[Any]) -> Runner:
        W1, c1, W2, c2 = (a.copy() for a in mlp_weights(X.shape[1], 64, Y.shape[1]))
        rng = np.random.default_rng(1)
        n = X.shape[0]

        def run(k: int) -> float:
            total = 0.0
            for _ in range(k):
                order = rng.permutation(n)
                total = 0.0
                for s in range(0, n, bs):
                    idx = order[s : s + bs]
                    xb, yb = X[idx], Y[idx]
                    h = xb @ W1.T + c1
                    a = np.maximum(h, 0.0)
                    diff = a @ W2.T + c2 - yb
                    flat = diff.reshape(-1)
                    total += float(flat @ flat) / flat.size * len(idx)
                    g = diff * (2.0 / flat.size)
                    ga = (g @ W2) * (h > 0)
                    W2[...] -= lr * (g.T @ a)
                    c2[...] -= lr * g.sum(axis=0)
                    W1[...] -= lr * (ga.T @ xb)
                    c1[...] -= lr * ga.sum(axis=0)
            return float(total / n)

        return run

    return make


def minigrad_mlp(bs: int, lr: float) -> Callable[[NDArray[Any], NDArray[Any]], Runner]:
    def make(X: NDArray[Any], Y: NDArray[Any]) -> Runner:
        l1, l2 = mg.Linear(X.shape[1], 64, rng=0), mg.Linear(64, Y.shape[1], rng=0)
        for p, a in zip([*l1.parameters(), *l2.parameters()], mlp_weights(X.shape[1], 64, Y.shape[1]), strict=True):
            p.data[...] = a
        model = mg.Sequential(l1, mg.ReLU(), l2)
        opt = mg.SGD(model.parameters(), lr=lr)
        loss_fn = mg.MSELoss()
        rng = np.random.default_rng(1)

        def run(k: int) -> float:
            return float(mg.fit(model, X, Y, loss=loss_fn, optimizer=opt, epochs=k, batch_size=bs, rng=rng).loss[-1])

        return run

    return make


def torch_mlp(torch: Any, bs: int, lr: float) -> Callable[[NDArray[Any], NDArray[Any]], Runner]:
    def make(X: NDArray[Any], Y: NDArray[Any]) -> Runner:
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        model = torch.nn.Sequential(
            torch.nn.Linear(X.shape[1], 64, dtype=Xt.dtype),
            torch.nn.ReLU(),
            torch.nn.Linear(64, Y.shape[1], dtype=Xt.dtype),
        )
        with torch.no_grad():
            for p, a in zip(model.parameters(), mlp_weights(X.shape[1], 64, Y.shape[1]), strict=True):
                p.copy_(torch.from_numpy(a))
        return torch_minibatch_runner(torch, model, Xt, Yt, lr, bs)

    return make


def mlp_group(peers: Peers, st: Settings) -> dict[str, Any]:
    X, Y, data_name = mlp_data(peers, st.quick)
    bs, lr = 32, 0.05
    base = "numpy hand-written MLP"
    makers: list[tuple[str, Callable[[NDArray[Any], NDArray[Any]], Runner]]] = [(base, numpy_mlp(bs, lr))]
    notes = []
    if hasattr(mg, "Sequential") and hasattr(mg, "ReLU"):
        makers.append(("minigrad fit Sequential (per epoch)", minigrad_mlp(bs, lr)))
    else:
        notes.append("minigrad has no Sequential/ReLU yet: its MLP row is left out")
    if peers.torch is not None and not st.quick:
        makers.append(("torch nn.Sequential loop", torch_mlp(peers.torch, bs, lr)))
    cases = [Case(name, _bind(m, X, Y), 1) for name, m in makers]
    results = measure(cases, st)
    rows = [r.as_dict((results[0].median, min(results[0].samples)), None) for r in results]
    title = f"MLP epoch {X.shape[1]}-64-ReLU-{Y.shape[1]}, MSE on one-hot, batch {bs}, on {data_name} (N={X.shape[0]})"
    print_results(title, rows, base)
    for note in notes:
        print("note:", note)
    return {"kind": "mlp", "title": title, "data": data_name, "baseline": base, "results": rows, "notes": notes}


# -- the seed -----------------------------------------------------------------------------


def seed_group(peers: Peers, st: Settings) -> dict[str, Any]:
    """The seed's whole training (73 epochs, 72 updates, tol=0) in minigrad and in pure-Python floats."""
    from minigrad.seed import ALPHA, BUDGET, GROSS

    def python_seed() -> Runner:
        def run(k: int) -> float:
            w = 0.0
            for _ in range(k):
                w = 1.0
                while True:
                    delta = BUDGET * w - GROSS
                    if delta * delta <= 0.0:
                        break
                    w -= delta * BUDGET * ALPHA
            return w

        assert run(1) == 498.75
        return run

    def minigrad_seed() -> Runner:
        model = mg.Linear(1, 1, bias=False)
        X, y = np.array([[BUDGET]]), np.array([[GROSS]])
        loss_fn = mg.MSELoss()
        opt = mg.SGD(model.parameters(), lr=ALPHA / 2)
        w = model.weight.data

        def run(k: int) -> float:
            for _ in range(k):
                w[...] = 1.0
                h = mg.fit(model, X, y, loss=loss_fn, optimizer=opt, epochs=1000, tol=0.0)
            assert h.epochs == 73 and w[0, 0] == 498.75, (h.epochs, w[0, 0])
            return float(w[0, 0])

        return run

    base = "pure-Python floats (73 steps)"
    cases = [Case(base, python_seed), Case("minigrad fit (73 epochs, tol=0)", minigrad_seed)]
    results = measure(cases, st)
    rows = [r.as_dict((results[0].median, min(results[0].samples)), None) for r in results]
    title = "the seed: one weight, 73 steps until the prediction is exact (whole run)"
    print_results(title, rows, base)
    return {"kind": "seed", "title": title, "baseline": base, "results": rows}


# -- memory ----------------------------------------------------------------------------------


def memory_group(n: int, d: int) -> dict[str, Any]:
    """Extra peak memory (tracemalloc, all NumPy buffers included) of fit and of the manual loop."""
    out: dict[str, Any] = {"kind": "memory", "n": n, "d": d, "results": []}
    print(f"\n== extra peak memory during training, N={n} D={d} O=1 (tracemalloc, relative to X) ==")
    for dtype in (np.float64, np.float32):
        X, y, W0, b0 = regression_data(n, d, 1, np.dtype(dtype))
        for name, make, k in (
            ("minigrad fit, full batch, 3 epochs", minigrad_fit, 3),
            ("minigrad manual loop, 3 steps", minigrad_manual, 3),
            ("minigrad fit, batch 256, 1 epoch", minigrad_minibatch(256), 1),
        ):
            run = make(X, y, W0, b0, LR)
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            run(k)
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            ratio = peak / X.nbytes
            label = f"{name} ({np.dtype(dtype).name})"
            print(f"{label:56s} {peak / 1e6:10.3f} MB  = {ratio:.4f} × X ({X.nbytes / 1e6:.1f} MB)")
            out["results"].append({"name": label, "peak_bytes": peak, "x_bytes": X.nbytes, "ratio": ratio})
    return out


# -- summary -------------------------------------------------------------------------------------


def loglog_slope(points: list[tuple[int, float]]) -> float | None:
    pts = [(n, t) for n, t in points if t > 0]
    if len(pts) < 2:
        return None
    xs = np.log([p[0] for p in pts])
    ys = np.log([p[1] for p in pts])
    return float(np.polyfit(xs, ys, 1)[0])


def find(groups: list[dict[str, Any]], kind: str, name: str, **params: Any) -> dict[str, Any] | None:
    for g in groups:
        if g["kind"] == kind and all(g.get(k) == v for k, v in params.items()):
            for r in g["results"]:
                if r["name"] == name:
                    return dict(r)
    return None


def summary(groups: list[dict[str, Any]], memory: dict[str, Any], sweep: list[int]) -> dict[str, Any]:
    """Slopes, float32 speed-up and the targets of issue 4, each with its measured value."""
    fit_name, man_name = "minigrad fit (per epoch)", "minigrad manual loop"
    out: dict[str, Any] = {"slopes": {}, "slopes_out_of_cache": {}, "float32_speedup": {}, "targets": []}
    print("\n== summary ==")
    for dtype in ("float64", "float32"):
        for name in (fit_name, NUMPY_MIN, *READ_CASES):
            pts = []
            for n in sweep:
                r = find(groups, "step", name, n=n, d=100, o=1, dtype=dtype)
                if r:
                    pts.append((n, r["median_s"]))
            s = loglog_slope(pts)
            if s is not None:
                out["slopes"][f"{name} {dtype}"] = s
                print(f"log-log slope of time vs N ({sweep[0]:g}..{sweep[-1]:g}), {name}, {dtype}: {s:.3f}")
            big_pts = [(n, t) for n, t in pts if n >= 100_000]  # X far beyond the caches
            s_big = loglog_slope(big_pts) if len(big_pts) >= 2 else None
            if s_big is not None:
                out["slopes_out_of_cache"][f"{name} {dtype}"] = s_big
                print(f"  ... from {big_pts[0][0]:g} to {big_pts[-1][0]:g} (X out of cache): {s_big:.3f}")
    big = sweep[-1]
    for name in (fit_name, NUMPY_MIN):
        r64 = find(groups, "step", name, n=big, d=100, o=1, dtype="float64")
        r32 = find(groups, "step", name, n=big, d=100, o=1, dtype="float32")
        if r64 and r32:
            sp = r64["median_s"] / r32["median_s"]
            out["float32_speedup"][name] = sp
            print(f"float32 speed-up at N={big}, {name}: {sp:.2f}×")

    def target(label: str, value: float | None, limit: float, higher_is_better: bool = False) -> None:
        if value is None:
            return
        ok = value >= limit if higher_is_better else value <= limit
        rel = "≥" if higher_is_better else "≤"
        out["targets"].append({"target": label, "value": value, "limit": limit, "ok": ok})
        print(f"  {'ok  ' if ok else 'MISS'} {label}: {value:.3f} (target {rel} {limit:g})")

    def ratio(kind: str, name: str, **params: Any) -> float | None:
        r = find(groups, kind, name, **params)
        return r["ratio"] if r else None

    print("targets (informational; nothing is asserted):")
    for n, d, o, limit in (
        (1, 1, 1, 1.5),
        (32, 10, 1, 1.5),
        (1000, 100, 10, 1.15),
        (200_000, 100, 1, 1.05),
        (1_000_000, 100, 1, 1.05),
        (sweep[-1], 100, 1, 1.05),
    ):
        for dtype in ("float64", "float32"):
            label = f"fit/numpy-min {n}x{d}x{o} {dtype}"
            if not any(t["target"] == label for t in out["targets"]):
                target(label, ratio("step", fit_name, n=n, d=d, o=o, dtype=dtype), limit)
    for n, d, o in ((1, 1, 1), (32, 10, 1)):
        target(f"manual/numpy-min {n}x{d}x{o} float64", ratio("step", man_name, n=n, d=d, o=o, dtype="float64"), 1.3)
    tname = "torch nn.Linear+MSELoss+SGD"
    for n, d, o, limit in ((1, 1, 1, 10.0), (32, 10, 1, 10.0), (1000, 100, 10, 1.0), (sweep[-1], 100, 1, 1.5)):
        for dtype in ("float64", "float32"):
            t = find(groups, "step", tname, n=n, d=d, o=o, dtype=dtype)
            f = find(groups, "step", fit_name, n=n, d=d, o=o, dtype=dtype)
            if t and f:
                target(f"torch/fit {n}x{d}x{o} {dtype}", t["median_s"] / f["median_s"], limit, higher_is_better=True)
    target("seed fit / pure-Python loop", ratio("seed", "minigrad fit (73 epochs, tol=0)"), 150.0)
    for r in memory.get("results", []):
        if "full batch" in r["name"]:
            target(f"extra memory / X: {r['name']}", r["ratio"], 0.05)
    for key, s in out["slopes"].items():
        if key.startswith(fit_name):
            target(f"slope {key}", s, 1.1)
            target(f"slope {key} (lower bound)", s, 0.9, higher_is_better=True)
    for g in groups:
        if g["kind"] == "minibatch":
            for r in g["results"]:
                if r["name"].startswith("minigrad"):
                    target(f"mini-batch {g['batch_size']} fit/numpy loop", r["ratio"], 1.3)
    return out


# -- plot ---------------------------------------------------------------------------------------------


def plot(groups: list[dict[str, Any]], sweep: list[int], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:
        print("matplotlib is not installed: no plot")
        return False
    names = [
        "minigrad fit (per epoch)",
        "minigrad manual loop",
        NUMPY_MIN,
        "numpy plain (allocating)",
        "torch nn.Linear+MSELoss+SGD",
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, dtype in zip(axes, ("float64", "float32"), strict=True):
        for name in names:
            pts = [(n, r["median_s"]) for n in sweep if (r := find(groups, "step", name, n=n, d=100, o=1, dtype=dtype))]
            if pts:
                ax.loglog([p[0] for p in pts], [p[1] for p in pts], "-", marker="o", label=name)
        limit = []
        for n in sweep:
            reads = [
                r["median_s"] for name in READ_CASES if (r := find(groups, "step", name, n=n, d=100, o=1, dtype=dtype))
            ]
            if reads:
                limit.append((n, min(reads)))
        if limit:
            ax.loglog([p[0] for p in limit], [p[1] for p in limit], "k--", label="one read of X (bandwidth limit)")
        ax.set_title(f"one full-batch step, D=100, O=1, {dtype}")
        ax.set_xlabel("N (rows of X)")
        ax.grid(True, which="both", color="#e7e7e7")  # opaque: PostScript has no transparency
    axes[0].set_ylabel("seconds per step (median)")
    axes[0].legend(fontsize=8, framealpha=1.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"plot written to {path}")
    return True


# -- markdown -------------------------------------------------------------------------------------------


def markdown(record: dict[str, Any]) -> str:
    """The results of a run as Markdown tables (ratios of medians, the README's summary)."""
    groups = record["groups"]
    cols = [
        ("minigrad fit (per epoch)", "fit"),
        ("minigrad manual loop", "manual loop"),
        ("numpy plain (allocating)", "plain NumPy"),
        ("torch nn.Linear+MSELoss+SGD", "torch"),
        ("sklearn SGDRegressor.partial_fit (epoch)", "sklearn SGD epoch"),
        ("sklearn LinearRegression.fit (solve)", "sklearn solve"),
    ]
    lines = [
        "| N×D×O | dtype | numpy-min | " + " | ".join(c[1] for c in cols) + " | fit: share of BW limit |",
        "|---|---|---|" + "---|" * len(cols) + "---|",
    ]
    for g in groups:
        if g["kind"] != "step":
            continue
        by = {r["name"]: r for r in g["results"]}
        base = by[NUMPY_MIN]
        cells = [f"{by[c]['ratio']:.2f}" if c in by else "–" for c, _ in cols]
        fit = by.get("minigrad fit (per epoch)")
        bw = f"{fit['bandwidth_fraction']:.2f}" if fit and fit.get("bandwidth_fraction") else "–"
        lines.append(
            f"| {g['n']}×{g['d']}×{g['o']} | {g['dtype']} | {fmt_time(base['median_s']).strip()} (1.00) | "
            + " | ".join(cells)
            + f" | {bw} |"
        )
    other = ["", "| benchmark | baseline | contender | ratio (medians) | ratio (mins) |", "|---|---|---|---|---|"]
    for g in groups:
        if g["kind"] == "step":
            continue
        base = g["results"][0]
        for r in g["results"][1:]:
            other.append(
                f"| {g['title']} | {base['name']}: {fmt_time(base['median_s']).strip()} | {r['name']} | "
                f"{r['ratio']:.2f} | {r['ratio_of_mins']:.2f} |"
            )
    mem = ["", "| extra peak memory during training (tracemalloc) | × size of X |", "|---|---|"]
    for r in record.get("memory", {}).get("results", []):
        mem.append(f"| {r['name']}, N={record['memory']['n']} D={record['memory']['d']} | {r['ratio']:.4f} |")
    summ = record.get("summary", {})
    extra = [""]
    for key, slope in summ.get("slopes", {}).items():
        extra.append(f"- log-log slope of time per step against N, {key}: {slope:.2f}")
    for key, slope in summ.get("slopes_out_of_cache", {}).items():
        extra.append(f"- the same from N=1e5 on (X out of cache), {key}: {slope:.2f}")
    for key, sp in summ.get("float32_speedup", {}).items():
        extra.append(f"- float32 speed-up over float64 at the largest N, {key}: {sp:.2f}×")
    return "\n".join(lines + other + mem + extra) + "\n"


# -- main ---------------------------------------------------------------------------------------------


def _number(low: float, *, strict: bool) -> Callable[[str], float]:
    """An argparse type: a finite number > low (strict) or >= low."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"expected a finite number {'>' if strict else '>='} {low:g}, got {text!r}"
            )
        return value

    return parse


def _count(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _output(text: str) -> str:
    """An argparse type: a file that can be created, checked before the run rather than after it."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name")
    folder = os.path.dirname(text) or "."
    if not os.path.isdir(folder):
        why = "is not a directory" if os.path.lexists(folder) else "does not exist"
        raise argparse.ArgumentTypeError(f"cannot write {text}: {folder} {why}")
    if os.path.lexists(text) and not os.access(text, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the file is read-only for you")
    if not os.path.lexists(text) and not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: you may not create files in {folder}")
    return text


def _picture(text: str) -> str:
    """An argparse type: a file for the plot, in a format minigrad's plotting writes here."""
    _output(text)
    from minigrad.plot import MissingExtraError, check_plot_path

    try:
        check_plot_path(text)
    except MissingExtraError:  # plot() says that there is no plot
        pass
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """The suite's command line; every value is checked here, before minutes of measuring."""
    p = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small sizes and short samples (a smoke test, < 60 s)")
    p.add_argument("--json", metavar="PATH", type=_output, help="write every sample and the summary as JSON")
    p.add_argument("--plot", metavar="PATH", type=_picture, help="draw time per step against N (needs matplotlib)")
    p.add_argument("--markdown", metavar="PATH", type=_output, help="write the results as Markdown tables (ratios)")
    p.add_argument(
        "--sample", type=_number(0, strict=True), default=None, help="seconds per timing sample (0.2; quick 0.02)"
    )
    p.add_argument(
        "--pause",
        type=_number(0, strict=False),
        default=None,
        help="seconds of pause before each sample (0.1; quick 0.05)",
    )
    p.add_argument("--reps", type=_count, default=None, help="samples per contender (5; quick 3)")
    p.add_argument(
        "--threads",
        type=_count,
        default=None,
        help="limit BLAS and torch to this many threads (default: their own; 1 with --quick)",
    )
    p.add_argument("--no-torch", action="store_true", help="leave torch out even if it is installed")
    p.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out even if it is installed")
    p.add_argument(
        "--only",
        choices=["step", "minibatch", "mlp", "seed", "memory", "sklearn"],
        action="append",
        help="run only these sections (repeatable)",
    )
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; ``argv`` as on the command line (``["--quick"]`` for the smoke test). Returns 0."""
    args = parse_args(argv)
    quick = bool(args.quick)
    if args.only and "sklearn" in args.only:  # the estimator benchmark, a module of its own
        from benchmarks import bench_sklearn

        bench_sklearn.main(["--quick"] if quick else [])
        if set(args.only) == {"sklearn"}:
            return 0
        args.only = [s for s in args.only if s != "sklearn"]
    st = Settings(
        sample_s=args.sample if args.sample is not None else (0.02 if quick else 0.2),
        pause_s=args.pause if args.pause is not None else (0.05 if quick else 0.1),
        reps=args.reps if args.reps is not None else (3 if quick else 5),
        quick=quick,
    )
    t_start = time.perf_counter()
    peers = Peers.load(not args.no_torch, not args.no_sklearn)
    gc.collect()
    gc.freeze()  # the peers' modules are long-lived: keep the collections before each sample short
    threads = st.threads = args.threads if args.threads is not None else (1 if quick else None)
    with contextlib.ExitStack() as stack:
        if threads is not None:
            if peers.threadpoolctl is not None:
                stack.enter_context(peers.threadpoolctl.threadpool_limits(limits=threads))
            else:
                print("threadpoolctl is not installed: the BLAS thread count cannot be limited")
            if peers.torch is not None:
                stack.enter_context(_torch_threads(peers.torch, threads))
        return _run(args, st, peers, t_start)


@contextlib.contextmanager
def _torch_threads(torch: Any, n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(args: argparse.Namespace, st: Settings, peers: Peers, t_start: float) -> int:
    quick = st.quick
    sections = set(args.only or ["step", "minibatch", "mlp", "seed", "memory"])
    info = machine_info(peers)
    print_machine(info)
    print(
        f"settings: sample ≥ {st.sample_s} s, pause {st.pause_s} s, {st.reps} samples each, "
        f"{'quick' if quick else 'full'} run; learning rate {LR}; "
        + (f"BLAS and torch limited to {st.threads} thread(s)" if st.threads else "default thread counts")
    )

    if quick:
        small = [(1, 1, 1), (32, 10, 1), (1000, 100, 10)]
        sweep = [5_000, 20_000]
        mb_n, mem_n = 2_000, 20_000
    else:
        small = [(1, 1, 1), (32, 10, 1), (1000, 100, 10)]
        sweep = [10_000, 100_000, 200_000, 1_000_000]
        mb_n, mem_n = 20_000, 200_000
    groups: list[dict[str, Any]] = []
    if "step" in sections:
        for n, d, o in small:
            groups.append(step_group(n, d, o, np.float64, peers, st, with_sklearn=not quick or n == 32))
        groups.append(step_group(1000, 100, 10, np.float32, peers, st, with_sklearn=not quick))
        for dtype in (np.float64, np.float32):
            for n in sweep:
                groups.append(step_group(n, 100, 1, dtype, peers, st, with_sklearn=not quick))
    if "minibatch" in sections:
        for bs in (32, 256):
            groups.append(minibatch_group(mb_n, 100, bs, peers, st))
    if "mlp" in sections:
        groups.append(mlp_group(peers, st))
    if "seed" in sections:
        groups.append(seed_group(peers, st))
    memory = memory_group(mem_n, 100) if "memory" in sections else {}
    summ = summary(groups, memory, sweep)
    plotted = plot(groups, sweep, args.plot) if args.plot else False
    elapsed = time.perf_counter() - t_start
    print(f"\nbenchmark finished in {elapsed:.1f} s")
    record = {
        "machine": info,
        "settings": vars(st),
        "args": vars(args),
        "groups": groups,
        "memory": memory,
        "summary": summ,
        "plot": args.plot if plotted else None,
        "elapsed_s": elapsed,
    }
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=1)
        print(f"JSON written to {args.json}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(markdown(record))
        print(f"Markdown written to {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
