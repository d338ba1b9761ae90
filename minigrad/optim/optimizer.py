"""Optimizer: the base class that holds parameters, their state and the hyper-parameters."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad import _array
from minigrad.module import Module
from minigrad.parameter import Parameter

StateValue = NDArray[Any] | int | float | None


class Optimizer:
    """Base class of optimizers: subclasses implement ``step()``.

    ``params`` is an iterable of :class:`~minigrad.Parameter` (usually
    ``model.parameters()``; a Module is accepted too).  Per-parameter state
    (momentum buffers, moment estimates, step counts) lives in
    ``self.state[i]``, a dict for the i-th parameter, in the parameters'
    order; it is updated in place by ``step``.

    The hyper-parameters named in ``_hyperparameters`` are saved by
    :meth:`state_dict` with the state, so training can resume exactly.

    Example:
        Plain gradient descent, ``θ ← θ - lr * g``, as a subclass:

        >>> import numpy as np, minigrad as mg
        >>> class GD(Optimizer):
        ...     def step(self):
        ...         for p in self.params:
        ...             p.data -= self.lr * p.grad
        >>> p = mg.Parameter(np.array([1.0, 2.0]))
        >>> opt = GD([p], lr=0.5)
        >>> p.grad[...] = [1.0, -1.0]
        >>> opt.step(); p.data
        array([0.5, 2.5])
        >>> opt.zero_grad(); p.grad
        array([0., 0.])
        >>> opt.state_dict()
        {'hyperparameters': {'lr': 0.5}, 'state': [{}]}
    """

    _hyperparameters: tuple[str, ...] = ("lr",)

    def __init__(self, params: Iterable[Parameter] | Module, lr: float) -> None:
        plist = params.parameters() if isinstance(params, Module) else list(params)
        if not plist:
            raise ValueError("optimizer got an empty parameter list")
        seen: set[int] = set()
        for p in plist:
            if not isinstance(p, Parameter):
                raise TypeError(f"optimizer params must be Parameters, got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError("optimizer got the same parameter twice")
            seen.add(id(p))
        _check_number("learning rate", lr, minimum=0.0)
        self.params: list[Parameter] = plist
        self.lr = float(lr)
        self.state: list[dict[str, StateValue]] = [{} for _ in plist]

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zeros."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter in place from its ``grad``."""
        raise NotImplementedError

    def copy_state(self) -> list[dict[str, StateValue]] | None:
        """A copy of the per-parameter state, for undoing a step; None while every state is empty.

        Used with :meth:`set_state` by ``fit`` to put the optimizer back where it
        was when an update turns out to be non-finite or is interrupted.
        """
        state = self.state
        if not any(state):
            return None
        return [{k: _array.copy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()} for s in state]

    def set_state(self, saved: list[dict[str, StateValue]] | None) -> None:
        """Put back a state returned by :meth:`copy_state` (None: every state empty)."""
        self.state = [{} for _ in self.params] if saved is None else saved

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and copies of the per-parameter state."""
        return {
            "hyperparameters": {k: getattr(self, k) for k in self._hyperparameters},
            "state": [
                {k: _array.copy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()} for s in self.state
            ],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, all or nothing.

        Raises KeyError for missing or unexpected keys and ValueError for a
        different number of parameters or a state array of the wrong shape;
        the optimizer is unchanged when anything is wrong.
        """
        if set(state_dict) != {"hyperparameters", "state"}:
            raise KeyError(f"optimizer state_dict needs keys 'hyperparameters' and 'state', got {sorted(state_dict)}")
        hyper = dict(state_dict["hyperparameters"])
        if set(hyper) != set(self._hyperparameters):
            raise KeyError(
                f"{type(self).__name__} hyper-parameters are {sorted(self._hyperparameters)}, got {sorted(hyper)}"
            )
        states = list(state_dict["state"])
        if len(states) != len(self.params):
            raise ValueError(f"state_dict has state for {len(states)} parameters, the optimizer has {len(self.params)}")
        new_states: list[dict[str, StateValue]] = []
        for i, (p, s) in enumerate(zip(self.params, states, strict=True)):
            new: dict[str, StateValue] = {}
            for k, v in dict(s).items():
                if isinstance(v, np.ndarray):
                    if v.shape != p.data.shape:
                        raise ValueError(f"state {k!r} of parameter {i} has shape {v.shape}, expected {p.data.shape}")
                    v = _array.copy(v.astype(p.data.dtype, copy=False))
                new[k] = v
            new_states.append(new)
        # Validate the hyper-parameters by building a fresh copy of the optimizer.
        type(self)(self.params, **hyper)
        for k, v in hyper.items():
            setattr(self, k, v)
        self.state = new_states

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({args})"


def _check_number(name: str, value: float, *, minimum: float = 0.0, below: float | None = None) -> None:
    """Raise ValueError unless ``minimum <= value`` (and ``value < below``) and value is finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < minimum or (below is not None and value >= below):
        raise ValueError(f"Invalid {name}: {value}")
