"""Normalisation layers: BatchNorm1d (over the batch) and LayerNorm (over each sample's features)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter


def _check_eps(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a number, got {type(eps).__name__}")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    return float(eps)


def _accumulate(p: Parameter, value: Any) -> None:
    """``p.grad += value``, in place."""
    g = p.grad
    if isinstance(g, np.ndarray):
        _array.add_into(g, value)
    else:
        g += value


class BatchNorm1d(Module):
    r"""Normalise each feature over the batch, then scale and shift, as ``torch.nn.BatchNorm1d``.

    For an input ``x`` of shape ``(N, C)`` (or ``(N, C, L)``: statistics over ``N`` and ``L``), per
    channel ``c``, with ``n`` values per channel, in training mode::

        μ = mean(x)                       σ² = mean((x - μ)²)            (biased: / n)
        x̂ = (x - μ) / sqrt(σ² + ε)        y = γ x̂ + β
        running_mean ← (1 - m) running_mean + m μ
        running_var  ← (1 - m) running_var  + m σ² n / (n - 1)          (unbiased: / (n - 1))
        num_batches_tracked ← num_batches_tracked + 1

    with ``m`` the ``momentum`` (``momentum=None``: ``m = 1 / num_batches_tracked``, the cumulative
    average of all batches so far).  Backward, with ``g = dL/dy`` and sums over the ``n`` values::

        dL/dγ += sum(g x̂)        dL/dβ += sum(g)
        dL/dx = γ / (n sqrt(σ² + ε)) (n g - sum(g) - x̂ sum(g x̂))

    In evaluation mode ``μ`` and ``σ²`` are ``running_mean`` and ``running_var``, fixed, so
    ``dL/dx = γ g / sqrt(running_var + ε)``; with ``track_running_stats=False`` there are no running
    statistics and the batch's are used in both modes.  A batch of one value per channel cannot be
    normalised in training mode: ValueError, as torch.

    ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked`` (an int64 0-d
    array) are buffers: in ``state_dict``, saved by ``mg.save``, never seen by an optimizer.
    ``load_state_dict`` and ``mg.load`` refuse (ValueError, the module unchanged) a
    ``running_var`` that is negative, NaN or inf and a negative ``num_batches_tracked``; a
    ``running_var`` of exactly 0 is accepted (torch accepts any value), as ``ε > 0`` keeps
    ``1 / sqrt(running_var + ε)`` finite.
    ``forward`` caches ``x̂`` and ``1 / sqrt(σ² + ε)``.

    Args:
        num_features: ``C``, ≥ 1.
        eps: ``ε`` > 0, added to the variance.
        momentum: ``m`` in ``[0, 1]``, or None for the cumulative average.
        affine: learn ``γ`` (``weight``, ones) and ``β`` (``bias``, zeros); otherwise ``y = x̂``.
        track_running_stats: keep the running statistics (else use batch statistics always).
        dtype: float64 (default) or float32, of the parameters, buffers and computations.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> bn = BatchNorm1d(2)
        >>> x = np.array([[1.0, 10.0], [3.0, 30.0]])
        >>> bn(x).round(4)
        array([[-1., -1.],
               [ 1.,  1.]])
        >>> bn.running_mean, bn.running_var, bn.num_batches_tracked
        (array([0.2, 2. ]), array([ 1.1, 20.9]), array(1))
        >>> bn.eval()(x).round(4)
        array([[0.7628, 1.7499],
               [2.6697, 6.1247]])
    """

    _buffer_names: ClassVar[tuple[str, ...]] = ("running_mean", "running_var", "num_batches_tracked")
    _nonnegative_buffer_names: ClassVar[tuple[str, ...]] = ("running_var",)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        self.num_features = int(num_features)
        self.eps = _check_eps(eps)
        if momentum is not None:
            if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.integer, np.floating)):
                raise TypeError(f"momentum must be a number or None, got {type(momentum).__name__}")
            if not 0.0 <= momentum <= 1.0:
                raise ValueError(f"momentum must be in [0, 1] (or None for a cumulative average), got {momentum}")
            momentum = float(momentum)
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = _array.float_dtype(dtype)
        c = self.num_features
        self.weight: Parameter | None = Parameter(np.ones(c, dtype=dt)) if self.affine else None
        self.bias: Parameter | None = Parameter(np.zeros(c, dtype=dt)) if self.affine else None
        self.running_mean: Any = np.zeros(c, dtype=dt) if self.track_running_stats else None
        self.running_var: Any = np.ones(c, dtype=dt) if self.track_running_stats else None
        self.num_batches_tracked: Any = np.array(0, dtype=np.int64) if self.track_running_stats else None
        self._dtype = dt
        self._xhat: Any = None
        self._inv_std: Any = None
        self._batch_stats = True

    def _stats_shape(self, ndim: int) -> tuple[int, ...]:
        return (1, self.num_features) if ndim == 2 else (1, self.num_features, 1)

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Normalise with the batch's statistics (training) or the running ones (evaluation); scale and shift."""
        xp = self.xp
        dtype = self.weight.data.dtype if self.weight is not None else self._dtype
        xa = _array.as_input(x, xp, dtype if xp is np else None)
        shape = tuple(xa.shape)
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d expects input of shape (N, {self.num_features}) or (N, {self.num_features}, L), "
                f"got {shape}"
            )
        axes = (0,) if len(shape) == 2 else (0, 2)
        n = shape[0] * (shape[2] if len(shape) == 3 else 1)
        bshape = self._stats_shape(len(shape))
        batch_stats = self.training or self.running_mean is None
        if batch_stats:
            if self.training and n <= 1:
                raise ValueError(
                    f"BatchNorm1d needs more than 1 value per channel in training mode, got input of shape {shape}; "
                    "use a larger batch, or call model.eval() to use the running statistics"
                )
            mean = xp.mean(xa, axis=axes, keepdims=True)
            centred = xa - mean
            var = xp.mean(centred * centred, axis=axes, keepdims=True)
            if self.training and self.running_mean is not None:
                self._update_running_stats(xp.reshape(mean, (-1,)), xp.reshape(var, (-1,)), n)
        else:
            centred = xa - xp.reshape(self.running_mean, bshape)
            var = xp.reshape(self.running_var, bshape)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = centred * inv_std
        self._xhat, self._inv_std, self._batch_stats = xhat, inv_std, batch_stats
        if self.weight is None or self.bias is None:
            return xhat  # type: ignore[no-any-return]
        y: NDArray[Any] = xhat * xp.reshape(self.weight.data, bshape) + xp.reshape(self.bias.data, bshape)
        return y

    def _update_running_stats(self, mean: Any, var: Any, n: int) -> None:
        self.num_batches_tracked += 1
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        rm, rv = self.running_mean, self.running_var
        rm *= 1.0 - m
        rm += m * mean
        rv *= 1.0 - m
        rv += m * (var * (n / (n - 1)))

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Add ``sum(g x̂)`` and ``sum(g)`` to the parameter gradients; return ``dL/dx`` if asked, else None."""
        xhat = self._xhat
        if xhat is None:
            raise RuntimeError("BatchNorm1d.backward called before forward")
        if tuple(grad_output.shape) != tuple(xhat.shape):
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {tuple(xhat.shape)}")
        xp = self.xp
        ndim = xhat.ndim
        axes = (0,) if ndim == 2 else (0, 2)
        bshape = self._stats_shape(ndim)
        g = grad_output
        sum_g = xp.sum(g, axis=axes, keepdims=True)
        sum_gx = xp.sum(g * xhat, axis=axes, keepdims=True)
        if self.weight is not None and self.bias is not None:
            _accumulate(self.weight, xp.reshape(sum_gx, (-1,)))
            _accumulate(self.bias, xp.reshape(sum_g, (-1,)))
        if not need_input_grad:
            return None
        scale = self._inv_std if self.weight is None else self._inv_std * xp.reshape(self.weight.data, bshape)
        if not self._batch_stats:
            grad: NDArray[Any] = g * scale
            return grad
        n = xhat.shape[0] * (xhat.shape[2] if ndim == 3 else 1)
        grad = (scale / n) * (n * g - sum_g - xhat * sum_gx)
        return grad

    def __repr__(self) -> str:
        return (
            f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats})"
        )


class LayerNorm(Module):
    r"""Normalise each sample over its last dimension(s), then scale and shift, as ``torch.nn.LayerNorm``.

    For the ``M`` values of each sample in the last ``len(normalized_shape)`` axes (the same in
    training and evaluation: no running statistics)::

        μ = mean(x)        σ² = mean((x - μ)²)            (biased: / M)
        x̂ = (x - μ) / sqrt(σ² + ε)        y = γ ⊙ x̂ + β   (γ, β of shape normalized_shape)

    Backward, with ``g = dL/dy``, ``h = γ ⊙ g`` and sums over each sample's ``M`` values (the
    parameter gradients sum over the samples)::

        dL/dγ += sum_samples(g ⊙ x̂)        dL/dβ += sum_samples(g)
        dL/dx = (M h - sum(h) - x̂ sum(h ⊙ x̂)) / (M sqrt(σ² + ε))

    ``forward`` caches ``x̂`` and ``1 / sqrt(σ² + ε)``.

    Args:
        normalized_shape: the trailing shape normalised over: an int (the last axis) or a tuple.
        eps: ``ε`` > 0, added to the variance.
        elementwise_affine: learn ``γ`` (``weight``, ones) and ``β`` (``bias``, zeros).
        bias: learn ``β`` (when ``elementwise_affine``).
        dtype: float64 (default) or float32.

    Shape:
        - Input: ``(*, *normalized_shape)``.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> ln = LayerNorm(3)
        >>> ln(np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])).round(4)
        array([[-1.2247,  0.    ,  1.2247],
               [-0.7071, -0.7071,  1.4142]])
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        if (
            not isinstance(shape, (tuple, list))
            or not shape
            or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in shape)
        ):
            raise ValueError(f"normalized_shape must be a positive int or a tuple of them, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(d) for d in shape)
        self.eps = _check_eps(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dt = _array.float_dtype(dtype)
        self._dtype = dt
        self.weight: Parameter | None = (
            Parameter(np.ones(self.normalized_shape, dtype=dt)) if self.elementwise_affine else None
        )
        self.bias: Parameter | None = (
            Parameter(np.zeros(self.normalized_shape, dtype=dt)) if self.elementwise_affine and bias else None
        )
        self._xhat: Any = None
        self._inv_std: Any = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``γ ⊙ (x - μ) / sqrt(σ² + ε) + β``, statistics per sample."""
        xp = self.xp
        xa = _array.as_input(x, xp, self._dtype if xp is np else None)
        k = len(self.normalized_shape)
        if tuple(xa.shape[xa.ndim - k :]) != self.normalized_shape or xa.ndim < k:
            raise ValueError(
                f"LayerNorm expects input of shape (*, {', '.join(map(str, self.normalized_shape))}), "
                f"got {tuple(xa.shape)}"
            )
        axes = tuple(range(xa.ndim - k, xa.ndim))
        mean = xp.mean(xa, axis=axes, keepdims=True)
        centred = xa - mean
        var = xp.mean(centred * centred, axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        xhat = centred * inv_std
        self._xhat, self._inv_std = xhat, inv_std
        y = xhat if self.weight is None else xhat * self.weight.data
        if self.bias is not None:
            y = y + self.bias.data
        return y  # type: ignore[no-any-return]

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Add ``sum(g x̂)`` and ``sum(g)`` over the samples to the parameter gradients; return ``dL/dx`` if asked."""
        xhat = self._xhat
        if xhat is None:
            raise RuntimeError("LayerNorm.backward called before forward")
        if tuple(grad_output.shape) != tuple(xhat.shape):
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {tuple(xhat.shape)}")
        xp = self.xp
        k = len(self.normalized_shape)
        lead = tuple(range(xhat.ndim - k))
        g = grad_output
        if self.weight is not None:
            _accumulate(self.weight, xp.sum(g * xhat, axis=lead) if lead else g * xhat)
        if self.bias is not None:
            _accumulate(self.bias, xp.sum(g, axis=lead) if lead else g)
        if not need_input_grad:
            return None
        h = g if self.weight is None else g * self.weight.data
        axes = tuple(range(xhat.ndim - k, xhat.ndim))
        m = math.prod(self.normalized_shape)
        sum_h = xp.sum(h, axis=axes, keepdims=True)
        sum_hx = xp.sum(h * xhat, axis=axes, keepdims=True)
        grad: NDArray[Any] = (self._inv_std / m) * (m * h - sum_h - xhat * sum_hx)
        return grad

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine})"
