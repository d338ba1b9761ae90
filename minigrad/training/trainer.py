"""Trainer: one guarded optimisation step, and one epoch of mini-batches.

fit's epoch loop calls these; they hold the hot path (forward, loss,
backward, update) and the guarantees around it: NaN/inf stops training with
the last finite parameters restored, and an interrupted update is undone.

For the commonest model, a single :class:`~minigrad.Linear` layer trained
with :class:`~minigrad.MSELoss`, the step takes a fused path
(:class:`~minigrad.training.fused_step.LinearMSEStep`) that does the same arithmetic with fewer array
operations and no temporaries, and that reads a large X only once per step.
Every other model, loss or optimizer takes the general path:
``model(X)``, ``loss(pred, y)``, ``model.backward(loss.backward())``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn import blockwise, dask_blocks
from minigrad.nn.linear import Linear
from minigrad.nn.losses import Loss, MSELoss
from minigrad.nn.module import Module
from minigrad.nn.parameter import Parameter
from minigrad.optim.clip_grad import clip_grad_norm_
from minigrad.optim.optimizer import Optimizer
from minigrad.training import fused_step
from minigrad.training.errors import DivergenceError
from minigrad.training.fused_step import LinearMSEStep

#: The growth rule: a run whose training loss exceeds this many times the
#: first epoch's loss, after rising in each of the last :data:`LOSS_GROWTH_EPOCHS`
#: epochs, is stopped with a :class:`DivergenceError` (see :func:`loss_keeps_growing`).
LOSS_GROWTH_FACTOR = 1e10

#: Consecutive rising epochs the growth rule asks for besides the factor.
LOSS_GROWTH_EPOCHS = 20


def check_one_library(model: Module, params: list[Parameter], optimizer: Optimizer) -> None:
    """Raise TypeError unless every parameter, optimized parameter and optimizer state is in ``model.xp``'s library.

    (A module without parameters left behind by a partial move refuses the
    other library's input in its forward, before any update.)
    """
    xp = model.xp
    for p in params if optimizer.params is params else (*params, *optimizer.params):
        if p.xp is not xp:
            raise TypeError(
                f"the model computes on {backend.library_name(xp)} arrays but a parameter holds "
                f"{backend.library_name(p.xp)} arrays; move the whole model with model.to(...) before training"
            )
    own = None
    for state in optimizer.state:
        for key, value in state.items():
            if isinstance(value, (int, float)) or value is None or (xp is np and isinstance(value, np.ndarray)):
                continue
            lib = backend.library_of(value)
            own = own or backend.library_name(xp)
            if lib is not None and lib != own and not isinstance(value, np.generic):
                raise TypeError(
                    f"the optimizer's state {key!r} holds {lib} arrays but the model computes on {own} arrays "
                    "(the state was made before model.to): move it with "
                    "optimizer.load_state_dict(optimizer.state_dict())"
                )


class Snapshot:
    """A copy of the parameters' values, in one flat array when they share one NumPy dtype.

    :meth:`take` copies the parameters in; :meth:`is_finite` checks the copy
    for NaN/inf.  On the flat array that check is one BLAS dot product: a
    finite sum of squares holds no NaN or inf, since either would make the sum
    NaN or inf (a sum that is not finite, as for large values whose squares
    overflow, gets the exact check), instead of one dot product per parameter.

    Example:
        >>> import minigrad as mg
        >>> layer = mg.Linear(2, 1, rng=0)
        >>> snap = Snapshot(layer.parameters(), layer.xp)
        >>> snap.take(); layer.weight.data[0, 0] = float("nan")
        >>> snap.is_finite(), snap.flat.shape
        (True, (3,))
        >>> snap.take(); snap.is_finite()
        False
    """

    def __init__(self, params: list[Parameter], xp: Any) -> None:
        self.xp = xp
        dtypes = {p.data.dtype for p in params}
        self.flat: NDArray[Any] | None = None
        if xp is np and len(dtypes) == 1:
            self.flat = flat = _array.empty((sum(p.data.size for p in params),), dtypes.pop())
            copies, start = [], 0
            for p in params:
                copies.append(flat[start : start + p.data.size].reshape(p.data.shape))
                start += p.data.size
        else:  # parameters of two dtypes, or of another library: one array each
            copies = [backend.copy(p.data, xp) for p in params]
        self.copies = copies
        #: ``(copy, parameter)`` for each parameter, in order.
        self.pairs = list(zip(copies, params, strict=True))

    def take(self) -> None:
        """Copy the parameters' values in."""
        for saved, p in self.pairs:
            saved[...] = p.data

    def is_finite(self) -> bool:
        """True if the copy holds no NaN or inf."""
        flat = self.flat
        if flat is not None:
            return math.isfinite(np.vdot(flat, flat)) or bool(np.isfinite(flat).all())
        if self.xp is np:
            return _array.all_finite(self.copies)
        return backend.all_finite(self.copies, self.xp)


class Trainer:
    """One optimisation step with the guarantees fit gives.

    Before each update the parameters are copied into a :class:`Snapshot`
    (parameters are small next to the data), and the optimizer's state
    (momentum buffers, moment estimates, step counts) into ``state_backup``,
    so a step that produces NaN/inf, or that a KeyboardInterrupt cuts short,
    can be undone exactly: parameters and optimizer state both.

    Two snapshots take turns (double-buffering): after each update the
    parameters are copied into the other one, which checks them for NaN/inf
    with one BLAS call and is the copy to put back for the next update of
    the same epoch.  Within an epoch only the trainer changes the parameters
    (callbacks, validation and schedulers run between epochs), so the copy
    before an update is taken afresh only for the first update of an epoch.

    ``updating`` is True from the moment an update may have changed anything
    until that update is known to be finite, and while :meth:`restore` puts
    the backups back: whatever interrupts the trainer then,
    :meth:`undo_unfinished_step` (which fit calls on any exception) puts back
    the parameters and the optimizer state of the same completed step.  The
    backups are taken while ``updating`` is False, so a cut while they are
    being taken leaves the model as it is, at its last completed step.

    ``losses`` is the list of epoch losses so far (fit's ``History.loss``),
    which the growth rule (:func:`loss_keeps_growing`) reads.  In full batch
    (``full_batch``) each step is an epoch and its loss is checked against
    ``loss_limit`` before the update; with mini-batches each batch's loss is
    only checked to be finite and :func:`minibatch_epoch` checks the epoch's.

    On NumPy the step may take the fused path (:class:`LinearMSEStep`); on
    any other library (``model.to(torch)``) it is the general one, written
    with Array API standard calls, and the backups are arrays of that library
    and device.
    """

    def __init__(
        self,
        model: Module,
        params: list[Parameter],
        loss: Loss,
        optimizer: Optimizer,
        losses: list[float] | None = None,
        *,
        full_batch: bool = True,
        clip_grad_norm: float | None = None,
    ) -> None:
        self.model = model
        #: With a number, :func:`~minigrad.clip_grad_norm_` scales the gradients to at most that joint
        #: norm before every update (on the general path: the fused step does not clip).
        self.clip_grad_norm = clip_grad_norm
        self.params = params
        self.loss = loss
        self.optimizer = optimizer
        #: The model's namespace, looked up once for the whole training.
        self.xp = xp = model.xp
        self._snapshots = (Snapshot(params, xp), Snapshot(params, xp))
        #: The snapshot :meth:`restore` puts back: the parameters before the last update begun, saved
        #: with ``state_backup``.
        self._before = self._snapshots[0]
        self._before.take()
        #: The snapshot taken right after the last update, and its epoch: in that epoch it still holds
        #: the parameters, and is the next update's ``_before`` (see the class docstring).
        self._after: Snapshot | None = None
        self._after_epoch = 0
        self.state_backup = optimizer.copy_state()
        self.updating = False
        #: The model's buffers (BatchNorm1d's running statistics), which a training-mode forward pass
        #: changes: ``(pending, backup, buffer)``, with ``pending`` copied before each step's forward pass
        #: and ``backup`` taken from it with the parameters' backup, so that a restore puts back the
        #: buffers of the same completed step.  ``forwarding`` is True while a forward pass may have
        #: changed them and the update has not begun: an interrupt then puts ``pending`` back.
        self._buffers = [(backend.copy(b, xp), backend.copy(b, xp), b) for _, b in model.named_buffers()]
        self.forwarding = False
        self.losses: list[float] = [] if losses is None else losses
        #: A step's loss below this needs no closer look (:meth:`_look_at_loss`): -inf until the first
        #: epoch's loss is known (so that it gets a look), then LOSS_GROWTH_FACTOR times it; inf for the
        #: batches of mini-batch training (only NaN/inf, which are never below it, get a look).
        self.loss_limit = -math.inf if full_batch else math.inf
        #: The same for the epoch losses of mini-batch training (see :func:`minibatch_epoch`).
        self.epoch_loss_limit = -math.inf
        #: X's name while the next block-wise step must also check every block for NaN/inf (see
        #: :func:`minigrad.nn.blockwise.step`); None once a pass has checked them, or when nobody asked.
        self.check_blocks: str | None = None
        self.fused: LinearMSEStep | None = None
        if clip_grad_norm is None and LinearMSEStep.applies(model, loss):
            assert isinstance(model, Linear) and isinstance(loss, MSELoss)
            self.fused = LinearMSEStep(model, loss)

    def check_x_in_first_pass(self, X: NDArray[Any], y: NDArray[Any], name: str) -> bool:
        """If the first full-batch step on ``(X, y)`` streams X, have it check X for NaN/inf; True if so.

        That pass sums every block of X anyway (see :meth:`LinearMSEStep._streamed_loss`),
        so the check costs no extra read; the error names X as *name*.  The
        block-wise step (:func:`minigrad.nn.blockwise.step`, a large X for any
        other model) checks each block while it is in cache, before its use.
        """
        fused = self.fused
        if fused is not None and X.nbytes >= fused_step.STREAM_MIN_BYTES and fused.accepts(X, y):
            fused.check_x = name
            return True
        if dask_blocks.is_rows(X) or (isinstance(X, np.ndarray) and X.nbytes >= fused_step.STREAM_MIN_BYTES):
            self.check_blocks = name  # the block-wise step's first pass
            return True
        return False

    def step(self, X: NDArray[Any], y: NDArray[Any], epoch: int, tol: float | None, y_was_1d: bool) -> float:
        """Predict, compare and (unless the loss is ≤ tol) learn; return the loss."""
        fused = self.fused
        if fused is not None and fused.accepts(X, y):
            return self.fused_step(X, y, epoch, tol)
        if isinstance(X, np.ndarray):
            if X.nbytes >= fused_step.STREAM_MIN_BYTES:  # too large for one forward pass at once: block by block
                return blockwise.step(self, X, y, epoch, tol, y_was_1d)
        elif dask_blocks.is_rows(X):  # a Dask array's blocks, computed on the cluster
            return blockwise.step(self, X, y, epoch, tol, y_was_1d)
        return self._general_step(X, y, epoch, tol, y_was_1d)

    def full_batch(self, X: NDArray[Any], y: NDArray[Any], epochs: int, tol: float | None, y_was_1d: bool) -> bool:
        """Up to ``epochs`` full-batch steps, nothing run between them; True if the loss reached ``tol``.

        fit calls this when no callback, validation data, metric or scheduler
        looks at the model between epochs.  Each epoch's loss is appended to
        ``self.losses``.  Every step is :meth:`step`, with the same numbers, the
        same :class:`DivergenceError` (epoch and message) and the same
        parameters restored; for the fused step on data held in cache the
        parameter check after each update is deferred (see
        :meth:`_fused_epochs`).
        """
        fused = self.fused
        if (
            epochs > 1
            and fused is not None
            and fused.accepts(X, y)
            and X.nbytes < fused_step.STREAM_MIN_BYTES
            and _array.nonzero_in_every_column(X)
        ):
            return self._fused_epochs(X, y, epochs, tol)
        step = self.step
        append = self.losses.append
        for epoch in range(1, epochs + 1):
            value = step(X, y, epoch, tol, y_was_1d)
            append(value)
            if tol is not None and value <= tol:
                return True
        return False

    def _fused_epochs(self, X: NDArray[Any], y: NDArray[Any], epochs: int, tol: float | None) -> bool:
        """:meth:`full_batch` by the fused step on X smaller than ``STREAM_MIN_BYTES``, every column nonzero.

        Each epoch is :meth:`LinearMSEStep.loss_value`,
        :meth:`LinearMSEStep.gradients` and the optimizer's own ``step()``
        (the same bits as :meth:`step`), with the loop's invariants looked up
        once.  What differs is
        when the parameters are checked for NaN/inf after an update: not at
        once, but by the next epoch's loss.  X is finite and each of its
        columns holds a nonzero ``x``, so a NaN or inf weight ``w`` gives the
        term ``x·w`` = NaN or ±inf in some residual ``X W^T + b - y`` (a NaN or
        inf bias is added to every residual), and a sum with a NaN or inf term
        is NaN or inf whatever its order or the BLAS used: the loss is not
        finite.  So a finite loss clears the update before it, and on a loss
        that is not finite the parameters are checked exactly: not finite,
        the error names the previous epoch and "a parameter", as the check
        right after that update would have; finite, it is the loss of this
        epoch.  The last update is checked after the loop.  Either way the
        parameters and optimizer state saved before the last update are put
        back, as :meth:`step` does.  Until its check, an update counts as
        unfinished (``updating`` stays True): an interrupt before the next
        loss is known puts back the state before it, that of a completed step.
        """
        fused = self.fused
        assert fused is not None
        opt = self.optimizer
        loss_value, gradients = fused.loss_value, fused.gradients
        take_before = self._before.take  # (no update of this loop changes which snapshot that is)
        opt_step, copy_state = opt.step, opt.copy_state
        isfinite, append = math.isfinite, self.losses.append
        limit = self.loss_limit
        try:
            for epoch in range(1, epochs + 1):
                value = loss_value(X, y)
                if not value < limit:  # NaN, inf, the first epoch's loss, or one that grew by a large factor
                    if not isfinite(value):
                        raise self._diverged(epoch)
                    self.updating = False
                    limit = self.loss_limit = self._look_at_loss(value, epoch, limit)
                self.updating = False  # the last update gave a finite loss: it is complete
                append(value)
                if tol is not None and value <= tol:
                    return True
                gradients()
                take_before()
                self.state_backup = copy_state()
                self.updating = True  # only once both backups are complete
                opt_step()
            if not _array.all_finite([p.data for p in self.params]):
                self.restore()
                raise DivergenceError(epochs, "a parameter", opt.lr)
            self.updating = False
        except BaseException:
            # An error or Ctrl-C during an update, or after one the loop had not checked yet: the state
            # before it, never NaN/inf or half an update.
            self.undo_unfinished_step()
            raise
        return False

    def _diverged(self, epoch: int) -> DivergenceError:
        """Restore, and the error for a loss that is not finite in *epoch* (> 1: after an unchecked update)."""
        lr = self.optimizer.lr
        bad_parameter = epoch > 1 and not _array.all_finite([p.data for p in self.params])
        self.restore()
        if bad_parameter:
            return DivergenceError(epoch - 1, "a parameter", lr)
        return DivergenceError(epoch, "the loss", lr)

    def fused_step(self, X: NDArray[Any], y: NDArray[Any], epoch: int, tol: float | None) -> float:
        """:meth:`step` by the fused path, for data that ``self.fused.accepts``."""
        fused = self.fused
        assert fused is not None
        value = fused.loss_value(X, y)
        if not value < self.loss_limit:
            self.loss_limit = self._look_at_loss(value, epoch, self.loss_limit)
        if tol is not None and value <= tol:
            return value
        fused.gradients()
        self._update(epoch)
        return value

    def weighted_step(
        self, X: NDArray[Any], y: NDArray[Any], w: NDArray[Any], epoch: int, tol: float | None, y_was_1d: bool
    ) -> float:
        """:meth:`step` with the loss weighted by the checked sample weights *w*, shape ``(N,)`` (general path)."""
        return self._general_step(X, y, epoch, tol, y_was_1d, w)

    def _general_step(
        self,
        X: NDArray[Any],
        y: NDArray[Any],
        epoch: int,
        tol: float | None,
        y_was_1d: bool,
        w: NDArray[Any] | None = None,
    ) -> float:
        buffers = self._buffers
        if buffers:
            for pending, _, b in buffers:
                pending[...] = b
            self.forwarding = True  # only once every copy is complete
        pred = self.model(X)
        if pred.shape != y.shape and y_was_1d:
            raise ValueError(
                f"a 1-D y is accepted only for a single-output model; the model predicts shape "
                f"{pred.shape}, so pass y with shape (N, {pred.shape[1] if pred.ndim == 2 else '?'})"
            )
        value = self.loss(pred, y) if w is None else self.loss(pred, y, sample_weight=w)
        if not value < self.loss_limit:
            self.loss_limit = self._look_at_loss(value, epoch, self.loss_limit)
        if tol is not None and value <= tol:
            self.forwarding = False  # a step with no update: the forward pass's statistics stay
            return value
        self.optimizer.zero_grad()
        self.model.backward(self.loss.backward(), need_input_grad=False)
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self.params, self.clip_grad_norm)
        self._update(epoch)
        return value

    def check_loss(self, value: float, epoch: int) -> None:
        """The look every step takes at its loss before the update (see :meth:`_look_at_loss`)."""
        if not value < self.loss_limit:
            self.loss_limit = self._look_at_loss(value, epoch, self.loss_limit)

    def apply_update(self, epoch: int) -> None:
        """The update of a step whose gradients are in the parameters' ``grad``: saved, made, checked."""
        self._update(epoch)

    def _look_at_loss(self, value: float, epoch: int, limit: float) -> float:
        """Look closer at an epoch's (or a batch's) loss that is not below *limit*; return the next limit.

        NaN or inf: the parameters and optimizer state saved before the last
        update are put back and DivergenceError is raised.  The first epoch's
        loss (``losses`` still empty): the next limit is
        :data:`LOSS_GROWTH_FACTOR` times it.  A later loss: DivergenceError
        if :func:`loss_keeps_growing` says so, with nothing restored (the
        parameters are those of the last step, finite, and no update follows).
        """
        lr = self.optimizer.lr
        if not math.isfinite(value):
            self.restore()
            raise DivergenceError(epoch, "the loss", lr)
        losses = self.losses
        if not losses:
            return max(value * LOSS_GROWTH_FACTOR, _SMALLEST_LIMIT)
        if loss_keeps_growing(losses, value):
            raise DivergenceError(
                epoch,
                "the loss",
                lr,
                detail=(
                    f"the loss grew to {value:.3g}, more than {LOSS_GROWTH_FACTOR:g} times the first epoch's loss "
                    f"({losses[0]:.3g}), and rose in each of the last {LOSS_GROWTH_EPOCHS} epochs. Training stopped "
                    "there, with no further update."
                ),
            )
        return limit

    def _update(self, epoch: int) -> None:
        """Save, let the optimizer update the parameters, and undo an update that is not finite.

        The parameters' copy before the update is the snapshot taken after the
        last update of this epoch, or (at the epoch's first update) a new one;
        the copy after it is taken into the other snapshot and checked there.
        """
        before = self._after
        if before is None or self._after_epoch != epoch:  # the first update of the epoch: a new copy
            before = self._before
            before.take()
        for pending, backup, _ in self._buffers:
            backup[...] = pending  # the buffers as they were before this step's forward pass
        optimizer = self.optimizer
        self.state_backup = optimizer.copy_state()
        self._before = before
        self.updating = True  # only once both backups are complete
        self.forwarding = False
        optimizer.step()
        first, second = self._snapshots
        after = second if before is first else first
        after.take()
        if not after.is_finite():
            self.restore()
            raise DivergenceError(epoch, "a parameter", optimizer.lr)
        self.updating = False
        self._after, self._after_epoch = after, epoch

    def restore(self) -> None:
        """Put back the parameters and the optimizer state saved before the last update.

        ``updating`` is True until every parameter and the state are back, so
        that an interrupt halfway is finished by :meth:`undo_unfinished_step`.
        """
        self.updating = True
        numpy = self.xp is np
        for saved, p in self._before.pairs:
            if numpy:
                _array.copy_into(p.data, saved)
            else:
                p.data[...] = saved
        for _, backup, b in self._buffers:
            if numpy:
                _array.copy_into(b, backup)
            else:
                b[...] = backup
        self.optimizer.set_state(self.state_backup)
        self.forwarding = False
        self.updating = False

    def undo_unfinished_step(self) -> None:
        """Put back the state of the last completed step if an update (or a restore) was cut short.

        A step cut short after its forward pass, before its update, gets its
        buffers back (the parameters and the optimizer state are untouched).
        """
        if self.forwarding and not self.updating:
            for pending, _, b in self._buffers:
                if self.xp is np:
                    _array.copy_into(b, pending)
                else:
                    b[...] = pending
            self.forwarding = False
        if self.updating:
            self.restore()


