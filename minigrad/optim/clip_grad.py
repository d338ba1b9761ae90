"""Gradient clipping: bound the gradients before an optimizer step, as torch.nn.utils.clip_grad_norm_/_value_."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from minigrad.backend import _array
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _parameter_list(parameters: Iterable[Parameter] | Parameter | Module) -> list[Parameter]:
    if isinstance(parameters, Parameter):
        return [parameters]
    plist = parameters.parameters() if isinstance(parameters, Module) else list(parameters)
    for p in plist:
        if not isinstance(p, Parameter):
            raise TypeError(f"parameters must be Parameters (or a Module), got {type(p).__name__}")
    return plist


def _check_nonnegative(name: str, value: float, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if math.isnan(value) or value < 0 or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a {'' if allow_inf else 'finite '}number >= 0, got {value}")
    return float(value)


def clip_grad_norm_(
    parameters: Iterable[Parameter] | Parameter | Module,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``; return the norm before.

    With the gradients ``g_1, …, g_k`` of the parameters seen as one long vector, as torch::

        n = ‖(‖g_1‖_p, …, ‖g_k‖_p)‖_p        (p = norm_type; p = inf: the largest |entry|)
        c = min(1, max_norm / (n + 1e-6))
        g_i ← c g_i                           (in place, every parameter)

    The direction of the update is kept; only its length is bounded, which tames exploding
    gradients.  Call it between ``backward`` and ``optimizer.step()``.

    Args:
        parameters: the parameters (``model.parameters()``, a Module or one Parameter).
        max_norm: the bound, ≥ 0.
        norm_type: ``p`` > 0, or ``float("inf")``.
        error_if_nonfinite: raise ValueError (changing nothing) when the norm is NaN or inf,
            instead of scaling by it.

    Returns:
        The total norm ``n`` before clipping, a float.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.zeros(2))
        >>> p.grad[...] = [3.0, 4.0]
        >>> mg.clip_grad_norm_([p], max_norm=1.0)
        5.0
        >>> p.grad.round(6)
        array([0.6, 0.8])
    """
    plist = _parameter_list(parameters)
    max_norm = _check_nonnegative("max_norm", max_norm)
    norm_type = _check_nonnegative("norm_type", norm_type, allow_inf=True)
    if norm_type == 0:
        raise ValueError("norm_type must be > 0 (or inf), got 0")
    if not plist:
        return 0.0
    grads = [(p.grad, p.xp) for p in plist]
    if math.isinf(norm_type):
        total = max(float(xp.max(xp.abs(g))) if math.prod(g.shape) else 0.0 for g, xp in grads)
    elif norm_type == 2.0:
        total = math.sqrt(sum(_array.sum_of_squares(g) if xp is np else float(xp.sum(g * g)) for g, xp in grads))
    else:
        norms = [float(xp.sum(xp.abs(g) ** norm_type)) ** (1.0 / norm_type) for g, xp in grads]
        total = sum(n**norm_type for n in norms) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(
            f"the total norm of order {norm_type} of the gradients is {total}, so they cannot be clipped; "
            "pass error_if_nonfinite=False to scale them anyway"
        )
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # also a NaN norm: NaN gradients, as torch (error_if_nonfinite refuses it)
        for g, _ in grads:
            g *= coef
    return total


def clip_grad_value_(parameters: Iterable[Parameter] | Parameter | Module, clip_value: float) -> None:
    r"""Clip every gradient entry into ``[-clip_value, clip_value]``, in place, as torch.

    ::

        g ← min(max(g, -clip_value), clip_value)

    Args:
        parameters: the parameters (``model.parameters()``, a Module or one Parameter).
        clip_value: the bound, ≥ 0.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> p = mg.Parameter(np.zeros(3))
        >>> p.grad[...] = [-5.0, 0.5, 2.0]
        >>> mg.clip_grad_value_([p], 1.0); p.grad
        array([-1. ,  0.5,  1. ])
    """
    plist = _parameter_list(parameters)
    c = _check_nonnegative("clip_value", clip_value)
    for p in plist:
        g = p.grad
        if p.xp is np:
            np.clip(g, -c, c, out=g)
        else:
            g[...] = p.xp.clip(g, -c, c)
