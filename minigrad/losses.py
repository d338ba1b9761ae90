"""Loss functions: a number that says how wrong the predictions are, and its gradient."""

from __future__ import annotations

from typing import Any, Literal

from numpy.typing import ArrayLike, NDArray

from minigrad import _array

Reduction = Literal["mean", "sum"]


class Loss:
    """Base class of losses.

    ``loss_fn(pred, target)`` returns the loss as a Python float and keeps what
    ``loss_fn.backward()`` needs to return ``dL/dpred`` (same shape as
    ``pred``).  Shapes must match exactly: a loss never broadcasts, so an
    ``(N, 1)`` prediction against an ``(N,)`` target is an error, not an
    ``(N, N)`` matrix.
    """

    def __init__(self, reduction: Reduction = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction: Reduction = reduction

    def __call__(self, pred: ArrayLike, target: ArrayLike) -> float:
        return self.forward(pred, target)

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float:
        """Return the loss of *pred* against *target*."""
        raise NotImplementedError

    def backward(self) -> NDArray[Any]:
        """Return d loss / d pred for the last ``forward``."""
        raise NotImplementedError

    @staticmethod
    def _check_shapes(pred: NDArray[Any], target: NDArray[Any]) -> None:
        if pred.shape != target.shape:
            raise ValueError(
                f"prediction shape {pred.shape} and target shape {target.shape} differ; "
                "losses do not broadcast (reshape the target to the prediction's shape)"
            )
        if pred.size == 0:
            raise ValueError("cannot compute a loss over an empty prediction")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reduction={self.reduction!r})"


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

    def forward(self, pred: ArrayLike, target: ArrayLike) -> float:
        p = _array.as_float_array(pred, _array.result_dtype(pred), "prediction")
        t = _array.as_float_array(target, p.dtype, "target")
        self._check_shapes(p, t)
        diff = p - t
        self._diff = diff
        flat = diff.reshape(-1)
        total = float(flat @ flat)
        return total / diff.size if self.reduction == "mean" else total

    def backward(self) -> NDArray[Any]:
        diff = self._diff
        if diff is None:
            raise RuntimeError("MSELoss.backward called before the loss was computed")
        scale = 2.0 / diff.size if self.reduction == "mean" else 2.0
        return diff * scale
