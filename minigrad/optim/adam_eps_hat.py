"""AdamEpsHat: Adam with the step size folded in and ε outside the bias correction, as scikit-learn's MLP."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.adam import _check_betas, moments
from minigrad.optim.optimizer import Optimizer, _buffer, _check_number, _step_count

#: ``(m, v, g, work, denominator, views)``: every parameter's moments, gradient and update side by side
#: in 1-D arrays, and per parameter the views ``(m, v, g, work)`` of its shape into them.
_Flat = tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any], list[tuple[NDArray[Any], ...]]]


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
        self._flat_arrays: _Flat | None = None

    def step(self) -> None:
        """Apply one update to every parameter, in place (the rule in the class docstring).

        The parameters' moments live side by side in one array, so that each
        operation of the rule is one NumPy call for all of them (the state's
        ``exp_avg`` and ``exp_avg_sq`` are views into it); element by element
        the arithmetic is the same.  Parameters of different dtypes, or states
        at different step counts, are updated one by one.
        """
        flat = self._flat()
        if flat is None:
            self._step_each()
            return
        m, v, g, buf, denom, views = flat
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        t = _step_count(self.state[0]["step"]) + 1
        for p, (_, _, g_view, _) in zip(self.params, views, strict=True):
            np.copyto(g_view, p.grad)
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
        for p, state, (_, _, _, update) in zip(self.params, self.state, views, strict=True):
            p.data += update  # θ_t = θ_{t-1} - γ_t m_t / (sqrt(v_t) + ε̂)
            state["step"] = t

    def _flat(self) -> _Flat | None:
        """The side-by-side arrays, (re)built from the state when it was replaced; None if they cannot be used."""
        params, states = self.params, self.state
        dtype = params[0].data.dtype
        if any(p.data.dtype != dtype for p in params):
            return None
        flat = self._flat_arrays
        if flat is not None and all(
            s.get("exp_avg") is mv and s.get("exp_avg_sq") is vv
            for s, (mv, vv, _, _) in zip(states, flat[5], strict=True)
        ):
            return flat if len({s["step"] for s in states}) == 1 else None
        if any(states) and not (all(states) and len({_step_count(s["step"]) for s in states}) == 1):
            return None
        total = sum(p.data.size for p in params)
        m, v = _array.zeros((total,), dtype), _array.zeros((total,), dtype)
        g, buf, denom = (_array.empty((total,), dtype) for _ in range(3))
        views: list[tuple[NDArray[Any], ...]] = []
        start = 0
        for p, state in zip(params, states, strict=True):
            stop = start + p.data.size
            mv, vv, gv, bv = (a[start:stop].reshape(p.data.shape) for a in (m, v, g, buf))
            if state:  # a state put back or loaded: carry its moments over
                np.copyto(mv, _buffer(state["exp_avg"]))
                np.copyto(vv, _buffer(state["exp_avg_sq"]))
            else:
                state["step"] = 0
            state["exp_avg"], state["exp_avg_sq"] = mv, vv
            views.append((mv, vv, gv, bv))
            start = stop
        flat = self._flat_arrays = (m, v, g, buf, denom, views)
        return flat

    def _step_each(self) -> None:
        """The update, one parameter at a time."""
        self._flat_arrays = None
        lr, eps = self.lr, self.eps
        beta1, beta2 = self.betas
        scratch = self._scratch
        for i, (p, state) in enumerate(zip(self.params, self.state, strict=True)):
            t, m, v = moments(state, p)
            g = p.grad
            buf, denom = _scratch_pair(scratch, i, p.data)
            m *= beta1
            np.multiply(g, 1 - beta1, out=buf)
            m += buf
            v *= beta2
            np.multiply(g, g, out=buf)
            buf *= 1 - beta2
            v += buf
            step_size = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
            np.sqrt(v, out=denom)
            denom += eps
            np.multiply(m, -step_size, out=buf)
            buf /= denom
            p.data += buf
            state["step"] = t


def _scratch_pair(
    scratch: dict[int, tuple[NDArray[Any], NDArray[Any]]], i: int, like: NDArray[Any]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Two work arrays shaped like parameter *i*, kept between steps so that a step allocates nothing."""
    pair = scratch.get(i)
    if pair is None or pair[0].shape != like.shape or pair[0].dtype != like.dtype:
        pair = scratch[i] = (_array.empty(like.shape, like.dtype), _array.empty(like.shape, like.dtype))
    return pair
