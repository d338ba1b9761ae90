"""GPU check: minigrad's backend tests on CuPy and torch CUDA tensors, and a float32 step at 1e6×100.

Run from the repository root on a machine with an NVIDIA GPU::

    python benchmarks/gpu_check.py                  # tests + timings, a few minutes at most
    python benchmarks/gpu_check.py --skip-tests     # timings only
    python benchmarks/gpu_check.py --rows 200000    # smaller data

It does, within ``--budget`` seconds (240 by default; every part is cut short when the
budget runs out, never the whole):

1. ``pytest tests/test_backend.py --xp cupy,torch:cuda``: every backend test (layers, losses,
   optimizers, fit, predict, save/load, bad input) on CuPy arrays and torch CUDA tensors, each
   library skipped when it is not installed or finds no GPU.
2. One float32 full-batch training step (forward, MSE loss read back as a float, backward,
   SGD update) on X of ``--rows``×100 for two models, ``Linear(100, 1)`` and the MLP
   ``Linear(100, 256) → ReLU → Linear(256, 1)``:

   * minigrad on the GPU: ``fit`` per epoch (``epochs=k`` divided by k) and the manual loop,
     with the model moved by ``model.to(torch, device="cuda")`` (and ``model.to(cupy)``);
   * the same minigrad step on the CPU (NumPy);
   * torch's own standard loop on the same GPU (``nn.Linear`` + ``nn.MSELoss`` +
     ``optim.SGD``, ``loss.item()`` every step): minigrad's goal is within 1.2× of it;
   * the memory-bandwidth limit of that GPU: one read of X (``X.sum()``), the least any step
     must do; "of BW limit" is that time divided by the contender's.

It prints one table: median time per step (after a warm-up), the ratio to torch's loop and the
fraction of the bandwidth limit.  On a machine without an NVIDIA GPU it says so, skips the GPU
parts and times the CPU rows only (on 1e5 rows unless ``--rows`` is given), so the script itself
can be checked anywhere.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__" and __package__ in (None, ""):  # run as a script from a source checkout
    sys.path.insert(0, ROOT)

import minigrad as mg  # noqa: E402  (after the path set-up above)

FEATURES, HIDDEN, LR = 100, 256, 1e-3


def _import(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError:
        return None


class Budget:
    """The seconds left of the script's time bound."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def gpus(torch_device: str) -> tuple[Any, Any, str]:
    """``(torch or None, cupy or None, description)``: the libraries that can compute on a CUDA GPU here.

    *torch_device* ``"cpu"`` takes torch on the CPU in the GPU's place: a check of this script, not a GPU figure.
    """
    torch, cupy = _import("torch"), _import("cupy")
    names = []
    if torch is not None and torch_device.startswith("cuda") and not torch.cuda.is_available():
        torch = None
    if torch is not None and torch_device.startswith("cuda"):
        names.append(f"{torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda})")
    elif torch is not None:
        names.append(f"torch {torch.__version__} on {torch_device} (standing in for a GPU: a check of this script)")
    if cupy is not None:
        try:
            count = cupy.cuda.runtime.getDeviceCount()
        except Exception:  # no driver, no device
            count = 0
        if count == 0:
            cupy = None
        else:
            props = cupy.cuda.runtime.getDeviceProperties(0)
            names.append(f"{props['name'].decode()} (CuPy {cupy.__version__})")
    return torch, cupy, "; ".join(names)


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() + f", {os.cpu_count()} logical CPUs"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_tests(specs: list[str], budget: Budget) -> str:
    """Run the backend tests on *specs*; return a one-line summary."""
    if not specs:
        return "backend tests: skipped (no CUDA-capable CuPy or torch here)"
    seconds = max(10.0, min(180.0, budget.left() * 0.5))
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_backend.py"]
    cmd += ["--xp", ",".join(specs), "-x", "--no-header", "-rN"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds)
    except subprocess.TimeoutExpired:
        return f"backend tests on {','.join(specs)}: cut off after {seconds:.0f} s (budget)"
    tail = [line for line in done.stdout.strip().splitlines() if line.strip()]
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n")
    status = "passed" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
    return f"backend tests on {','.join(specs)}: {status}: {tail[-1] if tail else ''}"


def timed(step: Callable[[], object], sync: Callable[[], object], budget_s: float, reps: int = 7) -> float:
    """Median seconds of ``step()`` after one warm-up, as many runs as fit in *budget_s* (at least one)."""
    step()
    sync()
    times: list[float] = []
    end = time.monotonic() + budget_s
    while len(times) < reps and (not times or time.monotonic() < end):
        t0 = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def data(rows: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, FEATURES), dtype=np.float32)
    y = (X @ rng.standard_normal((FEATURES, 1), dtype=np.float32)).astype(np.float32)
    return X, y


def models(mlp: bool) -> mg.Module:
    if mlp:
        return mg.Sequential(
            mg.Linear(FEATURES, HIDDEN, dtype=np.float32, rng=0),
            mg.ReLU(),
            mg.Linear(HIDDEN, 1, dtype=np.float32, rng=1),
        )
    return mg.Linear(FEATURES, 1, dtype=np.float32, rng=0)


def minigrad_steps(
    X: Any, y: Any, mlp: bool, lib: Any, device: Any
) -> tuple[Callable[[], object], Callable[[], object]]:
    """``(fit epoch, manual step)`` of minigrad on the arrays X, y (of *lib*, or NumPy when lib is None)."""
    model = models(mlp)
    if lib is not None:
        model.to(lib, device=device)
    opt = mg.SGD(model.parameters(), lr=LR)
    loss_fn = mg.MSELoss()
    k = 3

    def fit_epoch() -> None:  # one fit call of k epochs, timed per epoch below
        mg.fit(model, X, y, loss=loss_fn, optimizer=opt, epochs=k)

    def manual() -> float:
        pred = model(X)
        value = loss_fn(pred, y)
        opt.zero_grad()
        model.backward(loss_fn.backward(), need_input_grad=False)
        opt.step()
        return value

    fit_epoch.epochs = k  # type: ignore[attr-defined]
    return fit_epoch, manual


