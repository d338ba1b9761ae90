"""History: what a call to fit did, epoch by epoch."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch numbers recorded by :func:`minigrad.fit`.

    Attributes:
        loss: the training loss of each epoch run (the stopping epoch
            included).  In full-batch training it is the loss computed before
            that epoch's update; with mini-batches it is the sample-weighted
            mean of the batch losses.
        stop_reason: why training ended: ``"epochs"`` (all epochs ran),
            ``"tol"`` (the loss reached ``tol``) or ``"callback"`` (a callback
            asked to stop).
        metrics: further per-epoch series by name (such as ``"val_loss"``).
    """

    loss: list[float] = field(default_factory=list)
    stop_reason: str = "epochs"
    metrics: dict[str, list[float]] = field(default_factory=dict)

    @property
    def epochs(self) -> int:
        """Number of epochs run."""
        return len(self.loss)

    @property
    def converged(self) -> bool:
        """True when training stopped because the loss reached ``tol``."""
        return self.stop_reason == "tol"
