"""RMSprop: divide the gradient by a running root mean square of its recent values, as torch.optim.RMSprop."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.optimizer import Optimizer, StateValue, _buffer, _check_number, _step_count, check_stepped_state


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), the update rule of ``torch.optim.RMSprop``.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t = 1, 2, …``, from ``v_0 = 0``,
    ``ḡ_0 = 0`` and ``b_0 = 0``::

        g_t ← g_t + λ θ_{t-1}                         (weight_decay λ ≠ 0)
        v_t = α v_{t-1} + (1 - α) g_t²                (square_avg)
        ḡ_t = α ḡ_{t-1} + (1 - α) g_t                 (grad_avg, centered only)
        d_t = sqrt(v_t - ḡ_t²) + ε  if centered  else  sqrt(v_t) + ε
        b_t = μ b_{t-1} + g_t / d_t                   (momentum_buffer, μ > 0 only)
        θ_t = θ_{t-1} - γ b_t  if μ > 0  else  θ_{t-1} - γ g_t / d_t

    The state of each parameter is ``{"step": t, "square_avg": v_t}``, plus ``"momentum_buffer"``
    when ``momentum > 0`` and ``"grad_avg"`` when ``centered``, created at the first ``step()``.

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        alpha: smoothing constant α ≥ 0.
        eps: ε ≥ 0, added to the denominator.
        weight_decay: λ ≥ 0 (L2 penalty).
        momentum: μ ≥ 0.
        centered: divide by the estimated standard deviation of the gradient instead of its RMS.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([1.0, -1.0]))
        >>> opt = RMSprop([p], lr=0.01)
        >>> p.grad[...] = [3.0, -0.5]
        >>> opt.step()          # the first step moves each entry by lr / sqrt(1 - alpha) = 0.1
        >>> p.data.round(6)
        array([ 0.9, -0.9])
    """

    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")
    _state_spec: ClassVar[dict[str, str]] = {
        "step": "count",
        "square_avg": "array",
        "momentum_buffer": "array",
        "grad_avg": "array",
    }

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        _check_number("epsilon value", eps)
        _check_number("momentum value", momentum)
        _check_number("weight_decay value", weight_decay)
        _check_number("alpha value", alpha)
        if not isinstance(centered, bool):
            raise TypeError(f"centered must be a bool, got {type(centered).__name__}")
        self.alpha = float(alpha)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.momentum = float(momentum)
        self.centered = centered

    def _required_state_keys(self) -> set[str]:
        """The keys a non-empty state must hold: step and square_avg, and the buffers the options use."""
        keys = {"step", "square_avg"}
        if self.momentum > 0:
            keys.add("momentum_buffer")
        if self.centered:
            keys.add("grad_avg")
        return keys

    def _check_state(self, index: int, state: Mapping[str, StateValue]) -> None:
        """A loaded state is one that steps produce: ``step >= 1`` and ``square_avg >= 0``."""
        check_stepped_state(self, index, state, "square_avg", "an average of squares")

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring)."""
        lr, alpha, eps, wd, mu = self.lr, self.alpha, self.eps, self.weight_decay, self.momentum
        for p, state in zip(self.params, self.state, strict=True):
            xp = p.xp
            if not state:  # v_0 = ḡ_0 = b_0 = 0, in the parameter's library and device
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(p.data)
                if mu > 0:
                    state["momentum_buffer"] = xp.zeros_like(p.data)
                if self.centered:
                    state["grad_avg"] = xp.zeros_like(p.data)
            g: Any = p.grad
            if wd != 0:
                g = g + wd * p.data
            v = _buffer(state["square_avg"])
            v *= alpha
            v += (1 - alpha) * (g * g)  # v_t = α v_{t-1} + (1 - α) g²
            if self.centered:
                mean = _buffer(state["grad_avg"])
                mean *= alpha
                mean += (1 - alpha) * g  # ḡ_t = α ḡ_{t-1} + (1 - α) g
                denom = xp.sqrt(v - mean * mean)
            else:
                denom = xp.sqrt(v)
            denom += eps
            if mu > 0:
                buf = _buffer(state["momentum_buffer"])
                buf *= mu
                buf += g / denom  # b_t = μ b_{t-1} + g / d
                step = lr * buf
            else:
                step = lr * (g / denom)
            if xp is np:
                _array.subtract_into(p.data, step)
            else:
                p.data -= step
            state["step"] = _step_count(state["step"]) + 1