def torch_step(torch: Any, X: Any, y: Any, mlp: bool) -> Callable[[], object]:
    """torch's standard loop on the same data and device: nn modules, nn.MSELoss, optim.SGD, loss.item()."""
    nn = torch.nn
    if mlp:
        model = nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))
    else:
        model = nn.Linear(FEATURES, 1)
    model = model.to(device=X.device, dtype=X.dtype)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.MSELoss()

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return float(loss.item())

    return step


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e3:9.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:9.1f} us"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="rows of X (default 1e6 with a GPU, 1e5 without)")
    parser.add_argument("--budget", type=float, default=240.0, help="seconds for the whole script (default 240)")
    parser.add_argument("--skip-tests", action="store_true", help="timings only")
    parser.add_argument(
        "--torch-device", default="cuda", help="torch's device (default cuda; cpu checks this script without a GPU)"
    )
    args = parser.parse_args(argv)
    budget = Budget(args.budget)
    dev = args.torch_device
    torch, cupy, gpu = gpus(dev)
    print(f"CPU: {cpu_name()}; numpy {np.__version__}; minigrad {mg.__version__}")
    if torch is None and cupy is None:
        print(
            "GPU: none found (no torch with CUDA, no CuPy with a device): the GPU tests and timings are SKIPPED; "
            "only the CPU rows are timed, as a check of this script"
        )
    else:
        print(f"GPU: {gpu}")
    specs = (["cupy"] if cupy is not None else []) + ([f"torch:{dev}"] if torch is not None else [])
    summary = "backend tests: skipped (--skip-tests)" if args.skip_tests else run_tests(specs, budget)
    print(summary)

    rows = args.rows or (1_000_000 if specs else 100_000)
    X, y = data(rows)
    print(f"\nfloat32 full-batch step, X {rows}x{FEATURES} ({X.nbytes / 2**20:.0f} MiB), SGD lr={LR}")
    table: list[tuple[str, str, float | None, float | None, float | None]] = []  # contender, model, t, ref, bw
    part = 8  # contender-model pairs, at most: each gets a share of what is left

    def share() -> float:
        return max(1.0, budget.left() / part)

    for mlp in (False, True):
        name = "MLP 100-256-1" if mlp else "Linear 100-1"
        cpu_fit, _ = minigrad_steps(X, y, mlp, None, None)
        t_cpu = timed(cpu_fit, lambda: None, share(), reps=3) / cpu_fit.epochs  # type: ignore[attr-defined]
        table.append(("minigrad fit, CPU (NumPy)", name, t_cpu, None, None))
        ref: float | None = None
        if torch is not None:
            Xt, yt = torch.asarray(X, device=dev), torch.asarray(y, device=dev)
            sync: Callable[[], object] = torch.cuda.synchronize if dev.startswith("cuda") else (lambda: None)
            bw = timed(lambda Xt=Xt: Xt.sum(), sync, 2.0, reps=20)
            ref = timed(torch_step(torch, Xt, yt, mlp), sync, share())
            fit_epoch, manual = minigrad_steps(Xt, yt, mlp, torch, dev)
            t_fit = timed(fit_epoch, sync, share(), reps=5) / fit_epoch.epochs  # type: ignore[attr-defined]
            t_manual = timed(manual, sync, share())
            where = "GPU" if dev.startswith("cuda") else dev
            table.append((f"torch's own loop, {where}", name, ref, ref, bw))
            table.append((f"minigrad fit, torch {where}", name, t_fit, ref, bw))
            table.append((f"minigrad manual loop, torch {where}", name, t_manual, ref, bw))
            table.append((f"read X once (X.sum()), torch {where}", name, bw, ref, bw))
            del Xt, yt
        if cupy is not None:
            Xc, yc = cupy.asarray(X), cupy.asarray(y)

            def csync() -> None:
                cupy.cuda.Device().synchronize()

            bw_c = timed(lambda Xc=Xc: Xc.sum(), csync, 2.0, reps=20)
            fit_epoch, manual = minigrad_steps(Xc, yc, mlp, cupy, None)
            t_fit = timed(fit_epoch, csync, share(), reps=5) / fit_epoch.epochs  # type: ignore[attr-defined]
            t_manual = timed(manual, csync, share())
            table.append(("minigrad fit, CuPy GPU", name, t_fit, ref, bw_c))
            table.append(("minigrad manual loop, CuPy GPU", name, t_manual, ref, bw_c))
            table.append(("read X once (X.sum()), CuPy GPU", name, bw_c, ref, bw_c))
            del Xc, yc
        if budget.left() <= 0:
            print("(time budget spent: the remaining rows are left out)")
            break

    print(f"\n{'contender':36s} {'model':14s} {'time/step':>12s} {'/ torch loop':>13s} {'of BW limit':>12s}")
    for contender, model, t, ref, bw in table:
        ratio = f"{t / ref:12.2f}x" if (t is not None and ref) else f"{'-':>13s}"
        frac = f"{bw / t:11.0%}" if (t is not None and bw) else f"{'-':>12s}"
        print(f"{contender:36s} {model:14s} {fmt(t):>12s} {ratio} {frac}")
    if specs:
        print(
            f"\ngoal: minigrad on the GPU within 1.2x of torch's own loop; X read at {X.nbytes / 1e9:.2f} GB per read"
        )
    print(summary)
    return 0 if ("FAILED" not in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
