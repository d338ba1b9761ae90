"""Errors raised by training."""

from __future__ import annotations


class DivergenceError(ArithmeticError):
    """Training produced a non-finite loss or parameter and was stopped.

    Raised by :func:`minigrad.fit` after it has restored the parameters of
    the last step whose loss and parameters were all finite.

    Attributes:
        epoch: the 1-based epoch in which the non-finite value appeared.
        lr: the learning rate in use, when the optimizer has one.
    """

    def __init__(self, epoch: int, what: str, lr: float | None = None) -> None:
        self.epoch = epoch
        self.lr = lr
        hint = f"a smaller learning rate (lr is {lr:g})" if lr is not None else "a smaller learning rate"
        super().__init__(
            f"training diverged in epoch {epoch}: {what} is not finite. The parameters of the "
            f"last finite step were restored. Try {hint}, or scale the inputs "
            "(for example to zero mean and unit variance)."
        )
