"""Callbacks: code that fit runs after every epoch, and that can stop training."""

from __future__ import annotations

import inspect
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO, runtime_checkable

from minigrad.nn.module import Module
from minigrad.training.history import History

if TYPE_CHECKING:  # (minigrad.optim imports the module layer, as this does: no cycle at run time either way)
    from minigrad.optim.optimizer import Optimizer

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

    - ``set_optimizer(optimizer)``: once, before ``on_train_begin``; the base
      class keeps the optimizer fit trains with in ``self.optimizer`` (for a
      callback that saves or restores its state; a callback whose
      ``optimizer`` means something else overrides it).
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
    #: The optimizer fit trains with (set by :meth:`set_optimizer`); None outside fit.
    optimizer: Optimizer | None = None

    def set_optimizer(self, optimizer: Optimizer) -> None:
        """Called by fit once before :meth:`on_train_begin`: keep *optimizer* in ``self.optimizer``."""
        self.optimizer = optimizer

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
    of the parameters and buffers (``model.state_dict()``) and of the
    optimizer's per-parameter state (momentum buffers, moment estimates,
    step counts) is kept.  Otherwise ``wait`` (consecutive epochs without
    improvement) grows by one, and when it reaches ``patience`` the callback
    asks fit to stop and, with ``restore_best_weights``, puts the kept copies
    back, so that the model and its optimizer end as they were after
    ``best_epoch`` and training resumed from there continues from that
    epoch (Keras restores the weights only, and a resumed run then starts
    with the last epoch's momentum).  Everything or, if an exception such
    as KeyboardInterrupt cuts the restore short, nothing is put back.  The
    learning rate is left as the schedule made it.  When training ends for
    another reason (all epochs ran, ``tol``) the model is left as the last
    epoch made it.

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
        self.monitor: str = monitor
        self.patience = patience
        self.min_delta = float(min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.mode: Literal["min", "max"] = _auto_mode(monitor, mode)
        self.model: Module | None = None
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.best_state: dict[str, Any] | None = None
        self.best_optimizer_state: Any = None

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
                if self.optimizer is not None:
                    self.best_optimizer_state = self.optimizer.copy_state()
            return False
        self.wait += 1
        if self.wait < max(self.patience, 1):
            return False
        self.stopped_epoch = epoch
        if self.restore_best_weights and self.model is not None and self.best_state is not None:
            load_all_or_none(self.model, self.best_state, self.optimizer, self.best_optimizer_state)
        return True

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best_weights={self.restore_best_weights}, mode={self.mode!r})"
        )


def load_all_or_none(
    model: Module, state: dict[str, Any], optimizer: Optimizer | None = None, optimizer_state: Any = None
) -> None:
    """``model.load_state_dict(state)`` (and the optimizer's state), undone if anything cuts it short.

    ``load_state_dict`` checks everything before it writes, then copies one
    array after the other; this puts every parameter and buffer back as it
    was if the copying is interrupted (a KeyboardInterrupt included), so the
    model never holds a mix of the two.  With *optimizer*, its per-parameter
    state becomes a copy of *optimizer_state* (what ``copy_state`` returned)
    in the same all-or-nothing step.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> layer = mg.Linear(1, 1, rng=0)
        >>> load_all_or_none(layer, {"weight": np.array([[2.0]]), "bias": np.array([0.5])})
        >>> layer.weight.data, layer.bias.data
        (array([[2.]]), array([0.5]))
    """
    before = model.state_dict()  # copies: an interrupt while they are made changes nothing
    if optimizer is not None:
        before_optimizer = optimizer.state
        installed = copy_optimizer_state(optimizer_state)
    try:
        model.load_state_dict(state)
        if optimizer is not None:
            optimizer.set_state(installed)  # one assignment
    except BaseException:
        targets = {name: p.data for name, p in model.named_parameters()}
        targets.update(model.named_buffers())
        for name, value in before.items():
            targets[name][...] = value
        if optimizer is not None:
            optimizer.state = before_optimizer
        raise


def copy_optimizer_state(state: Any) -> Any:
    """A copy of what ``Optimizer.copy_state`` returned (None stays None), so a restore never shares arrays.

    Example:
        >>> import numpy as np
        >>> saved = [{"momentum_buffer": np.zeros(2)}]
        >>> copy_optimizer_state(saved)[0]["momentum_buffer"] is saved[0]["momentum_buffer"]
        False
    """
    if state is None:
        return None
    return [{k: v.copy() if hasattr(v, "copy") else v for k, v in s.items()} for s in state]


def monitor_mode(monitor: str) -> Literal["min", "max"] | None:
    """Which way a key of fit's logs improves, where its name says: ``"min"``, ``"max"`` or None.

    ``"min"`` (lower is better) for a loss, ``"loss"`` or ``"val_loss"``;
    ``"max"`` (higher is better) for a name containing ``"accuracy"`` or
    ``"r2"`` (``"val_accuracy"``, ``"r2"``, ...); None for any other name,
    such as a metric function's, whose direction only its author knows.
    The ``mode="auto"`` of :class:`EarlyStopping` and
    :class:`ModelCheckpoint` and fit's check of a ReduceLROnPlateau's mode
    both follow it.

    Example:
        >>> monitor_mode("val_loss"), monitor_mode("val_accuracy"), monitor_mode("mae")
        ('min', 'max', None)
    """
    if "accuracy" in monitor or "r2" in monitor:
        return "max"
    return "min" if monitor in ("loss", "val_loss") else None


