"""InverseScalingLR: ``lr = base_lr / (count + 1) ** power_t``, scikit-learn's "invscaling" schedule."""

from __future__ import annotations

import numpy as np

from minigrad.optim.lr_scheduler import LRScheduler
from minigrad.optim.optimizer import Optimizer, _check_number


class InverseScalingLR(LRScheduler):
    r"""Set the learning rate to ``base_lr / (count + 1) ** power_t`` after every epoch.

    ``count`` starts at *count* and grows by *increment* at every ``step()``;
    with ``increment`` the number of training samples it counts the samples
    seen, as scikit-learn's ``learning_rate="invscaling"`` does (its ``t_``)::

        count_e = count_0 + e * increment
        lr_e    = base_lr / (count_e + 1) ** power_t

    Not chainable: the learning rate is computed from ``base_lr`` every time,
    in the order scikit-learn computes it, so the numbers are the same.

    Args:
        optimizer: the optimizer whose ``lr`` is set; its ``lr`` when the
            schedule is made is ``base_lr``.
        power_t: the exponent, ≥ 0.
        increment: what ``count`` grows by per step, an integer ≥ 0.
        count: the starting count, an integer ≥ 0 (for a run resumed later).

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> scheduler = InverseScalingLR(opt, power_t=0.5, increment=3)
        >>> scheduler.step(); opt.lr            # 1 / (3 + 1) ** 0.5
        0.5
        >>> scheduler.step(); scheduler.count, round(opt.lr, 6)
        (6, 0.377964)
    """

    _hyperparameters = ("power_t", "increment", "count")

    def __init__(self, optimizer: Optimizer, power_t: float = 0.5, increment: int = 1, count: int = 0) -> None:
        super().__init__(optimizer)
        _check_number("power_t", power_t, minimum=0.0)
        for name, value in (("increment", increment), ("count", count)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
        self.power_t = float(power_t)
        self.increment = int(increment)
        self.count = int(count)

    def step(self) -> None:
        """Advance one epoch: ``count += increment``, then ``lr = base_lr / (count + 1) ** power_t``."""
        self.last_epoch += 1
        self.count += self.increment
        self.optimizer.lr = self.base_lr / (self.count + 1) ** self.power_t
        self.last_lr = float(self.optimizer.lr)
