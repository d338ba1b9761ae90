"""Adagrad: per-entry learning rates from the sum of squared gradients, as torch.optim.Adagrad."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.optimizer import Optimizer, StateValue, _buffer, _check_number, _step_count, check_stepped_state


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), the update rule of ``torch.optim.Adagrad``.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t = 1, 2, …``, from the accumulator
    ``s_0 = initial_accumulator_value``::

        γ_t = γ / (1 + (t - 1) η)                     (lr_decay η)
        g_t ← g_t + λ θ_{t-1}                         (weight_decay λ ≠ 0)
        s_t = s_{t-1} + g_t²
        θ_t = θ_{t-1} - γ_t g_t / (sqrt(s_t) + ε)

    Entries with large past gradients take smaller steps.  The state of each parameter is
    ``{"step": t, "sum": s_t}``, created at the first ``step()`` (torch creates it in the
    constructor; the numbers are the same).

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        lr_decay: η ≥ 0.
        weight_decay: λ ≥ 0 (L2 penalty).
        initial_accumulator_value: ``s_0`` ≥ 0.
        eps: ε ≥ 0, added to the denominator.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([1.0, -1.0]))
        >>> opt = Adagrad([p], lr=0.1)
        >>> p.grad[...] = [3.0, -0.5]
        >>> opt.step()          # the first step moves each entry by lr: g / sqrt(g²)
        >>> p.data
        array([ 0.9, -0.9])
    """

    _hyperparameters = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    _state_spec: ClassVar[dict[str, str]] = {"step": "count", "sum": "array"}

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        super().__init__(params, lr)
        _check_number("lr_decay value", lr_decay)
        _check_number("weight_decay value", weight_decay)
        _check_number("initial_accumulator_value", initial_accumulator_value)
        _check_number("epsilon value", eps)
        self.lr_decay = float(lr_decay)
        self.weight_decay = float(weight_decay)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.eps = float(eps)

    def _check_state(self, index: int, state: Mapping[str, StateValue]) -> None:
        """A loaded state is one that steps produce: ``step >= 1`` and ``sum >= 0``."""
        check_stepped_state(self, index, state, "sum", "a sum of squares")

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring)."""
        wd, eps = self.weight_decay, self.eps
        for p, state in zip(self.params, self.state, strict=True):
            xp = p.xp
            if not state:  # s_0, in the parameter's library and device
                state["step"] = 0
                s0 = xp.zeros_like(p.data)
                s0 += self.initial_accumulator_value
                state["sum"] = s0
            t = _step_count(state["step"]) + 1
            clr = self.lr / (1 + (t - 1) * self.lr_decay)
            g: Any = p.grad
            if wd != 0:
                g = g + wd * p.data
            s = _buffer(state["sum"])
            s += g * g  # s_t = s_{t-1} + g²
            std = xp.sqrt(s)
            std += eps
            if xp is np:
                _array.subtract_into(p.data, clr * (g / std))
            else:
                p.data -= clr * (g / std)
            state["step"] = t
