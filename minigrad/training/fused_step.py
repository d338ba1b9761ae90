"""The fused step: one Linear layer under MSELoss, in fewer array operations, and X read once.

:class:`~minigrad.training.trainer.Trainer` takes this step for the commonest
model, a single :class:`~minigrad.Linear` layer trained with
:class:`~minigrad.MSELoss` on NumPy, and the general one (``model(X)``,
``loss(pred, y)``, ``model.backward(loss.backward())``) for every other.  On
data smaller than :data:`STREAM_MIN_BYTES` it gives the general path's numbers
bit for bit; on larger data it streams X in row blocks (one read of X per step)
and gives them to float rounding.
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad.backend import _array
from minigrad.nn.linear import Linear
from minigrad.nn.losses import Loss, MSELoss
from minigrad.nn.module import Module

#: An X at least this large (bytes) is streamed in row blocks by the fused
#: step, so that each block is read from memory once for the prediction and
#: the gradient together.  Smaller data sits in the CPU caches anyway.
STREAM_MIN_BYTES = 1 << 24

#: Elements of X per row block when streaming (2 MiB of float64, 1 MiB of
#: float32): the block stays in the CPU's caches between its uses, and the
#: BLAS calls on it are long enough to amortise their start.
STREAM_BLOCK_ELEMENTS = 1 << 18

#: A streamed pass tries the slower of touching each block first or not again every this many passes.
TOUCH_RETRY_PASSES = 64


class LinearMSEStep:
    r"""The fused loss and gradient of one :class:`Linear` layer under :class:`MSELoss`.

    With ``r = X W^T + b - y`` (``N × O``, ``n = N·O`` elements)::

        L     = sum(r**2) / n          (sum: without the / n)
        dL/dW = (2/n r)^T X            dL/db = sum over rows of 2/n r

    which is exactly what ``Linear.forward``, ``MSELoss`` and
    ``Linear.backward`` compute, operation for operation, so the fused step
    gives the same numbers bit for bit on data smaller than
    :data:`STREAM_MIN_BYTES`.  It differs only in where the numbers go: the
    residual into a buffer kept between steps, the gradients straight into
    ``weight.grad`` and ``bias.grad`` (they replace what was there, as
    ``zero_grad`` followed by ``backward`` would), and no ``dL/dX``.

    On larger data X is streamed in row blocks of about
    :data:`STREAM_BLOCK_ELEMENTS`: each block's residual, its share of the loss
    and of the gradient are computed while the block is in cache, so a step
    reads X from memory once instead of twice.  The gradient is then a sum of
    block contributions and equals the one-pass result to float rounding.  On
    an X of twice that size or more, :func:`stream_parts` row ranges are
    streamed side by side in threads and added in range order, so the result
    is the same on every run.

    Whether a streamed pass first sums each block (the "touch", which brings
    it into the cache for the BLAS calls) is measured, not assumed: on some
    machines NumPy's summation streams X from memory faster than the BLAS
    kernels' own loads, on others slower (2-vCPU AMD EPYC hosts, 1e6×100
    float64: ``X.sum()`` 28 ms against ``X @ v`` 51–89 ms on one, 56 ms
    against 23 ms on another).  The first passes are timed with and without
    it (a first pass that checks X for NaN/inf sums every block, and is timed
    as a pass with the touch) and later ones take the faster, trying the
    other again every :data:`TOUCH_RETRY_PASSES` passes (see :meth:`_use_touch`).  The choice
    changes the speed only: the touch's sum is thrown away, and every number
    of the step is the same bit for bit either way.

    No extra array grows with N beyond the ``N × O`` residual (on streamed
    data, not even that): no copy of X, no X-sized temporary.
    """

    def __init__(self, layer: Linear, loss: MSELoss) -> None:
        self.layer = layer
        self.loss = loss
        self._residual: NDArray[Any] | None = None
        self._r: NDArray[Any] | None = None
        self._accepted_x: NDArray[Any] | None = None
        self._accepted_y: NDArray[Any] | None = None
        self._x: NDArray[Any] | None = None
        self._streamed = False
        self._size = 0
        self._acc_w: NDArray[Any] | None = None
        self._acc_b: NDArray[Any] | None = None
        #: The name of X while its next streamed pass must also check it for NaN/inf (see
        #: :meth:`_streamed_loss`); None once a pass has checked it, or when nobody asked.
        self.check_x: str | None = None
        #: Seconds per byte of X of the last timed streamed pass with the touch (True) and without (False).
        self.touch_seconds: dict[bool, float] = {}
        self._passes = 0

    def _use_touch(self) -> bool:
        """Whether the next streamed pass touches each block first: untimed ways first, then the faster one,
        and every :data:`TOUCH_RETRY_PASSES` passes the slower one again (a machine's load changes)."""
        timed = self.touch_seconds
        for way in (True, False):
            if way not in timed:
                return way
        faster = timed[True] <= timed[False]
        retry = self._passes > 0 and self._passes % TOUCH_RETRY_PASSES == 0
        return not faster if retry else faster

    @staticmethod
    def applies(model: Module, loss: Loss) -> bool:
        """True for a plain Linear model on NumPy under a plain MSELoss (no subclass, no patched method)."""
        return (
            type(model) is Linear
            and model.xp is np
            and type(loss) is MSELoss
            and not {"forward", "backward", "__call__"} & vars(model).keys()
            and not {"forward", "backward", "__call__"} & vars(loss).keys()
        )

    def accepts(self, X: NDArray[Any], y: NDArray[Any]) -> bool:
        """True if ``(X, y)`` has the shapes and dtype the layer needs (else the general path raises).

        A streamed X (see :data:`STREAM_MIN_BYTES`) may be float32 or float64 whatever the layer's
        dtype: each block is converted on its own, so the conversion never holds an X-sized array.
        """
        if X is self._accepted_x and y is self._accepted_y:  # full batch: the same arrays every epoch
            return True
        w = self.layer.weight.data
        ok = (
            isinstance(X, np.ndarray)  # not a Dask array's blocks
            and X.ndim == 2
            and X.shape[1] == w.shape[1]
            and y.shape == (X.shape[0], w.shape[0])
            and (X.dtype == w.dtype or (X.nbytes >= STREAM_MIN_BYTES and X.dtype in _array.FLOAT_DTYPES))
            and y.dtype == w.dtype
            and X.shape[0] > 0
        )
        if ok:
            self._accepted_x, self._accepted_y = X, y
        return ok

    def loss_value(self, X: NDArray[Any], y: NDArray[Any]) -> float:
        """The loss of the layer on ``(X, y)``; keeps what :meth:`gradients` needs."""
        if X.nbytes >= STREAM_MIN_BYTES:
            return self._streamed_loss(X, y)
        self._streamed = False
        layer = self.layer
        if y.size < _array.INPLACE_MIN_SIZE:  # small: new arrays are cheaper than in-place updates
            r = np.dot(X, layer.weight.data.T)
            if layer.bias is not None:
                r = r + layer.bias.data
            r = r - y
        else:  # a buffer kept from step to step, updated in place
            r = self._residual
            if r is None or r.shape != y.shape:
                r = self._residual = np.empty(y.shape, dtype=y.dtype)
            np.dot(X, layer.weight.data.T, r)  # (outputs passed by position: the faster call)
            if layer.bias is not None:
                r += layer.bias.data
            r -= y
        self._r = r
        self._x = X
        return self.loss.reduced(_array.sum_of_squares(r), r.size)

    def gradients(self) -> None:
        """Write dL/dW and dL/db of the last :meth:`loss_value` into the parameters' ``grad``."""
        layer = self.layer
        if self._streamed:
            assert self._acc_w is not None and self._acc_b is not None
            scale = self.loss.grad_scale(self._size)
            np.multiply(self._acc_w, scale, out=layer.weight.grad)
            if layer.bias is not None:
                np.multiply(self._acc_b, scale, out=layer.bias.grad)
            return
        r, x = self._r, self._x
        assert r is not None and x is not None
        scale = self.loss.grad_scale(r.size)
        if r.size < _array.INPLACE_MIN_SIZE:
            g = r * scale
        else:
            r *= scale
            g = r
        np.dot(g.T, x, layer.weight.grad)
        if layer.bias is not None:
            np.dot(layer.row_ones(x.shape[0]), g, layer.bias.grad)  # 1^T g, the sum of g's rows

    def _streamed_loss(self, X: NDArray[Any], y: NDArray[Any]) -> float:
        """Loss and unscaled gradient sums in one pass over X, a row block at a time.

        An X of at least twice :data:`STREAM_MIN_BYTES` is cut into
        :func:`stream_parts` row ranges that threads stream side by side
        (NumPy and BLAS release the GIL); their sums are added in range order,
        so the result does not depend on which thread finishes first.

        With :attr:`check_x` set, the pass also checks X for NaN and inf, at no
        extra read: each block is summed anyway (to bring it into the cache),
        and a finite sum clears the block (see :func:`minigrad.backend._array.check_finite`).
        A bad value raises the ValueError that ``check_finite(X, check_x)``
        would, naming the first bad row, before any gradient is written.
        """
        n, out = X.shape[0], y.shape[1]
        parts = stream_parts(X)
        bounds = [n * i // parts for i in range(parts + 1)]
        results: list[tuple[float, NDArray[Any], NDArray[Any]] | None] = [None] * parts
        errors: list[Exception | None] = [None] * parts
        check = self.check_x
        touch = check is not None or self._use_touch()  # (a checking pass sums every block anyway)
        started = time.perf_counter()
        floating_point_errors = np.geterr()  # the caller's np.errstate, which a new thread does not inherit

        def work(i: int) -> None:
            try:
                with np.errstate(**floating_point_errors):
                    results[i] = self._stream_rows(X, y, bounds[i], bounds[i + 1], check, touch)
            except Exception as exc:  # handed to the calling thread below
                errors[i] = exc

        threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(1, parts)]
        for t in threads:
            t.start()
        try:
            results[0] = self._stream_rows(X, y, bounds[0], bounds[1], check, touch)  # this share; Ctrl-C stops it
        except Exception:
            for t in threads:
                t.join()
            raise
        for t in threads:
            t.join()
        for exc in errors:  # in row order: a NaN in X is reported at its first row
            if exc is not None:
                raise exc
        self.touch_seconds[touch] = (time.perf_counter() - started) / X.nbytes  # (a checking pass times the touch)
        self._passes += 1
        self.check_x = None
        total = 0.0
        acc_w, acc_b = self._acc_w, self._acc_b
        if acc_w is None or acc_b is None or acc_w.shape != (out, X.shape[1]) or acc_w.dtype != y.dtype:
            acc_w = self._acc_w = np.empty((out, X.shape[1]), dtype=y.dtype)  # the layer's dtype, as y's
            acc_b = self._acc_b = np.empty(out, dtype=y.dtype)
        acc_w.fill(0)
        acc_b.fill(0)
        for result in results:
            assert result is not None
            total += result[0]
            acc_w += result[1]
            acc_b += result[2]
        self._streamed = True
        self._size = n * out
        return self.loss.reduced(total, self._size)

    def _stream_rows(
        self, X: NDArray[Any], y: NDArray[Any], lo: int, hi: int, check: str | None = None, touch: bool = True
    ) -> tuple[float, NDArray[Any], NDArray[Any]]:
        """``(sum r**2, r^T X, sum of r's rows)`` over rows ``lo:hi``, one cache-sized block at a time.

        With *check* (X's name), a block whose sum is not finite is checked for NaN/inf; *touch* (always
        True with *check*) sums each block before its BLAS calls.
        """
        layer = self.layer
        out = y.shape[1]
        wt = layer.weight.data.T
        bias = layer.bias.data if layer.bias is not None else None
        rows = max(1, min(hi - lo, STREAM_BLOCK_ELEMENTS // max(1, X.shape[1])))
        acc_w = np.zeros((out, X.shape[1]), dtype=wt.dtype)  # the layer's dtype, which X may not have
        acc_b = np.zeros(out, dtype=wt.dtype)
        part_w = np.empty_like(acc_w)
        buf = np.empty((rows, out), dtype=wt.dtype)
        total = 0.0
        for start in range(lo, hi, rows):
            stop = min(start + rows, hi)
            xb = X[start:stop]
            if xb.dtype != wt.dtype:  # a float64 X for a float32 layer (or back): this block only
                xb = _array.as_float_array(xb, wt.dtype, check or "X")
            if touch:  # sum the block first: the BLAS calls then find it in the cache
                touched = np.add.reduce(xb, None)
                if check is not None and not math.isfinite(touched):  # NaN/inf, or finite values that overflow
                    _array.check_finite(xb, check, first_row=start)
            r = buf[: stop - start]
            np.dot(xb, wt, out=r)
            if bias is not None:
                r += bias
            r -= y[start:stop]
            total += _array.sum_of_squares(r)
            np.dot(r.T, xb, out=part_w)
            acc_w += part_w
            if bias is not None:
                acc_b += np.add.reduce(r, 0)
        return total, acc_w, acc_b


def stream_parts(X: NDArray[Any]) -> int:
    """How many threads stream X side by side: one per available core (at most 4) on an X of at
    least ``2 * STREAM_MIN_BYTES``, else 1 (a thread costs more than it brings on smaller data)."""
    if X.nbytes < 2 * STREAM_MIN_BYTES:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return max(1, min(4, cores, int(X.shape[0])))
