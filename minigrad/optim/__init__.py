"""Optimizers: rules that turn gradients into parameter updates."""

from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.adam_eps_hat import AdamEpsHat
from minigrad.optim.inverse_scaling import InverseScalingLR
from minigrad.optim.lr_scheduler import ExponentialLR, LRScheduler, StepLR
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD
from minigrad.optim.velocity_sgd import VelocitySGD

__all__ = [
    "SGD",
    "Adam",
    "AdamEpsHat",
    "AdamW",
    "ExponentialLR",
    "InverseScalingLR",
    "LRScheduler",
    "Optimizer",
    "StepLR",
    "VelocitySGD",
    "lr_scheduler",
]
