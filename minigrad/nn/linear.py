"""Linear: the fully connected layer ``y = x W^T + b``, and Identity, ``y = x``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter


class Linear(Module):
    r"""Applies an affine map to each row of the input, as ``torch.nn.Linear``.

    Forward, for an input ``x`` of shape ``(N, in_features)``::

        y = x @ W.T + b                      # (N, out_features)

    Backward, given ``g = dL/dy`` of shape ``(N, out_features)``::

        dL/dW += g.T @ x                     # (out_features, in_features)
        dL/db += g.sum(axis=0)               # (out_features,)
        dL/dx  = g @ W                       # (N, in_features), when asked for

    ``backward(g)`` adds the parameter gradients and returns None;
    ``backward(g, need_input_grad=True)`` also returns ``dL/dx`` (see
    :class:`~minigrad.Module`).

    With one input, one output and no bias this is the seed's model,
    ``prediction = input * weight``.

    Args:
        in_features: size of each input row, ≥ 1.
        out_features: size of each output row, ≥ 1.
        bias: whether to learn the additive bias ``b``.
        dtype: float64 (default) or float32; inputs are converted to it.
        rng: int seed or ``numpy.random.Generator`` for the initial values.

    Initialisation (PyTorch's default): every entry of ``W`` and ``b`` is drawn
    from U(-k, k) with ``k = 1/sqrt(in_features)``, the weight first.

    Shape:
        - Input: ``(N, in_features)``; a 1-D or 3-D input raises ValueError.
        - Output: ``(N, out_features)``.

    Example:
        >>> import numpy as np
        >>> layer = Linear(1, 1, bias=False)
        >>> layer.weight.data[...] = 2.5
        >>> layer(np.array([[100_000.0]]))
        array([[250000.]])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype: DTypeLike = np.float64,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        dt = _array.float_dtype(dtype)
        gen = _array.as_rng(rng)
        bound = 1.0 / math.sqrt(self.in_features)
        self.weight = Parameter(_array.uniform(gen, -bound, bound, (self.out_features, self.in_features), dt))
        self.bias: Parameter | None = (
            Parameter(_array.uniform(gen, -bound, bound, (self.out_features,), dt)) if bias else None
        )
        self._input: NDArray[Any] | None = None
        self._ones: NDArray[Any] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``x @ W.T + b`` for ``x`` of shape ``(N, in_features)``."""
        if self.xp is not np:
            return self._forward_standard(x)  # type: ignore[no-any-return]
        w = self.weight.data
        if not (type(x) is np.ndarray and x.dtype == w.dtype):  # (a masked array is refused there)
            x = _array.as_float_array(x, w.dtype, "input")
        if x.ndim != 2 or x.shape[1] != self.in_features:
            self._refuse(x)
        out: NDArray[Any] = x.dot(w.T)  # (ndarray.dot is np.dot without its dispatch: the same product, sooner)
        bias = self.bias
        if bias is not None:  # out += b, the fastest way; out is new, never the caller's
            b = bias.data
            if b.size != 1:
                out += b
            elif out.size != 1:
                # one output: adding b's one number is the same sums without broadcasting's set-up, and as
                # a 0-d view (b[0, ...]) rather than a NumPy scalar (b[0]) it skips the scalar's conversion
                out += b[0, ...]
            else:
                out = out + b  # one number: a new array is faster than in place (see _array.INPLACE_MIN_SIZE)
        self._input = x
        return out

    def _forward_standard(self, x: ArrayLike) -> Any:
        """:meth:`forward` on any library, with Array API standard calls only."""
        w = self.weight.data
        xa = backend.as_float(x, self.xp, w.dtype, self.device, "input")
        if xa.ndim != 2 or xa.shape[1] != self.in_features:
            self._refuse(xa)
        out = xa @ w.T
        if self.bias is not None:
            out = out + self.bias.data
        self._input = xa
        return out

    def _refuse(self, x: NDArray[Any]) -> None:
        """Raise ValueError for an input that is not 2-D or has the wrong number of features."""
        _array.check_2d(x, "input")
        raise ValueError(
            f"Linear expects input of shape (N, {self.in_features}), got {tuple(x.shape)}: "
            f"X has {x.shape[1]} features but the layer has in_features={self.in_features}"
        )

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Add ``g.T @ x`` to ``weight.grad`` and ``ones(N) @ g`` (``g.sum(0)``) to ``bias.grad``.

        Returns ``dL/dx = g @ W`` if *need_input_grad*, else None (nothing of shape ``(N, in_features)`` is made).
        """
        x = self._input
        if x is None:
            raise RuntimeError("Linear.backward called before forward")
        n = x.shape[0]
        if grad_output.shape != (n, self.out_features):  # (a torch.Size compares as a tuple)
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {(n, self.out_features)}")
        # dL/dW += g^T x and dL/db += 1^T g, the sum of g's rows (written straight in after zero_grad)
        self.weight.add_dot(grad_output.T, x)
        bias = self.bias
        if bias is not None:
            ones = self._ones
            if ones is None or ones.shape[0] != n:  # row_ones(n), inlined: this runs once per step
                ones = self.row_ones(n)
            bias.add_dot(ones, grad_output)
        if not need_input_grad:
            return None
        if self.xp is not np:
            return grad_output @ self.weight.data  # type: ignore[no-any-return]
        grad_input: NDArray[Any] = grad_output.dot(self.weight.data)
        return grad_input

    def row_ones(self, n: int) -> NDArray[Any]:
        """A vector of *n* ones of the layer's dtype, kept between calls: ``1^T g`` sums g's rows.

        As a BLAS product it is twice as fast as ``g.sum(axis=0)`` on small batches.
        """
        ones = self._ones
        dtype = self.weight.data.dtype
        if ones is None or ones.shape[0] < n or ones.dtype != dtype:
            xp = self.xp
            ones = _array.ones(n, dtype) if xp is np else xp.ones(n, dtype=dtype, device=self.device)
            self._ones = ones
        return ones if ones.shape[0] == n else ones[:n]

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, dtype={backend.dtype_name(self.weight.data.dtype)})"
        )


class Identity(Module):
    r"""The identity, as ``torch.nn.Identity``: a placeholder layer that changes nothing.

    ::

        y = x
        dL/dx = dL/dy

    Useful where a layer is optional (``norm = BatchNorm1d(n) if use_norm else Identity()``).
    (torch's Identity accepts and ignores any arguments; this one takes none, so a typo is an error.)

    Shape:
        - Input: any shape.  Output: the same.

    Example:
        >>> import numpy as np
        >>> Identity()(np.array([[1.0, -2.0]]))
        array([[ 1., -2.]])
    """

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return *x* (as an array of the module's namespace)."""
        y: NDArray[Any] = _array.as_input(x, self.xp)
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return *grad_output* unchanged if *need_input_grad*, else None."""
        return grad_output if need_input_grad else None
