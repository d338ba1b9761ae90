"""Learning-rate schedules: change ``optimizer.lr`` once per epoch, as torch.optim.lr_scheduler.

Usage, with ``scheduler.step()`` after each epoch's optimizer steps::

    optimizer = mg.SGD(model.parameters(), lr=0.1)
    scheduler = mg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                     # the epoch's optimizer.step() calls
        scheduler.step()

Each schedule is *chainable*, as in PyTorch: ``step()`` computes the next
``lr`` from the optimizer's current one (StepLR and ExponentialLR multiply
it by the factor due at this epoch; CosineAnnealingLR uses torch's recursive
form), so a learning rate changed by hand is decayed from its new value.

:class:`ReduceLROnPlateau` is different: its ``step(metric)`` takes the
monitored number (a validation loss) and cuts ``lr`` when it stops improving.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from minigrad import backend
from minigrad.optim.optimizer import MAX_COUNT, Optimizer, _check_number, _describe

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "ReduceLROnPlateau", "StepLR"]


class LRScheduler:
    """Base class of learning-rate schedules; subclasses implement :meth:`_factor`.

    ``last_epoch`` counts the ``step()`` calls (0 right after construction,
    as in PyTorch, where the constructor takes the first step).  ``base_lr``
    is the optimizer's ``lr`` when the scheduler was made.

    The state (``last_epoch``, ``base_lr``, ``last_lr`` and the schedule's
    hyper-parameters) is saved by :meth:`state_dict`; like PyTorch's,
    :meth:`load_state_dict` restores the scheduler only: the optimizer's
    ``lr`` is restored by the optimizer's own ``load_state_dict``.

    Each ``step()`` at epoch ``e`` (≥ 1) sets the learning rate to
    ``_next_lr(e, lr)``, by default ``lr * _factor(e)``, so that
    ``lr_e = base_lr * prod(_factor(1..e))``.

    Example:
        A schedule that halves the learning rate on odd epochs:

        >>> import numpy as np, minigrad as mg
        >>> class HalveOnOdd(LRScheduler):
        ...     def _factor(self, epoch):
        ...         return 0.5 if epoch % 2 else 1.0
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = HalveOnOdd(opt)
        >>> for _ in range(3):
        ...     scheduler.step()
        >>> opt.lr, scheduler.last_epoch, scheduler.state_dict()
        (0.25, 3, {'base_lr': 1.0, 'last_epoch': 3, 'last_lr': 0.25})
    """

    _hyperparameters: tuple[str, ...] = ()
    #: Names of further numbers a schedule keeps (saved and loaded with the state).
    _counters: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs a minigrad Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = float(optimizer.lr)
        self.last_epoch = 0
        self.last_lr = float(optimizer.lr)

    def _factor(self, epoch: int) -> float:
        """The factor ``lr`` is multiplied by when ``last_epoch`` becomes *epoch* (≥ 1)."""
        raise NotImplementedError

    def _next_lr(self, epoch: int, lr: float) -> float:
        """The learning rate of *epoch* (≥ 1), given the current *lr*."""
        factor = self._factor(epoch)
        return lr * factor if factor != 1.0 else lr

    def step(self) -> None:
        """Advance one epoch: set ``optimizer.lr`` to the learning rate due now."""
        self.last_epoch += 1
        self.optimizer.lr = self._next_lr(self.last_epoch, self.optimizer.lr)
        self.last_lr = float(self.optimizer.lr)

    def get_last_lr(self) -> list[float]:
        """The learning rate set by the last ``step()`` (the initial one before any), as a list.

        As PyTorch's, one entry per parameter group; a minigrad optimizer has
        one group, so the list has one entry: ``get_last_lr()[0]``.
        """
        return [self.last_lr]

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and hyper-parameters, as plain numbers."""
        state: dict[str, Any] = {k: getattr(self, k) for k in self._hyperparameters}
        state.update(base_lr=self.base_lr, last_epoch=self.last_epoch, last_lr=self.last_lr)
        state.update({k: getattr(self, k) for k in self._counters})
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, all or nothing.

        Raises KeyError for missing or unexpected keys and ValueError (or
        TypeError) for a bad value; the scheduler is unchanged on error.
        """
        expected = set(self._hyperparameters) | set(self._counters) | {"base_lr", "last_epoch", "last_lr"}
        if set(state_dict) != expected:
            raise KeyError(f"{type(self).__name__} state_dict needs keys {sorted(expected)}, got {sorted(state_dict)}")
        last_epoch = state_dict["last_epoch"]
        if (
            isinstance(last_epoch, bool)
            or not isinstance(last_epoch, (int, np.integer))
            or not 0 <= last_epoch <= MAX_COUNT
        ):
            raise ValueError(f"last_epoch must be an integer in [0, 2**63), got {_describe(last_epoch)}")
        for key in ("base_lr", "last_lr"):
            _check_number(key, state_dict[key], minimum=0.0)
        counters = self._check_counters(state_dict)
        # Validate the hyper-parameters by building a throw-away scheduler (it only reads optimizer.lr).
        type(self)(self.optimizer, **{k: state_dict[k] for k in self._hyperparameters})
        for k in self._hyperparameters:
            setattr(self, k, state_dict[k])
        for k, v in counters.items():
            setattr(self, k, v)
        self.base_lr = float(state_dict["base_lr"])
        self.last_epoch = int(last_epoch)
        self.last_lr = float(state_dict["last_lr"])

    def _check_counters(self, state_dict: Mapping[str, Any]) -> dict[str, Any]:
        """The values of ``_counters`` in *state_dict*, checked (none in the base class)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({args}, last_epoch={self.last_epoch})"


