"""minigrad: a small NumPy machine-learning framework for learning and benchmarking gradient descent.

The seed's three steps, with arrays::

    pred = model(X)                    # predict   (Linear: X @ W.T + b)
    loss = loss_fn(pred, y)            # compare   (MSELoss: mean of squares)
    optimizer.zero_grad()
    model.backward(loss_fn.backward()) # gradients (the chain rule)
    optimizer.step()                   # learn     (SGD: W -= lr * dL/dW)

``fit`` runs that loop with checks, history and callbacks.
"""

from minigrad.callbacks import Callback, PrintLoss
from minigrad.errors import DivergenceError
from minigrad.fit import fit
from minigrad.history import History
from minigrad.linear import Linear
from minigrad.losses import Loss, MSELoss
from minigrad.module import Module
from minigrad.optim import SGD, Optimizer
from minigrad.parameter import Parameter

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Callback",
    "DivergenceError",
    "History",
    "Linear",
    "Loss",
    "MSELoss",
    "Module",
    "Optimizer",
    "Parameter",
    "PrintLoss",
    "__version__",
    "fit",
]
