"""Optimizers: rules that turn gradients into parameter updates; schedules of the learning rate; clipping."""

from minigrad.optim import lr_scheduler
from minigrad.optim.adagrad import Adagrad
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.adam_eps_hat import AdamEpsHat
from minigrad.optim.clip_grad import clip_grad_norm_, clip_grad_value_
from minigrad.optim.inverse_scaling import InverseScalingLR
from minigrad.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.rmsprop import RMSprop
from minigrad.optim.sgd import SGD
from minigrad.optim.velocity_sgd import VelocitySGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamEpsHat",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseScalingLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StepLR",
    "VelocitySGD",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
]
