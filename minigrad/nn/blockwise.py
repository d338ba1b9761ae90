"""Block-wise training steps: the full-batch gradient as a sum over row blocks of X.

Rows of a data set are independent, so a loss with ``reduction="sum"`` and its
parameter gradients are sums over rows, and any split of the rows into blocks
gives the same sums up to floating-point rounding::

    L_sum   = Σ_blocks  sum_loss(model(X_b), y_b)
    dL_sum  = Σ_blocks  d sum_loss(model(X_b), y_b) / dθ
    L_mean  = L_sum / n          dL_mean = dL_sum / n

where ``n`` is what the loss's mean divides by: the number of rows for a loss
with class targets (:class:`~minigrad.CrossEntropyLoss`, whose mean is over
samples) and the number of prediction elements for every other loss
(:class:`~minigrad.MSELoss` and the rest average over elements, as in PyTorch).

fit takes this path for data it must not hold whole: a NumPy array (an
``np.memmap`` say) of at least :data:`~minigrad.training.fused_step.STREAM_MIN_BYTES`
that the fused Linear+MSE step does not stream itself, and Dask arrays
(:mod:`minigrad.nn.dask_blocks`, where each block is computed on the worker that
holds it).  On NumPy each block is converted to the model's dtype on its own,
so a float32 model on a float64 memmap never holds an X-sized array; the
activations of one block are the largest temporaries.

Shuffled mini-batches over data that cannot be shuffled row by row cheaply
(a memmap of at least :data:`SHUFFLE_IN_BLOCKS_MIN_BYTES`, a Dask array) go
block by block instead (:func:`block_shuffled_epoch`): the order of the blocks
is a permutation drawn from the rng, and the rows within each block are
permuted too, so every row is still seen once per epoch, but a batch never
mixes rows of two blocks.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from minigrad.backend import _array
from minigrad.nn.losses import Loss
from minigrad.nn.module import Module

if TYPE_CHECKING:
    from minigrad.training.trainer import Trainer

#: Elements of X per row block in a block-wise step on NumPy data (8 MiB of
#: float64): large enough for the matrix products to run at full speed, small
#: enough that a block's activations stay a few times the block.
BLOCK_ELEMENTS = 1 << 20

#: An ``np.memmap`` at least this large (bytes) is shuffled block by block for
#: mini-batches (see :func:`block_shuffled_epoch`): a row-by-row shuffle of
#: data on disk reads one row per seek, which makes an epoch take hours.
SHUFFLE_IN_BLOCKS_MIN_BYTES = 1 << 28

#: Bytes of X per block when a memmap is shuffled block by block (each block
#: is read from disk in one sequential pass).
SHUFFLE_BLOCK_BYTES = 1 << 26


class BlockSums(Protocol):
    """Data that computes block-wise loss and gradient sums itself (a Dask array's row blocks)."""

    def sums(
        self, model: Module, loss: Loss, y: Any, check: bool, y_was_1d: bool
    ) -> tuple[float, list[NDArray[Any]], int, int, str | None]:
        """``(loss sum, gradient sums, prediction elements, rows, error)`` over all blocks, in block order."""


def sum_loss(loss: Loss) -> Loss:
    """A copy of *loss* with ``reduction="sum"`` and none of the arrays it kept from its last call.

    Example:
        >>> import minigrad as mg
        >>> sum_loss(mg.HuberLoss(delta=2.0))
        HuberLoss(reduction='sum', delta=2.0)
    """
    out: Loss = strip_copy(loss)
    out.reduction = "sum"
    return out


def strip_copy(obj: Any) -> Any:
    """A deep copy of a module or loss without the arrays it keeps between forward and backward.

    Every array attribute of a module (or of a module inside it, or of a loss)
    that is not one of its buffers (``_buffer_names``) is taken to be such a
    cache and copied as None: a forward pass sets it again.  Parameters and
    buffers are copied.  This keeps a model sent to a worker as small as its
    parameters, however large the last batch it saw.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> layer = mg.Linear(2, 1, rng=0)
        >>> _ = layer(np.ones((1000, 2)))
        >>> strip_copy(layer)._input is None, layer._input.shape
        (True, (1000, 2))
    """
    memo: dict[int, Any] = {}
    _mark_caches(obj, memo, set())
    return copy.deepcopy(obj, memo)


def _mark_caches(obj: Any, memo: dict[int, Any], seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _mark_caches(item, memo, seen)
        return
    if not isinstance(obj, (Module, Loss)):
        return
    keep = set(getattr(obj, "_buffer_names", ()))
    for name, value in vars(obj).items():
        if isinstance(value, np.ndarray) and name not in keep:
            memo[id(value)] = None
        else:
            _mark_caches(value, memo, seen)


def mean_divisor(loss: Loss, elements: int, rows: int) -> int:
    """What *loss*'s mean divides its sum by: *rows* for class targets, else the prediction's *elements*."""
    return rows if getattr(loss, "class_targets", False) else elements


def check_prediction(pred: NDArray[Any], y: NDArray[Any], y_was_1d: bool) -> None:
    """The general step's error for a 1-D y given to a model with more than one output."""
    if y_was_1d and pred.shape != y.shape:
        raise ValueError(
            f"a 1-D y is accepted only for a single-output model; the model predicts shape "
            f"{pred.shape}, so pass y with shape (N, {pred.shape[1] if pred.ndim == 2 else '?'})"
        )


def block_rows(X: Any, elements: int = BLOCK_ELEMENTS) -> int:
    """Rows per block of *X* so that a block holds about *elements* numbers (at least one row)."""
    per_row = max(1, math.prod(X.shape[1:]))
    return max(1, elements // int(per_row))


def numpy_sums(
    model: Module,
    params: Sequence[Any],
    loss: Loss,
    X: NDArray[Any],
    y: NDArray[Any],
    y_was_1d: bool,
    check: str | None,
) -> tuple[float, int, int]:
    """Sum the loss over row blocks of the NumPy ``(X, y)`` and leave the summed gradients in ``params``' grad.

    *loss* must have ``reduction="sum"`` (see :func:`sum_loss`).  Each block
    is converted to the model's dtype on its own, and with *check* (X's name)
    checked for NaN/inf before it is used.  Returns ``(loss sum, prediction
    elements, rows)``.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = mg.Linear(3, 1, rng=0)
        >>> X, y = np.ones((10, 3)), np.zeros((10, 1))
        >>> total, elements, rows = numpy_sums(model, model.parameters(), sum_loss(mg.MSELoss()), X, y, False, "X")
        >>> bool(np.isclose(total, mg.MSELoss(reduction="sum")(model(X), y))), elements, rows
        (True, 10, 10)
    """
    dtype = model.dtype
    for p in params:
        p.zero_grad()
    n = X.shape[0]
    rows = block_rows(X)
    total = 0.0
    elements = 0
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        xb = X[start:stop]
        if check is not None:
            _array.check_finite(xb, check, first_row=start)
        xb = _array.as_float_array(xb, dtype, "X")
        yb = y[start:stop]
        pred = model(xb)
        check_prediction(pred, yb, y_was_1d)
        total += loss(pred, yb)
        model.backward(loss.backward(), need_input_grad=False)
        elements += pred.size
    return total, elements, n


def step(trainer: Trainer, X: Any, y: Any, epoch: int, tol: float | None, y_was_1d: bool) -> float:
    """One full-batch step of *trainer* with the loss and gradient summed block by block.

    The same guarantees as the trainer's own steps: a loss that is not finite
    restores the parameters and raises :class:`~minigrad.DivergenceError`; a
    loss ≤ tol returns before any update; the update itself goes through the
    trainer (saved, checked, undone when not finite).  With ``trainer.check_blocks``
    set (X's name), this pass also checks every block of X (and, on Dask, y)
    for NaN/inf, and no update is made unless all are finite.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> from minigrad.training.trainer import Trainer
        >>> model = mg.Linear(3, 1, rng=0)
        >>> trainer = Trainer(model, model.parameters(), mg.MSELoss(), mg.SGD(model.parameters(), lr=0.1))
        >>> X, y = np.ones((50, 3)), np.zeros((50, 1))
        >>> before = mg.MSELoss()(model(X), y)
        >>> bool(np.isclose(step(trainer, X, y, 1, None, False), before)), mg.MSELoss()(model(X), y) < before
        (True, True)
    """
    loss = trainer.loss
    summing = sum_loss(loss)
    check = trainer.check_blocks
    params = trainer.params
    if isinstance(X, np.ndarray):
        total, elements, rows = numpy_sums(trainer.model, params, summing, X, y, y_was_1d, check)
        grads: list[NDArray[Any]] | None = None
    else:
        source: BlockSums = X
        total, grads, elements, rows, error = source.sums(trainer.model, summing, y, check is not None, y_was_1d)
        if error is not None:
            raise ValueError(error)
    trainer.check_blocks = None
    n = mean_divisor(loss, elements, rows)
    mean = loss.reduction == "mean"
    value = total / n if mean else total
    trainer.check_loss(value, epoch)  # NaN/inf: the last finite parameters restored, DivergenceError
    if tol is not None and value <= tol:
        return value
    scale = 1.0 / n if mean else 1.0
    if grads is None:
        for p in params:
            g = p.grad
            if scale != 1.0:
                g *= scale
    else:
        for p, g in zip(params, grads, strict=True):
            p.grad = g * scale if scale != 1.0 else g
    trainer.apply_update(epoch)
    return value


def block_shuffled_epoch(
    trainer: Trainer,
    n_blocks: int,
    load: Callable[[int], tuple[NDArray[Any], NDArray[Any]]],
    batch_size: int,
    rng: np.random.Generator | None,
    epoch: int,
    y_was_1d: bool,
) -> float:
    """One epoch of mini-batches taken block by block; return the sample-weighted mean loss.

    The blocks are visited in the order ``rng.permutation(n_blocks)`` (in
    order without an rng), ``load(i)`` brings block ``i`` into memory as
    NumPy arrays of the model's dtype, its rows are permuted with
    ``rng.permutation(rows)``, and its batches of ``batch_size`` rows (the
    last one of each block possibly smaller) are trained on one after the
    other, while the next block is loaded in a thread (at most two blocks in
    memory).  Unlike a global shuffle, a batch never holds rows of two blocks,
    and rows that sit in one block are always seen in the same part of an
    epoch; with blocks of many batches each the difference to a global
    shuffle is small in practice, and the data are read once, sequentially.

    With ``reduction="sum"`` the epoch loss is the sum of the batch losses.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> from minigrad.training.trainer import Trainer
        >>> model = mg.Linear(1, 1, rng=0)
        >>> trainer = Trainer(model, model.parameters(), mg.MSELoss(), mg.SGD(model.parameters(), lr=0.01))
        >>> X = np.arange(8.0).reshape(8, 1); y = 2 * X
        >>> def load(i):  # block i: rows 4i to 4i + 3
        ...     return X[4 * i : 4 * i + 4], y[4 * i : 4 * i + 4]
        >>> first = block_shuffled_epoch(trainer, 2, load, 2, np.random.default_rng(0), 1, False)
        >>> later = block_shuffled_epoch(trainer, 2, load, 2, np.random.default_rng(1), 2, False)
        >>> later < first
        True
    """
    order = [int(i) for i in (rng.permutation(n_blocks) if rng is not None else range(n_blocks))]
    mean = trainer.loss.reduction == "mean"
    fused = trainer.fused
    total = 0.0
    seen = 0
    # The next block is loaded in a thread while the batches of this one train: at most two blocks
    # are in memory, and the wait for data (a Dask compute, a read from disk) overlaps the work.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minigrad-next-block")
    try:
        pending = pool.submit(load, order[0]) if order else None
        for k in range(len(order)):
            assert pending is not None
            xb, yb = pending.result()
            pending = pool.submit(load, order[k + 1]) if k + 1 < len(order) else None
            n = xb.shape[0]
            if rng is not None:
                idx = rng.permutation(n)
                xb, yb = xb[idx], yb[idx]
            use_fused = fused is not None and fused.accepts(xb, yb)
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                xs, ys = xb[start:stop], yb[start:stop]
                if use_fused:
                    value = trainer.fused_step(xs, ys, epoch, None)
                else:
                    value = trainer.step(xs, ys, epoch, None, y_was_1d)
                total += value * (stop - start) if mean else value
            seen += n
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # an error or Ctrl-C does not wait for the next block
    return total / seen if mean else total


def memmap_epoch(
    trainer: Trainer,
    X: NDArray[Any],
    y: NDArray[Any],
    batch_size: int,
    rng: np.random.Generator,
    epoch: int,
    y_was_1d: bool,
) -> float:
    """:func:`block_shuffled_epoch` over a large ``np.memmap``, in blocks of about :data:`SHUFFLE_BLOCK_BYTES`.

    Each block is read from the file in one sequential pass and converted to
    the model's dtype (a block's worth of memory, never X's).

    Example:
        >>> import os, tempfile, numpy as np, minigrad as mg
        >>> from minigrad.training.trainer import Trainer
        >>> X = np.memmap(os.path.join(tempfile.mkdtemp(), "X.f8"), dtype=np.float64, mode="w+", shape=(100, 2))
        >>> X[:] = 1.0
        >>> model = mg.Linear(2, 1, dtype=np.float32, rng=0)
        >>> trainer = Trainer(model, model.parameters(), mg.MSELoss(), mg.SGD(model.parameters(), lr=0.01))
        >>> loss = memmap_epoch(trainer, X, np.zeros((100, 1), np.float32), 10, np.random.default_rng(0), 1, False)
        >>> loss > 0, model.weight.data.dtype
        (True, dtype('float32'))
    """
    n = X.shape[0]
    row_bytes = max(1, X.nbytes // max(1, n))
    rows = max(batch_size, SHUFFLE_BLOCK_BYTES // row_bytes)
    dtype = trainer.model.dtype

    def load(i: int) -> tuple[NDArray[Any], NDArray[Any]]:
        lo, hi = i * rows, min(n, (i + 1) * rows)
        return np.asarray(X[lo:hi], dtype=dtype), y[lo:hi]

    return block_shuffled_epoch(trainer, -(-n // rows), load, batch_size, rng, epoch, y_was_1d)
