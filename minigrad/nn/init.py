"""Initialisers: fill a weight in place with Xavier/Glorot or He/Kaiming random values.

The formulas are ``torch.nn.init``'s.  For a weight of shape
``(out_features, in_features)`` (a Linear layer's)::

    fan_in = in_features        fan_out = out_features

and for more dimensions ``(out, in, k_1, k_2, …)`` both are multiplied by the
receptive field ``k_1 k_2 …``.  Each function writes into the array (or the
Parameter's ``data``) it is given, keeps its dtype, and returns it.  Every
random draw comes from ``rng``: an int seed or a ``numpy.random.Generator``
(None gives a freshly seeded one).  Values are drawn in float64 and then
rounded to the weight's dtype, so float32 and float64 weights from the same
seed agree to float32 rounding.  A weight of another array library (a model
moved by ``Module.to``) gets the same numbers as on NumPy, copied in place
onto its device.

Example:
    >>> import minigrad as mg
    >>> layer = mg.Linear(256, 128, rng=0)
    >>> _ = mg.init.kaiming_normal_(layer.weight, nonlinearity="relu", rng=0)
    >>> round(float(layer.weight.data.std()), 2)   # sqrt(2 / 256) = 0.088
    0.09
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypeVar

import numpy as np
from numpy.typing import NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.parameter import Parameter

__all__ = [
    "calculate_gain",
    "kaiming_normal_",
    "kaiming_uniform_",
    "xavier_normal_",
    "xavier_uniform_",
]

Tensor = TypeVar("Tensor", Parameter, NDArray[Any])
Nonlinearity = Literal["linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
FanMode = Literal["fan_in", "fan_out"]


def calculate_gain(nonlinearity: Nonlinearity, param: float | None = None) -> float:
    r"""The recommended gain for a non-linearity, as ``torch.nn.init.calculate_gain``.

    ====================  ============================
    nonlinearity          gain
    ====================  ============================
    linear, sigmoid       1
    tanh                  5/3
    relu                  sqrt(2)
    leaky_relu            sqrt(2 / (1 + a**2)), a = param (default 0.01)
    selu                  3/4
    ====================  ============================

    Example:
        >>> calculate_gain("relu") == 2 ** 0.5
        True
        >>> calculate_gain("leaky_relu", 0)
        1.4142135623730951
    """
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float, np.integer, np.floating)):
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        else:
            slope = float(param)
        if not math.isfinite(slope):
            raise ValueError(f"negative_slope must be finite, got {slope}")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"Unsupported nonlinearity {nonlinearity!r}; expected one of linear, sigmoid, tanh, relu, leaky_relu, selu"
    )


def _array_of(tensor: Parameter | NDArray[Any]) -> NDArray[Any]:
    arr = tensor.data if isinstance(tensor, Parameter) else tensor
    if isinstance(arr, np.ndarray):
        if arr.dtype.kind != "f":
            raise TypeError(f"can only initialise a floating-point array, got dtype {arr.dtype}")
        return arr
    if backend.library_of(arr) is None:
        raise TypeError(f"expected a Parameter or an array, got {type(tensor).__name__}")
    if backend.dtype_name(arr.dtype) not in ("float32", "float64"):
        raise TypeError(f"can only initialise a floating-point array, got dtype {arr.dtype}")
    return arr


def _write(arr: Any, values: NDArray[Any]) -> None:
    """Copy the NumPy *values* (drawn in float64) into *arr* of any library, in place, in its dtype."""
    if isinstance(arr, np.ndarray):
        _array.copy_into(arr, values)
    else:
        arr[...] = backend.move(
            values.astype(backend.dtype_name(arr.dtype)), backend.namespace_of(arr), backend.device_of(arr)
        )


def _fans(arr: NDArray[Any]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``."""
    if arr.ndim < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for an array with fewer than 2 dimensions (shape {arr.shape})"
        )
    receptive = math.prod(arr.shape[2:])
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _check_gain(gain: float) -> float:
    if isinstance(gain, bool) or not isinstance(gain, (int, float, np.integer, np.floating)):
        raise TypeError(f"gain must be a number, got {type(gain).__name__}")
    if not math.isfinite(gain) or gain < 0:
        raise ValueError(f"gain must be a finite number >= 0, got {gain}")
    return float(gain)


def _fill_uniform(tensor: Tensor, bound: float, rng: int | np.random.Generator | None) -> Tensor:
    arr = _array_of(tensor)
    gen = _array.as_rng(rng)
    _write(arr, _array.uniform(gen, -bound, bound, tuple(arr.shape), np.dtype(np.float64)))
    return tensor


