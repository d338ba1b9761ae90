"""History: what a call to fit did, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
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

    Example:
        >>> h = History(loss=[0.5, 0.25], val_loss=[0.75, 0.5])
        >>> h.epochs, h.to_dict()["val_loss"]
        (2, [0.75, 0.5])
    """

    loss: list[float] = field(default_factory=list)
    stop_reason: str = "epochs"
    metrics: dict[str, list[float]] = field(default_factory=dict)
    val_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.loss)

    @property
    def converged(self) -> bool:
        """True when training stopped because the loss reached ``tol``."""
        return self.stop_reason == "tol"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict of lists of Python floats, ready for ``json.dump``.

        Keys: ``"loss"``, ``"val_loss"``, ``"metrics"`` (name → list),
        ``"stop_reason"`` and ``"epochs"``.  The lists are copies.
        """
        return {
            "loss": [float(v) for v in self.loss],
            "val_loss": [float(v) for v in self.val_loss],
            "metrics": {k: [float(v) for v in vs] for k, vs in self.metrics.items()},
            "stop_reason": self.stop_reason,
            "epochs": self.epochs,
        }
