"""Training on Dask arrays: each row block computes its share of the step where it lives.

``fit(model, X, y, ...)`` with X and y as Dask arrays (the model on NumPy)
never gathers X.  Each full-batch step sends the parameters to the workers;
each row block ``b`` runs, on its own copy of the model::

    pred_b = model(X_b)
    L_b    = sum_loss(pred_b, y_b)                 # the loss with reduction="sum"
    G_b    = d L_b / dθ                            # model.backward(sum_loss.backward())

and returns ``(L_b, G_b)`` with a few counts.  The client adds the block
results in block order (after a fixed tree of additions on the cluster when
they would exceed :data:`GATHER_MAX_BYTES`), scales them as the loss's mean does
(see :mod:`minigrad.nn.blockwise`), and the optimizer steps on the client.  What
reaches the client per step is a handful of parameter-sized arrays, never a
block of X.  The first step's blocks also report whether their X and y are
finite, and no update is made unless every block did.

It runs under whichever Dask scheduler is active: the default threaded
scheduler with no set-up, or a ``dask.distributed`` ``Client`` (a local or a
remote cluster).  The model's structure is sent to the cluster once per fit
(with a distributed client it is scattered), the parameters once per step.

Data are checked lazily: X must be 2-D with known chunk sizes; a feature
axis split into several chunks is rechunked to one chunk (X is then
rechunked on every pass: persist ``X.rechunk({1: -1})`` yourself to pay it
once); y is rechunked to X's row chunks.  Each block is converted to the
model's dtype where it is used.

Mini-batches go block by block: see :func:`minigrad.nn.blockwise.block_shuffled_epoch`.
Validation losses and metrics gather predictions and targets (``N × outputs``
numbers), never X.

Nothing here imports Dask unless a Dask array was given.
"""

from __future__ import annotations

import copy
import math
import sys
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn import blockwise
from minigrad.nn.losses import Loss
from minigrad.nn.module import Module

if TYPE_CHECKING:
    from minigrad.training.trainer import Trainer

#: The most bytes of block results (gradient sums) a step brings to the client
#: at once.  Below it the client receives every block's result and adds them
#: in block order (one round trip); above it the results are first added on
#: the cluster in a fixed tree of additions of :data:`FAN_IN` results each.
GATHER_MAX_BYTES = 1 << 26

#: Results added by each task of the tree of additions (see :data:`GATHER_MAX_BYTES`).
FAN_IN = 8

#: One block's result: loss sum, gradient sums (in ``model.parameters()``
#: order), prediction elements, rows, and the first bad-value messages for X and y.
BlockResult = tuple[float, list[NDArray[Any]] | None, int, int, str | None, str | None]


def is_dask(x: object) -> bool:
    """True if *x* is a Dask collection (told by its type's module; Dask is not imported).

    Example:
        >>> import numpy as np
        >>> is_dask(np.ones(2))
        False
    """
    return type(x).__module__.startswith("dask.")


def is_rows(x: object) -> TypeGuard[DaskRows]:
    """True if *x* is the :class:`DaskRows` that :func:`check_data` makes of a Dask array."""
    return isinstance(x, DaskRows)


def _compute(*collections: Any) -> tuple[Any, ...]:
    """``dask.compute(*collections)`` under the active scheduler: every result that reaches the client."""
    import dask

    return tuple(dask.compute(*collections))


def _distributed_client() -> Any | None:
    """The ``dask.distributed`` Client that ``dask.compute`` would use now, or None."""
    if "distributed" not in sys.modules:
        return None
    import dask.base

    owner = getattr(dask.base.get_scheduler(), "__self__", None)
    return owner if type(owner).__name__ == "Client" else None


def _as_dask(a: Any, name: str) -> Any:
    """*a* as a Dask array with known chunk sizes and a real-number dtype, or TypeError/ValueError."""
    import dask.array as da

    if not isinstance(a, da.Array):
        raise TypeError(f"{name} must be a Dask array or a NumPy array, got {type(a).__module__}.{type(a).__name__}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {a.dtype}")
    if any(math.isnan(c) for axis in a.chunks for c in axis):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN), as after boolean indexing or DataFrame.values; fit needs "
            f"them to line up X and y: call {name} = {name}.compute_chunk_sizes() first (one pass over the data), "
            "or make the array with known lengths (DataFrame.to_dask_array(lengths=True))"
        )
    return a


