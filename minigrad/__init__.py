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
from minigrad import init
from minigrad.activations import ELU, GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh, softmax
from minigrad.callbacks import Callback, EarlyStopping, ModelCheckpoint, PrintLoss
from minigrad.convergence import NoImprovementStopping
from minigrad.dropout import Dropout
from minigrad.errors import DivergenceError
from minigrad.fit import fit
from minigrad.flatten import Flatten
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.history import History
from minigrad.linear import Identity, Linear
from minigrad.losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    Loss,
    MSELoss,
)
from minigrad.metrics import accuracy, r2_score
from minigrad.module import Module
from minigrad.normalization import BatchNorm1d, LayerNorm
from minigrad.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_
from minigrad.output_losses import HalfPoissonLoss, HalfSquaredLoss, SigmoidLogLoss, SoftmaxLogLoss
from minigrad.parameter import Parameter
from minigrad.penalty import L2Penalty
from minigrad.progress import Progress
from minigrad.sequential import Sequential
from minigrad.serialization import load, save

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