#: The least growth limit (for a first epoch's loss of 0): a positive loss after it gets the closer look.
_SMALLEST_LIMIT = 5e-324


def loss_keeps_growing(losses: list[float], value: float) -> bool:
    """The growth rule: True if the epoch loss *value*, after the epoch losses *losses*, says training diverges.

    With ``L_1 = losses[0]`` the first epoch's loss, ``F`` =
    :data:`LOSS_GROWTH_FACTOR` (1e10) and ``K`` = :data:`LOSS_GROWTH_EPOCHS`
    (20), the rule fires when both hold::

        value > F * L_1                      (grown by ten orders of magnitude)
        L_{e-K} < L_{e-K+1} < ... < value    (rose in each of the last K epochs)

    A learning rate too large for the data multiplies the loss by about the
    same factor every epoch, so it meets both long before it overflows (a
    run that overflows within K epochs stops at the overflow, as before); a
    working run never climbs ten orders of magnitude above its start, and a
    jump from a loss at rounding level (Adam's first steps from an exact
    fit, say) does not rise K epochs in a row.

    Example:
        >>> loss_keeps_growing([1.0] + [2.0**k for k in range(1, 40)], 2.0**40)
        True
        >>> loss_keeps_growing([1.0] + [2.0**k for k in range(1, 40)] + [1.0], 2.0**40)  # fell once
        False
        >>> loss_keeps_growing([1e-30, 1e-30], 1e-6)  # one jump from rounding level
        False
    """
    if len(losses) < LOSS_GROWTH_EPOCHS or not value > LOSS_GROWTH_FACTOR * losses[0]:
        return False
    later = value
    for earlier in reversed(losses[-LOSS_GROWTH_EPOCHS:]):
        if not earlier < later:
            return False
        later = earlier
    return True