def check_data(
    model: Module,
    X: ArrayLike,
    y: ArrayLike,
    *,
    class_targets: bool = False,
    names: tuple[str, str] = ("X", "y"),
    finite: bool = True,
) -> tuple[Any, Any]:
    """:func:`minigrad.training.fit.check_data` for Dask data: return ``(X, y)`` as :class:`DaskRows`, X never computed.

    The checks are those of NumPy data, made on shapes and dtypes: X 2-D and
    not empty, y of shape ``(N,)`` or ``(N, outputs)`` (``(N,)`` class indices
    for class targets), the same number of rows.  A NumPy X or y next to a
    Dask one is cut into the other's row chunks.  X's feature axis is put
    into one chunk and y is rechunked to X's row chunks.  With *finite*, one
    pass over the data checks them for NaN/inf now (only flags come back).

    Raises:
        ValueError: bad shapes, unknown chunk sizes, NaN/inf (as check_data).
        TypeError: non-numeric data, a Dask collection that is not an array,
            or a model that is not on NumPy (``model.xp``).

    Example:
        >>> import numpy as np, minigrad as mg
        >>> da = __import__("pytest").importorskip("dask.array")
        >>> X = da.ones((10, 4), chunks=(5, 2))  # the feature axis split in two
        >>> Xr, yr = check_data(mg.Linear(4, 1), X, da.zeros(10, chunks=3))
        >>> Xr.shape, Xr.array.chunks, yr.shape, yr.array.chunks
        ((10, 4), ((5, 5), (4,)), (10, 1), ((5, 5),))
        >>> check_data(mg.Linear(4, 1), X[X[:, 0] > 0], da.zeros(10))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: X has unknown chunk sizes (NaN), ... call X = X.compute_chunk_sizes() first ...
    """
    import dask.array as da

    xname, yname = names
    if getattr(model, "xp", np) is not np:
        raise TypeError(
            f"fit on Dask arrays needs a model on NumPy (each block is a NumPy array), the model is on "
            f"{backend.library_name(model.xp)}: call model.to(numpy) first"
        )
    dtype = model.dtype
    if not is_dask(X):
        Xn = _array.as_float_array(X, dtype, xname)
        _array.check_2d(Xn, xname)
        yd0 = _as_dask(y, yname)
        X = da.from_array(Xn, chunks=(yd0.chunks[0], -1))
    Xd = _as_dask(X, xname)
    _array.check_2d(Xd, xname)
    if Xd.shape[0] == 0 or Xd.shape[1] == 0:
        raise ValueError(f"{xname} is empty (shape {Xd.shape}); fit needs at least one sample and one feature")
    if len(Xd.chunks[1]) > 1:
        Xd = Xd.rechunk({1: -1})
    yd = _as_dask(y, yname) if is_dask(y) else da.from_array(_array.as_float_array(y, dtype, yname), chunks=-1)
    column = False
    if class_targets:
        if yd.ndim != 1:
            hint = " (pass y.ravel())" if yd.ndim == 2 and yd.shape[1] == 1 else ""
            raise ValueError(f"{yname} must hold class indices of shape (N,), got shape {yd.shape}{hint}")
    elif yd.ndim == 1:
        column = True  # read as (N, 1), block by block where it is used: no extra task on y's graph
    elif yd.ndim != 2:
        raise ValueError(f"{yname} must be 1-D (single output) or 2-D (N, outputs), got shape {yd.shape}")
    if yd.shape[0] != Xd.shape[0]:
        raise ValueError(
            f"{xname} and {yname} have different numbers of samples: {xname} has shape {Xd.shape}, "
            f"{yname} has shape {np.shape(y)}"
        )
    want = (Xd.chunks[0], *((n,) for n in yd.shape[1:]))
    if yd.chunks != want:
        yd = yd.rechunk(want)
    Xr = DaskRows(Xd, dtype, xname, gather=False)
    yr = DaskRows(yd, dtype, yname, gather=True, column=column)
    if finite:
        error = Xr.first_bad_value(yr)
        if error is not None:
            raise ValueError(error)
    return Xr, yr


