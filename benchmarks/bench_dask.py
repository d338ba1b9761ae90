"""minigrad on Dask: time per full-batch step on a 2-worker LocalCluster, next to a hand-written Dask step.

Run from the repository root (needs ``pip install '.[dask]'``)::

    python benchmarks/bench_dask.py              # X of 2e6 x 50 float64 (763 MiB), a few minutes
    python benchmarks/bench_dask.py --quick      # X of 2e5 x 50, well under a minute

What it measures, on a LocalCluster of 2 worker processes (one thread each) on 127.0.0.1,
with X and y made on the workers and persisted there (row blocks of ``--chunk`` rows):

- *minigrad fit*: ``mg.fit(Linear(D, 1), X, y, loss=MSELoss(), optimizer=SGD)``, time per epoch
  (one full-batch step), over ``--epochs`` epochs; also an MLP ``D -> 32 -> 1`` (ReLU).
- *hand-written Dask*: the leanest step one writes by hand, as dask-ml does: one fused task per
  row block computing ``r = X_b w + b - y_b``, ``sum r**2``, ``X_b^T r`` and ``sum r``, the
  parameters sent once per step as one Dask object, the block sums gathered and added on the
  client, the SGD update on the client.
- *NumPy in RAM*: ``mg.fit`` on the same X as one NumPy array in the client's memory (Linear).
- The fixed cost per step on tiny data (1000 x 5, one block and 4 blocks), on the cluster and
  under Dask's default threaded scheduler.

Goal: minigrad fit <= 1.3x the hand-written Dask step.  Nothing here asserts anything; the
table says ``ok`` or ``MISS``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad as mg


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or "unknown CPU"


def per_step(run: Callable[[int], None], steps: int, repeats: int) -> list[float]:
    """Seconds per step of ``run(steps)``, for each of *repeats* runs."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(steps)
        times.append((time.perf_counter() - t) / steps)
    return times


def _hand_block(xb: Any, yb: Any, params: tuple[Any, Any]) -> tuple[float, Any, float]:
    w, b = params
    r = xb @ w + (b - yb)
    return float(r @ r), xb.T @ r, float(r.sum())


def hand_written(X: Any, y: Any, lr: float) -> Callable[[int], None]:
    """The hand-written Dask step for linear regression under MSE, ``steps`` times."""
    import dask

    n = X.shape[0]
    xs = X.to_delayed().ravel()
    ys = y.to_delayed().ravel()
    w = np.zeros(X.shape[1])
    b = 0.0

    def run(steps: int) -> None:
        nonlocal w, b
        for _ in range(steps):
            params = dask.delayed((w, b), pure=False, traverse=False)
            parts = dask.compute(*[dask.delayed(_hand_block)(xb, yb, params) for xb, yb in zip(xs, ys, strict=True)])
            gw = sum(p[1] for p in parts) * (2.0 / n)
            gb = sum(p[2] for p in parts) * (2.0 / n)
            w = w - lr * gw
            b = b - lr * gb

    return run


def minigrad_fit(make: Callable[[], mg.Module], X: Any, y: Any, lr: float) -> Callable[[int], None]:
    model = make()
    opt = mg.SGD(model.parameters(), lr=lr)

    def run(steps: int) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=steps)

    return run


