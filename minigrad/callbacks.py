"""Callbacks: code that fit runs after every epoch, and that can stop training."""

from __future__ import annotations

import sys
from typing import Any, Protocol, TextIO, runtime_checkable

from minigrad.history import History
from minigrad.module import Module

Logs = dict[str, Any]


@runtime_checkable
class EpochEndFn(Protocol):
    """A plain function ``f(epoch, logs)`` used as a callback; returning True stops training."""

    def __call__(self, epoch: int, logs: Logs) -> bool | None: ...


class Callback:
    """Base class of fit's callbacks; every hook does nothing unless overridden.

    Hooks, in the order fit calls them:

    - ``on_train_begin(model)``: once, before the first epoch.
    - ``on_epoch_end(epoch, logs) -> bool | None``: after every epoch
      (1-based ``epoch``); returning True stops training after this epoch.
      ``logs`` holds ``"loss"`` (the epoch's training loss) and
      ``"converged"`` (True when the loss reached ``tol`` and this epoch
      made no update), plus any validation numbers.
    - ``on_train_end(history)``: once, after the last epoch (also after a
      stop by ``tol`` or by a callback, not after an error).

    A plain function ``f(epoch, logs)`` can stand in for a callback that
    only needs ``on_epoch_end``.
    """

    def on_train_begin(self, model: Module) -> None:
        """Called once before training starts."""

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        """Called after each epoch; return True to stop training."""
        return None

    def on_train_end(self, history: History) -> None:
        """Called once after training ends."""


class FunctionCallback(Callback):
    """Wraps a plain ``f(epoch, logs)`` as a :class:`Callback`."""

    def __init__(self, fn: EpochEndFn) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        return self.fn(epoch, logs)


class PrintLoss(Callback):
    """Print one line per epoch: the epoch number and the training loss.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> PrintLoss(stream=out).on_epoch_end(3, {"loss": 0.25})
        >>> out.getvalue()
        'epoch 3: loss 0.25\\n'
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        extra = "".join(f", {k} {v:.6g}" for k, v in logs.items() if k not in ("loss", "converged"))
        print(f"epoch {epoch}: loss {logs['loss']:.6g}{extra}", file=self.stream or sys.stdout)
        return None


def as_callbacks(callbacks: list[Callback | EpochEndFn] | None) -> list[Callback]:
    """Turn fit's ``callbacks`` argument into a list of Callback objects."""
    out: list[Callback] = []
    for cb in callbacks or []:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(FunctionCallback(cb))
        else:
            raise TypeError(f"callbacks must be Callback objects or functions, got {type(cb).__name__}")
    return out
