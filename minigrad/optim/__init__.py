"""Optimizers: rules that turn gradients into parameter updates."""

from minigrad.optim import lr_scheduler
from minigrad.optim.adam import Adam, AdamW
from minigrad.optim.lr_scheduler import ExponentialLR, LRScheduler, StepLR
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "ExponentialLR", "LRScheduler", "Optimizer", "StepLR", "lr_scheduler"]
