"""A layer for tests of the backward contract: the identity, recording each ``need_input_grad`` it is given."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

import minigrad as mg


class Recorder(mg.Module):
    """The identity, recording each need_input_grad it is given."""

    def __init__(self) -> None:
        self.flags: list[bool] = []

    def forward(self, x: ArrayLike) -> NDArray[Any]:
        return np.asarray(x, dtype=np.float64)

    def backward(self, grad_output: NDArray[Any], *, need_input_grad: bool = False) -> NDArray[Any] | None:
        self.flags.append(need_input_grad)
        return grad_output if need_input_grad else None
