"""Optimizer: the base class that holds parameters, their state and the hyper-parameters."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter

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

    A subclass declares in ``_state_spec`` every key it may store in a
    parameter's state, with its kind: ``"array"`` (a finite real float array
    of the parameter's shape, stored in the parameter's dtype) or ``"count"``
    (an ``int`` in ``[0, 2**63)``; ``bool`` and floats such as ``1.0`` are
    not counts).  :meth:`load_state_dict` checks a state against it: a
    parameter's state is either empty (no step taken yet) or holds every key
    of :meth:`_required_state_keys` (all of ``_state_spec`` unless a subclass
    narrows it from its hyper-parameters) and no key outside
    ``_state_spec``; :meth:`_check_state` adds rules of the subclass's own
    (Adam's ``step >= 1``).

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

    _hyperparameters: ClassVar[tuple[str, ...]] = ("lr",)
    #: Every key a parameter's state may hold, with its kind: "array" or "count".
    _state_spec: ClassVar[dict[str, str]] = {}

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
        """Set the gradient of every parameter to zeros (lazily: see :class:`~minigrad.Parameter`)."""
        for p in self.params:
            p._zeroed = True  # Parameter.zero_grad, inlined: this runs once per step

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
        return [_copy_state(s, p) for s, p in zip(state, self.params, strict=True)]

    def set_state(self, saved: list[dict[str, StateValue]] | None) -> None:
        """Put back a state returned by :meth:`copy_state` (None: every state empty)."""
        self.state = [{} for _ in self.params] if saved is None else saved

    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and copies of the per-parameter state."""
        return {
            "hyperparameters": {k: getattr(self, k) for k in self._hyperparameters},
            "state": [_copy_state(s, p) for s, p in zip(self.state, self.params, strict=True)],
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, all or nothing.

        Every hyper-parameter and every value of the per-parameter state is
        checked before anything changes (the class docstring says against
        what).  State arrays are copied and cast to their parameter's dtype;
        counts become Python ints.

        Raises:
            KeyError: missing or unexpected keys (top level, hyper-parameters,
                or a parameter's state).
            TypeError: a value of the wrong type (a count that is not an int,
                an array stored as a number or a number as an array, a
                non-float array).
            ValueError: a different number of parameters, a value out of
                range, a state array of the wrong shape, NaN/inf, or a value
                that does not fit the parameter's dtype.

        In every case the optimizer is left exactly as it was.
        """
        self._set_checked(self._check_state_dict(state_dict))

    def _required_state_keys(self) -> set[str]:
        """The keys every non-empty per-parameter state must hold (all of ``_state_spec``)."""
        return set(self._state_spec)

    def _check_state(self, index: int, state: Mapping[str, StateValue]) -> None:
        """Rules of a subclass beyond ``_state_spec`` for one parameter's (non-empty) state; none here.

        Called on an optimizer built with the hyper-parameters being loaded,
        after every value has passed the ``_state_spec`` checks.  Raise
        ValueError to refuse the state.
        """

    def _check_state_dict(self, state_dict: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, StateValue]]]:
        """Check *state_dict* without changing anything; return the hyper-parameters and states to set."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"optimizer state_dict must be a dict, got {type(state_dict).__name__}")
        if set(state_dict) != {"hyperparameters", "state"}:
            raise KeyError(
                f"optimizer state_dict needs keys 'hyperparameters' and 'state', got {sorted(map(str, state_dict))}"
            )
        hyper = state_dict["hyperparameters"]
        if not isinstance(hyper, Mapping):
            raise TypeError(f"optimizer 'hyperparameters' must be a dict, got {type(hyper).__name__}")
        if set(hyper) != set(self._hyperparameters):
            raise KeyError(
                f"{type(self).__name__} hyper-parameters are {sorted(self._hyperparameters)}, "
                f"got {sorted(map(str, hyper))}"
            )
        states = state_dict["state"]
        if not isinstance(states, (list, tuple)):
            raise TypeError(
                f"optimizer 'state' must be a list with one dict per parameter, got {type(states).__name__}"
            )
        if len(states) != len(self.params):
            raise ValueError(f"state_dict has state for {len(states)} parameters, the optimizer has {len(self.params)}")
        # The constructor checks the hyper-parameters; the copy it builds decides which state keys they need.
        candidate = type(self)(self.params, **hyper)
        required = candidate._required_state_keys()
        new_states = [
            candidate._check_param_state(i, p, s, required)
            for i, (p, s) in enumerate(zip(self.params, states, strict=True))
        ]
        return {k: getattr(candidate, k) for k in self._hyperparameters}, new_states

    def _set_checked(self, checked: tuple[dict[str, Any], list[dict[str, StateValue]]]) -> None:
        """Install what :meth:`_check_state_dict` returned (nothing here can fail)."""
        hyper, states = checked
        for k, v in hyper.items():
            setattr(self, k, v)
        self.state = states

    def _check_param_state(self, index: int, p: Parameter, state: Any, required: set[str]) -> dict[str, StateValue]:
        name = type(self).__name__
        if not isinstance(state, Mapping):
            raise TypeError(f"{name} state of parameter {index} must be a dict, got {type(state).__name__}")
        if not state:
            return {}
        spec = self._state_spec
        unknown = [k for k in state if k not in spec]
        missing = sorted(required - set(state))
        if unknown or missing:
            problems = ([f"unknown keys {unknown}"] if unknown else []) + (
                [f"missing keys {missing}"] if missing else []
            )
            raise KeyError(f"{name} state of parameter {index}: {', '.join(problems)} ({name} stores {sorted(spec)})")
        checked: dict[str, StateValue] = {}
        for key, value in state.items():
            what = f"{name} state {key!r} of parameter {index}"
            kind = spec[key]
            if kind == "count":
                checked[key] = _checked_count(what, value)
            elif kind == "array":
                checked[key] = _checked_array(what, value, p.data)
            else:
                raise TypeError(
                    f"{name}._state_spec gives {key!r} the kind {kind!r}; the kinds are 'array' and 'count'"
                )
        self._check_state(index, checked)
        return checked

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyperparameters)
        return f"{type(self).__name__}({args})"


MAX_COUNT = 2**63 - 1  #: the largest count a state may hold (it fits an int64)


def _describe(value: object) -> str:
    """``repr(value)``, or its size for an integer too long to print."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    return repr(value)


def _copy_state(state: dict[str, StateValue], p: Parameter) -> dict[str, StateValue]:
    """A copy of one parameter's state: arrays copied in *p*'s library, numbers as they are."""
    if p.xp is np:
        return {k: _array.copy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
    return {
        k: v if v is None or isinstance(v, (int, float)) else backend.copy(v, backend.namespace_of(v))
        for k, v in state.items()
    }


def _step_count(value: StateValue) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"optimizer state 'step' must be an int, got {value!r}")
    return int(value)


def _buffer(value: StateValue) -> NDArray[Any]:
    if value is None or isinstance(value, (int, float)):
        raise TypeError(f"optimizer state buffer must be an array, got {value!r}")
    return value


def check_stepped_state(
    optimizer: Optimizer, index: int, state: Mapping[str, StateValue], squares: str, what: str
) -> None:
    """Raise ValueError unless *state* is one that steps produce: ``step >= 1`` and ``state[squares] >= 0``.

    Shared by the optimizers whose state holds a step count and an average
    (or sum) of squared gradients (Adam, AdamW, RMSprop, Adagrad); *what*
    names that average in the message.
    """
    name = type(optimizer).__name__
    if _step_count(state["step"]) < 1:
        raise ValueError(
            f"{name} state 'step' of parameter {index} is {state['step']}: the state exists only after a "
            "step, so it must be >= 1 (or the state empty)"
        )
    v = _buffer(state[squares])
    if not bool(backend.namespace_of(v).all(v >= 0)):
        raise ValueError(f"{name} state {squares!r} of parameter {index} holds negative values; it is {what}")


def _check_number(name: str, value: float, *, minimum: float = 0.0, below: float | None = None) -> None:
    """Raise ValueError unless ``minimum <= value`` (and ``value < below``) and value is finite as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        with np.errstate(over="raise"):
            number = float(value)
    except (OverflowError, FloatingPointError):
        raise ValueError(f"Invalid {name}: {_describe(value)} (too large for a float)") from None
    if not math.isfinite(number) or number < minimum or (below is not None and number >= below):
        raise ValueError(f"Invalid {name}: {_describe(value)}")


def _checked_count(what: str, value: object) -> int:
    """*value* as a Python int, if it is an int (not a bool) in ``[0, MAX_COUNT]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an int, got {_describe(value)} of type {type(value).__name__}")
    count = int(value)
    if not 0 <= count <= MAX_COUNT:
        raise ValueError(f"{what} must be in [0, 2**63), got {_describe(count)}")
    return count


def _checked_array(what: str, value: object, like: NDArray[Any]) -> NDArray[Any]:
    """A copy of *value* in *like*'s dtype, library and device, if it is a finite real float array of *like*'s shape.

    On a library other than NumPy (a model moved by ``Module.to``) *value*
    may be an array of that library or a NumPy array (a saved state): it is
    checked on a NumPy copy and copied onto the parameter's device.  An array
    of a third library raises TypeError.
    """
    lib = backend.library_of(value)
    own = backend.library_name(backend.namespace_of(like))
    if lib is not None and lib not in ("numpy", own):
        raise TypeError(backend.foreign_message(what, lib, own))
    if own != "numpy":
        if lib is None:
            raise TypeError(f"{what} must be an array of shape {tuple(like.shape)}, got {type(value).__name__}")
        host_like = np.empty(tuple(like.shape), dtype=backend.dtype_name(like.dtype))
        checked = _checked_array(what, backend.to_numpy(value), host_like)
        return backend.move(checked, backend.namespace_of(like), backend.device_of(like))  # type: ignore[no-any-return]
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{what} must be an array of shape {like.shape}, got {_describe(value)} of type {type(value).__name__}"
        )
    if value.dtype.kind != "f":
        raise TypeError(f"{what} must hold real floats, got dtype {value.dtype}")
    if value.shape != like.shape:
        raise ValueError(f"{what} has shape {value.shape}, expected {like.shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # a value beyond the dtype's range becomes inf: refused below
        array = value.astype(like.dtype)  # a copy: the optimizer's own
    if not _array.is_finite(array):
        if _array.is_finite(value):
            raise ValueError(f"{what} holds values beyond the range of the parameter's dtype {like.dtype}")
        raise ValueError(f"{what} is not finite: it contains NaN or infinity")
    return array
