"""Fit ``sin(x)`` on ``[-π, π]`` with a small MLP: a non-linear 1-D regression, no extra needed.

A straight line cannot follow a sine; two hidden ``Tanh`` layers of 16 units
can.  Training uses 256 points drawn uniformly from ``[-π, π]``; the fit is
measured on 1001 evenly spaced points of the same interval.

Run it with ``python -m minigrad sine``.
"""

from __future__ import annotations

import math
import os

import numpy as np

from minigrad.backend import _array
from minigrad.examples._common import maybe_plot, report
from minigrad.nn.activations import Tanh
from minigrad.nn.linear import Linear
from minigrad.nn.losses import MSELoss
from minigrad.nn.sequential import Sequential
from minigrad.optim import Adam, StepLR
from minigrad.training.fit import fit
from minigrad.training.metrics import r2_score

N_TRAIN = 256
HIDDEN = 16
EPOCHS = 1000
LR = 0.01


def main(
    *,
    quiet: bool = False,
    plot: str | os.PathLike[str] | None = None,
    rng: int | np.random.Generator | None = 0,
    verbose: int = 0,
) -> dict[str, float]:
    """Train ``1 → 16 → 16 → 1`` (Tanh) on ``y = sin(x)`` and report the error on a fine grid.

    Training: ``MSELoss``, ``Adam(lr=0.01)``, 1000 full-batch epochs, the
    learning rate multiplied by 0.3 every 333 epochs (``StepLR``); the
    evenly spaced grid is the validation data.

    Returns:
        ``test_mse`` (mean squared error on the grid), ``max_abs_error``
        (the largest ``|f(x) - sin(x)|`` on it) and ``test_r2``.

    Example:
        >>> results = main(quiet=True)
        >>> results["test_mse"] < 1e-3, results["max_abs_error"] < 0.05
        (True, True)
    """
    gen = _array.as_rng(rng)
    X = gen.uniform(-math.pi, math.pi, size=(N_TRAIN, 1))
    y = np.sin(X)
    grid = np.linspace(-math.pi, math.pi, 1001).reshape(-1, 1)
    target = np.sin(grid)

    model = Sequential(
        Linear(1, HIDDEN, rng=gen), Tanh(), Linear(HIDDEN, HIDDEN, rng=gen), Tanh(), Linear(HIDDEN, 1, rng=gen)
    )
    optimizer = Adam(model.parameters(), lr=LR)
    history = fit(
        model,
        X,
        y,
        loss=MSELoss(),
        optimizer=optimizer,
        epochs=EPOCHS,
        rng=gen,
        validation_data=(grid, target),
        scheduler=StepLR(optimizer, step_size=EPOCHS // 3, gamma=0.3),
        verbose=verbose,
    )
    pred = model.predict(grid)
    results = {
        "test_mse": float(np.mean((pred - target) ** 2)),
        "max_abs_error": float(np.abs(pred - target).max()),
        "test_r2": r2_score(pred, target),
    }
    report(
        [
            (
                f"sine: {N_TRAIN} points of sin(x) on [-pi, pi]; MLP 1-{HIDDEN}-{HIDDEN}-1 (Tanh), Adam(lr={LR}), "
                f"{history.epochs} epochs"
            ),
            (
                f"on 1001 grid points: mean squared error {results['test_mse']:.2e}, "
                f"largest error {results['max_abs_error']:.4f}, R² {results['test_r2']:.6f}"
            ),
        ],
        quiet,
    )
    maybe_plot(history, plot, f"sine: MLP 1-{HIDDEN}-{HIDDEN}-1, mean squared error")
    return results


if __name__ == "__main__":  # pragma: no cover
    main()
