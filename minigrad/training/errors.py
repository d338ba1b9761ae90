"""Errors raised by training."""

from __future__ import annotations


class DivergenceError(ArithmeticError):
    """Training produced a non-finite loss or parameter and was stopped.

    Raised by :func:`minigrad.fit` after it has restored the parameters of
    the last step whose loss and parameters were all finite.

    Gradient descent ``w ← w - lr * dL/dw`` diverges when each step
    overshoots the minimum by more than it started from: for the seed's
    one-weight problem ``L = (x w - y)**2`` the error is multiplied by
    ``1 - 2 lr x**2`` each step, which grows without bound once
    ``lr > 1 / x**2``.  The numbers then overflow to inf and NaN.

    fit also raises it, with nothing restored, for a loss that stays finite
    but grows by many orders of magnitude (the growth rule of
    :func:`minigrad.training.trainer.loss_keeps_growing`); *detail* then replaces the
    sentence about the non-finite value.

    Attributes:
        epoch: the 1-based epoch in which the non-finite value appeared.
        lr: the learning rate in use, when the optimizer has one.

    Example:
        The seed with its ``alpha = 1`` (``lr = 0.5``) diverges; the weight
        is that of the last finite step:

        >>> import minigrad as mg
        >>> model = mg.Linear(1, 1, bias=False)
        >>> model.weight.data[...] = 1.0
        >>> try:
        ...     mg.fit(model, [[200_000.0]], [99_750_000.0], loss=mg.MSELoss(),
        ...            optimizer=mg.SGD(model.parameters(), lr=0.5), epochs=100)
        ... except mg.DivergenceError as exc:
        ...     print(exc.epoch, exc.lr, isinstance(exc, ArithmeticError))
        15 0.5 True
        >>> bool(abs(model.weight.data.item()) < float("inf"))
        True
    """

    def __init__(self, epoch: int, what: str, lr: float | None = None, *, detail: str | None = None) -> None:
        self.epoch = epoch
        self.lr = lr
        hint = f"a smaller learning rate (lr is {lr:g})" if lr is not None else "a smaller learning rate"
        if detail is None:
            detail = f"{what} is not finite. The parameters of the last finite step were restored."
        super().__init__(
            f"training diverged in epoch {epoch}: {detail} Try {hint}, or scale the inputs "
            "(for example to zero mean and unit variance)."
        )