def minibatch_epoch(
    trainer: Trainer,
    X: NDArray[Any],
    y: NDArray[Any],
    batch_size: int,
    rng: np.random.Generator | None,
    epoch: int,
    y_was_1d: bool,
    w: NDArray[Any] | None = None,
) -> float:
    """One pass over the data in mini-batches; return the sample-weighted mean loss.

    With ``reduction="sum"`` the epoch loss is the sum of the batch losses.
    With sample weights *w* (shape ``(N,)``, taken with their rows) each
    batch's loss is weighted (:meth:`Trainer.weighted_step`), and the epoch's
    is ``sum_b(L_b W_b) / sum(w)`` with ``W_b`` the batch's total weight:
    the weighted mean over every sample.
    The epoch's loss then goes through the growth rule (see
    :func:`loss_keeps_growing`), after the epoch's updates.

    Data that cannot be shuffled row by row cheaply (a Dask array, an
    ``np.memmap`` of at least :data:`~minigrad.nn.blockwise.SHUFFLE_IN_BLOCKS_MIN_BYTES`)
    is shuffled block by block instead: see :func:`minigrad.nn.blockwise.block_shuffled_epoch`.
    """
    if w is None and dask_blocks.is_rows(X):  # a Dask array's blocks
        return _look_at_epoch_loss(trainer, X.minibatch_epoch(trainer, y, batch_size, rng, epoch, y_was_1d), epoch)
    if w is None and rng is not None and isinstance(X, np.memmap) and X.nbytes >= blockwise.SHUFFLE_IN_BLOCKS_MIN_BYTES:
        return _look_at_epoch_loss(
            trainer, blockwise.memmap_epoch(trainer, X, y, batch_size, rng, epoch, y_was_1d), epoch
        )
    n = X.shape[0]
    order = rng.permutation(n) if rng is not None else None
    xp = trainer.xp
    if order is not None and xp is not np:  # the same shuffle as on NumPy, as indices of the model's library
        order = xp.asarray(order, device=backend.device_of(X))
    mean = trainer.loss.reduction == "mean"
    # Batches are rows of the checked X and y: when the whole data suits the fused step, every batch does.
    fused = trainer.fused is not None and trainer.fused.accepts(X, y)
    convert = X.dtype != y.dtype  # a large X that fit left in its own dtype: each batch is converted alone
    total = 0.0
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        rows: Any = slice(start, stop) if order is None else order[start:stop]
        if order is None:
            xb, yb = X[rows], y[rows]
        elif xp is np:  # ndarray.take gathers whole rows, about twice as fast as X[rows] on a batch
            xb, yb = X.take(rows, 0), y.take(rows, 0)
        else:
            xb, yb = xp.take(X, rows, axis=0), xp.take(y, rows, axis=0)
        if convert:
            xb = _array.as_float_array(xb, y.dtype, "X")
        if w is None:
            value = trainer.fused_step(xb, yb, epoch, None) if fused else trainer.step(xb, yb, epoch, None, y_was_1d)
            total += value * (stop - start) if mean else value
        else:
            wb = w[rows] if order is None or xp is np else xp.take(w, rows, axis=0)
            value = trainer.weighted_step(xb, yb, wb, epoch, None, y_was_1d)
            total += value * float(xp.sum(wb)) if mean else value
    weight = n if w is None else float(xp.sum(w))
    return _look_at_epoch_loss(trainer, total / weight if mean else total, epoch)


def _look_at_epoch_loss(trainer: Trainer, value: float, epoch: int) -> float:
    """Pass a mini-batch epoch's loss through the growth rule (see :func:`loss_keeps_growing`); return it."""
    if not value < trainer.epoch_loss_limit:  # the first epoch's loss, one that overflowed, or one that grew
        trainer.epoch_loss_limit = trainer._look_at_loss(value, epoch, trainer.epoch_loss_limit)
    return value
