"""Estimator benchmark: minigrad.sklearn.MLPClassifier/MLPRegressor against scikit-learn's, per epoch.

Each case fits both estimators with the same parameters (default
``shuffle=True``, ``tol=0`` so that every epoch runs), alternating between them
``--reps`` times; the time per epoch is the fit time divided by ``n_iter_``.
It prints the medians, the ratio minigrad / scikit-learn of the medians, the
test score of each and the peak memory of one fit (traced by ``tracemalloc``
in a separate run, so that tracing does not slow the timed ones).

Run from the repository root::

    python benchmarks/bench_sklearn.py            # every case, 3 repeats
    python benchmarks/bench_sklearn.py --quick    # small sizes, a smoke test
    python benchmarks/bench.py --only sklearn     # the same, from the suite
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor name elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cases(quick: bool) -> list[dict[str, Any]]:
    """The data sets and parameters: (name, make data, estimator kind, parameters, epochs)."""
    from sklearn.datasets import load_digits, make_classification, make_regression

    def classification() -> tuple[Any, Any]:
        n = 4_000 if quick else 40_000
        return make_classification(n_samples=n, n_features=50, n_informative=30, n_classes=5, random_state=0)

    def digits() -> tuple[Any, Any]:
        return load_digits(return_X_y=True)

    def regression() -> tuple[Any, Any]:
        n = 20_000 if quick else 200_000
        X, y = make_regression(n_samples=n, n_features=20, n_informative=15, noise=1.0, random_state=0)
        return X, np.sin(X[:, 0]) * y / 50.0 + X[:, 1] ** 2  # a target a linear model cannot fit

    return [
        {"name": "40k×50, 5 classes, (128,), batch 200", "data": classification, "kind": "classifier",
         "params": {"hidden_layer_sizes": (128,), "batch_size": 200}, "epochs": 2 if quick else 5},
        {"name": "digits 1797×64, (100,), batch auto", "data": digits, "kind": "classifier",
         "params": {"hidden_layer_sizes": (100,)}, "epochs": 5 if quick else 30},
        {"name": "200k×20 regression, (64, 64), batch 1000", "data": regression, "kind": "regressor",
         "params": {"hidden_layer_sizes": (64, 64), "batch_size": 1000}, "epochs": 2 if quick else 5},
    ]  # fmt: skip


def _fit_time(make: Callable[[], Any], X: Any, y: Any) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds per epoch of one fit, and the fitted estimator."""
    est = make()
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(X, y)
    t1, c1 = time.perf_counter(), time.process_time()
    return (t1 - t0) / est.n_iter_, (c1 - c0) / est.n_iter_, est


def _peak_bytes(make: Callable[[], Any], X: Any, y: Any) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        make().fit(X, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_case(case: dict[str, Any], dtype: type, reps: int) -> dict[str, Any]:
    """Time both estimators on one case and dtype; return the medians, ratio, scores and peak memory."""
    from sklearn import neural_network
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    import minigrad.sklearn as mgs

    X, y = case["data"]()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train).astype(dtype)
    X_test = scaler.transform(X_test).astype(dtype)
    name = "MLPClassifier" if case["kind"] == "classifier" else "MLPRegressor"
    params = dict(case["params"], max_iter=case["epochs"], tol=0.0, n_iter_no_change=10**6, random_state=0)
    makers = {
        "scikit-learn": lambda: getattr(neural_network, name)(**params),
        "minigrad": lambda: getattr(mgs, name)(**params),
    }
    times: dict[str, list[float]] = {k: [] for k in makers}
    cpu: dict[str, list[float]] = {k: [] for k in makers}
    fitted: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(reps):  # interleaved: a busy moment slows both
            for key, make in makers.items():
                t, c, fitted[key] = _fit_time(make, X_train, y_train)
                times[key].append(t)
                cpu[key].append(c)
        peaks = {key: _peak_bytes(make, X_train, y_train) for key, make in makers.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        "case": case["name"],
        "dtype": np.dtype(dtype).name,
        "ms_per_epoch": {k: 1e3 * v for k, v in med.items()},
        "ratio": med["minigrad"] / med["scikit-learn"],
        "cpu_ratio": cpu_med["minigrad"] / cpu_med["scikit-learn"],
        "score": {k: float(est.score(X_test, y_test)) for k, est in fitted.items()},
        "peak_mib": {k: v / 2**20 for k, v in peaks.items()},
        "dtype_kept": {k: str(est.coefs_[0].dtype) for k, est in fitted.items()},
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the estimator benchmark; print one line per case and dtype.  Returns 0."""
    p = argparse.ArgumentParser(prog="bench_sklearn", description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small sizes, 1 repeat (a smoke test)")
    p.add_argument("--reps", type=int, default=None, help="fits per estimator and case (3; quick 1)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads, through threadpoolctl (1; 0: the default)")
    args = p.parse_args(argv)
    try:
        import sklearn
    except ImportError:
        print("bench_sklearn: scikit-learn is not installed (pip install scikit-learn); nothing to compare")
        return 0
    reps = args.reps if args.reps is not None else (1 if args.quick else 3)
    limit: Any = contextlib.nullcontext()
    if args.threads:
        try:
            from threadpoolctl import threadpool_limits

            limit = threadpool_limits(limits=args.threads)
        except ImportError:
            print("threadpoolctl is not installed: the BLAS thread count cannot be limited")
    print(f"cpu: {cpu_name()} ({os.cpu_count()} cores); numpy {np.__version__}, scikit-learn {sklearn.__version__}")
    print(
        f"{reps} interleaved fit(s) per estimator; medians of time per epoch; ratio = minigrad / scikit-learn "
        f"(wall clock, and CPU time of the process); BLAS threads: {args.threads or 'default'}"
    )
    header = f"{'case':42} {'dtype':8} {'sklearn ms':>10} {'minigrad ms':>11} {'ratio':>6} {'cpu ratio':>9}  "
    print(header + "test score (sk / mg)  peak MiB (sk / mg)")
    with limit:
        for case in cases(args.quick):
            for dtype in (np.float64, np.float32):
                r = run_case(case, dtype, reps)
                ms, sc, pk = r["ms_per_epoch"], r["score"], r["peak_mib"]
                print(
                    f"{r['case']:42} {r['dtype']:8} {ms['scikit-learn']:10.1f} {ms['minigrad']:11.1f} "
                    f"{r['ratio']:6.2f} {r['cpu_ratio']:9.2f}  {sc['scikit-learn']:.4f} / {sc['minigrad']:.4f}      "
                    f"{pk['scikit-learn']:.1f} / {pk['minigrad']:.1f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
