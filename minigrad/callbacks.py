"""Callbacks: code that fit runs after every epoch, and that can stop training."""

from __future__ import annotations

import inspect
import math
import sys
from typing import Any, Literal, Protocol, TextIO, runtime_checkable

from minigrad.history import History
from minigrad.module import Module

Logs = dict[str, Any]


@runtime_checkable
class EpochEndFn(Protocol):
    """A plain function ``f(epoch, logs)`` used as a callback; returning True stops training.

    Example:
        >>> def stop_below(epoch: int, logs: dict) -> bool:
        ...     return logs["loss"] < 1e-3
        >>> isinstance(stop_below, EpochEndFn), stop_below(1, {"loss": 0.5})
        (True, False)
    """

    def __call__(self, epoch: int, logs: Logs) -> bool | None: ...


class Callback:
    """Base class of fit's callbacks; every hook does nothing unless overridden.

    Hooks, in the order fit calls them:

    - ``on_train_begin(model)``: once, before the first epoch.
    - ``on_epoch_end(epoch, logs) -> bool | None``: after every epoch
      (1-based ``epoch``); returning True stops training after this epoch.
      ``logs`` holds ``"loss"`` (the epoch's training loss),
      ``"converged"`` (True when the loss reached ``tol`` and this epoch
      made no update), ``"lr"`` (the learning rate of the epoch) and
      ``"time"`` (seconds since training began), plus ``"val_loss"`` with
      validation data and each metric asked for (``"accuracy"``,
      ``"val_accuracy"``, ...).
    - ``on_train_end(history)``: once, after the last epoch (also after a
      stop by ``tol`` or by a callback, not after an error).

    A plain function ``f(epoch, logs)`` can stand in for a callback that
    only needs ``on_epoch_end``.

    A callback that reads one key of ``logs`` names it in ``monitor`` (None:
    no such key); fit raises ValueError before the first update when its
    logs will not hold that key, naming those they will hold.

    Example:
        A callback that records the loss and stops once it has halved:

        >>> import numpy as np, minigrad as mg
        >>> class StopAtHalf(Callback):
        ...     def on_train_begin(self, model):
        ...         self.losses = []
        ...     def on_epoch_end(self, epoch, logs):
        ...         self.losses.append(logs["loss"])
        ...         return logs["loss"] <= self.losses[0] / 2
        >>> model = mg.Linear(1, 1, bias=False)
        >>> model.weight.data[...] = 0.0
        >>> cb = StopAtHalf()
        >>> h = mg.fit(model, [[1.0]], [1.0], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1),
        ...            epochs=100, callbacks=[cb])
        >>> h.stop_reason, h.epochs, [round(v, 4) for v in cb.losses]   # loss 0.64**t at epoch t + 1
        ('callback', 3, [1.0, 0.64, 0.4096])
    """

    #: The key of ``logs`` this callback reads, checked by fit before training; None for none.
    monitor: str | None = None

    def on_train_begin(self, model: Module) -> None:
        """Called once before training starts."""

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        """Called after each epoch; return True to stop training."""
        return None

    def on_train_end(self, history: History) -> None:
        """Called once after training ends."""


class FunctionCallback(Callback):
    """Wraps a plain ``f(epoch, logs)`` as a :class:`Callback` (its ``on_epoch_end`` calls ``f``).

    Example:
        >>> cb = FunctionCallback(lambda epoch, logs: epoch >= 3)
        >>> [cb.on_epoch_end(e, {"loss": 1.0}) for e in (1, 2, 3)]
        [False, False, True]
    """

    def __init__(self, fn: EpochEndFn) -> None:
        self.fn = fn

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        return self.fn(epoch, logs)


