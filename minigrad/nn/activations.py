"""Activations: non-linearities as modules (ReLU, LeakyReLU, Tanh, Sigmoid, GELU, ELU, Softplus, Softmax).

Each activation ``y = f(x)`` has no parameters; its backward is the chain
rule for an element-wise function, ``dL/dx = dL/dy * f'(x)``, computed when
asked for (``backward(g, need_input_grad=True)``, as :class:`~minigrad.Sequential`
asks every layer after the first; see :class:`~minigrad.Module`).  ``forward``
keeps only what ``backward`` needs (a mask or the output), overwriting it on
every call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn._erf import erfc
from minigrad.nn.module import Module


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
        >>> relu.backward(np.array([[1.0, 1.0, 1.0]]), need_input_grad=True)
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

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * (x > 0)`` if *need_input_grad*, else None (no parameters to update)."""
        mask = _check_grad_output("ReLU", self._mask, grad_output)
        if not need_input_grad:
            return None
        if self.xp is not np:  # the general path: standard calls only
            return self.xp.where(mask, grad_output, 0.0)  # type: ignore[no-any-return]
        # np.where(mask, g, 0), computed as g * mask when g is finite: np.where branches on every element,
        # and on the fresh mask of each training step it takes about 3x as long as the product (NumPy 2.4).
        # For a finite g the product gives the same numbers except -0.0 (a negative g times False), which
        # adding 0.0 turns into 0.0.  A finite sum of squares (one BLAS call) says g is finite; an inf or
        # NaN in g (inf * False would be NaN), or a sum that overflows, takes np.where itself.
        if not math.isfinite(np.vdot(grad_output, grad_output)):
            return np.where(mask, grad_output, 0.0)
        grad: NDArray[Any] = grad_output * mask
        grad += 0.0
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
        >>> act.backward(np.array([1.0, 1.0]), need_input_grad=True)
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

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output`` where ``x > 0`` and ``negative_slope * grad_output`` elsewhere (None if not asked)."""
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
        >>> act.backward(np.array([2.0, 2.0]), need_input_grad=True)
        array([2., 0.])
    """

    def __init__(self) -> None:
        self._output: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``tanh(x)``."""
        y: NDArray[Any] = self.xp.tanh(_as_input(self, x))
        self._output = y
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * (1 - y**2)`` if *need_input_grad*, else None."""
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
        >>> act.backward(np.array([1.0, 1.0]), need_input_grad=True)
        array([0.25, 0.  ])
    """

    def __init__(self) -> None:
        self._output: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``1 / (1 + exp(-x))``."""
        y = sigmoid(_as_input(self, x))
        self._output = y
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * y * (1 - y)`` if *need_input_grad*, else None."""
        y = _check_grad_output("Sigmoid", self._output, grad_output)
        if not need_input_grad:
            return None
        grad: NDArray[Any] = grad_output * (y * (1 - y))
        return grad


def _check_cached(name: str, cached: Any, grad_output: Any) -> Any:
    """Return what forward cached, after checking that *grad_output* has the output's shape."""
    if cached is None:
        raise RuntimeError(f"{name}.backward called before forward")
    if tuple(grad_output.shape) != tuple(cached.shape):
        raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {tuple(cached.shape)}")
    return cached


