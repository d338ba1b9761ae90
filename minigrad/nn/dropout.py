"""Dropout: randomly zero activations while training, a regulariser (Srivastava et al., 2014)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad.backend import _array
from minigrad.nn.module import Module


class Dropout(Module):
    r"""Zero each element with probability ``p`` in training mode, as ``torch.nn.Dropout``.

    In training mode, with a fresh mask ``m`` drawn at every forward, each entry independently::

        m ~ Bernoulli(1 - p)                      (1: kept, 0: dropped)
        y = x * m / (1 - p)
        dL/dx = dL/dy * m / (1 - p)

    so ``E[y] = x``: the kept entries are scaled up, and nothing has to change at evaluation.
    In evaluation mode (``model.eval()``, and always in ``predict``) ``y = x`` and ``dL/dx = dL/dy``.
    ``p = 1`` drops everything (``y = 0``, as torch defines it); ``p = 0`` keeps everything.

    The mask comes from ``rng`` alone: two layers made with the same seed draw the same masks in the
    same order.  ``forward`` caches the scaled mask ``m / (1 - p)`` (None in evaluation mode).

    Args:
        p: the probability of dropping an element, in ``[0, 1]``.
        rng: int seed or ``numpy.random.Generator`` the masks are drawn from (kept as ``self.rng``;
            None: a freshly seeded generator).

    Shape:
        - Input: any shape.  Output: the same shape.

    Example:
        >>> import numpy as np
        >>> layer = Dropout(p=0.5, rng=0)
        >>> layer(np.ones((2, 4)))
        array([[2., 0., 0., 0.],
               [2., 2., 2., 2.]])
        >>> layer.backward(np.ones((2, 4)), need_input_grad=True)
        array([[2., 0., 0., 0.],
               [2., 2., 2., 2.]])
        >>> layer.eval()(np.ones((1, 4)))
        array([[1., 1., 1., 1.]])
    """

    def __init__(self, p: float = 0.5, rng: int | np.random.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
            raise TypeError(f"dropout probability p must be a number, got {type(p).__name__}")
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise ValueError(f"dropout probability p has to be between 0 and 1, got {p}")
        self.p = float(p)
        self.rng = _array.as_rng(rng)
        self._scale: Any = None
        self._shape: tuple[int, ...] | None = None

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        """Return ``x * m / (1 - p)`` with a new mask ``m`` in training mode, else ``x``."""
        xp = self.xp
        xa = _array.as_input(x, xp)
        self._shape = tuple(xa.shape)
        if not self.training or self.p == 0.0:
            self._scale = None
            return xa  # type: ignore[no-any-return]
        if self.p == 1.0:
            self._scale = xp.zeros_like(xa)
        else:
            keep = self.rng.random(self._shape) >= self.p  # P(keep) = 1 - p
            scale = keep.astype(np.dtype(xa.dtype) if xp is np else np.float64) / (1.0 - self.p)
            self._scale = scale if xp is np else xp.astype(xp.asarray(scale, device=xa.device), xa.dtype)
        y: NDArray[Any] = xa * self._scale
        return y

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        """Return ``grad_output * m / (1 - p)`` (the last mask), ``grad_output`` in evaluation; None if not asked."""
        if self._shape is None:
            raise RuntimeError("Dropout.backward called before forward")
        if tuple(grad_output.shape) != self._shape:
            raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}, expected {self._shape}")
        if not need_input_grad:
            return None
        if self._scale is None:
            return grad_output
        grad: NDArray[Any] = grad_output * self._scale
        return grad

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
