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
``--sample`` seconds (0.2 s; 0.01 s with ``--quick``) after a pause
(0.1 s), the contenders take turns sample by sample, and the median, min
and max of the per-step times are reported.  The pause and the long samples
matter: OpenBLAS's worker threads keep spinning for a while after a BLAS
call and would otherwise slow down whichever contender runs next.

The header names the machine (CPU model, cores, L1d/L2/L3 sizes, the BLAS
library, version and kernel, numpy and torch versions, OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE when set), and the JSON keeps it under ``machine`` with the
date and the command: figures of different machines must never be mixed.

Where things are: this file is the command line; ``benchmarks/suite/`` holds
``timing.py`` (cases, calibration, interleaved samples), ``machine.py``,
``peers.py`` (optional imports), ``steps.py`` (the full-batch step and its
contenders), ``epochs.py`` (mini-batch, MLP, seed), ``memory.py`` and
``report.py`` (tables, targets, plot, Markdown).  ``bench_sklearn.py`` (the
estimators, ``--only sklearn``) is a module of its own beside this one.

Nothing here asserts anything about time; the "targets" section compares
the ratios with minigrad's goals and prints ``ok`` or ``MISS``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script or by `minigrad bench`: the suite's modules are benchmarks.suite.*
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.suite.epochs import minibatch_group, mlp_group, seed_group
from benchmarks.suite.machine import machine_info, print_machine
from benchmarks.suite.memory import memory_group
from benchmarks.suite.peers import Peers
from benchmarks.suite.report import markdown, plot, summary
from benchmarks.suite.steps import step_group
from benchmarks.suite.timing import LR, Settings

#: The sections of a run without --only, in the order they run.
SECTIONS = ("step", "minibatch", "mlp", "seed", "memory")

#: Benchmarks that are modules of their own beside this file, each with a main(argv) that takes
#: ["--quick"] or []; run only when named with --only.
SEPARATE = {"sklearn": "benchmarks.bench_sklearn", "dask": "benchmarks.bench_dask"}

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
        "--sample", type=_number(0, strict=True), default=None, help="seconds per timing sample (0.2; quick 0.01)"
    )
    p.add_argument(
        "--pause",
        type=_number(0, strict=False),
        default=None,
        help="seconds of pause before each sample (0.1; quick 0.02)",
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
        choices=[*SECTIONS, *SEPARATE],
        action="append",
        help="run only these sections (repeatable)",
    )
    return p


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; ``argv`` as on the command line (``["--quick"]`` for the smoke test). Returns 0."""
    args = parse_args(argv)
    command = "python benchmarks/bench.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    quick = bool(args.quick)
    separate = [s for s in args.only or [] if s in SEPARATE]
    for section in separate:  # benchmarks that are modules of their own, run only when asked for
        importlib.import_module(SEPARATE[section]).main(["--quick"] if quick else [])
    if separate:
        args.only = [s for s in args.only if s not in SEPARATE]
        if not args.only:
            return 0
    st = Settings(
        sample_s=args.sample if args.sample is not None else (0.01 if quick else 0.2),
        pause_s=args.pause if args.pause is not None else (0.02 if quick else 0.1),
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
        return _run(args, st, peers, t_start, command.strip())


@contextlib.contextmanager
def _torch_threads(torch: Any, n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _run(args: argparse.Namespace, st: Settings, peers: Peers, t_start: float, command: str) -> int:
    quick = st.quick
    sections = set(args.only or SECTIONS)
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
        "command": command,
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
