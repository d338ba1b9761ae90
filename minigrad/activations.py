"""Activations: element-wise non-linearities as modules (ReLU, LeakyReLU, Tanh, Sigmoid).

Each activation ``y = f(x)`` has no parameters; its backward is the chain
rule for an element-wise function, ``dL/dx = dL/dy * f'(x)``.  ``forward``
keeps only what ``backward`` needs (a mask or the output), overwriting it on
every call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import _array, backend
from minigrad.module import Module


def _as_input(module: Module, x: ArrayLike) -> NDArray[Any]:
    """The input as a float array of the module's library (float32 stays float32; anything else becomes float64)."""
    if module.xp is np:
        return _array.as_float_array(x, _array.result_dtype(x), "input")
    return backend.as_float(x, module.xp, None, module.device, "input")  # type: ignore[no-any-return]


def _check_grad_output(name: str, cached: NDArray[Any] | None, grad_output: NDArray[Any]) -> NDArray[Any]:
    """Return the array cached by forward, after checking backward's argument against it."""
    if cached is None:
        raise RuntimeError(f"{name}.backward called before forward")
    if grad_output.shape != cached.shape:
        raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {tuple(cached.shape)}")
    return cached


class ReLU(Module):
    r"""Rectified linear unit, as ``torch.nn.ReLU``, applied element-wise.

    Forward and backward::

        y = max(x, 0)
        dL/dx = dL/dy * [x > 0]

    The derivative at ``x = 0`` is taken as 0, PyTorch's convention.
    ``forward`` caches only the boolean mask ``x > 0``.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> relu = ReLU()
        >>> relu(np.array([[-2.0, 0.0, 3.0]]))
        array([[0., 0., 3.]])
        >>> relu.backward(np.array([[1.0, 1.0, 1.0]]))
        array([[0., 0., 1.]])
    """

    def __init__(self) -> None:
        self._mask: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``max(x, 0)``."""
        xa = _as_input(self, x)
        self._mask = xa > 0
        y: NDArray[Any] = self.xp.maximum(xa, 0)  # propagates NaN, as torch.relu does
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = True) -> NDArray[Any] | None:
        """Return ``grad_output * (x > 0)`` (no parameters to update)."""
        mask = _check_grad_output("ReLU", self._mask, grad_output)
        if not need_input_grad:
            return None
        if self.xp is not np:  # the general path: standard calls only
            return self.xp.where(mask, grad_output, 0.0)  # type: ignore[no-any-return]
        # np.where(mask, g, 0), computed as g * mask: in a training step, between the step's other
        # operations, np.where takes about 5x as long (NumPy 2.4).  The product gives the same numbers
        # except -0.0 (a negative g times False), which adding 0.0 turns into 0.0, and NaN where an inf or
        # NaN in g meets False, which the sum detects and the exact assignment below clears.
        with np.errstate(invalid="ignore", over="ignore"):  # inf * False, and sums of large numbers
            grad: NDArray[Any] = grad_output * mask
            grad += 0.0
            total = np.add.reduce(grad, None)
        if not math.isfinite(total):
            grad[~mask] = 0
        return grad


class LeakyReLU(Module):
    r"""Leaky rectified linear unit, as ``torch.nn.LeakyReLU``, applied element-wise.

    Forward and backward, with slope ``a`` (``negative_slope``)::

        y = x        if x > 0  else  a x
        dL/dx = dL/dy * (1 if x > 0 else a)

    At ``x = 0`` the derivative is taken as ``a``, PyTorch's convention.
    ``forward`` caches only the boolean mask ``x > 0``.

    Args:
        negative_slope: the slope ``a`` for negative inputs (any finite number;
            usually small and positive).

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = LeakyReLU(negative_slope=0.1)
        >>> act(np.array([-2.0, 3.0]))
        array([-0.2,  3. ])
        >>> act.backward(np.array([1.0, 1.0]))
        array([0.1, 1. ])
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float, np.integer, np.floating)):
            raise TypeError(f"negative_slope must be a number, got {type(negative_slope).__name__}")
        if not math.isfinite(negative_slope):
            raise ValueError(f"negative_slope must be finite, got {negative_slope}")
        self.negative_slope = float(negative_slope)
        self._mask: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``x`` where ``x > 0`` and ``negative_slope * x`` elsewhere."""
        xa = _as_input(self, x)
        mask = xa > 0
        self._mask = mask
        return self.xp.where(mask, xa, xa * self.negative_slope)  # type: ignore[no-any-return]

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = True) -> NDArray[Any] | None:
        """Return ``grad_output`` where ``x > 0`` and ``negative_slope * grad_output`` elsewhere."""
        mask = _check_grad_output("LeakyReLU", self._mask, grad_output)
        if not need_input_grad:
            return None
        return self.xp.where(mask, grad_output, grad_output * self.negative_slope)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"LeakyReLU(negative_slope={self.negative_slope})"


class Tanh(Module):
    r"""Hyperbolic tangent, as ``torch.nn.Tanh``, applied element-wise.

    Forward and backward::

        y = tanh(x)
        dL/dx = dL/dy * (1 - y**2)

    ``forward`` caches only the output ``y``.  ``tanh`` saturates to ±1 for
    large ``|x|`` without overflow.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = Tanh()
        >>> act(np.array([0.0, 1000.0]))
        array([0., 1.])
        >>> act.backward(np.array([2.0, 2.0]))
        array([2., 0.])
    """

    def __init__(self) -> None:
        self._output: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``tanh(x)``."""
        y: NDArray[Any] = self.xp.tanh(_as_input(self, x))
        self._output = y
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = True) -> NDArray[Any] | None:
        """Return ``grad_output * (1 - y**2)``."""
        y = _check_grad_output("Tanh", self._output, grad_output)
        if not need_input_grad:
            return None
        grad: NDArray[Any] = grad_output * (1 - y * y)
        return grad