def check_finite_first(trainer: Trainer, X: DaskRows, y: Any, full_batch: bool) -> None:
    """Have the first full-batch step check X and y for NaN/inf in its own pass, or (mini-batches) check them now.

    A mini-batch epoch updates the model after its first batch, so there the
    check cannot wait: one pass over the blocks brings back only their flags.
    """
    if full_batch:
        trainer.check_blocks = X.name
        return
    error = X.first_bad_value(y)
    if error is not None:
        raise ValueError(error)


class DaskRows:
    """A checked Dask array of X or y in fit: its row blocks, what fit needs to know, and the block-wise step.

    ``shape``, ``ndim`` and ``dtype`` (the model's, to which each block is
    converted) are those of the array; slicing computes just the rows asked
    for.  Only y may be gathered whole (``np.asarray(y)``, for metrics and
    the validation loss: ``N × outputs`` numbers); X never is.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> da = __import__("pytest").importorskip("dask.array")
        >>> model = mg.Linear(2, 1, rng=0)
        >>> X, y = check_data(model, da.ones((6, 2), chunks=(4, 2)), da.ones(6, chunks=4))
        >>> total, grads, elements, rows, error = X.sums(model, mg.MSELoss(reduction="sum"), y, True, True)
        >>> bool(np.isclose(total, mg.MSELoss(reduction="sum")(model(np.ones((6, 2))), np.ones((6, 1))))), rows
        (True, 6)
        >>> np.asarray(y).shape, X[:2].shape
        ((6, 1), (2, 2))
    """

    def __init__(self, array: Any, dtype: np.dtype[Any], name: str, *, gather: bool, column: bool = False) -> None:
        self.array = array
        self.dtype = dtype
        self.name = name
        self.gather = gather
        #: True for a 1-D y read as one column ``(N, 1)``: each block is reshaped where it is used.
        self.column = column
        self.shape: tuple[int, ...] = tuple(int(n) for n in array.shape) + ((1,) if column else ())
        self.ndim = len(self.shape)
        self.starts = [0, *np.cumsum(array.chunks[0]).tolist()]
        self._gathered: NDArray[Any] | None = None
        self._template: tuple[Module, Any, Any] | None = None
        self._blocks: list[Any] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> NDArray[Any]:
        """The rows asked for, computed, as a NumPy array of the model's dtype (meant for a few rows)."""
        (part,) = _compute(self.array[key])
        return self._as_rows(part)

    def _as_rows(self, part: Any) -> NDArray[Any]:
        """A computed part as a NumPy array of the model's dtype (one column for a 1-D y read as ``(N, 1)``)."""
        out = _array.as_float_array(part, self.dtype, self.name)
        return out.reshape(-1, 1) if self.column else out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> NDArray[Any]:
        """y gathered (once, then kept): ``N × outputs`` numbers.  X raises TypeError: it is never gathered."""
        if not self.gather:
            raise TypeError(f"{self.name} is a Dask array and fit never gathers it to the client")
        if self._gathered is None:
            (whole,) = _compute(self.array)
            self._gathered = self._as_rows(whole)
        return self._gathered if dtype is None else self._gathered.astype(dtype, copy=False)

    def blocks(self) -> list[Any]:
        """The row blocks as ``dask.delayed`` objects, in row order (made once: the graph is culled once)."""
        if self._blocks is None:
            self._blocks = list(self.array.to_delayed().ravel())
        return self._blocks

    def first_bad_value(self, y: DaskRows) -> str | None:
        """One pass over the blocks: the message for the first NaN/inf in X (else in y), or None."""
        import dask

        task = dask.delayed(_finite_report, pure=True)
        reports = [
            task(xb, yb, lo, self.name, y.name)
            for xb, yb, lo in zip(self.blocks(), y.blocks(), self.starts, strict=False)
        ]
        found = _compute(*reports)
        return _first_error([r[0] for r in found]) or _first_error([r[1] for r in found])

    def _model_template(self, model: Module) -> Any:
        """The model without its caches, made once per fit (scattered to a distributed cluster once)."""
        if self._template is None or self._template[0] is not model:
            template = blockwise.strip_copy(model)
            client = _distributed_client()
            sent = client.scatter(template, hash=False) if client is not None else template
            self._template = (model, template, sent)
        return self._template[2]

    def sums(
        self, model: Module, loss: Loss, y: DaskRows, check: bool, y_was_1d: bool
    ) -> tuple[float, list[NDArray[Any]], int, int, str | None]:
        """Loss sum and gradient sums over all row blocks, added in block order; see the module's docstring.

        Returns ``(loss sum, gradient sums, prediction elements, rows, error)``,
        with *error* the message for the first NaN/inf in X (else y) when
        *check* found one (and then nothing else is meaningful).
        """
        import dask

        template = self._model_template(model)
        params = dask.delayed([p.data for p in model.parameters()], pure=False, traverse=False)
        task = dask.delayed(_block_sums, pure=False)
        errstate = np.geterr()  # fit's np.errstate, which the threads and processes of Dask do not inherit
        results = [
            task(template, params, loss, xb, yb, lo, self.dtype, check, y_was_1d, y.column, self.name, y.name, errstate)
            for xb, yb, lo in zip(self.blocks(), y.blocks(), self.starts, strict=False)
        ]
        add = dask.delayed(_add_results, pure=False)
        result_bytes = sum(p.data.nbytes for p in model.parameters()) + 64
        while len(results) > FAN_IN and len(results) * result_bytes > GATHER_MAX_BYTES:
            results = [add(*results[i : i + FAN_IN]) for i in range(0, len(results), FAN_IN)]
        total, grads, elements, rows, x_error, y_error = _add_results(*_compute(*results))
        error = x_error or y_error
        if error is not None:
            return math.nan, [], 0, 0, error
        assert grads is not None
        return total, grads, elements, rows, None

    def gather_predictions(self, model: Module) -> NDArray[Any]:
        """The model's predictions for every row, computed block by block and gathered (``N × outputs``)."""
        (pred,) = _compute(predict_lazy(model, self.array))
        out: NDArray[Any] = np.asarray(pred)
        return out

    def minibatch_epoch(
        self,
        trainer: Trainer,
        y: Any,
        batch_size: int,
        rng: np.random.Generator | None,
        epoch: int,
        y_was_1d: bool,
    ) -> float:
        """One mini-batch epoch, a row block at a time on the client.

        See :func:`minigrad.nn.blockwise.block_shuffled_epoch`.
        """
        xs, ys = self.blocks(), y.blocks()
        dtype = self.dtype

        def load(i: int) -> tuple[NDArray[Any], NDArray[Any]]:
            xb, yb = _compute(xs[i], ys[i])
            return _array.as_float_array(xb, dtype, self.name), y._as_rows(yb)

        return blockwise.block_shuffled_epoch(trainer, len(xs), load, batch_size, rng, epoch, y_was_1d)


