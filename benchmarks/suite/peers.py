"""The optional peers (torch, scikit-learn, threadpoolctl), each imported only when installed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# -- optional peers -----------------------------------------------------------


def _try_import(name: str) -> Any:
    try:
        return __import__(name, fromlist=["_"])
    except Exception:  # a broken optional install is as good as a missing one
        return None


@dataclass
class Peers:
    torch: Any = None
    sklearn_linear: Any = None
    sklearn_datasets: Any = None
    threadpoolctl: Any = None

    @classmethod
    def load(cls, use_torch: bool, use_sklearn: bool) -> Peers:
        return cls(
            torch=_try_import("torch") if use_torch else None,
            sklearn_linear=_try_import("sklearn.linear_model") if use_sklearn else None,
            sklearn_datasets=_try_import("sklearn.datasets") if use_sklearn else None,
            threadpoolctl=_try_import("threadpoolctl"),
        )
