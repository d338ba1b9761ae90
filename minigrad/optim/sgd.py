"""SGD: stochastic gradient descent with optional momentum, as torch.optim.SGD."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.optimizer import Optimizer, _check_number


class SGD(Optimizer):
    r"""Stochastic gradient descent, the update rule of ``torch.optim.SGD``.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t``::

        g_t ← g_t + λ θ_{t-1}                       (weight_decay λ ≠ 0)
        b_t ← g_t                                   (momentum μ ≠ 0, t = 1)
        b_t ← μ b_{t-1} + (1 - τ) g_t               (momentum μ ≠ 0, t > 1)
        g_t ← g_t + μ b_t  if nesterov else  b_t    (momentum μ ≠ 0)
        θ_t ← θ_{t-1} - γ g_t

    with learning rate ``γ`` (``lr``) and dampening ``τ``.  The momentum
    buffer starts as the first gradient, undampened.  With no momentum and no
    weight decay this is the seed's ``weight -= weight_delta * alpha``; the
    seed's ``alpha`` is ``2 * lr`` because its weight delta leaves out the 2
    of d(delta**2)/d weight (see :class:`~minigrad.MSELoss`).

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        momentum: μ ≥ 0.
        dampening: τ, applied from the second step on.
        weight_decay: λ ≥ 0 (L2 penalty).
        nesterov: use Nesterov momentum; needs μ > 0 and τ = 0.

    The state of a parameter is empty, or ``{"momentum_buffer": b_t}`` once a
    step with momentum has run (``_state_spec``).

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = mg.Linear(1, 1, bias=False)
        >>> model.weight.data[...] = 1.0
        >>> opt = SGD(model.parameters(), lr=0.5)
        >>> model.weight.grad[...] = 0.25
        >>> opt.step()
        >>> model.weight.data
        array([[0.875]])
    """

    _hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
    _state_spec: ClassVar[dict[str, str]] = {"momentum_buffer": "array"}  # created by the first step with momentum

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(params, lr)
        _check_number("momentum value", momentum)
        _check_number("weight_decay value", weight_decay)
        _check_number("dampening value", dampening, minimum=float("-inf"))
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = bool(nesterov)

    def step(self) -> None:
        """Apply one update to every parameter, in place."""
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if mu == 0 and wd == 0:  # plain gradient descent: θ ← θ - γ g, with no state
            for p in self.params:
                d = p.data
                g = p.grad if p._zeroed else p._grad  # (the grad property, inlined: this runs once per step)
                if d.size == 1 and p.xp is np:  # one number (torch's size is a method): NumPy scalars, 3x faster
                    i = (0,) * d.ndim
                    d[i] = d[i] - g[i] * lr
                else:
                    d -= g * lr  # (grad * lr is lr * grad, and a little faster for tiny arrays)
            return
        for p, state in zip(self.params, self.state, strict=True):
            g = p.grad
            if wd != 0:
                g = g + wd * p.data
            if mu != 0:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = backend.copy(g, p.xp)  # in the parameter's library and device
                    state["momentum_buffer"] = buf
                else:
                    assert not isinstance(buf, (int, float))
                    buf *= mu
                    buf += (1.0 - self.dampening) * g
                g = g + mu * buf if self.nesterov else buf
            if p.xp is np:
                _array.subtract_into(p.data, lr * g)
            else:
                p.data -= lr * g
