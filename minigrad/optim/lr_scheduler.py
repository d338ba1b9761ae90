"""Learning-rate schedules: change ``optimizer.lr`` once per epoch, as torch.optim.lr_scheduler.

Usage, with ``scheduler.step()`` after each epoch's optimizer steps::

    optimizer = mg.SGD(model.parameters(), lr=0.1)
    scheduler = mg.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        ...                     # the epoch's optimizer.step() calls
        scheduler.step()

Each schedule is *chainable*, as in PyTorch: ``step()`` multiplies the
optimizer's current ``lr`` by the decay factor due at this epoch, so a
learning rate changed by hand is decayed from its new value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from minigrad.optim.optimizer import MAX_COUNT, Optimizer, _check_number, _describe

__all__ = ["ExponentialLR", "LRScheduler", "StepLR"]


class LRScheduler:
    """Base class of learning-rate schedules; subclasses implement :meth:`_factor`.

    ``last_epoch`` counts the ``step()`` calls (0 right after construction,
    as in PyTorch, where the constructor takes the first step).  ``base_lr``
    is the optimizer's ``lr`` when the scheduler was made.

    The state (``last_epoch``, ``base_lr``, ``last_lr`` and the schedule's
    hyper-parameters) is saved by :meth:`state_dict`; like PyTorch's,
    :meth:`load_state_dict` restores the scheduler only: the optimizer's
    ``lr`` is restored by the optimizer's own ``load_state_dict``.

    Each ``step()`` at epoch ``e`` (≥ 1) multiplies the learning rate by
    ``_factor(e)``, so ``lr_e = base_lr * prod(_factor(1..e))``.

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

    def step(self) -> None:
        """Advance one epoch: multiply ``optimizer.lr`` by the factor due now."""
        self.last_epoch += 1
        factor = self._factor(self.last_epoch)
        if factor != 1.0:
            self.optimizer.lr = self.optimizer.lr * factor
        self.last_lr = float(self.optimizer.lr)

    def get_last_lr(self) -> float:
        """The learning rate set by the last ``step()`` (the initial one before any).

        PyTorch returns a list with one entry per parameter group; a minigrad
        optimizer has a single learning rate, returned as a float.
        """
        return self.last_lr

    def state_dict(self) -> dict[str, Any]:
        """The schedule's position and hyper-parameters, as plain numbers."""
        state: dict[str, Any] = {k: getattr(self, k) for k in self._hyperparameters}
        state.update(base_lr=self.base_lr, last_epoch=self.last_epoch, last_lr=self.last_lr)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, all or nothing.

        Raises KeyError for missing or unexpected keys and ValueError (or
        TypeError) for a bad value; the scheduler is unchanged on error.
        """
        expected = set(self._hyperparameters) | {"base_lr", "last_epoch", "last_lr"}
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
        # Validate the hyper-parameters by building a throw-away scheduler (it only reads optimizer.lr).
        type(self)(self.optimizer, **{k: state_dict[k] for k in self._hyperparameters})
        for k in self._hyperparameters:
            setattr(self, k, state_dict[k])
        self.base_lr = float(state_dict["base_lr"])
        self.last_epoch = int(last_epoch)
        self.last_lr = float(state_dict["last_lr"])

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
        (0.25, 0.25)
    """

    _hyperparameters = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _check_gamma(gamma)
        super().__init__(optimizer)

    def _factor(self, epoch: int) -> float:
        return self.gamma
