"""Flatten: merge a range of axes into one, as torch.nn.Flatten."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad.backend import _array
from minigrad.nn.module import Module


def _check_dim(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


class Flatten(Module):
    r"""Merge the axes ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten``.

    Forward and backward are reshapes, no arithmetic::

        y = x.reshape(d_0, …, d_{s-1}, d_s · … · d_e, d_{e+1}, …)
        dL/dx = (dL/dy).reshape(x.shape)

    The default keeps the first (sample) axis and flattens the rest, turning images ``(N, H, W)``
    into rows ``(N, H·W)`` for a :class:`~minigrad.Linear`.

    Args:
        start_dim: first axis merged (negative counts from the end).
        end_dim: last axis merged, inclusive; at or after ``start_dim``.

    Shape:
        - Input: ``(*, d_s, …, d_e, *)``.  Output: ``(*, d_s · … · d_e, *)``.

    Example:
        >>> import numpy as np
        >>> layer = Flatten()
        >>> layer(np.zeros((2, 3, 4))).shape
        (2, 12)
        >>> layer.backward(np.ones((2, 12)), need_input_grad=True).shape
        (2, 3, 4)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        self.start_dim = _check_dim("start_dim", start_dim)
        self.end_dim = _check_dim("end_dim", end_dim)
        self._shape: tuple[int, ...] | None = None
        self._out_shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return *x* with the axes ``start_dim..end_dim`` merged."""
        xp = self.xp
        xa = _array.as_input(x, xp)
        shape = tuple(xa.shape)
        ndim = max(len(shape), 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim):
            raise ValueError(f"Flatten(start_dim={start}, end_dim={end}) is out of range for an input of shape {shape}")
        start, end = start % ndim, end % ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim ({self.start_dim}) comes after end_dim ({self.end_dim})")
        out_shape = (*shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])
        self._shape, self._out_shape = shape, out_shape
        y: NDArray[Any] = xp.reshape(xa, out_shape)
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return *grad_output* reshaped to the last input's shape if *need_input_grad*, else None."""
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        if tuple(grad_output.shape) != self._out_shape:
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {self._out_shape}")
        if not need_input_grad:
            return None
        grad: NDArray[Any] = self.xp.reshape(grad_output, self._shape)
        return grad

    def __repr__(self) -> str:
        return f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim})"
