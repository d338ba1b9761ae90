"""Peak memory of a full-batch ``fit`` (validation included) relative to the size of X."""

from __future__ import annotations

import gc
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.suite.epochs import minigrad_minibatch
from benchmarks.suite.steps import minigrad_fit, minigrad_manual, regression_data
from benchmarks.suite.timing import LR

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
