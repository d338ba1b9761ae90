"""The full-batch linear-regression step at N×D×O, its contenders, one read of X, and fit's memory."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

import minigrad as mg
from benchmarks.suite.peers import Peers
from benchmarks.suite.report import print_results
from benchmarks.suite.timing import LR, NUMPY_MIN, READ_CASES, Case, Runner, Settings, _bind, measure

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
    """The manual loop exactly as a newcomer writes it: loss, ``zero_grad``, ``backward``, ``step``, no flags."""
    model = minigrad_model(X.shape[1], y.shape[1], W0, b0)
    opt = mg.SGD(model.parameters(), lr=lr)
    loss_fn = mg.MSELoss()

    def run(k: int) -> float:
        loss = 0.0
        for _ in range(k):
            loss = loss_fn(model(X), y)
            opt.zero_grad()
            model.backward(loss_fn.backward())
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
    # steps of a few µs: more samples, so that a busy phase moves no median (not in the smoke test)
    if X.nbytes < TINY_X_BYTES and not st.quick:
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
