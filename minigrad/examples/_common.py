"""What the examples share: loading scikit-learn's bundled data, splitting, scaling, reporting."""

from __future__ import annotations

import importlib
import os
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad.plot import MissingExtraError
from minigrad.training.history import History


def load_sklearn_data(loader: str, example: str) -> tuple[NDArray[np.float64], NDArray[Any]]:
    """``sklearn.datasets.<loader>(return_X_y=True)``, or MissingExtraError naming the ``data`` extra.

    scikit-learn ships these data sets inside its package: nothing is downloaded.
    """
    try:
        datasets = importlib.import_module("sklearn.datasets")
    except ImportError as exc:
        raise MissingExtraError(
            f"the {example} example needs scikit-learn, which is not installed", extra="data", name="sklearn"
        ) from exc
    X, y = getattr(datasets, loader)(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


def split(n: int, fractions: tuple[float, ...], rng: np.random.Generator) -> list[NDArray[np.intp]]:
    """Shuffle ``range(n)`` with *rng* and cut it into parts of the given fractions (the rest last).

    Example:
        >>> [len(p) for p in split(10, (0.2, 0.3), np.random.default_rng(0))]
        [2, 3, 5]
    """
    order = rng.permutation(n)
    cuts = np.cumsum([round(f * n) for f in fractions])
    return list(np.split(order, cuts))


def standardize(train: NDArray[np.float64], *others: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Scale columns to zero mean and unit variance using the *training* rows' mean and std only.

    ``z = (x - mean_train) / std_train``; a constant column (std 0) is only
    centred.  Using the training statistics for every part keeps the test set
    unseen.

    Example:
        >>> train, test = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]), np.array([[5.0, 6.0]]))
        >>> train
        array([[-1.,  0.],
               [ 1.,  0.]])
        >>> test
        array([[3., 1.]])
    """
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return [(a - mean) / std for a in (train, *others)]


def report(lines: list[str], quiet: bool) -> None:
    """Print the report lines unless *quiet*."""
    if not quiet:
        print("\n".join(lines))


def maybe_plot(history: History, plot: str | os.PathLike[str] | None, title: str) -> None:
    """Draw the loss curve to *plot* when given (MissingExtraError without matplotlib)."""
    if plot is not None:
        from minigrad.plot import plot_history

        plot_history(history, plot, title=title)
