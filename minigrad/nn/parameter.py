"""Parameter: an array the optimizer may change, with the gradient beside it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array


class Parameter:
    """A trainable array and its gradient.

    ``data`` holds the current value; ``grad`` has the same shape and dtype
    and holds d loss / d data, accumulated by every ``backward`` call until
    ``zero_grad`` sets it back to zeros (as in PyTorch, where gradients add up
    until they are cleared).  Both are updated in place: an optimizer or a
    caller holding ``p.data`` sees every step.

    ``zero_grad`` only marks the gradient as zero, as PyTorch's
    ``zero_grad(set_to_none=True)`` drops it: the array is filled with zeros
    when ``grad`` is next read, unless a layer's ``backward`` first writes
    its gradient there (:meth:`add_dot`), which saves adding it to an array
    of zeros.  Whoever reads ``p.grad`` sees the same numbers either way;
    only a reference to the array taken before ``zero_grad`` is not cleared
    at once.

    Example:
        >>> import numpy as np
        >>> p = Parameter(np.array([[2.5]]))
        >>> p.data, p.grad
        (array([[2.5]]), array([[0.]]))
        >>> p.add_dot(np.array([[2.0]]), np.array([[3.0]])); p.grad
        array([[6.]])
        >>> p.zero_grad(); p.grad
        array([[0.]])
    """

    __slots__ = ("_grad", "_zeroed", "data", "xp")

    def __init__(self, data: NDArray[Any]) -> None:
        self.data: NDArray[Any] = data
        #: The standard namespace of ``data``'s library (numpy unless the model was moved by ``Module.to``);
        #: optimizers create their state with it.
        self.xp: Any = np if isinstance(data, np.ndarray) else backend.namespace_of(data)
        if self.xp is np:
            self._grad: NDArray[Any] = _array.zeros(data.shape, data.dtype)  # C order, as np.dot's out needs
        else:
            self._grad = self.xp.zeros(data.shape, dtype=data.dtype, device=backend.device_of(data))
        self._zeroed = False  # True after zero_grad, until the zeros are written or replaced

    def __getstate__(self) -> dict[str, Any]:
        """For pickle and deepcopy: the arrays and the flag; the namespace (a module) is found again on load."""
        return {"data": self.data, "_grad": self._grad, "_zeroed": self._zeroed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]
        self._grad = state["_grad"]
        self._zeroed = state["_zeroed"]
        self.xp = np if isinstance(self.data, np.ndarray) else backend.namespace_of(self.data)

    @property
    def grad(self) -> NDArray[Any]:
        """d loss / d data, an array of ``data``'s shape and dtype (updated in place)."""
        g = self._grad
        if self._zeroed:
            if self.xp is np:
                g.fill(0)
            else:
                g[...] = 0
            self._zeroed = False
        return g

    @grad.setter
    def grad(self, value: ArrayLike) -> None:
        """Copy *value* (of ``data``'s shape) into the gradient."""
        xp = self.xp
        value = np.asarray(value) if xp is np else backend.as_float(value, xp, self.data.dtype, None, "grad")
        if tuple(value.shape) != tuple(self.data.shape):
            raise ValueError(f"grad must have the parameter's shape {self.shape}, got {tuple(value.shape)}")
        if xp is np:
            _array.copy_into(self._grad, value)
        else:
            self._grad[...] = value
        self._zeroed = False

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        """Dtype of ``data`` (and of ``grad``)."""
        return self.data.dtype

    def zero_grad(self) -> None:
        """Set the gradient to zeros (lazily: see the class docstring)."""
        self._zeroed = True

    def add_dot(self, a: NDArray[Any], b: NDArray[Any]) -> None:
        """``grad += a @ b``; right after ``zero_grad``, ``a @ b`` is written into ``grad`` instead.

        *a* and *b* must give a product of ``grad``'s shape.
        """
        g = self._grad
        if self.xp is not np:  # the general path: standard calls only
            product = a @ b
            if self._zeroed:
                g[...] = product
                self._zeroed = False
            else:
                g += product
        elif self._zeroed and ((gd := g.dtype) is a.dtype or gd == a.dtype) and (gd is b.dtype or gd == b.dtype):
            a.dot(b, g)  # np.dot(a, b, g) without its dispatch; "is" first: the common case, without ==
            self._zeroed = False
        else:
            _array.add_into(self.grad, np.dot(a, b))

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"