def _fill_normal(tensor: Tensor, std: float, rng: int | np.random.Generator | None) -> Tensor:
    arr = _array_of(tensor)
    gen = _array.as_rng(rng)
    _write(arr, _array.normal(gen, 0.0, std, tuple(arr.shape), np.dtype(np.float64)))
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, *, rng: int | np.random.Generator | None = None) -> Tensor:
    r"""Fill *tensor* in place from U(-a, a), Glorot & Bengio (2010), as ``torch.nn.init.xavier_uniform_``.

    ::

        a = gain * sqrt(6 / (fan_in + fan_out))

    Args:
        tensor: a Parameter or float array with at least 2 dimensions.
        gain: scale factor ≥ 0 (see :func:`calculate_gain`).
        rng: int seed or ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> w = xavier_uniform_(np.zeros((3, 5)), rng=0)
        >>> bool(np.abs(w).max() <= (6 / 8) ** 0.5)
        True
    """
    arr = _array_of(tensor)
    fan_in, fan_out = _fans(arr)
    if arr.size == 0:
        return tensor
    std = _check_gain(gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill_uniform(tensor, math.sqrt(3.0) * std, rng)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, *, rng: int | np.random.Generator | None = None) -> Tensor:
    r"""Fill *tensor* in place from N(0, std²), Glorot & Bengio (2010), as ``torch.nn.init.xavier_normal_``.

    ::

        std = gain * sqrt(2 / (fan_in + fan_out))

    Args:
        tensor: a Parameter or float array with at least 2 dimensions.
        gain: scale factor ≥ 0 (see :func:`calculate_gain`).
        rng: int seed or ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> w = xavier_normal_(np.zeros((200, 300)), rng=0)
        >>> round(float(w.std()), 3)   # sqrt(2 / 500) = 0.0632
        0.063
    """
    arr = _array_of(tensor)
    fan_in, fan_out = _fans(arr)
    if arr.size == 0:
        return tensor
    std = _check_gain(gain) * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill_normal(tensor, std, rng)


def _kaiming_std(arr: NDArray[Any], a: float, mode: FanMode, nonlinearity: Nonlinearity) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(arr)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: Nonlinearity = "leaky_relu",
    *,
    rng: int | np.random.Generator | None = None,
) -> Tensor:
    r"""Fill *tensor* in place from U(-bound, bound), He et al. (2015), as ``torch.nn.init.kaiming_uniform_``.

    ::

        gain  = calculate_gain(nonlinearity, a)
        bound = gain * sqrt(3 / fan)          fan = fan_in or fan_out (mode)

    The defaults (``a=0``, ``"leaky_relu"``) give gain sqrt(2), the ReLU
    value.  ``fan_in`` keeps the variance of the forward pass, ``fan_out``
    that of the backward pass.

    Args:
        tensor: a Parameter or float array with at least 2 dimensions.
        a: the negative slope of the leaky ReLU that follows (used only
            with ``nonlinearity="leaky_relu"``).
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: see :func:`calculate_gain`.
        rng: int seed or ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> w = kaiming_uniform_(np.zeros((4, 6)), nonlinearity="relu", rng=0)
        >>> bool(np.abs(w).max() <= 2 ** 0.5 * (3 / 6) ** 0.5)
        True
    """
    arr = _array_of(tensor)
    if arr.size == 0:
        _fans(arr)
        return tensor
    std = _kaiming_std(arr, a, mode, nonlinearity)
    return _fill_uniform(tensor, math.sqrt(3.0) * std, rng)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0.0,
    mode: FanMode = "fan_in",
    nonlinearity: Nonlinearity = "leaky_relu",
    *,
    rng: int | np.random.Generator | None = None,
) -> Tensor:
    r"""Fill *tensor* in place from N(0, std²), He et al. (2015), as ``torch.nn.init.kaiming_normal_``.

    ::

        std = calculate_gain(nonlinearity, a) / sqrt(fan)      fan = fan_in or fan_out (mode)

    Args:
        tensor: a Parameter or float array with at least 2 dimensions.
        a: the negative slope of the leaky ReLU that follows.
        mode: ``"fan_in"`` or ``"fan_out"``.
        nonlinearity: see :func:`calculate_gain`.
        rng: int seed or ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> w = kaiming_normal_(np.zeros((300, 200)), mode="fan_out", nonlinearity="relu", rng=0)
        >>> round(float(w.std()), 3)   # sqrt(2 / 300) = 0.0816
        0.082
    """
    arr = _array_of(tensor)
    if arr.size == 0:
        _fans(arr)
        return tensor
    std = _kaiming_std(arr, a, mode, nonlinearity)
    return _fill_normal(tensor, std, rng)
