"""Losses on activated outputs: softmax, sigmoid, identity and exp outputs in scikit-learn's MLP form.

Each loss takes the model's raw outputs ``z`` (logits, shape ``(N, C)``),
maps them through its output function ``p = out(z)`` (:meth:`OutputLoss.output`)
and compares ``p`` with targets ``t`` of the same shape.  For each of them the
gradient with respect to ``z`` is the same simple expression, the one
scikit-learn's ``MLPClassifier`` and ``MLPRegressor`` back-propagate::

    dL/dz = (p - t) / N          (reduction "mean"; "sum" leaves out the / N)

The loss values are computed as scikit-learn computes them (probabilities
clipped to ``[eps, 1 - eps]`` with ``eps`` the dtype's machine epsilon), so a
model trained with them reports scikit-learn's ``loss_curve_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad.nn.activations import sigmoid
from minigrad.nn.losses import Loss, Reduction, check_sample_weight


class OutputLoss(Loss):
    """Base class: a loss on ``p = output(z)`` whose gradient with respect to ``z`` is ``(p - t) / N``.

    Subclasses implement :meth:`output` and :meth:`_value`.  ``backward``
    returns ``(p - t) / N`` (``p - t`` for ``reduction="sum"``), with ``N`` the
    number of rows.
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self._diff: NDArray[Any] | None = None
        self._grad_weights: NDArray[Any] | None = None

    def output(self, z: NDArray[Any]) -> NDArray[Any]:
        """The output function applied to raw outputs *z* (a new array)."""
        raise NotImplementedError

    def _value(self, p: NDArray[Any], t: NDArray[Any]) -> float:
        """The loss of outputs *p* against targets *t*, averaged over rows."""
        raise NotImplementedError

    def _row_losses(self, p: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        """The loss of each row, shape ``(N,)``: :meth:`_value` is their mean (to rounding)."""
        raise NotImplementedError

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """The loss; with *sample_weight* ``w`` the weighted mean ``sum(w_n l_n) / sum(w)`` of the row losses.

        Weighted, ``backward()`` is ``w_n (p_n - t_n) / sum(w)`` ("sum":
        ``w_n (p_n - t_n)``).  All weights 1 give the unweighted loss and
        gradient to rounding (the row losses are summed in another order).
        """
        z, t = self._pair(pred, target)
        if z.ndim != 2:
            raise ValueError(f"{type(self).__name__} expects outputs of shape (N, C), got shape {z.shape}")
        p = self.output(z)
        self._grad_weights = None
        if sample_weight is not None:
            w = check_sample_weight(sample_weight, z.shape[0], z.dtype)
            total = float(np.dot(self._row_losses(p, t), w))
            denominator = float(w.sum()) if self.reduction == "mean" else 1.0
            self._grad_weights = (w * (1.0 / denominator if denominator else 0.0))[:, np.newaxis]
            p -= t
            self._diff = p
            return total / denominator if denominator else 0.0
        value = self._value(p, t)
        p -= t  # the gradient's numerator, p - t (p is a new array)
        self._diff = p
        return value if self.reduction == "mean" else value * z.shape[0]

    def backward(self) -> NDArray[Any]:
        diff = self._diff
        if diff is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss was computed")
        if self._grad_weights is not None:
            weighted: NDArray[Any] = diff * self._grad_weights
            return weighted
        if self.reduction == "sum":
            return diff
        grad: NDArray[Any] = diff / diff.shape[0]
        return grad


def _column_means(a: NDArray[Any]) -> NDArray[Any]:
    """``a.mean(axis=0)``, the same sum and division, without ``np.mean``'s argument handling."""
    means: NDArray[Any] = np.add.reduce(a, 0) / a.shape[0]
    return means


#: The machine epsilon of each float dtype (``np.finfo`` takes microseconds, a lookup here nanoseconds).
_EPS = {np.dtype(t): float(np.finfo(t).eps) for t in (np.float32, np.float64)}


def _clipped(p: NDArray[Any]) -> NDArray[Any]:
    """*p* clipped to ``[eps, 1 - eps]``, ``eps`` the machine epsilon of its dtype (a new array)."""
    eps = p.dtype.type(_EPS[p.dtype])
    clipped: NDArray[Any] = np.clip(p, eps, 1 - eps)
    return clipped


class SoftmaxLogLoss(OutputLoss):
    r"""Softmax cross-entropy against target probabilities (one-hot rows), scikit-learn's multi-class log loss.

    For logits ``z`` and targets ``t`` of shape ``(N, C)``::

        p_n = exp(z_n - max_c z_nc) / sum_c exp(z_nc - max_c z_nc)
        L = -sum_c (1/N) sum_n t_nc log(clip(p_nc, eps, 1 - eps))
        dL/dz = (p - t) / N

    The gradient is exact for rows of ``t`` that sum to 1 (away from the
    clipping).  :class:`~minigrad.CrossEntropyLoss` is the same loss for class
    indices, computed by log-sum-exp without clipping.

    Example:
        >>> import numpy as np
        >>> loss_fn = SoftmaxLogLoss()
        >>> round(loss_fn(np.array([[0.0, 0.0], [0.0, np.log(3.0)]]), np.array([[1.0, 0.0], [0.0, 1.0]])), 6)
        0.490415
        >>> loss_fn.backward()
        array([[-0.25 ,  0.25 ],
               [ 0.125, -0.125]])
    """

    def output(self, z: NDArray[Any]) -> NDArray[Any]:
        """The row-wise softmax, ``exp(z - max)`` divided by its row sum."""
        p: NDArray[Any] = np.exp(z - z.max(axis=1)[:, np.newaxis])
        p /= p.sum(axis=1)[:, np.newaxis]
        return p

    def _value(self, p: NDArray[Any], t: NDArray[Any]) -> float:
        return float(-_column_means(t * np.log(_clipped(p))).sum())

    def _row_losses(self, p: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        rows: NDArray[Any] = -(t * np.log(_clipped(p))).sum(axis=1)
        return rows


class SigmoidLogLoss(OutputLoss):
    r"""Binary cross-entropy of sigmoid outputs against 0/1 targets, per column: scikit-learn's binary log loss.

    For logits ``z`` and targets ``t`` of shape ``(N, C)`` (one column per
    binary label; one column for a binary problem)::

        p = 1 / (1 + exp(-z)),  q = clip(p, eps, 1 - eps)
        L = -sum_c (1/N) sum_n [t_nc log q_nc + (1 - t_nc) log(1 - q_nc)]
        dL/dz = (p - t) / N

    :class:`~minigrad.BCEWithLogitsLoss` is the same loss averaged over
    columns too, computed from the logits without clipping.

    Example:
        >>> import numpy as np
        >>> loss_fn = SigmoidLogLoss()
        >>> round(loss_fn(np.array([[0.0], [0.0]]), np.array([[1.0], [0.0]])), 6)   # log 2
        0.693147
        >>> loss_fn.backward()
        array([[-0.25],
               [ 0.25]])
    """

    def output(self, z: NDArray[Any]) -> NDArray[Any]:
        """The logistic function, :func:`minigrad.nn.activations.sigmoid`."""
        return sigmoid(z)

    def _value(self, p: NDArray[Any], t: NDArray[Any]) -> float:
        q = _clipped(p)
        return float(-_column_means(t * np.log(q) + (1 - t) * np.log(1 - q)).sum())

    def _row_losses(self, p: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        q = _clipped(p)
        rows: NDArray[Any] = -(t * np.log(q) + (1 - t) * np.log(1 - q)).sum(axis=1)
        return rows


class HalfSquaredLoss(OutputLoss):
    r"""Half the mean squared error, with the gradient scikit-learn's ``MLPRegressor`` descends.

    For outputs ``p = z`` and targets ``t`` of shape ``(N, C)``::

        L = (1/2) (1/C) sum_c (1/N) sum_n (t_nc - p_nc)**2
        backward() = (p - t) / N

    For one output (``C = 1``) ``backward()`` is ``dL/dz``.  For ``C`` outputs
    it is ``C`` times ``dL/dz``: it is the gradient of the per-sample *sum*
    over outputs, which is what scikit-learn trains on, while the value
    reported (and recorded in its ``loss_curve_``) is the mean over outputs.

    Example:
        >>> import numpy as np
        >>> loss_fn = HalfSquaredLoss()
        >>> loss_fn(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))   # (1 + 4) / 2 / 2
        1.25
        >>> loss_fn.backward()
        array([[0.5],
               [1. ]])
    """

    def output(self, z: NDArray[Any]) -> NDArray[Any]:
        """The identity (a copy of *z*)."""
        return z.copy()

    def _value(self, p: NDArray[Any], t: NDArray[Any]) -> float:
        return float(0.5 * _column_means((t - p) ** 2).mean())

    def _row_losses(self, p: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        rows: NDArray[Any] = 0.5 * ((t - p) ** 2).mean(axis=1)
        return rows


class HalfPoissonLoss(OutputLoss):
    r"""Half the Poisson deviance of ``p = exp(z)``, scikit-learn's ``MLPRegressor(loss="poisson")``.

    For logits ``z`` (log-means) and counts ``t ≥ 0`` of shape ``(N, C)``::

        p = exp(z)
        L = sum_c (1/N) sum_n [t log(t / p) - t + p]     (t log(t / p) = 0 where t = 0)
        dL/dz = (p - t) / N

    Example:
        >>> import numpy as np
        >>> loss_fn = HalfPoissonLoss()
        >>> loss_fn(np.array([[0.0], [0.0]]), np.array([[1.0], [0.0]]))   # (0 - 1 + 1 + 0 - 0 + 1) / 2
        0.5
        >>> loss_fn.backward()
        array([[0. ],
               [0.5]])
    """

    def output(self, z: NDArray[Any]) -> NDArray[Any]:
        """The exponential (the log link's inverse)."""
        p: NDArray[Any] = np.exp(z)
        return p

    def _value(self, p: NDArray[Any], t: NDArray[Any]) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            xlogy = np.where(t == 0, 0.0, t * np.log(t / p))
        return float(_column_means(xlogy - t + p).sum())

    def _row_losses(self, p: NDArray[Any], t: NDArray[Any]) -> NDArray[Any]:
        with np.errstate(divide="ignore", invalid="ignore"):
            xlogy = np.where(t == 0, 0.0, t * np.log(t / p))
        rows: NDArray[Any] = (xlogy - t + p).sum(axis=1)
        return rows
