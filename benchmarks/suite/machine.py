"""The machine a run measures: CPU, cores, Python, NumPy, the BLAS and the peers' versions."""

from __future__ import annotations

import datetime
import os
import platform
import re
import subprocess
from typing import Any

import numpy as np

import minigrad as mg
from benchmarks.suite.peers import Peers

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
        "cpu_slug": cpu_slug(cpu),
        "cores": os.cpu_count(),
        "caches": cpu_caches(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "minigrad": mg.__version__,
        "commit": source_commit(),
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
    caches = ", ".join(f"{k} {v}" for k, v in info.get("caches", {}).items()) or "cache sizes unknown"
    print(f"machine: {info['cpu']}, {info['cores']} cores, {caches}; {info['platform']}; {info.get('date', '')}")
    commit = f" (commit {info['commit']})" if info.get("commit") else ""
    print(f"python {info['python']}, numpy {info['numpy']}, minigrad {info['minigrad']}{commit}", end="")
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
    unset = [k for k in OPENBLAS_TUNING if k not in env]
    print(
        "environment: "
        + (", ".join(f"{k}={v}" for k, v in env.items()) if env else "no BLAS/thread variables set")
        + (f" ({', '.join(unset)} not set)" if unset else "")
    )


#: OpenBLAS variables that change which kernel or blocking runs: a figure taken with one of them
#: set is a figure of another configuration.
OPENBLAS_TUNING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cpu_slug(cpu: str) -> str:
    """The CPU model as a file-name part: ``"AMD EPYC"`` -> ``"amd-epyc"``."""
    slug = re.sub(r"\((r|tm)\)|cpu|processor|@.*$", " ", cpu.lower())
    return "-".join(re.findall(r"[a-z0-9]+", slug)) or "unknown-cpu"


def cpu_caches(base: str = "/sys/devices/system/cpu/cpu0/cache") -> dict[str, str]:
    """L1d/L2/L3 sizes as the kernel reports them for CPU 0 (sysfs), else as ``lscpu`` does; {} if neither."""
    caches: dict[str, str] = {}
    try:
        for index in sorted(i for i in os.listdir(base) if i.startswith("index")):
            folder = os.path.join(base, index)

            def read(name: str, folder: str = folder) -> str:
                with open(os.path.join(folder, name), encoding="utf-8") as fh:
                    return fh.read().strip()

            if read("type") == "Instruction":
                continue
            level = read("level")
            shared = read("shared_cpu_list") if os.path.exists(os.path.join(folder, "shared_cpu_list")) else ""
            where = "" if not shared else " per core" if shared.isdigit() else f" shared by CPUs {shared}"
            caches[f"L{level}{'d' if level == '1' else ''}"] = read("size") + where
    except OSError:
        caches = {}
    if caches:
        return caches
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    for line in out.splitlines():
        m = re.match(r"(L1d|L2|L3) cache:\s*(.+)", line)
        if m:
            caches[m.group(1)] = m.group(2).strip()
    return caches


def source_commit() -> str | None:
    """The git commit of the checkout that holds this suite (``+`` when it has changes), or None outside git."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10
        )
        dirty = subprocess.run(
            ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+" if dirty.stdout.strip() else "")