def sigmoid(x: NDArray[Any]) -> NDArray[Any]:
    r"""The logistic function ``1 / (1 + exp(-x))``, without overflow for any ``x``.

    ``exp(-x)`` overflows for ``x < -709`` (float64), so the two halves use
    ``e = exp(-|x|) ∈ (0, 1]``::

        x ≥ 0:  1 / (1 + e)
        x < 0:  e / (1 + e)

    which are the same function written two ways; neither can overflow.

    Example:
        >>> import numpy as np
        >>> sigmoid(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """
    xp = np if isinstance(x, np.ndarray) else backend.namespace_of(x)
    e = xp.exp(-xp.abs(x))
    y: NDArray[Any] = xp.where(x >= 0, 1.0, e) / (1 + e)
    return y


class Sigmoid(Module):
    r"""Logistic sigmoid, as ``torch.nn.Sigmoid``, applied element-wise.

    Forward and backward::

        y = 1 / (1 + exp(-x))
        dL/dx = dL/dy * y (1 - y)

    Computed by :func:`sigmoid`, stable for large ``|x|`` (±1000 gives 0 and
    1, with no overflow warning).  ``forward`` caches only the output ``y``.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = Sigmoid()
        >>> act(np.array([0.0, -1000.0]))
        array([0.5, 0. ])
        >>> act.backward(np.array([1.0, 1.0]))
        array([0.25, 0.  ])
    """

    def __init__(self) -> None:
        self._output: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``1 / (1 + exp(-x))``."""
        y = sigmoid(_as_input(self, x))
        self._output = y
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = True) -> NDArray[Any] | None:
        """Return ``grad_output * y * (1 - y)``."""
        y = _check_grad_output("Sigmoid", self._output, grad_output)
        if not need_input_grad:
            return None
        grad: NDArray[Any] = grad_output * (y * (1 - y))
        return grad