def _first_error(messages: list[str | None]) -> str | None:
    for m in messages:
        if m is not None:
            return m
    return None


def _bad_value(a: NDArray[Any], name: str, first_row: int) -> str | None:
    try:
        _array.check_finite(a, name, first_row=first_row)
    except ValueError as exc:
        return str(exc)
    return None


def _finite_report(xb: NDArray[Any], yb: NDArray[Any], lo: int, xname: str, yname: str) -> tuple[str | None, ...]:
    """On a worker: the NaN/inf messages of one block of X and of y (None where finite)."""
    return _bad_value(xb, xname, lo), _bad_value(yb, yname, lo)


def _block_sums(
    template: Module,
    params: list[NDArray[Any]],
    loss: Loss,
    xb: NDArray[Any],
    yb: NDArray[Any],
    lo: int,
    dtype: np.dtype[Any],
    check: bool,
    y_was_1d: bool,
    column: bool,
    xname: str,
    yname: str,
    errstate: dict[str, Any],
) -> BlockResult:
    """On a worker: one row block's loss sum and gradient sums, on a copy of the model with *params*."""
    with np.errstate(**errstate):
        return _block_sums_here(template, params, loss, xb, yb, lo, dtype, check, y_was_1d, column, xname, yname)


def _block_sums_here(
    template: Module,
    params: list[NDArray[Any]],
    loss: Loss,
    xb: NDArray[Any],
    yb: NDArray[Any],
    lo: int,
    dtype: np.dtype[Any],
    check: bool,
    y_was_1d: bool,
    column: bool,
    xname: str,
    yname: str,
) -> BlockResult:
    if check:
        x_error, y_error = _bad_value(xb, xname, lo), _bad_value(yb, yname, lo)
        if x_error is not None or y_error is not None:
            return math.nan, None, 0, 0, x_error, y_error
    model = copy.deepcopy(template)  # each block its own copy: blocks may run side by side in threads
    for p, value in zip(model.parameters(), params, strict=True):
        p.data = value
    loss = copy.copy(loss)
    xa = _array.as_float_array(xb, dtype, xname)
    ya = _array.as_float_array(yb, dtype, yname)
    if column:
        ya = ya.reshape(-1, 1)
    pred = model(xa)
    blockwise.check_prediction(pred, ya, y_was_1d)
    total = loss(pred, ya)
    model.backward(loss.backward(), need_input_grad=False)
    return total, [p.grad for p in model.parameters()], int(pred.size), int(pred.shape[0]), None, None


