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
from minigrad.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from minigrad.callbacks import Callback, EarlyStopping, ModelCheckpoint, PrintLoss
from minigrad.convergence import NoImprovementStopping
from minigrad.errors import DivergenceError
from minigrad.fit import fit
from minigrad.gradcheck import GradcheckError, gradcheck
from minigrad.history import History
from minigrad.linear import Linear
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
from minigrad.optim import SGD, Adam, AdamW, Optimizer
from minigrad.output_losses import HalfPoissonLoss, HalfSquaredLoss, SigmoidLogLoss, SoftmaxLogLoss
from minigrad.parameter import Parameter
from minigrad.penalty import L2Penalty
from minigrad.progress import Progress
from minigrad.sequential import Sequential
from minigrad.serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "BCEWithLogitsLoss",
    "Callback",
    "CrossEntropyLoss",
    "DivergenceError",
    "EarlyStopping",
    "GradcheckError",
    "HalfPoissonLoss",
    "HalfSquaredLoss",
    "History",
    "HuberLoss",
    "L1Loss",
    "L2Penalty",
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
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SigmoidLogLoss",
    "SoftmaxLogLoss",
    "Tanh",
    "__version__",
    "accuracy",
    "fit",
    "gradcheck",
    "init",
    "load",
    "r2_score",
    "save",
]
