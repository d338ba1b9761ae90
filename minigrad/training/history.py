"""History: what a call to fit did, epoch by epoch."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(repr=False)
class History:
    """Per-epoch numbers recorded by :func:`minigrad.fit`.

    Attributes:
        loss: the training loss of each epoch run (the stopping epoch
            included).  In full-batch training it is the loss computed before
            that epoch's update; with mini-batches it is the sample-weighted
            mean of the batch losses.
        val_loss: the loss on ``validation_data`` after each epoch's
            updates (empty when fit had no validation data).
        stop_reason: why training ended: ``"epochs"`` (all epochs ran),
            ``"tol"`` (the loss reached ``tol``) or ``"callback"`` (a callback
            such as :class:`~minigrad.EarlyStopping` asked to stop).
        metrics: further per-epoch series by name: ``"accuracy"``, ``"r2"``
            on the training data and ``"val_accuracy"``, ``"val_r2"`` on the
            validation data.
        lr: the optimizer's learning rate during each epoch (a schedule
            changes it between epochs).

    Keras's view of the same numbers is :attr:`history`, a dict of lists
    (``history["loss"]`` is ``history.history["loss"]``); :attr:`best_epoch`
    is the epoch of the lowest validation loss.  ``repr`` is a summary of a
    few lines whatever the number of epochs; the lists hold everything.

    Example:
        >>> h = History(loss=[0.5, 0.25, 0.2], val_loss=[0.75, 0.5, 0.6], lr=[0.1, 0.1, 0.05])
        >>> h.epochs, h.best_epoch, h["val_loss"], sorted(h.history)
        (3, 2, [0.75, 0.5, 0.6], ['loss', 'lr', 'val_loss'])
        >>> h
        History(epochs=3, stop_reason='epochs', best_epoch=2,
                loss 0.5 -> 0.2 (min 0.2 at epoch 3),
                val_loss 0.75 -> 0.6 (min 0.5 at epoch 2),
                lr 0.1 -> 0.05)
    """

    loss: list[float] = field(default_factory=list)
    stop_reason: str = "epochs"
    metrics: dict[str, list[float]] = field(default_factory=dict)
    val_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.loss)

    @property
    def converged(self) -> bool:
        """True when training stopped because the loss reached ``tol``."""
        return self.stop_reason == "tol"

    @property
    def best_epoch(self) -> int | None:
        """The epoch (1-based) with the lowest validation loss, the first of equals; None without validation data.

        With :class:`~minigrad.EarlyStopping` monitoring ``"val_loss"`` (and
        ``min_delta=0``) it is the epoch whose parameters were restored.
        """
        return _best(self.val_loss, "min")[1] if self.val_loss else None

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras's ``History.history``: a dict of per-epoch lists (the same list objects, not copies).

        Keys: ``"loss"``, then ``"val_loss"`` with validation data, each
        metric (``"accuracy"``, ``"val_accuracy"``, ...), and ``"lr"``.
        """
        out: dict[str, list[float]] = {"loss": self.loss}
        if self.val_loss:
            out["val_loss"] = self.val_loss
        out.update(self.metrics)
        if self.lr:
            out["lr"] = self.lr
        return out

    def __getitem__(self, key: str) -> list[float]:
        """``history[key]``, as ``history.history[key]``; KeyError naming the keys there are."""
        series = self.history
        if key not in series:
            raise KeyError(f"History has no {key!r}; it has {sorted(series)}")
        return series[key]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists of Python floats, ready for ``json.dump``.

        Keys: ``"loss"``, ``"val_loss"``, ``"metrics"`` (name → list),
        ``"lr"``, ``"stop_reason"`` and ``"epochs"``.  The lists are copies.
        """
        return {
            "loss": [float(v) for v in self.loss],
            "val_loss": [float(v) for v in self.val_loss],
            "metrics": {k: [float(v) for v in vs] for k, vs in self.metrics.items()},
            "lr": [float(v) for v in self.lr],
            "stop_reason": self.stop_reason,
            "epochs": self.epochs,
        }

    def __repr__(self) -> str:
        head = f"History(epochs={self.epochs}, stop_reason={self.stop_reason!r}"
        if self.val_loss:
            head += f", best_epoch={self.best_epoch}"
        lines = [head]
        for name, values in self.history.items():
            if not values:
                continue
            line = f"{name} {values[0]:.6g} -> {values[-1]:.6g}"
            if name != "lr":
                mode = "max" if ("accuracy" in name or "r2" in name) else "min"
                best, epoch = _best(values, mode)
                line += f" ({mode} {best:.6g} at epoch {epoch})"
            lines.append(line)
        return ",\n        ".join(lines) + ")"


def _best(values: list[float], mode: str) -> tuple[float, int]:
    """The lowest (``"min"``) or highest value, NaN ignored, and its 1-based epoch (the first of equals)."""
    best, epoch = math.nan, 1
    for i, v in enumerate(values, 1):
        if math.isnan(v):
            continue
        if math.isnan(best) or (v < best if mode == "min" else v > best):
            best, epoch = v, i
    return best, epoch
