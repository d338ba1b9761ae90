"""NoImprovementStopping: scikit-learn's MLP convergence rule (tol, n_iter_no_change, adaptive learning rate)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from minigrad.nn.module import Module
from minigrad.optim.optimizer import Optimizer, _check_number
from minigrad.training.callbacks import Callback, Logs
from minigrad.training.history import History


class NoImprovementStopping(Callback):
    r"""Stop training, or divide the learning rate, once a number has stopped improving by ``tol``.

    After every epoch the monitored value ``v`` is compared with the best so
    far (``best`` starts at +inf for "min", -inf for "max")::

        mode "min":  no improvement if  v > best - tol;   best ← min(best, v)
        mode "max":  no improvement if  v < best + tol;   best ← max(best, v)

    ``count`` (consecutive epochs without improvement) grows by one on such an
    epoch and goes back to 0 on any other.  When ``count > n_iter_no_change``:
    without ``optimizer``, training stops; with it (scikit-learn's
    ``learning_rate="adaptive"``), ``optimizer.lr`` is divided by
    ``lr_divisor`` and ``count`` starts again from 0, unless ``lr`` is already
    ``≤ min_lr``, and then training stops.  This is the rule of scikit-learn's
    ``MLPClassifier``/``MLPRegressor``, with ``monitor="loss"`` (their
    training loss) or a validation score (their ``early_stopping``).

    A NaN never improves and never counts as a bad epoch (``count`` goes back
    to 0), as in scikit-learn.  The state (``best``, ``count``, the best
    parameters) carries over from one ``fit`` call to the next, so a run
    continued in several calls counts as one; :meth:`reset` starts afresh.

    Args:
        monitor: a key of fit's logs (``"loss"``, ``"val_loss"``, a metric),
            or a function of no arguments that returns the number, such as a
            score on held-out data.
        mode: ``"min"`` (lower is better) or ``"max"``.
        tol: the least improvement that counts, ≥ 0.
        n_iter_no_change: epochs without improvement tolerated, ≥ 1.
        optimizer: divide its learning rate instead of stopping (None: stop).
        lr_divisor: what the learning rate is divided by, > 1.
        min_lr: stop instead once the learning rate is ≤ this.
        restore_best_weights: keep a copy of the parameters of each new best
            epoch and load it back when training ends (:meth:`restore_best`).

    Attributes:
        best: the best value seen.  count: epochs without improvement now.
        stopped_epoch: the epoch in which this callback stopped training, 0 if none.

    Example:
        >>> stop = NoImprovementStopping(monitor="loss", tol=0.1, n_iter_no_change=1)
        >>> [stop.on_epoch_end(e, {"loss": v}) for e, v in enumerate([3.0, 2.0, 1.95, 1.93], 1)]
        [False, False, False, True]
        >>> stop.best, stop.count, stop.stopped_epoch
        (1.93, 2, 4)
    """

    def __init__(
        self,
        monitor: str | Callable[[], float] = "loss",
        *,
        mode: Literal["min", "max"] = "min",
        tol: float = 1e-4,
        n_iter_no_change: int | float = 10,
        optimizer: Optimizer | None = None,
        lr_divisor: float = 5.0,
        min_lr: float = 1e-6,
        restore_best_weights: bool = False,
    ) -> None:
        if not (isinstance(monitor, str) or callable(monitor)):
            raise TypeError(f"monitor must be a key of fit's logs or a function, got {type(monitor).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        _check_number("tol", tol, minimum=0.0)
        if isinstance(n_iter_no_change, bool) or not (
            (isinstance(n_iter_no_change, (int, np.integer)) and n_iter_no_change >= 1) or n_iter_no_change == math.inf
        ):
            raise ValueError(f"n_iter_no_change must be an integer >= 1 or inf, got {n_iter_no_change!r}")
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a minigrad Optimizer or None, got {type(optimizer).__name__}")
        _check_number("lr_divisor", lr_divisor, minimum=1.0)
        _check_number("min_lr", min_lr, minimum=0.0)
        # fit checks a key of its logs before training; a function is called here instead
        self.monitor: str | None = monitor if isinstance(monitor, str) else None
        self.monitor_fn: Callable[[], float] | None = None if isinstance(monitor, str) else monitor
        self.mode: Literal["min", "max"] = mode
        self.tol = float(tol)
        self.n_iter_no_change = n_iter_no_change
        self.optimizer = optimizer
        self.lr_divisor = float(lr_divisor)
        self.min_lr = float(min_lr)
        self.restore_best_weights = bool(restore_best_weights)
        self.model: Module | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the best value, the count and the kept parameters: the next epoch starts a new run."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.count = 0
        self.stopped_epoch = 0
        self.best_state: dict[str, Any] | None = None

    def set_optimizer(self, optimizer: Optimizer) -> None:
        """Keep the ``optimizer`` given to the constructor (None: stop instead of dividing ``lr``)."""

    def on_train_begin(self, model: Module) -> None:
        self.model = model

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if self.monitor_fn is not None:
            value = float(self.monitor_fn())
        elif self.monitor in logs:
            value = float(logs[self.monitor])
        else:
            raise KeyError(f"NoImprovementStopping monitors {self.monitor!r}, but fit's logs hold only {sorted(logs)}")
        if self.mode == "min":
            worse = value > self.best - self.tol
            better = value < self.best
        else:
            worse = value < self.best + self.tol
            better = value > self.best
        self.count = self.count + 1 if worse else 0
        if better:
            self.best = value
            if self.restore_best_weights and self.model is not None:
                self.best_state = self.model.state_dict()
        if self.count <= self.n_iter_no_change:
            return False
        opt = self.optimizer
        if opt is not None and opt.lr > self.min_lr:
            opt.lr /= self.lr_divisor
            self.count = 0
            return False
        self.stopped_epoch = epoch
        return True

    def restore_best(self) -> None:
        """Load the kept parameters of the best epoch into the model (nothing if none were kept)."""
        if self.model is not None and self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    def on_train_end(self, history: History) -> None:
        if self.restore_best_weights:
            self.restore_best()

    def __repr__(self) -> str:
        return (
            f"NoImprovementStopping(monitor={self.monitor_fn or self.monitor!r}, mode={self.mode!r}, tol={self.tol}, "
            f"n_iter_no_change={self.n_iter_no_change})"
        )
