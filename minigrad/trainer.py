"""Trainer: one guarded optimisation step, and one epoch of mini-batches.

fit's epoch loop calls these; they hold the hot path (forward, loss,
backward, update) and the guarantees around it: NaN/inf stops training with
the last finite parameters restored, and an interrupted update is undone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad import _array
from minigrad.errors import DivergenceError
from minigrad.losses import Loss
from minigrad.module import Module
from minigrad.optim.optimizer import Optimizer
from minigrad.parameter import Parameter


class Trainer:
    """One optimisation step with the guarantees fit gives.

    Before each update the parameters are copied into ``backup`` (parameters
    are small next to the data), so a step that produces NaN/inf, or that a
    KeyboardInterrupt cuts short, can be undone exactly.
    """

    def __init__(self, model: Module, params: list[Parameter], loss: Loss, optimizer: Optimizer) -> None:
        self.model = model
        self.params = params
        self.loss = loss
        self.optimizer = optimizer
        self.backup = [_array.copy(p.data) for p in params]
        self.updating = False

    def step(
        self, X: NDArray[Any], y: NDArray[Any], epoch: int, tol: float | None, y_was_1d: bool
    ) -> float:
        """Predict, compare and (unless the loss is ≤ tol) learn; return the loss."""
        pred = self.model(X)
        if pred.shape != y.shape and y_was_1d:
            raise ValueError(
                f"a 1-D y is accepted only for a single-output model; the model predicts shape "
                f"{pred.shape}, so pass y with shape (N, {pred.shape[1] if pred.ndim == 2 else '?'})"
            )
        value = self.loss(pred, y)
        if not math.isfinite(value):
            self.restore()
            raise DivergenceError(epoch, "the loss", self.optimizer.lr)
        if tol is not None and value <= tol:
            return value
        self.optimizer.zero_grad()
        self.model.backward(self.loss.backward(), need_input_grad=False)
        for b, p in zip(self.backup, self.params, strict=True):
            _array.copy_into(b, p.data)
        self.updating = True
        self.optimizer.step()
        self.updating = False
        if not _array.all_finite([p.data for p in self.params]):
            self.restore()
            raise DivergenceError(epoch, "a parameter", self.optimizer.lr)
        return value

    def restore(self) -> None:
        """Put back the parameters saved before the last update."""
        for b, p in zip(self.backup, self.params, strict=True):
            _array.copy_into(p.data, b)

    def undo_unfinished_step(self) -> None:
        """Restore the parameters if an update was cut short."""
        if self.updating:
            self.restore()
            self.updating = False


def minibatch_epoch(
    trainer: Trainer,
    X: NDArray[Any],
    y: NDArray[Any],
    batch_size: int,
    rng: np.random.Generator | None,
    epoch: int,
    y_was_1d: bool,
) -> float:
    """One pass over the data in mini-batches; return the sample-weighted mean loss.

    With ``reduction="sum"`` the epoch loss is the sum of the batch losses.
    """
    n = X.shape[0]
    order = rng.permutation(n) if rng is not None else None
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        if order is None:
            xb, yb = X[start:stop], y[start:stop]
        else:
            idx = order[start:stop]
            xb, yb = X[idx], y[idx]
        value = trainer.step(xb, yb, epoch, None, y_was_1d)
        total += value * (stop - start) if trainer.loss.reduction == "mean" else value
    return total / n if trainer.loss.reduction == "mean" else total
