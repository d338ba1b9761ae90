"""L2Penalty: a loss plus ``alpha / 2 * sum ||W||²`` per sample of the batch, as scikit-learn's MLP."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad.backend import _array
from minigrad.nn.losses import Loss
from minigrad.nn.parameter import Parameter
from minigrad.optim.optimizer import _check_number


class L2Penalty(Loss):
    r"""Wrap a loss to add an L2 penalty on some parameters, divided by the batch size.

    For a batch of ``N`` rows, the wrapped loss ``L`` and the penalised
    parameters ``W_1 … W_k``::

        L_pen = L + (alpha / 2) sum_i ||W_i||² / N
        d L_pen / d W_i = d L / d W_i + alpha W_i / N

    With ``sample_weight`` (passed on to the wrapped loss) ``N`` is the
    batch's total weight ``sum(w)``, which is ``N`` for weights all 1; a
    batch of total weight 0 carries no penalty.

    Dividing by ``N`` makes the penalty per sample, like the loss: an epoch
    of mini-batches, whose loss is the sample-weighted mean of the batch
    losses, then carries ``(alpha / 2) sum ||W||² * (number of batches) / n``.
    This is scikit-learn's ``MLPClassifier``/``MLPRegressor`` objective
    (``alpha`` is its argument of that name); it differs from
    ``weight_decay`` in :class:`~minigrad.SGD` and :class:`~minigrad.Adam`,
    which add ``λ W`` whatever the batch size.

    ``backward()`` returns the wrapped loss's ``dL/dpred`` and *adds* the
    penalty's gradient to each penalised parameter's ``grad``: call it after
    ``optimizer.zero_grad()`` and before ``model.backward(...)``, as ``fit``
    and the manual loop ``model.backward(loss_fn.backward())`` do.

    Args:
        loss: the loss to penalise (its ``reduction`` must be "mean").
        params: the parameters to penalise, usually the weights and not the biases.
        alpha: the penalty strength, ≥ 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> layer = mg.Linear(1, 1, bias=False)
        >>> layer.weight.data[...] = 2.0
        >>> loss_fn = L2Penalty(mg.MSELoss(), [layer.weight], alpha=0.5)
        >>> loss_fn(layer(np.array([[1.0], [1.0]])), np.array([[2.0], [2.0]]))   # 0 + 0.25 * 4 / 2
        0.5
        >>> layer.zero_grad(); layer.backward(loss_fn.backward()); layer.weight.grad   # 0.5 * 2 / 2
        array([[0.5]])
    """

    def __init__(self, loss: Loss, params: Iterable[Parameter], alpha: float) -> None:
        if not isinstance(loss, Loss):
            raise TypeError(f"L2Penalty wraps a minigrad Loss, got {type(loss).__name__}")
        if loss.reduction != "mean":
            raise ValueError(f"L2Penalty needs a loss with reduction='mean', got {loss.reduction!r}")
        super().__init__("mean")
        self.loss = loss
        self.params = list(params)
        for p in self.params:
            if not isinstance(p, Parameter):
                raise TypeError(f"L2Penalty params must be Parameters, got {type(p).__name__}")
        _check_number("alpha", alpha, minimum=0.0)
        self.alpha = float(alpha)
        if loss.class_targets:
            raise ValueError(
                f"L2Penalty needs a loss with targets shaped like the predictions, not {type(loss).__name__}"
            )
        self._rows: float = 0

    def check_target(self, target: NDArray[Any], name: str = "target") -> None:
        """The wrapped loss's check of the targets (the penalty takes any)."""
        self.loss.check_target(target, name)

    def forward(self, pred: ArrayLike, target: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        if sample_weight is None:
            value = self.loss(pred, target)
            n: float = int(np.shape(pred)[0])
        else:  # the wrapped loss checks the weights; N becomes their sum (N for all ones)
            value = self.loss(pred, target, sample_weight=sample_weight)
            n = float(np.sum(np.asarray(sample_weight, dtype=np.float64)))
        self._rows = n
        if self.alpha == 0 or n == 0:  # (weights of total 0: nothing weighs, no penalty either)
            return value
        total = 0.0
        for p in self.params:
            total += _array.sum_of_squares(p.data)
        return value + 0.5 * self.alpha * total / n

    def backward(self) -> NDArray[Any]:
        grad = self.loss.backward()
        if self.alpha != 0 and self._rows != 0:
            scale = self.alpha / self._rows
            for p in self.params:
                p.grad += p.data * scale
        return grad

    def __repr__(self) -> str:
        return f"L2Penalty({self.loss!r}, alpha={self.alpha})"
