"""Parameter: an array the optimizer may change, with the gradient beside it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad import _array


class Parameter:
    """A trainable array and its gradient.

    ``data`` holds the current value; ``grad`` has the same shape and dtype
    and holds d loss / d data, accumulated by every ``backward`` call until
    ``zero_grad`` sets it back to zeros (as in PyTorch, where gradients add up
    until they are cleared).  Both are updated in place: an optimizer or a
    caller holding ``p.data`` sees every step.

    Example:
        >>> import numpy as np
        >>> p = Parameter(np.array([[2.5]]))
        >>> p.data, p.grad
        (array([[2.5]]), array([[0.]]))
    """

    __slots__ = ("data", "grad")

    def __init__(self, data: NDArray[Any]) -> None:
        self.data: NDArray[Any] = data
        self.grad: NDArray[Any] = _array.zeros_like(data)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Dtype of ``data`` (and of ``grad``)."""
        return self.data.dtype

    def zero_grad(self) -> None:
        """Set the gradient to zeros, in place."""
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"
