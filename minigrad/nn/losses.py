"""Loss functions: a number that says how wrong the predictions are, and its gradient."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.activations import sigmoid

Reduction = Literal["mean", "sum"]


class Loss:
    """Base class of losses.

    ``loss_fn(pred, target)`` returns the loss as a Python float and keeps what
    ``loss_fn.backward()`` needs to return ``dL/dpred`` (same shape as
    ``pred``).  Shapes must match exactly: a loss never broadcasts, so an
    ``(N, 1)`` prediction against an ``(N,)`` target is an error, not an
    ``(N, N)`` matrix.

    ``class_targets`` is True for losses whose target holds class indices of
    shape ``(N,)`` instead of values shaped like the prediction
    (:class:`CrossEntropyLoss`), so a training loop knows to keep such a target 1-D.

    Sample weights: ``loss_fn(pred, target, sample_weight=w)`` weighs sample
    ``i`` (row ``i`` of the first axis) by ``w_i``, with ``w`` of shape
    ``(N,)``, finite and ≥ 0 (ValueError otherwise; never broadcast).  With
    ``l_ij`` the loss of element ``j`` of sample ``i`` (``m`` elements per
    sample; one per sample for CrossEntropyLoss)::

        mean:  L = sum_ij(w_i l_ij) / (m sum_i w_i)  = sum_i w_i l_i / sum_i w_i
        sum:   L = sum_ij(w_i l_ij)
        dL/dpred_ij = w_i / (m sum_i w_i) · dl_ij/dpred_ij   ("sum": w_i · dl_ij/dpred_ij)

    where ``l_i`` is sample ``i``'s own loss (the mean of its ``l_ij``): the
    weighted mean of the per-sample losses, as ``fit(..., sample_weight=w)``
    and scikit-learn define it.  (Keras divides by the batch size instead of
    ``sum w``; for CrossEntropyLoss with ``w_i = class_weight[y_i]`` this is
    ``torch.nn.CrossEntropyLoss(weight=class_weight)``.)  With every weight 1
    the loss and its gradient equal the unweighted ones bit for bit; weights
    that are all zero give a loss of 0 and a zero gradient.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> loss_fn = mg.MSELoss()
        >>> loss_fn(np.array([1.0, 3.0]), np.array([0.0, 0.0]), sample_weight=np.array([3.0, 1.0]))
        3.0
        >>> loss_fn.backward()  # 2 w_i (p_i - t_i) / sum(w)
        array([1.5, 1.5])
    """

    class_targets: ClassVar[bool] = False

    def __init__(self, reduction: Reduction = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction: Reduction = reduction

    def __call__(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        if sample_weight is None:
            return self.forward(pred, target)
        return self.forward(pred, target, sample_weight=sample_weight)

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Return the loss of *pred* against *target* (weighted by *sample_weight*: see the class)."""
        raise NotImplementedError

    def backward(self) -> NDArray[Any]:
        """Return d loss / d pred for the last ``forward``."""
        raise NotImplementedError

    def check_target(self, target: NDArray[Any], name: str = "target") -> None:
        """Raise ValueError if *target* holds a value this loss does not take; the base class takes any.

        ``fit`` calls it on all its targets (``y`` and ``y_val``) before the
        first update, so that a bad value in a later mini-batch cannot stop
        training halfway; a loss with a restricted target range overrides it
        (and checks the same way in ``forward``).  *name* is what messages
        call the array.
        """

    def _pair(self, pred: ArrayLike, target: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
        """*pred* and *target* as float arrays of one dtype and one shape, or ValueError/TypeError.

        The dtype is *pred*'s when it is float32 or float64 (float64 otherwise);
        arrays that already have it are used as they are, without a copy.
        """
        if (
            type(pred) is np.ndarray  # (not a subclass: a masked array goes to as_float_array, which refuses it)
            and type(target) is np.ndarray
            and (dt := pred.dtype) is target.dtype  # ("is": the common case, without ==; equal ones convert below)
            and dt in _array.FLOAT_DTYPES
        ):
            p, t = pred, target  # the common case, with no conversion to make
        else:
            xp = _pair_namespace(pred, target)
            if xp is np:
                p = _array.as_float_array(pred, _array.result_dtype(pred), "prediction")
                t = _array.as_float_array(target, p.dtype, "target")
            else:  # another library: the target must be of it too (a list is converted onto pred's device)
                p = backend.as_float(pred, xp, None, None, "prediction")
                device = backend.device_of(p) if backend.library_of(target) is None else None
                t = backend.as_float(target, xp, p.dtype, device, "target")
                if tuple(p.shape) != tuple(t.shape) or math.prod(p.shape) == 0:
                    self._check_shapes(p, t)
                return p, t
        if p.shape != t.shape or p.size == 0:
            self._check_shapes(p, t)
        return p, t

    @staticmethod
    def _check_shapes(pred: NDArray[Any], target: NDArray[Any]) -> None:
        if tuple(pred.shape) != tuple(target.shape):
            raise ValueError(
                f"prediction shape {tuple(pred.shape)} and target shape {tuple(target.shape)} differ; "
                "losses do not broadcast (reshape the target to the prediction's shape)"
            )
        if math.prod(pred.shape) == 0:
            raise ValueError("cannot compute a loss over an empty prediction")

    def _weights(self, sample_weight: ArrayLike, pred: Any) -> tuple[Any, float]:
        """The weights as a column that multiplies *pred*'s rows, and the denominator of the reduction.

        ``w`` of shape ``(N,)`` (``N = pred.shape[0]``) becomes an array of
        *pred*'s library, dtype and device shaped ``(N, 1, ..., 1)``.  The
        denominator ``D`` is ``sum(w) · m`` for "mean", with ``m`` the
        elements per sample, and 1 for "sum": the loss is ``sum(w_i l_ij) / D``.
        With all weights 1, ``D`` is exactly the number of elements, the
        unweighted denominator, so the loss and its gradient are the
        unweighted ones bit for bit.
        """
        n = pred.shape[0] if pred.ndim else -1
        xp = _xp(pred)
        if xp is np:
            w = check_sample_weight(sample_weight, n, pred.dtype)
        else:
            w = _check_sample_weight_xp(sample_weight, n, pred, xp)
        denominator = float(xp.sum(w)) * (_size(pred) // n) if self.reduction == "mean" else 1.0
        return xp.reshape(w, (-1,) + (1,) * (pred.ndim - 1)), denominator

    def _reduce_weighted(self, elementwise: Any, sample_weight: ArrayLike | None) -> float:
        """Reduce the element losses ``l_ij`` (weighted by *sample_weight*); keep the gradient's scale.

        Unweighted: ``sum(l) / n`` ("mean") or ``sum(l)``.  Weighted:
        ``sum(w_i l_ij) / D`` (see :meth:`_weights`), and :meth:`_grad_scale`
        then gives ``w_i / D`` per row.
        """
        xp = _xp(elementwise)
        if sample_weight is None:
            self._grad_weights = None
            return self.reduced(float(xp.sum(elementwise)), _size(elementwise))
        w, denominator = self._weights(sample_weight, elementwise)
        self._grad_weights = w * _per(1.0, denominator)
        return _per(float(xp.sum(elementwise * w)), denominator)

    def reduced(self, total: float, count: int) -> float:
        """The reduction of element losses that add up to *total* over *count* elements: ``total / count`` for
        "mean", *total* for "sum"."""
        return total / count if self.reduction == "mean" else total

    def _grad_scale(self, count: int) -> Any:
        """d(reduced)/d(element loss) of the last forward: ``1/count`` or 1, or the column ``w_i / D``."""
        weights: Any = getattr(self, "_grad_weights", None)
        return _scale(self, count) if weights is None else weights

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


def check_sample_weight(sample_weight: ArrayLike, n: int, dtype: Any, name: str = "sample_weight") -> NDArray[Any]:
    """*sample_weight* as a NumPy array of *dtype* and shape ``(n,)``, checked: finite and ≥ 0.

    Raises ValueError for another shape (never broadcast), NaN/inf or a
    negative weight, and TypeError for non-numeric or masked data; the
    message names the first bad value.  The caller's array is never
    modified.  Weights that are all zero are allowed here (a mini-batch may
    hold only such samples); fit refuses them for the whole data.

    Example:
        >>> check_sample_weight([1, 0.5], 2, np.float64)
        array([1. , 0.5])
        >>> check_sample_weight([[1.0, 2.0]], 2, np.float64)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: sample_weight must have shape (2,), one weight per sample, got shape (1, 2)...
    """
    w = _array.as_float_array(sample_weight, np.dtype(dtype), name)
    if w.shape != (n,):
        _wrong_weight_shape(name, n, w.shape, w.size)
    _array.check_finite(w, name)
    if n and not w.min() >= 0:
        i = int(np.argmax(w < 0))
        raise ValueError(f"{name} must be >= 0, got {w[i].item()!r} at index {i}")
    return w


def _check_sample_weight_xp(sample_weight: ArrayLike, n: int, pred: Any, xp: Any) -> Any:
    """:func:`check_sample_weight` for a prediction of another library: the weights in its namespace and device."""
    name = "sample_weight"
    w = backend.as_float(sample_weight, xp, pred.dtype, backend.device_of(pred), name)
    if tuple(w.shape) != (n,):
        _wrong_weight_shape(name, n, tuple(w.shape), _size(w))
    backend.check_finite(w, xp, name)
    if n and not bool(xp.all(w >= 0)):
        raise ValueError(f"{name} must be >= 0, got a negative weight")
    return w


def _wrong_weight_shape(name: str, n: int, shape: tuple[int, ...], size: int) -> None:
    if n < 0:
        raise ValueError(f"{name} needs a prediction with a sample axis, got a 0-d prediction")
    hint = " (pass w.ravel())" if size == n else ""
    raise ValueError(f"{name} must have shape ({n},), one weight per sample, got shape {shape}{hint}")


def _pair_namespace(pred: Any, target: Any) -> Any:
    """The namespace a loss computes in: *pred*'s library, or *target*'s when *pred* is a list."""
    if backend.library_of(pred) is not None:
        return backend.namespace_of(pred)
    if backend.library_of(target) not in (None, "numpy"):
        return backend.namespace_of(target)
    return np


def _xp(a: Any) -> Any:
    """The namespace of the checked array *a* (NumPy at the cost of one type check)."""
    return np if isinstance(a, np.ndarray) else backend.namespace_of(a)


def _size(a: Any) -> int:
    """The number of elements of an array of any library (torch's ``size`` is a method)."""
    return math.prod(a.shape)


class MSELoss(Loss):
    r"""Mean squared error, as ``torch.nn.MSELoss``.

    For predictions ``p`` and targets ``t`` with ``n`` elements in all::

        mean:  L = sum((p - t)**2) / n        dL/dp = 2 (p - t) / n
        sum:   L = sum((p - t)**2)            dL/dp = 2 (p - t)

    The seed's error is ``delta ** 2`` with ``delta = prediction - goal`` and
    its update is ``weight -= delta * input * alpha``: it leaves out the 2 of
    the derivative.  With this loss the same update is SGD with
    ``lr = alpha / 2``; halving and doubling are exact in binary floating
    point, so the two give identical weights bit for bit.

    Example:
        >>> import numpy as np
        >>> loss_fn = MSELoss()
        >>> loss_fn(np.array([[500_000.0]]), np.array([[99_750_000.0]]))
        9850562500000000.0
        >>> loss_fn.backward()
        array([[-1.985e+08]])
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self._diff: NDArray[Any] | None = None
        self._grad_weights: NDArray[Any] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        p, t = self._pair(pred, target)
        diff = p - t
        self._diff = diff
        if sample_weight is not None:
            w, denominator = self._weights(sample_weight, diff)
            self._grad_weights = w * _per(2.0, denominator)
            if isinstance(diff, np.ndarray):
                return _per(float(np.vdot(diff * w, diff)), denominator)
            return _per(float(_xp(diff).sum(diff * w * diff)), denominator)
        self._grad_weights = None
        if isinstance(diff, np.ndarray):
            return self.reduced(float(np.vdot(diff, diff)), diff.size)  # (vdot: _array.sum_of_squares, inlined)
        return self.reduced(float(_xp(diff).sum(diff * diff)), _size(diff))

    def backward(self) -> NDArray[Any]:
        diff = self._diff
        if diff is None:
            raise RuntimeError("MSELoss.backward called before the loss was computed")
        weights = self._grad_weights
        if weights is not None:
            grad: NDArray[Any] = diff * weights
            return grad
        return diff * self.grad_scale(diff.size if isinstance(diff, np.ndarray) else _size(diff))

    def grad_scale(self, size: int) -> float:
        """The factor in ``dL/dp = factor * (p - t)``: ``2 / size`` for "mean", 2 for "sum"."""
        return 2.0 / size if self.reduction == "mean" else 2.0


def _per(total: float, denominator: float) -> float:
    """``total / denominator``, and 0 for a denominator of 0 (weights that are all zero: nothing to learn)."""
    return total / denominator if denominator else 0.0


def _scale(loss: Loss, count: int) -> float:
    """The factor d(reduced)/d(element loss): ``1/count`` for "mean", 1 for "sum"."""
    return 1.0 / count if loss.reduction == "mean" else 1.0


class L1Loss(Loss):
    r"""Mean absolute error, as ``torch.nn.L1Loss``.

    For predictions ``p`` and targets ``t`` with ``n`` elements in all::

        mean:  L = sum(|p - t|) / n           dL/dp = sign(p - t) / n
        sum:   L = sum(|p - t|)               dL/dp = sign(p - t)

    with ``sign(0) = 0`` (PyTorch's subgradient at the kink).

    Example:
        >>> import numpy as np
        >>> loss_fn = L1Loss()
        >>> loss_fn(np.array([[1.0], [2.0]]), np.array([[0.0], [4.0]]))
        1.5
        >>> loss_fn.backward()
        array([[ 0.5],
               [-0.5]])
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self._diff: NDArray[Any] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        p, t = self._pair(pred, target)
        diff = p - t
        self._diff = diff
        return self._reduce_weighted(_xp(diff).abs(diff), sample_weight)

    def backward(self) -> NDArray[Any]:
        diff = self._diff
        if diff is None:
            raise RuntimeError("L1Loss.backward called before the loss was computed")
        grad: NDArray[Any] = _xp(diff).sign(diff) * self._grad_scale(_size(diff))
        return grad


class HuberLoss(Loss):
    r"""Huber loss, as ``torch.nn.HuberLoss``: squared near the target, linear far from it.

    With ``d = p - t`` element-wise and threshold ``δ`` (``delta``)::

        l(d)  = d**2 / 2                 if |d| < δ
              = δ (|d| - δ/2)            otherwise
        l'(d) = clip(d, -δ, δ)

    reduced over the ``n`` elements by mean (``L = sum(l) / n``,
    ``dL/dp = l'(d) / n``) or sum.  Both pieces and their slopes meet at
    ``|d| = δ``.  With ``δ = 1`` this equals ``torch.nn.SmoothL1Loss``.

    Args:
        reduction: "mean" or "sum".
        delta: the threshold δ > 0.

    Example:
        >>> import numpy as np
        >>> loss_fn = HuberLoss(delta=1.0)
        >>> loss_fn(np.array([0.5, 3.0]), np.array([0.0, 0.0]))
        1.3125
        >>> loss_fn.backward()
        array([0.25, 0.5 ])
    """

    def __init__(self, reduction: Reduction = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if isinstance(delta, bool) or not isinstance(delta, (int, float, np.integer, np.floating)):
            raise TypeError(f"delta must be a number, got {type(delta).__name__}")
        if not math.isfinite(delta) or delta <= 0:
            raise ValueError(f"HuberLoss: delta must be a finite number > 0, got {delta}")
        self.delta = float(delta)
        self._diff: NDArray[Any] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        p, t = self._pair(pred, target)
        diff = p - t
        self._diff = diff
        xp = _xp(diff)
        ad = xp.abs(diff)
        delta = self.delta
        elementwise = xp.where(ad < delta, 0.5 * diff * diff, delta * (ad - 0.5 * delta))
        return self._reduce_weighted(elementwise, sample_weight)

    def backward(self) -> NDArray[Any]:
        diff = self._diff
        if diff is None:
            raise RuntimeError("HuberLoss.backward called before the loss was computed")
        grad: NDArray[Any] = _xp(diff).clip(diff, -self.delta, self.delta) * self._grad_scale(_size(diff))
        return grad

    def __repr__(self) -> str:
        return f"HuberLoss(reduction={self.reduction!r}, delta={self.delta})"


class BCEWithLogitsLoss(Loss):
    r"""Binary cross-entropy on logits, as ``torch.nn.BCEWithLogitsLoss``.

    For a logit ``x`` and a target probability ``y ∈ [0, 1]``, with
    ``σ(x) = 1 / (1 + exp(-x))``::

        l = -[y log σ(x) + (1 - y) log(1 - σ(x))]
          = max(x, 0) - x y + log(1 + exp(-|x|))        (the form computed)
        dl/dx = σ(x) - y

    reduced over the ``n`` elements by mean or sum.  The second form is the
    log-sum-exp trick: ``exp(-|x|) ≤ 1`` never overflows, so logits of ±1000
    give finite values and gradients (``log σ(x)`` is never formed).

    Targets must lie in [0, 1] (hard labels 0/1 or soft labels); anything
    else, NaN included, raises ValueError.

    Example:
        >>> import numpy as np
        >>> loss_fn = BCEWithLogitsLoss(reduction="sum")
        >>> loss_fn(np.array([0.0, 1000.0, -1000.0]), np.array([1.0, 1.0, 1.0]))
        1000.6931471805599
        >>> loss_fn.backward()
        array([-0.5,  0. , -1. ])
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self._logits: NDArray[Any] | None = None
        self._target: NDArray[Any] | None = None

    def check_target(self, target: NDArray[Any], name: str = "target") -> None:
        """Raise ValueError unless every value of *target* is in [0, 1] (NaN is not)."""
        if not isinstance(target, np.ndarray):  # another library: standard calls only
            xp = backend.namespace_of(target)
            valid = (target >= 0) & (target <= 1)  # False for NaN too
            if _size(target) == 0 or bool(xp.all(valid)):
                return
            i = int(xp.argmax(xp.astype(xp.logical_not(xp.reshape(valid, (-1,))), xp.int8)))
            value = float(xp.reshape(target, (-1,))[i])
        else:
            if target.size == 0 or (target.min() >= 0 and target.max() <= 1):  # two reductions, no temporary
                return
            valid = (target >= 0) & (target <= 1)  # False for NaN too
            i = int(np.argmin(valid.reshape(-1)))
            value = target.reshape(-1)[i].item()
        raise ValueError(
            f"BCEWithLogitsLoss targets must be probabilities in [0, 1] (class labels 0 and 1), "
            f"got {value!r} in {name} at flat index {i}"
        )

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        x, y = self._pair(pred, target)
        self.check_target(y)
        xp = _xp(x)
        self._logits, self._target = x, y
        elementwise = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        return self._reduce_weighted(elementwise, sample_weight)

    def backward(self) -> NDArray[Any]:
        x, y = self._logits, self._target
        if x is None or y is None:
            raise RuntimeError("BCEWithLogitsLoss.backward called before the loss was computed")
        grad: NDArray[Any] = (sigmoid(x) - y) * self._grad_scale(_size(x))
        return grad


class CrossEntropyLoss(Loss):
    r"""Softmax cross-entropy for class indices, as ``torch.nn.CrossEntropyLoss``.

    For logits ``z`` of shape ``(N, C)`` and targets ``y_i ∈ {0, …, C-1}``::

        l_i = -log softmax(z_i)[y_i] = logsumexp(z_i) - z_i[y_i]
        logsumexp(z_i) = m_i + log(sum_c exp(z_ic - m_i)),   m_i = max_c z_ic
        dl_i/dz_ic = softmax(z_i)_c - [c = y_i]

    reduced over the ``N`` samples: mean (``L = sum(l_i) / N``) or sum.
    Subtracting the row maximum makes every exponent ≤ 0, so logits of
    ±1000 give finite values and gradients.

    Targets are class indices, shape ``(N,)``: integers, or floats holding
    whole numbers (as ``fit`` passes them).  A target of another shape
    (including ``(N, 1)`` and one-hot ``(N, C)``), a non-integer or
    non-finite value, or a class outside ``[0, C-1]`` raises ValueError.
    PyTorch's ``weight``, ``ignore_index`` and ``label_smoothing`` options
    are not provided.

    Shape:
        - Input (logits): ``(N, C)``.  Target: ``(N,)``.

    Example:
        >>> import numpy as np
        >>> loss_fn = CrossEntropyLoss()
        >>> loss_fn(np.array([[0.0, 0.0], [1000.0, -1000.0]]), np.array([1, 0]))
        0.34657359027997264
        >>> loss_fn.backward()
        array([[ 0.25, -0.25],
               [ 0.  ,  0.  ]])
    """

    class_targets = True

    def __init__(self, reduction: Reduction = "mean") -> None:
        super().__init__(reduction)
        self._probs: NDArray[Any] | None = None
        self._classes: NDArray[Any] | None = None
        self._grad_weights: NDArray[Any] | None = None

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        xp = _pair_namespace(pred, target)
        if xp is np:
            z = _array.as_float_array(pred, _array.result_dtype(pred), "logits")
        else:
            z = backend.as_float(pred, xp, None, None, "logits")
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got shape {tuple(z.shape)}")
        n, c = z.shape
        if n == 0 or c == 0:
            raise ValueError(f"cannot compute a loss over empty logits of shape {tuple(z.shape)}")
        shifted = z - xp.max(z, axis=1, keepdims=True)
        e = xp.exp(shifted)  # every exponent is <= 0: no overflow
        s = xp.sum(e, axis=1)
        if xp is np:
            classes = class_indices(target, n, c)
            picked = shifted[np.arange(n), classes]
        else:  # the one-hot mask of the classes selects z_i[y_i] - m_i with standard calls (a sum of one term)
            classes = _class_mask(target, n, c, xp, backend.device_of(z))
            picked = xp.sum(xp.where(classes, shifted, 0.0), axis=1)
        # l_i = logsumexp(z_i) - z_i[y_i] = log(s_i) - (z_i[y_i] - m_i)
        per_sample = xp.log(s) - picked
        self._probs = e / s[:, None]
        self._classes = classes
        if sample_weight is not None:
            w, denominator = self._weights(sample_weight, per_sample)
            self._grad_weights = xp.reshape(w * _per(1.0, denominator), (-1, 1))
            return _per(float(xp.sum(per_sample * w)), denominator)
        self._grad_weights = None
        return self.reduced(float(xp.sum(per_sample)), n)

    def backward(self) -> NDArray[Any]:
        probs, classes = self._probs, self._classes
        if probs is None or classes is None:
            raise RuntimeError("CrossEntropyLoss.backward called before the loss was computed")
        if not isinstance(probs, np.ndarray):  # classes is the one-hot mask: subtracting 1 or 0 is the same arithmetic
            return (probs - _xp(probs).astype(classes, probs.dtype)) * self._grad_scale(probs.shape[0])
        grad = probs.copy()
        grad[np.arange(probs.shape[0]), classes] -= 1
        grad *= self._grad_scale(probs.shape[0])
        return grad


def class_indices(target: ArrayLike, n: int, num_classes: int) -> NDArray[np.intp]:
    """Check class-index targets for ``n`` samples and ``num_classes`` classes; return them as ``intp``.

    Raises ValueError for a shape other than ``(n,)``, a non-numeric or
    boolean dtype, a non-integer or non-finite value, or a class outside
    ``[0, num_classes - 1]``; the message names the first bad value.

    Example:
        >>> class_indices([2.0, 0.0], 2, 3)
        array([2, 0])
    """
    lib = backend.library_of(target)
    if lib is not None and lib != "numpy":
        raise TypeError(backend.foreign_message("target", lib, "numpy"))
    _array.refuse_masked(target, "target")
    t = np.asarray(target)
    if t.shape != (n,):
        hint = ""
        if t.shape == (n, 1):
            hint = "; pass the classes as a 1-D array (y.ravel())"
        elif t.shape == (n, num_classes):
            hint = "; one-hot or probability targets are not supported, pass class indices (y.argmax(axis=1))"
        raise ValueError(
            f"CrossEntropyLoss expects class indices of shape ({n},) for logits of shape ({n}, {num_classes}), "
            f"got target shape {t.shape}{hint}"
        )
    if t.dtype.kind not in "iuf":
        raise ValueError(f"class targets must be integers, got dtype {t.dtype}")
    if t.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(t) | (t != np.floor(t))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"class targets must be whole numbers, got {t[i].item()!r} at index {i}")
    out_of_range = (t < 0) | (t >= num_classes)
    if out_of_range.any():
        i = int(np.argmax(out_of_range))
        raise ValueError(f"class targets must be in [0, {num_classes - 1}], got {t[i].item()!r} at index {i}")
    return t.astype(np.intp)


def _class_mask(target: Any, n: int, num_classes: int, xp: Any, device: Any) -> Any:
    """:func:`class_indices` for a library other than NumPy: the checked classes as an ``(n, C)`` one-hot mask.

    The target must be an array of *xp*'s library (or a list, converted onto *device*).
    """
    if backend.library_of(target) is None:
        target = xp.asarray(np.asarray(target), device=device)
    elif backend.library_of(target) != backend.library_name(xp):
        raise TypeError(backend.foreign_message("target", str(backend.library_of(target)), backend.library_name(xp)))
    t = target
    shape = tuple(t.shape)
    if shape != (n,):
        hint = ""
        if shape == (n, 1):
            hint = "; pass the classes as a 1-D array (y.ravel())"
        elif shape == (n, num_classes):
            hint = "; one-hot or probability targets are not supported, pass class indices (y.argmax(axis=1))"
        raise ValueError(
            f"CrossEntropyLoss expects class indices of shape ({n},) for logits of shape ({n}, {num_classes}), "
            f"got target shape {shape}{hint}"
        )
    if xp.isdtype(t.dtype, "bool") or not xp.isdtype(t.dtype, ("integral", "real floating")):
        raise ValueError(f"class targets must be integers, got dtype {t.dtype}")
    if xp.isdtype(t.dtype, "real floating"):
        bad = xp.logical_not(xp.isfinite(t)) | (t != xp.floor(t))
        if bool(xp.any(bad)):
            i = int(xp.argmax(xp.astype(bad, xp.int8)))
            raise ValueError(f"class targets must be whole numbers, got {float(t[i])!r} at index {i}")
    out_of_range = (t < 0) | (t >= num_classes)
    if bool(xp.any(out_of_range)):
        i = int(xp.argmax(xp.astype(out_of_range, xp.int8)))
        value = float(t[i]) if xp.isdtype(t.dtype, "real floating") else int(t[i])
        raise ValueError(f"class targets must be in [0, {num_classes - 1}], got {value!r} at index {i}")
    labels = xp.astype(t, xp.int64)
    return labels[:, None] == xp.arange(num_classes, dtype=xp.int64, device=device)[None, :]