def row(name: str, times: list[float], ref: float | None = None) -> str:
    med = statistics.median(times)
    ratio = f"{med / ref:6.2f}x" if ref else "       "
    return f"  {name:<44} {med * 1e3:10.1f} ms  (min {min(times) * 1e3:8.1f})  {ratio}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="X of 2e5 x 50: a smoke test")
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=125_000, help="rows per block")
    parser.add_argument("--epochs", type=int, default=3, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.chunk, args.epochs, args.repeats = 200_000, 25_000, 2, 2

    import dask
    import dask.array as da
    import distributed

    rows, d = args.rows, args.features
    print(f"minigrad on Dask: X {rows} x {d} float64 ({rows * d * 8 / 2**20:.0f} MiB) in blocks of {args.chunk} rows")
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; numpy {np.__version__}, dask {dask.__version__}")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        client.as_current(),
        dask.config.set(scheduler=client.get),
    ):
        gen = da.random.default_rng(0)
        X = gen.normal(size=(rows, d), chunks=(args.chunk, d)).persist()
        y = (X @ np.linspace(-1, 1, d) + 0.5 + gen.normal(scale=0.1, size=rows, chunks=args.chunk)).persist()
        distributed.wait([X, y])
        lr = 0.05
        steps, reps = args.epochs, args.repeats
        # warm up every contender once (imports, connections, the first graph)
        hand = hand_written(X, y, lr)
        fit_linear = minigrad_fit(lambda: mg.Linear(d, 1, rng=0), X, y, lr)
        fit_mlp = minigrad_fit(
            lambda: mg.Sequential(mg.Linear(d, 32, rng=0), mg.ReLU(), mg.Linear(32, 1, rng=1)), X, y, lr
        )
        for run in (hand, fit_linear):
            run(1)
        t_hand: list[float] = []
        t_fit: list[float] = []
        for _ in range(reps):  # interleaved, one run each per round
            t_hand += per_step(hand, steps, 1)
            t_fit += per_step(fit_linear, steps, 1)
        t_mlp = per_step(fit_mlp, max(2, steps // 2), 1)  # slower: one short run
        Xn, yn = X.compute(), y.compute()
        t_np = per_step(minigrad_fit(lambda: mg.Linear(d, 1, rng=0), Xn, yn, lr), steps, reps)
        del Xn, yn
        ref = statistics.median(t_hand)
        print(
            f"\nTime per full-batch step ({X.numblocks[0]} blocks, 2 worker processes; ratio to the hand-written step)"
        )
        print(row("hand-written Dask step (Linear, MSE, SGD)", t_hand, ref))
        print(row("minigrad fit on Dask (Linear, MSE, SGD)", t_fit, ref))
        print(row("minigrad fit on Dask (MLP D-32-1, MSE, SGD)", t_mlp, ref))
        print(row("minigrad fit, NumPy in RAM (Linear)", t_np, ref))
        ratio = statistics.median(t_fit) / ref
        low = min(t_fit) / min(t_hand)
        verdict = "ok" if ratio <= 1.3 else "MISS"
        print(f"  goal: minigrad fit <= 1.3x the hand-written step: {ratio:.2f}x ({low:.2f}x of minimums)  {verdict}")

        print("\nFixed cost per step on tiny data (1000 x 5, Linear, MSE, SGD)")
        Xt = np.random.default_rng(1).normal(size=(1000, 5))
        yt = Xt.sum(axis=1)
        for label, sched in (("2-worker cluster", client.get), ("threaded scheduler", "threads")):
            with dask.config.set(scheduler=sched):
                for blocks in (1, 4):
                    Xd, yd = da.from_array(Xt, chunks=(1000 // blocks, 5)), da.from_array(yt, chunks=1000 // blocks)
                    Xd, yd = Xd.persist(), yd.persist()
                    fit_tiny = minigrad_fit(lambda: mg.Linear(5, 1, rng=0), Xd, yd, 0.1)
                    hand_tiny = hand_written(Xd, yd, 0.1)
                    fit_tiny(1)
                    hand_tiny(1)
                    tf = per_step(fit_tiny, 10, reps)
                    th = per_step(hand_tiny, 10, reps)
                    print(row(f"{label}, {blocks} block(s): minigrad fit", tf, statistics.median(th)))
                    print(row(f"{label}, {blocks} block(s): hand-written", th))
        t_tiny_np = per_step(minigrad_fit(lambda: mg.Linear(5, 1, rng=0), Xt, yt, 0.1), 1000, reps)
        print(f"  {'NumPy in RAM: minigrad fit':<44} {statistics.median(t_tiny_np) * 1e6:10.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
