"""Central finite differences for the gradient tests, independent of ``mg.gradcheck``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray


def central_difference(f: Callable[[], float], a: NDArray[np.float64], h: float = 1e-6) -> NDArray[np.float64]:
    """d f / d a by central differences ``(f(a + h e_i) - f(a - h e_i)) / 2h``, perturbing *a* in place."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + h
        up = f()
        a[idx] = old - h
        down = f()
        a[idx] = old
        grad[idx] = (up - down) / (2 * h)
    return grad
