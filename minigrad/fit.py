"""fit: the training loop — predict, compare, learn, repeated."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import _array
from minigrad.callbacks import Callback, EpochEndFn, PrintLoss, as_callbacks
from minigrad.history import History
from minigrad.losses import Loss
from minigrad.module import Module
from minigrad.optim.optimizer import Optimizer
from minigrad.trainer import Trainer, minibatch_epoch


def check_data(model: Module, X: ArrayLike, y: ArrayLike) -> tuple[NDArray[Any], NDArray[Any]]:
    """Validate and convert training data to the model's dtype.

    Returns ``(X, y)`` as arrays of the model's dtype; arrays that already
    have it are used without a copy (and never written to).  ``y`` may be
    1-D for a single-output model; it is then viewed as ``(N, 1)``.

    Raises:
        ValueError: X not 2-D, empty X, different row counts, y not 1-D or
            2-D, or NaN/inf anywhere.
        TypeError: non-numeric data.
    """
    dtype = model.dtype
    Xa = _array.as_float_array(X, dtype, "X")
    _array.check_2d(Xa, "X")
    if Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"X is empty (shape {Xa.shape}); fit needs at least one sample and one feature")
    ya = _array.as_float_array(y, dtype, "y")
    if ya.ndim == 1:
        ya = ya.reshape(-1, 1)
    elif ya.ndim != 2:
        raise ValueError(f"y must be 1-D (single output) or 2-D (N, outputs), got shape {ya.shape}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"X and y have different numbers of samples: X has shape {Xa.shape}, y has shape {np.shape(y)}"
        )
    _array.check_finite(Xa, "X")
    _array.check_finite(ya, "y")
    return Xa, ya


def fit(
    model: Module,
    X: ArrayLike,
    y: ArrayLike,
    *,
    loss: Loss,
    optimizer: Optimizer,
    epochs: int,
    batch_size: int | None = None,
    shuffle: bool = True,
    tol: float | None = None,
    rng: int | np.random.Generator | None = None,
    callbacks: list[Callback | EpochEndFn] | None = None,
    verbose: int = 0,
) -> History:
    """Train *model* on ``(X, y)`` by gradient descent and return its History.

    Each step is the manual loop, the seed's three steps on arrays::

        pred = model(X)                        # predict
        l = loss(pred, y)                      # compare
        optimizer.zero_grad()
        model.backward(loss.backward())        # d loss / d parameters
        optimizer.step()                       # learn

    Args:
        model: the module to train, in place.
        X: inputs, shape ``(N, in_features)``; converted to the model's dtype.
        y: targets, shape ``(N, outputs)``, or ``(N,)`` for a single-output model.
        loss: the loss to minimise, e.g. ``MSELoss()``.
        optimizer: an optimizer over ``model.parameters()``.
        epochs: the most epochs to run, ≥ 1.
        batch_size: None for full-batch gradient descent (one step an epoch,
            X used as it is, never copied), or the mini-batch size; the last
            partial batch is kept.
        shuffle: reshuffle the mini-batches every epoch (ignored in full batch).
        tol: stop when the training loss is ≤ tol.  In full batch the loss is
            computed before the epoch's update and a stopping epoch makes no
            update; with mini-batches the epoch's loss is checked after it.
        rng: int seed or Generator for the shuffling.
        callbacks: :class:`Callback` objects or functions ``f(epoch, logs)``,
            called after every epoch; one returning True stops training.
        verbose: 0 prints nothing; 1 prints the loss after every epoch.

    Returns:
        A :class:`History` with one training loss per epoch run.

    Raises:
        ValueError: bad data or arguments, before any update.
        DivergenceError: a loss or parameter became NaN or inf; the
            parameters of the last finite step are restored first.

    A KeyboardInterrupt leaves the model as it was after the last completed
    step.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = mg.Linear(1, 1, bias=False)
        >>> model.weight.data[...] = 1.0
        >>> history = mg.fit(model, [[200_000.0]], [99_750_000.0], loss=mg.MSELoss(),
        ...                  optimizer=mg.SGD(model.parameters(), lr=1e-11 / 2),
        ...                  epochs=100, tol=0.0)
        >>> history.epochs, history.stop_reason, model.weight.data.item()
        (73, 'tol', 498.75)
    """
    _check_int("epochs", epochs)
    if batch_size is not None:
        _check_int("batch_size", batch_size)
    if tol is not None and (isinstance(tol, bool) or not math.isfinite(tol) or tol < 0):
        raise ValueError(f"tol must be None or a finite number >= 0, got {tol!r}")
    Xa, ya = check_data(model, X, y)
    y_was_1d = np.ndim(y) == 1
    cbs = as_callbacks(callbacks)
    if verbose:
        cbs.append(PrintLoss())
    params = model.parameters()
    trainer = Trainer(model, params, loss, optimizer)
    history = History()
    for cb in cbs:
        cb.on_train_begin(model)
    n = Xa.shape[0]
    full_batch = batch_size is None or batch_size >= n
    gen = _array.as_rng(rng) if (not full_batch and shuffle) else None

    with np.errstate(all="ignore"):
        try:
            for epoch in range(1, epochs + 1):
                if full_batch:
                    epoch_loss = trainer.step(Xa, ya, epoch, tol, y_was_1d)
                else:
                    assert batch_size is not None
                    epoch_loss = minibatch_epoch(trainer, Xa, ya, batch_size, gen, epoch, y_was_1d)
                history.loss.append(epoch_loss)
                converged = tol is not None and epoch_loss <= tol
                logs: dict[str, Any] = {"loss": epoch_loss, "converged": converged}
                stop = [bool(cb.on_epoch_end(epoch, logs)) for cb in cbs]
                if converged:
                    history.stop_reason = "tol"
                    break
                if any(stop):
                    history.stop_reason = "callback"
                    break
        except KeyboardInterrupt:
            trainer.undo_unfinished_step()
            raise
    for cb in cbs:
        cb.on_train_end(history)
    return history


def _check_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