def _add_results(*results: BlockResult) -> BlockResult:
    """The sum of block results, added left to right (a fixed order); the first error messages win."""
    total, grads, elements, rows, x_error, y_error = results[0]
    if grads is not None:
        grads = [g.copy() for g in grads]
    for t, g, e, r, xe, ye in results[1:]:
        total += t
        elements += e
        rows += r
        x_error = x_error or xe
        y_error = y_error or ye
        if grads is not None and g is not None:
            for acc, part in zip(grads, g, strict=True):
                acc += part
        else:
            grads = None
    return total, grads, elements, rows, x_error, y_error


def predict_lazy(model: Module, x: Any) -> Any:
    """``model.predict`` of a Dask array: a lazy Dask array of predictions, one output block per row block.

    The model is copied as it is now (later training does not change the
    result).  The output's shape is found by a forward pass of one row of
    zeros on the client; the feature axis is put into one chunk.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> da = __import__("pytest").importorskip("dask.array")
        >>> model = mg.Linear(3, 2, rng=0)
        >>> X = da.ones((10, 3), chunks=(4, 3))
        >>> pred = model.predict(X); pred.shape, pred.chunks[0]
        ((10, 2), (4, 4, 2))
        >>> bool(np.allclose(pred.compute(), model(np.ones((10, 3)))))
        True
    """
    x = _as_dask(x, "x")
    _array.check_2d(x, "x")
    if len(x.chunks[1]) > 1:
        x = x.rechunk({1: -1})
    template = blockwise.strip_copy(model)
    dtype = model.dtype
    probe = blockwise.strip_copy(template)(np.zeros((1, x.shape[1]), dtype=dtype))
    if probe.ndim == 1:
        return x.map_blocks(_predict_block, template, dtype, dtype=probe.dtype, drop_axis=1)
    if probe.ndim != 2:
        raise ValueError(
            f"predict on a Dask array needs outputs of shape (N,) or (N, k), got {probe.shape[1:]} per row"
        )
    return x.map_blocks(_predict_block, template, dtype, dtype=probe.dtype, chunks=(x.chunks[0], (probe.shape[1],)))


def _predict_block(xb: NDArray[Any], template: Module, dtype: np.dtype[Any]) -> NDArray[Any]:
    """On a worker: the predictions of one row block, on a copy of the model."""
    return copy.deepcopy(template)(_array.as_float_array(xb, dtype, "x"))