def _check_gamma(gamma: float) -> float:
    _check_number("gamma", gamma, minimum=0.0)
    if gamma == 0:
        raise ValueError(f"Invalid gamma: {gamma} (must be > 0)")
    return float(gamma)


class StepLR(LRScheduler):
    r"""Decay the learning rate by ``gamma`` every ``step_size`` epochs, as ``torch.optim.lr_scheduler.StepLR``.

    After ``e`` calls of ``step()`` (epoch ``e``), starting from ``lr_0``::

        lr_e = lr_0 * gamma ** floor(e / step_size)

    computed as PyTorch does, by multiplying the current ``lr`` by ``gamma``
    whenever ``e`` is a multiple of ``step_size``.

    Args:
        optimizer: the optimizer whose ``lr`` is scheduled.
        step_size: epochs between decays, ≥ 1.
        gamma: the decay factor, > 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     scheduler.step()
        ...     lrs.append(opt.lr)
        >>> lrs
        [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _hyperparameters = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, (int, np.integer)) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
        self.gamma = _check_gamma(gamma)
        self.step_size = int(step_size)
        super().__init__(optimizer)

    def _factor(self, epoch: int) -> float:
        return self.gamma if epoch % self.step_size == 0 else 1.0


class ExponentialLR(LRScheduler):
    r"""Decay the learning rate by ``gamma`` every epoch, as ``torch.optim.lr_scheduler.ExponentialLR``.

    After ``e`` calls of ``step()``, starting from ``lr_0``::

        lr_e = lr_0 * gamma ** e

    computed as PyTorch does, by multiplying the current ``lr`` by ``gamma``
    at each step.

    Args:
        optimizer: the optimizer whose ``lr`` is scheduled.
        gamma: the decay factor, > 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step(); scheduler.step()
        >>> opt.lr, scheduler.get_last_lr()
        (0.25, [0.25])
    """

    _hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _check_gamma(gamma)
        super().__init__(optimizer)

    def _factor(self, epoch: int) -> float:
        return self.gamma


def _check_count(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class CosineAnnealingLR(LRScheduler):
    r"""Anneal the learning rate along a cosine, as ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    From ``lr_0`` (``base_lr``) down to ``η_min`` (``eta_min``) over ``T_max`` epochs::

        lr_e = η_min + (lr_0 - η_min) (1 + cos(π e / T_max)) / 2

    computed as PyTorch does, recursively from the current ``lr`` (so its numbers are torch's
    to the last bit, and a learning rate changed by hand is annealed from its new value)::

        lr_e = η_min + (lr_{e-1} - η_min) (1 + cos(π e / T_max)) / (1 + cos(π (e - 1) / T_max))
        lr_e = lr_{e-1} + (lr_0 - η_min) (1 - cos(π / T_max)) / 2     when (e - 1 - T_max) % (2 T_max) = 0

    After ``T_max`` epochs the learning rate climbs back along the same cosine (period
    ``2 T_max``), as in torch (SGDR without restarts).

    Args:
        optimizer: the optimizer whose ``lr`` is scheduled.
        T_max: epochs of the half period, ≥ 1.
        eta_min: the smallest learning rate, ≥ 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = CosineAnnealingLR(opt, T_max=4)
        >>> lrs = []
        >>> for epoch in range(4):
        ...     scheduler.step()
        ...     lrs.append(round(opt.lr, 6))
        >>> lrs
        [0.853553, 0.5, 0.146447, 0.0]
    """

    _hyperparameters = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = _check_count("T_max", T_max, 1)
        _check_number("eta_min", eta_min, minimum=0.0)
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def _next_lr(self, epoch: int, lr: float) -> float:
        t, eta_min = self.T_max, self.eta_min
        if (epoch - 1 - t) % (2 * t) == 0:
            return lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t)) / 2
        return (1 + math.cos(math.pi * epoch / t)) / (1 + math.cos(math.pi * (epoch - 1) / t)) * (
            lr - eta_min
        ) + eta_min


class ReduceLROnPlateau(LRScheduler):
    r"""Cut the learning rate when a monitored number stops improving, as torch's ``ReduceLROnPlateau``.

    ``step(metric)`` takes the epoch's monitored number (usually the validation loss).  With
    ``mode="min"`` a value is an improvement when it beats the best so far by the threshold::

        rel:  metric < best (1 - threshold)          abs:  metric < best - threshold
        (mode="max":  metric > best (1 + threshold)  or  metric > best + threshold)

    After more than ``patience`` epochs in a row without improvement the learning rate becomes
    ``max(lr · factor, min_lr)`` (unchanged if that changes it by no more than ``eps``), and
    the next ``cooldown`` epochs count no bad epochs.  The rules and numbers are torch's.

    ``fit(..., scheduler=scheduler)`` calls ``step(val_loss)`` after each epoch, or
    ``step(loss)`` (the training loss) without validation data; ``fit(..., monitor=key)``
    passes another log instead, e.g. ``monitor="val_accuracy"`` for a scheduler made with
    ``mode="max"`` (fit refuses a mode that contradicts the log).  In your own loop, call
    ``step(metric)`` after each epoch.

    Args:
        optimizer: the optimizer whose ``lr`` is scheduled.
        mode: ``"min"`` (lower is better) or ``"max"``.
        factor: the multiplier, in ``[0, 1)``.
        patience: epochs without improvement tolerated, ≥ 0.
        threshold: the margin an improvement needs, ≥ 0.
        threshold_mode: ``"rel"`` or ``"abs"``.
        cooldown: epochs to wait after a cut before counting again, ≥ 0.
        min_lr: the floor, ≥ 0.
        eps: the smallest change of ``lr`` that is applied, ≥ 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = ReduceLROnPlateau(opt, factor=0.5, patience=1)
        >>> for val_loss in [1.0, 0.9, 0.9, 0.9, 0.9, 0.9]:
        ...     scheduler.step(val_loss)
        >>> opt.lr, scheduler.best, scheduler.num_bad_epochs
        (0.25, 0.9, 0)
    """

    _hyperparameters = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")
    _counters = ("best", "num_bad_epochs", "cooldown_counter")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_number("factor", factor, minimum=0.0, below=1.0)
        _check_number("threshold", threshold, minimum=0.0)
        _check_number("min_lr", min_lr, minimum=0.0)
        _check_number("eps", eps, minimum=0.0)
        self.mode = mode
        self.threshold_mode = threshold_mode
        self.factor = float(factor)
        self.patience = _check_count("patience", patience, 0)
        self.threshold = float(threshold)
        self.cooldown = _check_count("cooldown", cooldown, 0)
        self.min_lr = float(min_lr)
        self.eps = float(eps)
        super().__init__(optimizer)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def _is_better(self, value: float) -> bool:
        best = self.best
        if self.mode == "min":
            return value < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return value > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metric: float | None = None) -> None:
        """Record this epoch's *metric* and cut ``optimizer.lr`` after more than ``patience`` bad epochs."""
        if metric is None:
            raise TypeError(
                "ReduceLROnPlateau.step needs the monitored number, e.g. scheduler.step(val_loss) "
                "(fit passes it the validation loss, or the training loss)"
            )
        if backend.library_of(metric) is not None and tuple(getattr(metric, "shape", (1,))) == ():
            metric = float(metric)  # a 0-d array (a loss computed on torch, say)
        if isinstance(metric, bool) or not isinstance(metric, (int, float, np.integer, np.floating)):
            raise TypeError(f"metric must be a number, got {type(metric).__name__}")
        if math.isnan(metric):
            raise ValueError("metric is NaN: the monitored number must be a number")
        current = float(metric)
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            old = float(self.optimizer.lr)
            new = max(old * self.factor, self.min_lr)
            if old - new > self.eps:
                self.optimizer.lr = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self.last_lr = float(self.optimizer.lr)

    def _check_counters(self, state_dict: Mapping[str, Any]) -> dict[str, Any]:
        best = state_dict["best"]
        if isinstance(best, bool) or not isinstance(best, (int, float, np.integer, np.floating)) or math.isnan(best):
            raise ValueError(f"best must be a number (inf before the first step), got {best!r}")
        return {
            "best": float(best),
            "num_bad_epochs": _check_count("num_bad_epochs", state_dict["num_bad_epochs"], 0),
            "cooldown_counter": _check_count("cooldown_counter", state_dict["cooldown_counter"], 0),
        }
