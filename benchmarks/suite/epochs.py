"""Epochs: mini-batch linear regression, an MLP on digits, and the seed's 73-step fit."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

import minigrad as mg
from benchmarks.suite.peers import Peers
from benchmarks.suite.report import print_results
from benchmarks.suite.steps import minigrad_model, regression_data
from benchmarks.suite.timing import LR, Case, Runner, Settings, _bind, measure

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
