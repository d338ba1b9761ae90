"""minigrad: a small NumPy machine-learning framework for learning and benchmarking gradient descent.

The seed's three steps, with arrays::

    pred = model(X)                    # predict   (Linear: X @ W.T + b)
    loss = loss_fn(pred, y)            # compare   (MSELoss: mean of squares)
    optimizer.zero_grad()
    model.backward(loss_fn.backward()) # gradients (the chain rule)
    optimizer.step()                   # learn     (SGD: W -= lr * dL/dW)

``fit`` runs that loop with checks, history and callbacks.
"""

# _startup comes first: under `python -m minigrad` it makes a Ctrl-C while NumPy loads exit quietly (status 130).
from minigrad import _startup as _startup
from minigrad.io.serialization import load, save
from minigrad.nn import init
from minigrad.nn.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh, softmax
from minigrad.nn.dropout import Dropout
from minigrad.nn.flatten import Flatten
from minigrad.nn.gradcheck import GradcheckError, gradcheck
from minigrad.nn.linear import Identity, Linear
from minigrad.nn.losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
)
from minigrad.nn.module import Module
from minigrad.nn.normalization import BatchNorm1d, LayerNorm
from minigrad.nn.output_losses import HalfPoissonLoss, HalfSquaredLoss, SigmoidLogLoss, SoftmaxLogLoss
from minigrad.nn.parameter import Parameter
from minigrad.nn.sequential import Sequential
from minigrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_
from minigrad.optim.penalty import L2Penalty
from minigrad.training.callbacks import Callback, EarlyStopping, ModelCheckpoint, PrintLoss
from minigrad.training.convergence import NoImprovementStopping
from minigrad.training.errors import DivergenceError
from minigrad.training.fit import fit
from minigrad.training.history import History
from minigrad.training.metrics import accuracy, r2_score
from minigrad.training.progress import Progress

__version__ = "0.1.0"

__all__ = [
    "ELU",
    "GELU",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Callback",
    "CrossEntropyLoss",
    "DivergenceError",
    "Dropout",
    "EarlyStopping",
    "Flatten",
    "GradcheckError",
    "HalfPoissonLoss",
    "HalfSquaredLoss",
    "History",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "L2Penalty",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "ModelCheckpoint",
    "Module",
    "NoImprovementStopping",
    "Optimizer",
    "Parameter",
    "PrintLoss",
    "Progress",
    "RMSprop",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SigmoidLogLoss",
    "Softmax",
    "SoftmaxLogLoss",
    "Softplus",
    "Tanh",
    "__version__",
    "accuracy",
    "clip_grad_norm_",
    "clip_grad_value_",
    "fit",
    "gradcheck",
    "init",
    "load",
    "r2_score",
    "save",
    "softmax",
]
