"""Timing: contenders as cases, calibrated sample lengths, interleaved samples, medians."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Runner = Callable[[int], object]
"""A prepared contender: ``run(k)`` performs k steps (or epochs, or runs)."""

NUMPY_MIN = "numpy-min"
LR = 0.01
READ_CASES = ("read X once: X @ v", "read X once: X.sum()")

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
    # One full collection, then freeze what is alive (the peers' lazily imported modules, the
    # contenders' state): the collection before each sample then only sees the garbage of the
    # samples, milliseconds instead of ~0.1 s with torch loaded. Unfrozen at the end, so that the
    # group's arrays can be collected once it is done.
    gc.collect()
    gc.freeze()
    try:
        for rep in range(st.reps):
            for j in range(n):
                i = (j + rep) % n
                gc.collect()
                time.sleep(st.pause_s)
                t0 = time.perf_counter()
                runners[i](iters[i])
                samples[i].append((time.perf_counter() - t0) / iters[i])
    finally:
        gc.unfreeze()
    return [Result(c.name, s, k) for c, s, k in zip(cases, samples, iters, strict=True)]


def _bind(make: Callable[..., Runner], *args: Any) -> Callable[[], Runner]:
    """``make`` with its arguments, called only when the case is prepared."""
    return lambda: make(*args)
