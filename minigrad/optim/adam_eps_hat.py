"""AdamEpsHat: Adam with the step size folded in and ε outside the bias correction, as scikit-learn's MLP."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from minigrad import _array
from minigrad.module import Module
from minigrad.optim.adam import _buffer, _check_betas, _step_count
from minigrad.optim.optimizer import Optimizer, _check_number
from minigrad.parameter import Parameter


class AdamEpsHat(Optimizer):
    r"""Adam in the form of Kingma & Ba's Algorithm 1 note, the rule of scikit-learn's ``AdamOptimizer``.

    For each parameter ``θ`` with gradient ``g_t`` at step ``t = 1, 2, …``,
    from ``m_0 = v_0 = 0``::

        m_t = β1 m_{t-1} + (1 - β1) g_t
        v_t = β2 v_{t-1} + (1 - β2) g_t²
        γ_t = γ sqrt(1 - β2^t) / (1 - β1^t)
        θ_t = θ_{t-1} - γ_t m_t / (sqrt(v_t) + ε̂)

    It is :class:`~minigrad.Adam` (``torch.optim.Adam``) with the bias
    corrections moved into the step size; the two differ only in where ε
    enters: here it is added to ``sqrt(v_t)``, in torch to
    ``sqrt(v_t / (1 - β2^t))``, so ``ε̂ = ε sqrt(1 - β2^t)`` makes them equal.
    The difference matters in the first steps (``1 - β2^t`` is small) and for
    gradients near zero.  Each product and sum is formed in the order
    scikit-learn forms it, so the numbers are the same to the last bit in
    float64.

    The state of each parameter is ``{"step": t, "exp_avg": m_t,
    "exp_avg_sq": v_t}``, as :class:`~minigrad.Adam`'s.

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        betas: ``(β1, β2)``, each in [0, 1).
        eps: ε̂ > 0, added to ``sqrt(v_t)``.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([1.0, -1.0]))
        >>> opt = AdamEpsHat([p], lr=0.1)
        >>> p.grad[...] = [3.0, -0.5]
        >>> opt.step()          # the first step moves each entry by about lr
        >>> p.data              # ε̂ = 1e-8 counts sqrt(1 - β2) ≈ 32x more than Adam's ε, which gives ±0.9
        array([ 0.90000001, -0.90000006])
    """

    _hyperparameters = ("lr", "betas", "eps")
    _state_spec: ClassVar[dict[str, str]] = {"step": "count", "exp_avg": "array", "exp_avg_sq": "array"}

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        self.betas = _check_betas(betas)
        _check_number("epsilon value", eps)
        if eps <= 0:
            raise ValueError(f"Invalid epsilon value: {eps} (expected a number > 0)")
        self.eps = float(eps)
        self._scratch: dict[int, tuple[NDArray[Any], NDArray[Any]]] = {}  # work arrays, not state

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring)."""
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        scratch = self._scratch
        for i, (p, state) in enumerate(zip(self.params, self.state, strict=True)):
            if not state:  # first step: m_0 = v_0 = 0
                state["step"] = 0
                state["exp_avg"] = _array.zeros_like(p.data)
                state["exp_avg_sq"] = _array.zeros_like(p.data)
            t = _step_count(state["step"]) + 1
            m = _buffer(state["exp_avg"])
            v = _buffer(state["exp_avg_sq"])
            g = p.grad
            buf, denom = _scratch_pair(scratch, i, p.data)
            m *= beta1
            np.multiply(g, 1 - beta1, out=buf)
            m += buf  # m_t = β1 m_{t-1} + (1 - β1) g_t
            v *= beta2
            np.multiply(g, g, out=buf)
            buf *= 1 - beta2
            v += buf  # v_t = β2 v_{t-1} + (1 - β2) g_t²
            step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)  # γ_t
            np.sqrt(v, out=denom)
            denom += eps
            np.multiply(m, -step_size, out=buf)
            buf /= denom
            p.data += buf  # θ_t = θ_{t-1} - γ_t m_t / (sqrt(v_t) + ε̂)
            state["step"] = t


def _scratch_pair(
    scratch: dict[int, tuple[NDArray[Any], NDArray[Any]]], i: int, like: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Two work arrays shaped like parameter *i*, kept between steps so that a step allocates nothing."""
    pair = scratch.get(i)
    if pair is None or pair[0].shape != like.shape or pair[0].dtype != like.dtype:
        pair = scratch[i] = (_array.empty(like.shape, like.dtype), _array.empty(like.shape, like.dtype))
    return pair
