"""VelocitySGD: momentum SGD in velocity form (Sutskever et al., 2013), as scikit-learn's MLP solver "sgd"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.adam_eps_hat import _scratch_pair
from minigrad.optim.optimizer import Optimizer, _check_number


class VelocitySGD(Optimizer):
    r"""Stochastic gradient descent with momentum kept as a velocity, scikit-learn's ``SGDOptimizer``.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t``, from the
    velocity ``v_0 = 0``::

        v_t = μ v_{t-1} - γ_t g_t
        θ_t = θ_{t-1} + v_t                     (nesterov=False)
        θ_t = θ_{t-1} + μ v_t - γ_t g_t         (nesterov=True)

    with learning rate ``γ_t`` (``lr`` at step ``t``) and momentum ``μ``.
    With a constant learning rate this is :class:`~minigrad.SGD`'s rule
    (``v_t = -γ b_t``), up to rounding; the two differ once the learning rate
    changes during training: here the velocity keeps the steps already taken
    at their old learning rate, in :class:`~minigrad.SGD` the buffer is
    rescaled by the new one.  Each product and sum is formed in the order
    scikit-learn's ``SGDOptimizer._get_updates`` forms it, so the numbers are
    the same to the last bit.

    The state of each parameter is ``{"velocity": v_t}``, created at the first
    ``step()``.

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        momentum: μ in [0, 1].
        nesterov: take the Nesterov step (scikit-learn's default, True).

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([1.0]))
        >>> opt = VelocitySGD([p], lr=0.5, momentum=0.5, nesterov=False)
        >>> p.grad[...] = 1.0
        >>> opt.step(); p.data          # v = -0.5
        array([0.5])
        >>> opt.step(); p.data          # v = 0.5 * -0.5 - 0.5 = -0.75
        array([-0.25])
    """

    _hyperparameters = ("lr", "momentum", "nesterov")
    _state_spec: ClassVar[dict[str, str]] = {"velocity": "array"}

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 0.1,
        momentum: float = 0.9,
        nesterov: bool = True,
    ) -> None:
        super().__init__(params, lr)
        _check_number("momentum value", momentum, minimum=0.0)
        if momentum > 1:
            raise ValueError(f"Invalid momentum value: {momentum} (expected a number in [0, 1])")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._scratch: dict[int, tuple[NDArray[Any], NDArray[Any]]] = {}  # work arrays, not state

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring)."""
        lr, mu = self.lr, self.momentum
        scratch = self._scratch
        for i, (p, state) in enumerate(zip(self.params, self.state, strict=True)):
            v = state.get("velocity")
            if v is None:
                v = state["velocity"] = _array.zeros_like(p.data)
            assert not isinstance(v, (int, float))
            step, update = _scratch_pair(scratch, i, p.data)
            np.multiply(p.grad, lr, out=step)  # γ g
            v *= mu
            v -= step  # v_t = μ v_{t-1} - γ g_t
            if self.nesterov:
                np.multiply(v, mu, out=update)
                update -= step  # μ v_t - γ g_t
                p.data += update
            else:
                p.data += v