class PrintLoss(Callback):
    """Print one line per epoch: the epoch number, the training loss and the validation numbers.

    Every number in ``logs`` is shown except ``"converged"``, ``"lr"`` and
    ``"time"`` (so the output of a seeded run is the same every time); for a
    display with elapsed and remaining time use :class:`~minigrad.Progress`.

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
        extra = "".join(f", {k} {v:.6g}" for k, v in logs.items() if k not in ("loss", "converged", "lr", "time"))
        print(f"epoch {epoch}: loss {logs['loss']:.6g}{extra}", file=self.stream or sys.stdout)
        return None


class EarlyStopping(Callback):
    """Stop training when a monitored number stops improving; restore the best parameters.

    After every epoch the monitored value ``v = logs[monitor]`` is compared
    with the best so far, ``best``.  It counts as an improvement when::

        mode "min":  v < best - min_delta
        mode "max":  v > best + min_delta

    (the first epoch always improves; a NaN never does).  On improvement the
    epoch becomes ``best_epoch`` and, with ``restore_best_weights``, a copy
    of the parameters (``model.state_dict()``) is kept.  Otherwise ``wait``
    (consecutive epochs without improvement) grows by one, and when it
    reaches ``patience`` the callback asks fit to stop and, with ``restore_best_weights``, loads the kept parameters
    back into the model, so it ends as it was after ``best_epoch``: all of
    them or, if an exception such as KeyboardInterrupt cuts the load short,
    none.  The optimizer's state (momentum, moment estimates) stays that of
    the last step, as in Keras.  When training ends for another reason (all
    epochs ran, ``tol``) the parameters are left as the last epoch made them.

    Args:
        monitor: a key of fit's logs: ``"val_loss"`` (needs
            ``validation_data``), ``"loss"``, or a metric such as
            ``"val_accuracy"``; fit refuses a key its logs will not hold
            with a ValueError before the first update.
        patience: consecutive epochs without improvement after which
            training stops, ≥ 0 (0 and 1 both stop at the first epoch that
            does not improve, as in Keras).
        min_delta: the least change that counts as an improvement, ≥ 0.
        restore_best_weights: load the best epoch's parameters when stopping.
        mode: ``"min"`` (lower is better), ``"max"`` or ``"auto"``: ``"max"``
            for names containing ``"accuracy"`` or ``"r2"``, else ``"min"``.

    Attributes:
        best: the best monitored value seen.
        best_epoch: the epoch (1-based) where it was seen; 0 before training.
        stopped_epoch: the epoch in which training was stopped, 0 if it was not.

    Example:
        >>> stop = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=False)
        >>> [stop.on_epoch_end(e, {"val_loss": v}) for e, v in enumerate([3.0, 2.0, 2.5], 1)]
        [False, False, True]
        >>> stop.best_epoch, stop.stopped_epoch
        (2, 3)
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        patience: int = 5,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        mode: Literal["auto", "min", "max"] = "auto",
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be an integer >= 0, got {patience!r}")
        if (
            isinstance(min_delta, bool)
            or not isinstance(min_delta, (int, float))
            or not math.isfinite(min_delta)
            or min_delta < 0
        ):
            raise ValueError(f"min_delta must be a finite number >= 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("accuracy" in monitor or "r2" in monitor) else "min"
        self.monitor: str = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.mode: Literal["min", "max"] = mode
        self.model: Module | None = None
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.best_state: dict[str, Any] | None = None

    def on_train_begin(self, model: Module) -> None:
        self.model = model
        self._reset()

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_epoch == 0:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if self.monitor not in logs:
            hint = " (pass validation_data to fit)" if self.monitor.startswith("val_") else ""
            raise KeyError(f"EarlyStopping monitors {self.monitor!r}, but fit's logs hold only {sorted(logs)}{hint}")
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights and self.model is not None:
                self.best_state = self.model.state_dict()
            return False
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return False
        self.stopped_epoch = epoch
        if self.restore_best_weights and self.model is not None and self.best_state is not None:
            load_all_or_none(self.model, self.best_state)
        return True

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best_weights={self.restore_best_weights}, mode={self.mode!r})"
        )


def load_all_or_none(model: Module, state: dict[str, Any]) -> None:
    """``model.load_state_dict(state)``, undone if anything (a KeyboardInterrupt included) cuts it short.

    ``load_state_dict`` checks everything before it writes, then copies one
    parameter after the other; this puts every parameter back as it was if
    the copying is interrupted, so the model never holds a mix of the two.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> layer = mg.Linear(1, 1, rng=0)
        >>> load_all_or_none(layer, {"weight": np.array([[2.0]]), "bias": np.array([0.5])})
        >>> layer.weight.data, layer.bias.data
        (array([[2.]]), array([0.5]))
    """
    before = model.state_dict()  # copies: an interrupt while they are made changes nothing
    try:
        model.load_state_dict(state)
    except BaseException:
        for name, p in model.named_parameters():
            p.data[...] = before[name]
        raise


def as_callbacks(callbacks: list[Callback | EpochEndFn] | None) -> list[Callback]:
    """Turn fit's ``callbacks`` argument into a list of Callback objects.

    Callback objects are kept as they are, functions ``f(epoch, logs)`` are
    wrapped in :class:`FunctionCallback`, None gives an empty list, and
    anything else raises TypeError, as do a Callback class instead of an
    instance and a function that cannot be called as ``f(epoch, logs)``
    (so that fit refuses them before the first update, not after it).

    Example:
        >>> [type(cb).__name__ for cb in as_callbacks([PrintLoss(), lambda epoch, logs: None])]
        ['PrintLoss', 'FunctionCallback']
        >>> as_callbacks([EarlyStopping])
        Traceback (most recent call last):
        ...
        TypeError: callbacks must be instances, got the class EarlyStopping: pass an instance, e.g. EarlyStopping()
    """
    out: list[Callback] = []
    for cb in callbacks or []:
        if isinstance(cb, Callback):
            out.append(cb)
        elif isinstance(cb, type):
            raise TypeError(
                f"callbacks must be instances, got the class {cb.__name__}: pass an instance, e.g. {cb.__name__}()"
            )
        elif callable(cb):
            check_callable_as(cb, (1, {}), "f(epoch, logs)", "a callback function")
            out.append(FunctionCallback(cb))
        else:
            raise TypeError(f"callbacks must be Callback objects or functions, got {type(cb).__name__}")
    return out


def check_callable_as(fn: Any, args: tuple[Any, ...], form: str, what: str) -> None:
    """TypeError if *fn*'s signature cannot take *args* (a call such as ``f(epoch, logs)``, named by *form*).

    fit checks the functions it will call after every epoch (callbacks,
    metrics) this way before the first update.  A function without a
    readable signature (some builtins) is left to the call.

    Example:
        >>> check_callable_as(lambda logs: None, (1, {}), "f(epoch, logs)", "a callback")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: a callback is called as f(epoch, logs), but <lambda>(logs) cannot be: too many positional ...
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*args)
    except TypeError as exc:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise TypeError(f"{what} is called as {form}, but {name}{signature} cannot be: {exc}") from None