def _auto_mode(monitor: str, mode: str) -> Literal["min", "max"]:
    """The mode: for "auto", :func:`monitor_mode` of the monitor, "min" when that is None; ValueError for a bad one."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return monitor_mode(monitor) or "min"
    return "max" if mode == "max" else "min"


class ModelCheckpoint(Callback):
    """Save the model (and its optimizer) with :func:`minigrad.save` whenever the monitored number improves.

    After every epoch the monitored value ``v = logs[monitor]`` is compared
    with the best so far, as :class:`EarlyStopping` does with ``min_delta =
    0``: an improvement is ``v < best`` (mode ``"min"``) or ``v > best``
    (``"max"``); the first epoch always improves, a NaN never does.  On
    improvement (every epoch with ``save_best_only=False``) the model's
    parameters and buffers and, with ``save_optimizer``, the optimizer fit
    trains with (its hyper-parameters and state) are written to *path* by
    :func:`minigrad.save`: atomically, so the file always holds a complete
    checkpoint, the previous one until the new one is on disk.  Resume with
    ``mg.load(model, path, optimizer=optimizer)``.

    Args:
        path: the ``.npz`` file to write (used as given); its directory must
            exist when training begins (FileNotFoundError otherwise).
        monitor: a key of fit's logs, as for :class:`EarlyStopping`; fit
            refuses one its logs will not hold with a ValueError before the
            first update.
        save_best_only: save only when the monitored number improves (True)
            or after every epoch (False).
        mode: ``"min"``, ``"max"`` or ``"auto"`` (as EarlyStopping).
        save_optimizer: also save the optimizer fit trains with.

    Attributes:
        best: the best monitored value seen.
        best_epoch: the epoch (1-based) where it was seen; 0 before training.
        saved_epochs: the epochs after which the file was written.

    Example:
        >>> import os, tempfile, numpy as np, minigrad as mg
        >>> path = os.path.join(tempfile.mkdtemp(), "best.npz")
        >>> X = np.array([[0.0], [1.0], [2.0]]); y = np.array([1.0, 3.0, 5.0])
        >>> model = mg.Linear(1, 1, rng=0)
        >>> checkpoint = mg.ModelCheckpoint(path, monitor="loss")
        >>> h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1),
        ...            epochs=20, callbacks=[checkpoint])
        >>> checkpoint.best_epoch, checkpoint.saved_epochs == list(range(1, 21))
        (20, True)
        >>> copy = mg.Linear(1, 1, rng=1)
        >>> mg.load(copy, path)   # the parameters after epoch 20's update (its loss was computed before it)
        >>> bool(np.array_equal(copy.weight.data, model.weight.data))
        True
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str = "val_loss",
        save_best_only: bool = True,
        *,
        mode: Literal["auto", "min", "max"] = "auto",
        save_optimizer: bool = True,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be a key of fit's logs (a str), got {type(monitor).__name__}")
        self.path = Path(path)
        self.monitor: str = monitor
        self.save_best_only = bool(save_best_only)
        self.mode = _auto_mode(monitor, mode)
        self.save_optimizer = bool(save_optimizer)
        self.model: Module | None = None
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.saved_epochs: list[int] = []

    def on_train_begin(self, model: Module) -> None:
        directory = self.path.parent
        if not directory.is_dir():
            raise FileNotFoundError(
                f"ModelCheckpoint cannot write {str(self.path)!r}: the directory {str(directory)!r} does not exist "
                "(create it before training)"
            )
        if self.path.is_dir():
            raise IsADirectoryError(f"ModelCheckpoint path {str(self.path)!r} is a directory; name a file in it")
        self.model = model
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if self.monitor not in logs:
            raise KeyError(f"ModelCheckpoint monitors {self.monitor!r}, but fit's logs hold only {sorted(logs)}")
        value = float(logs[self.monitor])
        improved = not math.isnan(value) and (
            self.best_epoch == 0 or (value < self.best if self.mode == "min" else value > self.best)
        )
        if improved:
            self.best, self.best_epoch = value, epoch
        if self.model is not None and (improved or not self.save_best_only):
            from minigrad.io.serialization import save  # (serialization imports the optimizers)

            save(self.model, self.path, optimizer=self.optimizer if self.save_optimizer else None)
            self.saved_epochs.append(epoch)
        return False

    def __repr__(self) -> str:
        return (
            f"ModelCheckpoint({str(self.path)!r}, monitor={self.monitor!r}, save_best_only={self.save_best_only}, "
            f"mode={self.mode!r}, save_optimizer={self.save_optimizer})"
        )


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