def _check_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def _sigmoid_xp(xp: Any, x: Any) -> Any:
    """:func:`sigmoid` with the namespace *xp*: ``1/(1+e)`` or ``e/(1+e)``, ``e = exp(-|x|)``."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, xp.ones_like(e), e) / (1 + e)


_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_KAPPA = 0.044715


class GELU(Module):
    r"""Gaussian error linear unit, as ``torch.nn.GELU``, applied element-wise.

    With the standard normal distribution ``Φ(x) = (1 + erf(x / √2)) / 2`` and density
    ``φ(x) = exp(-x²/2) / √(2π)``, ``approximate="none"`` computes::

        y = x Φ(x)
        dL/dx = dL/dy * (Φ(x) + x φ(x))

    and ``approximate="tanh"`` (Hendrycks & Gimpel's approximation, as torch) computes, with
    ``z = √(2/π) (x + 0.044715 x³)`` and ``s = (1 + tanh z) / 2 = sigmoid(2z)``::

        y = x s
        dL/dx = dL/dy * (s + 2 x s (1 - s) √(2/π) (1 + 3 · 0.044715 x²))

    ``Φ`` is computed as ``erfc(-x / √2) / 2`` with minigrad's float64 ``erfc``, and ``s`` as a
    sigmoid, so neither loses digits to ``1 + (-1 + tiny)`` for negative ``x``: there they are more
    accurate than torch's ``1 + erf`` and ``1 + tanh`` (which agree with them to 1e-16 absolute).
    ``forward`` caches ``x`` and ``Φ(x)`` (or ``s``).

    Args:
        approximate: ``"none"`` (the exact ``Φ``) or ``"tanh"``.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = GELU()
        >>> act(np.array([-1.0, 0.0, 2.0])).round(6)
        array([-0.158655,  0.      ,  1.9545  ])
        >>> act.backward(np.ones(3), need_input_grad=True).round(6)
        array([-0.083315,  0.5     ,  1.085232])
    """

    def __init__(self, approximate: str = "none") -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._x: Any = None
        self._s: Any = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``x Φ(x)`` (or its tanh approximation)."""
        xp = self.xp
        xa = _array.as_input(x, xp)
        if self.approximate == "none":
            s = 0.5 * erfc(-xa * _SQRT1_2, xp)
        else:
            s = _sigmoid_xp(xp, 2.0 * _SQRT_2_OVER_PI * (xa + _GELU_KAPPA * (xa * xa * xa)))
        self._x, self._s = xa, s
        y: NDArray[Any] = xa * s
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * (Φ(x) + x φ(x))`` (or the tanh approximation's derivative); None if not asked."""
        x = _check_cached("GELU", self._x, grad_output)
        if not need_input_grad:
            return None
        s = self._s
        if self.approximate == "none":
            slope = s + x * (_INV_SQRT_2PI * self.xp.exp(-0.5 * (x * x)))
        else:
            slope = s + 2.0 * x * s * (1 - s) * (_SQRT_2_OVER_PI * (1 + 3 * _GELU_KAPPA * (x * x)))
        grad: NDArray[Any] = grad_output * slope
        return grad

    def __repr__(self) -> str:
        return f"GELU(approximate={self.approximate!r})"


class ELU(Module):
    r"""Exponential linear unit, as ``torch.nn.ELU``, applied element-wise.

    Forward and backward, with ``α`` (``alpha``)::

        y = x                  if x > 0  else  α (exp(x) - 1)
        dL/dx = dL/dy * (1     if x > 0  else  α exp(x))

    ``exp(x) - 1`` is computed as ``expm1(x)``, exact also for tiny ``x``.  ``forward`` caches ``x``.

    Args:
        alpha: ``α``, the value ``y`` tends to (as ``-α``) for large negative ``x``; any finite number.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = ELU(alpha=1.0)
        >>> act(np.array([-1.0, 2.0])).round(6)
        array([-0.632121,  2.      ])
        >>> act.backward(np.array([1.0, 1.0]), need_input_grad=True).round(6)
        array([0.367879, 1.      ])
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = _check_real("alpha", alpha)
        self._x: Any = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``x`` where ``x > 0`` and ``alpha * expm1(x)`` elsewhere."""
        xp = self.xp
        xa = _array.as_input(x, xp)
        self._x = xa
        y: NDArray[Any] = xp.where(xa > 0, xa, self.alpha * xp.expm1(xp.minimum(xa, xp.zeros_like(xa))))
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output`` where ``x > 0`` and ``grad_output * alpha * exp(x)`` elsewhere (None if not asked)."""
        x = _check_cached("ELU", self._x, grad_output)
        if not need_input_grad:
            return None
        xp = self.xp
        grad: NDArray[Any] = xp.where(
            x > 0, grad_output, grad_output * (self.alpha * xp.exp(xp.minimum(x, xp.zeros_like(x))))
        )
        return grad

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha})"


class Softplus(Module):
    r"""Softplus, a smooth ReLU, as ``torch.nn.Softplus``, applied element-wise.

    Forward and backward, with ``β`` (``beta``) and the threshold ``τ``::

        y = log(1 + exp(β x)) / β        if β x ≤ τ  else  x
        dL/dx = dL/dy * sigmoid(β x)     if β x ≤ τ  else  dL/dy

    Above the threshold ``y`` and ``x`` agree to within ``exp(-τ)/β`` and the layer is linear, as in
    torch; ``log(1 + ·)`` is ``log1p``.  ``forward`` caches ``x``.

    Args:
        beta: ``β`` > 0; larger values bend more sharply (``y → max(x, 0)`` as ``β → ∞``).
        threshold: ``τ``, any finite number.

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> act = Softplus()
        >>> act(np.array([-1.0, 0.0, 30.0])).round(6)
        array([ 0.313262,  0.693147, 30.      ])
        >>> act.backward(np.ones(3), need_input_grad=True).round(6)
        array([0.268941, 0.5     , 1.      ])
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = _check_real("beta", beta)
        if self.beta <= 0:
            raise ValueError(f"beta must be > 0, got {beta}")
        self.threshold = _check_real("threshold", threshold)
        self._x: Any = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``log1p(exp(beta x)) / beta``, or ``x`` where ``beta x > threshold``."""
        xp = self.xp
        xa = _array.as_input(x, xp)
        self._x = xa
        bx = xa * self.beta
        linear = bx > self.threshold
        soft = xp.log1p(xp.exp(xp.where(linear, xp.zeros_like(bx), bx))) / self.beta
        y: NDArray[Any] = xp.where(linear, xa, soft)
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * sigmoid(beta x)``, ``grad_output`` where ``beta x > threshold``; None if not asked."""
        x = _check_cached("Softplus", self._x, grad_output)
        if not need_input_grad:
            return None
        xp = self.xp
        bx = x * self.beta
        linear = bx > self.threshold
        z = xp.exp(xp.where(linear, xp.zeros_like(bx), bx))
        grad: NDArray[Any] = xp.where(linear, grad_output, grad_output * z / (z + 1))
        return grad

    def __repr__(self) -> str:
        return f"Softplus(beta={self.beta}, threshold={self.threshold})"


def _check_axis(axis: Any, ndim: int, name: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(axis).__name__}")
    if not -max(ndim, 1) <= axis < max(ndim, 1):
        raise ValueError(f"{name}={axis} is out of range for an input with {ndim} dimensions")
    return int(axis) % max(ndim, 1)


def softmax(x: ArrayLike, axis: int = -1, *, xp: Any = np) -> NDArray[Any]:
    r"""The softmax along *axis*: non-negative entries that sum to 1, as ``torch.softmax(x, dim)``.

    ::

        softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),      m = max_j x_j

    Subtracting the maximum changes nothing mathematically and keeps every ``exp`` in ``(0, 1]``, so
    logits of ±1000 give no overflow.  For a model trained with :class:`~minigrad.CrossEntropyLoss`
    (which takes logits), ``softmax(model.predict(X))`` gives the class probabilities, scikit-learn's
    ``predict_proba``.

    Args:
        x: any real array (float32 stays float32, other numbers become float64).
        axis: the axis whose entries are normalised.
        xp: the array namespace of *x* (NumPy by default).

    Example:
        >>> import numpy as np
        >>> softmax(np.array([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])).round(4)
        array([[0.09  , 0.2447, 0.6652],
               [1.    , 0.    , 0.    ]])
    """
    xa = _array.as_input(x, xp)
    ax = _check_axis(axis, xa.ndim, "axis")
    if xa.ndim == 0:
        return xp.ones_like(xa)  # type: ignore[no-any-return]
    e = xp.exp(xa - xp.max(xa, axis=ax, keepdims=True))
    y: NDArray[Any] = e / xp.sum(e, axis=ax, keepdims=True)
    return y


class Softmax(Module):
    r"""Softmax along ``dim``, as ``torch.nn.Softmax``: each slice becomes probabilities.

    Forward (stable, see :func:`softmax`) and backward along ``dim``::

        y_i = exp(x_i - m) / sum_j exp(x_j - m)
        dL/dx_i = y_i (dL/dy_i - sum_j dL/dy_j y_j)

    ``forward`` caches ``y``.  To train a classifier use :class:`~minigrad.CrossEntropyLoss` on
    logits instead (more accurate); this layer is for models whose output must be probabilities.

    Args:
        dim: the axis normalised, ``-1`` (the last) by default.

    Shape:
        - Input: any shape with at least ``dim + 1`` axes.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> layer = Softmax(dim=-1)
        >>> layer(np.array([[0.0, np.log(3.0)]]))
        array([[0.25, 0.75]])
        >>> layer.backward(np.array([[1.0, 0.0]]), need_input_grad=True)
        array([[ 0.1875, -0.1875]])
    """

    def __init__(self, dim: int = -1) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        self.dim = int(dim)
        self._output: Any = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``softmax(x, axis=dim)``."""
        y = softmax(x, self.dim, xp=self.xp)
        self._output = y
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``y * (grad_output - sum(grad_output * y, dim))`` if *need_input_grad*, else None."""
        y = _check_cached("Softmax", self._output, grad_output)
        if not need_input_grad:
            return None
        xp = self.xp
        if y.ndim == 0:
            return xp.zeros_like(y)  # type: ignore[no-any-return]
        grad: NDArray[Any] = y * (grad_output - xp.sum(grad_output * y, axis=self.dim % y.ndim, keepdims=True))
        return grad

    def __repr__(self) -> str:
        return f"Softmax(dim={self.dim})"
