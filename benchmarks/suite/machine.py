"""The machine a run measures: CPU, cores, Python, NumPy, the BLAS and the peers' versions."""

from __future__ import annotations

import os
import platform
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
