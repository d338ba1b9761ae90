"""Optimizers: rules that turn gradients into parameter updates."""

from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Optimizer"]
