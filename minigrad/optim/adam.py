"""Adam and AdamW: adaptive moment estimation, as torch.optim.Adam and torch.optim.AdamW."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from numpy.typing import NDArray

from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.optimizer import Optimizer, StateValue, _buffer, _check_number, _step_count, check_stepped_state


def _check_betas(betas: tuple[float, float]) -> tuple[float, float]:
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        _check_number(f"beta parameter at index {i}", b, minimum=0.0, below=1.0)
    return float(betas[0]), float(betas[1])


class _AdamBase(Optimizer):
    """The moment estimates and the bias-corrected step shared by Adam and AdamW."""

    _hyperparameters = ("lr", "betas", "eps", "weight_decay")
    _state_spec: ClassVar[dict[str, str]] = {"step": "count", "exp_avg": "array", "exp_avg_sq": "array"}
    _decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float,
        betas: tuple[float, float],
        eps: float,
        weight_decay: float,
    ) -> None:
        super().__init__(params, lr)
        self.betas = _check_betas(betas)
        _check_number("epsilon value", eps)
        _check_number("weight_decay value", weight_decay)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def _check_state(self, index: int, state: Mapping[str, StateValue]) -> None:
        """A loaded state is one that steps produce: ``step >= 1`` and ``exp_avg_sq >= 0``."""
        check_stepped_state(self, index, state, "exp_avg_sq", "an average of squares")

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring)."""
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        for p, state in zip(self.params, self.state, strict=True):
            xp = p.xp
            t, m, v = moments(state, p)
            g = p.grad
            if wd != 0:
                if self._decoupled:
                    p.data *= 1 - lr * wd  # AdamW: θ ← θ - γ λ θ
                else:
                    g = g + wd * p.data  # Adam: g ← g + λ θ
            m *= beta1
            m += (1 - beta1) * g  # m_t = β1 m_{t-1} + (1 - β1) g_t
            v *= beta2
            v += (1 - beta2) * (g * g)  # v_t = β2 v_{t-1} + (1 - β2) g_t²
            bias_correction1 = 1 - beta1**t
            bias_correction2 = 1 - beta2**t
            # θ_t = θ_{t-1} - γ m̂_t / (sqrt(v̂_t) + ε), with m̂ = m / bc1 and v̂ = v / bc2
            denom = xp.sqrt(v) / (bias_correction2**0.5)
            denom += eps
            p.data -= (lr / bias_correction1) * (m / denom)
            state["step"] = t


class Adam(_AdamBase):
    r"""Adam, the update rule of ``torch.optim.Adam`` (Kingma & Ba, 2015).

    For each parameter ``θ`` with gradient ``g_t`` at step ``t = 1, 2, …``,
    starting from ``m_0 = v_0 = 0``::

        g_t ← g_t + λ θ_{t-1}                         (weight_decay λ ≠ 0: L2 penalty)
        m_t = β1 m_{t-1} + (1 - β1) g_t               (first moment)
        v_t = β2 v_{t-1} + (1 - β2) g_t²              (second moment)
        m̂_t = m_t / (1 - β1^t)                        (bias corrections)
        v̂_t = v_t / (1 - β2^t)
        θ_t = θ_{t-1} - γ m̂_t / (sqrt(v̂_t) + ε)

    The state of each parameter is ``{"step": t, "exp_avg": m_t,
    "exp_avg_sq": v_t}``, created at the first ``step()`` and saved by
    ``state_dict()`` so training can resume exactly.  ``load_state_dict``
    accepts it only as steps leave it: all three keys, ``t`` an int ≥ 1,
    ``m_t`` and ``v_t`` finite float arrays of the parameter's shape with
    ``v_t ≥ 0`` (or an empty state: no step yet).  (``amsgrad``,
    ``maximize`` and the other torch options are not provided.)

    Args:
        params: the parameters to update (``model.parameters()``).
        lr: learning rate γ ≥ 0.
        betas: ``(β1, β2)``, each in [0, 1).
        eps: ε ≥ 0, added to the denominator.
        weight_decay: λ ≥ 0, added to the gradient as an L2 penalty.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([1.0, -1.0]))
        >>> opt = Adam([p], lr=0.1)
        >>> p.grad[...] = [3.0, -0.5]
        >>> opt.step()          # the first step moves each entry by about lr
        >>> p.data
        array([ 0.9, -0.9])
        >>> opt.state[0]["step"]
        1
    """

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class AdamW(_AdamBase):
    r"""AdamW, the update rule of ``torch.optim.AdamW`` (Loshchilov & Hutter, 2019).

    Adam with *decoupled* weight decay: the parameter shrinks directly
    instead of the penalty entering the moment estimates.  For each
    parameter ``θ`` with gradient ``g_t``, from ``m_0 = v_0 = 0``::

        θ_{t-1} ← θ_{t-1} - γ λ θ_{t-1}               (decoupled weight decay)
        m_t = β1 m_{t-1} + (1 - β1) g_t
        v_t = β2 v_{t-1} + (1 - β2) g_t²
        m̂_t = m_t / (1 - β1^t),   v̂_t = v_t / (1 - β2^t)
        θ_t = θ_{t-1} - γ m̂_t / (sqrt(v̂_t) + ε)

    State and arguments as :class:`Adam`; ``weight_decay`` defaults to 0.01.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.array([10.0]))
        >>> opt = AdamW([p], lr=0.1, weight_decay=0.5)
        >>> opt.step()          # zero gradient: only the decay acts, 10 * (1 - 0.1 * 0.5)
        >>> p.data
        array([9.5])
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter] | Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def moments(state: dict[str, StateValue], p: Parameter) -> tuple[int, NDArray[Any], NDArray[Any]]:
    """``(t, m, v)`` for the coming step of an Adam-family optimizer: its number and the moment buffers.

    On the first step the state starts as ``step = 0``, ``m_0 = v_0 = 0`` (arrays of the parameter's
    library and device), so ``t = 1``.
    """
    if not state:
        xp = p.xp
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(p.data)
        state["exp_avg_sq"] = xp.zeros_like(p.data)
    return _step_count(state["step"]) + 1, _buffer(state["exp_avg"]), _buffer(state["exp_avg_sq"])
