"""Metrics: numbers people read to judge a model (accuracy, R²), not minimised by training.

Both functions take ``(pred, target)`` in that order, like minigrad's losses
(and ``torchmetrics``); scikit-learn's ``accuracy_score`` and ``r2_score`` take
``(y_true, y_pred)``.  Neither broadcasts: shapes must agree as documented.
Arrays of any library are accepted (a model moved by ``model.to(torch)``
gives torch tensors): a metric is a number, computed on NumPy copies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array


def accuracy(pred: ArrayLike, target: ArrayLike, *, threshold: float = 0.5) -> float:
    r"""Fraction of samples whose predicted class equals the target class.

    ::

        accuracy = (1 / N) * sum_i [ŷ_i == t_i]

    The predicted class ``ŷ_i`` comes from the model's output row:

    - ``pred`` of shape ``(N, C)`` with ``C ≥ 2`` (logits or probabilities):
      ``ŷ_i = argmax_c pred[i, c]``.  Softmax is increasing, so logits and
      probabilities give the same classes; ties go to the lowest index.
    - ``pred`` of shape ``(N,)`` or ``(N, 1)`` (one binary output):
      ``ŷ_i = 1 if pred[i] > threshold else 0``.  Use ``threshold=0.5`` for
      probabilities (a sigmoid output) and ``threshold=0.0`` for logits
      (``sigmoid(z) > 0.5`` exactly when ``z > 0``).

    The target class ``t_i`` is an integer class index (``(N,)`` or ``(N, 1)``,
    whichever of the two ``pred`` has, as ``fit`` accepts;
    floats with integer values such as ``1.0`` are accepted), or, for ``(N, C)``
    predictions, a one-hot or probability row of shape ``(N, C)`` whose argmax
    is the class.

    Args:
        pred: model outputs, shape ``(N, C)``, ``(N, 1)`` or ``(N,)``.
        target: class indices or one-hot rows, as above.
        threshold: decision threshold for a single binary output.

    Returns:
        A float in ``[0, 1]``.

    Raises:
        ValueError: no samples, different numbers of samples, NaN/inf in
            ``pred``, non-integer class indices, or shapes that do not fit.

    Example:
        >>> import numpy as np
        >>> logits = np.array([[2.0, 0.1, -1.0], [0.0, 3.0, 1.0], [0.5, 0.2, 0.9]])
        >>> accuracy(logits, np.array([0, 1, 1]))
        0.6666666666666666
        >>> accuracy(np.array([[-0.3], [1.2]]), np.array([0, 1]), threshold=0.0)
        1.0
    """
    pred, target = _host(pred), _host(target)
    p = _array.as_float_array(pred, _array.result_dtype(pred), "pred")
    t = _array.as_float_array(target, np.dtype(np.float64), "target")
    if p.ndim not in (1, 2) or p.shape[0] == 0:
        raise ValueError(f"pred must have shape (N,), (N, 1) or (N, C) with N >= 1, got {p.shape}")
    n = p.shape[0]
    if t.ndim == 0 or t.shape[0] != n:
        raise ValueError(f"pred and target have different numbers of samples: {p.shape} and {t.shape}")
    _array.check_finite(p, "pred")
    _array.check_finite(t, "target")
    multiclass = p.ndim == 2 and p.shape[1] >= 2
    if multiclass and t.shape == p.shape:
        return float(np.mean(p.argmax(axis=1) == t.argmax(axis=1)))
    if t.ndim == 2 and t.shape[1] == 1:
        t = t.reshape(-1)
    if t.ndim != 1:
        expected = f"(N,) or (N, 1), or {p.shape} one-hot" if multiclass else "(N,) or (N, 1)"
        raise ValueError(f"target must have shape {expected}, got {t.shape}")
    if not np.array_equal(t, np.round(t)):
        raise ValueError("target class indices must be whole numbers (0, 1, 2, ...)")
    predicted: NDArray[Any] = p.argmax(axis=1) if multiclass else (p.reshape(-1) > threshold)
    return float(np.mean(predicted == t))


def r2_score(pred: ArrayLike, target: ArrayLike) -> float:
    r"""Coefficient of determination R², averaged uniformly over outputs.

    For each output column ``j`` with targets ``t`` and predictions ``p``::

        SS_res = sum_i (t_ij - p_ij)**2
        SS_tot = sum_i (t_ij - mean_i t_ij)**2
        R²_j   = 1 - SS_res / SS_tot

    and the result is ``mean_j R²_j`` (scikit-learn's ``multioutput=
    "uniform_average"``).  1 is a perfect fit, 0 is as good as predicting
    the mean, and it is negative for worse.  A constant target column
    (``SS_tot = 0``) scores 1 when predicted exactly and 0 otherwise, as
    scikit-learn does by default.

    Args:
        pred: predictions, shape ``(N,)`` or ``(N, outputs)``.
        target: targets, the same shape as ``pred``; for a single output,
            ``(N,)`` and ``(N, 1)`` go together either way (as ``fit``
            accepts ``y`` of shape ``(N,)`` for a model with one output).
            Nothing else is broadcast.

    Raises:
        ValueError: shapes differ, fewer than two samples, or NaN/inf.

    Example:
        >>> import numpy as np
        >>> r2_score(np.array([2.5, 0.0, 2.0, 8.0]), np.array([3.0, -0.5, 2.0, 7.0]))
        0.9486081370449679
        >>> r2_score(np.array([[2.5], [0.0], [2.0], [8.0]]), np.array([3.0, -0.5, 2.0, 7.0]))
        0.9486081370449679
    """
    p = _array.as_float_array(_host(pred), np.dtype(np.float64), "pred")
    t = _array.as_float_array(_host(target), np.dtype(np.float64), "target")
    if p.ndim + t.ndim == 3 and p.shape[0] == t.shape[0] and (p.shape[1:] or t.shape[1:]) == (1,):
        p, t = p.reshape(-1), t.reshape(-1)  # one output: (N, 1) against (N,), either way round
    if p.shape != t.shape:
        raise ValueError(f"pred shape {p.shape} and target shape {t.shape} differ; r2_score does not broadcast")
    if p.ndim not in (1, 2):
        raise ValueError(f"r2_score expects 1-D or 2-D arrays, got shape {p.shape}")
    if p.shape[0] < 2:
        raise ValueError(f"r2_score needs at least two samples, got {p.shape[0]}")
    _array.check_finite(p, "pred")
    _array.check_finite(t, "target")
    p2 = p.reshape(p.shape[0], -1)
    t2 = t.reshape(t.shape[0], -1)
    ss_res = ((t2 - p2) ** 2).sum(axis=0)
    ss_tot = ((t2 - t2.mean(axis=0)) ** 2).sum(axis=0)
    scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def _host(a: ArrayLike) -> ArrayLike:
    """An array of any library as NumPy values (a metric is a number, computed on the host); other data as it is."""
    return backend.to_numpy(a) if backend.library_of(a) not in (None, "numpy") else a
