"""fit: the training loop — predict, compare, learn, repeated."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.nn import dask_blocks
from minigrad.nn.losses import BCEWithLogitsLoss, Loss, check_sample_weight, class_indices
from minigrad.nn.module import Module
from minigrad.nn.normalization import BatchNorm1d
from minigrad.nn.parameter import Parameter
from minigrad.optim.lr_scheduler import ReduceLROnPlateau
from minigrad.optim.optimizer import Optimizer
from minigrad.training import fused_step
from minigrad.training import metrics as _metrics
from minigrad.training.callbacks import Callback, EpochEndFn, as_callbacks, check_callable_as, monitor_mode
from minigrad.training.errors import DivergenceError
from minigrad.training.history import History
from minigrad.training.progress import Progress
from minigrad.training.trainer import Trainer, check_one_library, minibatch_epoch

#: Rows per forward pass when fit evaluates validation data and metrics:
#: the activations of one block stay small however large the data set is.
EVAL_BATCH_SIZE = 1024

MetricFn = Callable[[NDArray[Any], NDArray[Any]], float]


@runtime_checkable
class Scheduler(Protocol):
    """Anything with a ``step()`` method, such as ``minigrad.optim.StepLR``; fit calls it after every epoch.

    A schedule sets the learning rate of epoch ``e`` as a function of ``e``,
    e.g. ``lr_e = lr_0 * gamma ** e`` for ``ExponentialLR``.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> opt = mg.SGD([mg.Parameter(np.zeros(1))], lr=1.0)
        >>> isinstance(mg.optim.ExponentialLR(opt, gamma=0.5), Scheduler)
        True
    """

    def step(self) -> None:
        """Advance the schedule by one epoch (change the optimizer's ``lr`` when it is due)."""


def check_data(
    model: Module,
    X: ArrayLike,
    y: ArrayLike,
    *,
    class_targets: bool = False,
    names: tuple[str, str] = ("X", "y"),
    finite: bool = True,
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Validate and convert training data to the model's dtype.

    Returns ``(X, y)`` as arrays of the model's library (``model.xp``),
    device and dtype; arrays that already have it are used without a copy
    (and never written to); lists are converted into the model's library.
    A float NumPy X of at least :data:`~minigrad.training.fused_step.STREAM_MIN_BYTES`
    (an ``np.memmap``, say) keeps its own dtype: the training step converts
    it one block at a time, so no X-sized copy is ever made.  Dask arrays are
    checked by :func:`minigrad.nn.dask_blocks.check_data` (lazily, without
    computing X).  ``y`` may be
    1-D for a single-output model; it is then viewed as ``(N, 1)``.  With
    ``class_targets`` (a loss such as CrossEntropyLoss) ``y`` must be the
    1-D class indices ``(N,)`` and stays 1-D.

    Args:
        names: what to call X and y in messages (``("X_val", "y_val")``).
        finite: check X and y for NaN/inf (False: the caller checks them).

    Raises:
        ValueError: X not 2-D, empty X, different row counts, y not 1-D or
            2-D, or NaN/inf anywhere.
        TypeError: non-numeric data, or arrays of another library than the
            model's (``model.to(torch)`` moves the model; nothing is converted
            between libraries silently), or on another device.

    Example:
        >>> import minigrad as mg
        >>> X, y = check_data(mg.Linear(2, 1), [[1, 2], [3, 4]], [5, 6])
        >>> X.dtype, X.shape, y.shape
        (dtype('float64'), (2, 2), (2, 1))
        >>> check_data(mg.Linear(2, 1), [1, 2], [5, 6])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Expected 2D array for X, got 1D array instead: shape (2,). Reshape your data ...
    """
    if dask_blocks.is_dask(X) or dask_blocks.is_dask(y):
        return dask_blocks.check_data(model, X, y, class_targets=class_targets, names=names, finite=finite)
    xname, yname = names
    dtype = model.dtype
    xp = model.xp
    if xp is not np:
        Xa = backend.as_float(X, xp, dtype, model.device, xname)
        _check_device(Xa, model, xname)
    elif isinstance(X, np.ndarray) and X.dtype in _array.FLOAT_DTYPES and X.nbytes >= fused_step.STREAM_MIN_BYTES:
        _array.refuse_masked(X, xname)
        Xa = X  # converted block by block where it is used (each block checked for values too large)
    else:
        Xa = _array.as_float_array(X, dtype, xname)
    _array.check_2d(Xa, xname)
    if Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"{xname} is empty (shape {tuple(Xa.shape)}); fit needs at least one sample and one feature")
    if xp is np:
        ya = _array.as_float_array(y, dtype, yname)
    else:
        ya = backend.as_float(y, xp, dtype, model.device, yname)
        _check_device(ya, model, yname)
    if class_targets:
        if ya.ndim != 1:
            hint = " (pass y.ravel())" if ya.ndim == 2 and ya.shape[1] == 1 else ""
            raise ValueError(f"{yname} must hold class indices of shape (N,), got shape {tuple(ya.shape)}{hint}")
    elif ya.ndim == 1:
        ya = ya.reshape(-1, 1) if xp is np else xp.reshape(ya, (-1, 1))
    elif ya.ndim != 2:
        raise ValueError(f"{yname} must be 1-D (single output) or 2-D (N, outputs), got shape {tuple(ya.shape)}")
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(
            f"{xname} and {yname} have different numbers of samples: {xname} has shape {tuple(Xa.shape)}, "
            f"{yname} has shape {tuple(y.shape) if hasattr(y, 'shape') else np.shape(y)}"
        )
    if finite:
        check_finite(model, Xa, xname)
        check_finite(model, ya, yname)
    return Xa, ya


def check_finite(model: Module, a: Any, name: str) -> None:
    """Raise ValueError if *a*, an array of *model*'s library, holds NaN or inf (naming the first bad row)."""
    if model.xp is np:
        _array.check_finite(a, name)
    else:
        backend.check_finite(a, model.xp, name)


def _check_device(a: Any, model: Module, name: str) -> None:
    """Raise TypeError if the array *a* is not on the model's device."""
    device = backend.device_of(a)
    if str(device) != str(model.device):
        raise TypeError(
            f"{name} is on device {device} but the model is on {model.device}: move {name} there "
            f"or call model.to({backend.library_name(model.xp)}, device={str(device)!r})"
        )


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
    validation_data: tuple[ArrayLike, ArrayLike] | None = None,
    metrics: Iterable[str | MetricFn] = (),
    scheduler: Scheduler | None = None,
    monitor: str | None = None,
    sample_weight: ArrayLike | None = None,
    class_weight: Mapping[int, float] | str | None = None,
    clip_grad_norm: float | None = None,
) -> History:
    """Train *model* on ``(X, y)`` by gradient descent and return its History.

    Each step is the manual loop, the seed's three steps on arrays::

        pred = model(X)                        # predict
        l = loss(pred, y)                      # compare
        optimizer.zero_grad()
        model.backward(loss.backward())        # d loss / d parameters
        optimizer.step()                       # learn

    After each epoch, in this order: the validation loss and the metrics are
    computed (forward passes only, ``EVAL_BATCH_SIZE`` rows at a time, no
    gradient touched), the callbacks get the epoch's ``logs``, then
    ``scheduler.step()`` runs.

    Modes: the steps run in training mode (``model.train()``: Dropout
    drops, BatchNorm1d normalises with the batch's statistics and updates its
    running ones); the validation loss, the metrics and the checks before
    training run in evaluation mode (through ``model.predict``: no dropout,
    the running statistics, nothing updated).  When fit returns or raises
    (a Ctrl-C included), every module is back in the mode it was in when fit
    was called.

    Args:
        model: the module to train, in place.
        X: inputs, shape ``(N, in_features)``: arrays of the model's library
            (NumPy, or the library of ``model.to``; another library is a
            TypeError) or lists; converted to the model's dtype (a large
            float NumPy array, an ``np.memmap`` say, one block at a time).
            X and y may be Dask arrays (a model on NumPy): each step then runs
            block by block on the cluster and X is never gathered (see
            :mod:`minigrad.nn.dask_blocks`).
        y: targets, shape ``(N, outputs)``, or ``(N,)`` for a single-output
            model; for a loss with class targets (CrossEntropyLoss) the class
            indices, shape ``(N,)``.
        loss: the loss to minimise, an instance such as ``MSELoss()``.
        optimizer: an optimizer instance over ``model.parameters()`` (or a
            subset of them: the others are not trained).
        epochs: the most epochs to run, ≥ 1.
        batch_size: None for full-batch gradient descent (one step an epoch,
            X used as it is, never copied), or the mini-batch size; the last
            partial batch is kept.
        shuffle: reshuffle the mini-batches every epoch (ignored in full
            batch), from *rng*: the same seed gives the same batches and the
            same result bit for bit.
        tol: stop when the training loss is ≤ tol.  In full batch the loss is
            computed before the epoch's update and a stopping epoch makes no
            update; with mini-batches the epoch's loss is checked after it.
        rng: int seed or Generator for the shuffling.
        callbacks: :class:`Callback` objects (such as
            :class:`~minigrad.EarlyStopping`) or functions ``f(epoch, logs)``,
            called after every epoch; one returning True stops training.
        verbose: 0 (or False) shows nothing; 1 (or True) shows a :class:`~minigrad.training.progress.Progress`
            display on ``sys.stdout`` (in place on a terminal, one line per
            epoch otherwise).
        validation_data: ``(X_val, y_val)``, checked like ``(X, y)`` before any
            update and never copied when already of the model's dtype; its
            loss after each epoch's updates goes to ``History.val_loss``.
        metrics: names (``"accuracy"``, ``"r2"``) or functions
            ``f(pred, target) -> float``, computed after each epoch on the
            training data (with the parameters at the end of the epoch) and,
            given validation data, on it (``"val_"`` + name); recorded in
            ``History.metrics``.  For a single output, ``"accuracy"``
            thresholds at 0 after BCEWithLogitsLoss (logits) and at 0.5
            otherwise (probabilities).
        scheduler: an object with ``step()``, such as ``StepLR``, called once
            after every epoch (after the callbacks, the last epoch included).
            A :class:`~minigrad.optim.ReduceLROnPlateau` gets the epoch's
            number, ``scheduler.step(logs[monitor])``.
        monitor: the key of the logs a ReduceLROnPlateau scheduler is
            stepped with: ``"loss"``, ``"val_loss"`` (needs
            ``validation_data``) or a metric's log such as ``"accuracy"``,
            ``"val_accuracy"`` or ``"val_r2"`` (needs ``metrics=[...]``).
            None: ``"val_loss"`` when there is validation data, else
            ``"loss"``.  The scheduler's ``mode`` must agree with the log
            (:func:`~minigrad.training.callbacks.monitor_mode`): ``mode="min"`` for a
            loss, ``mode="max"`` for an accuracy or R²; a metric function's
            log takes either.  Only for a ReduceLROnPlateau.
        sample_weight: one weight per row of X, shape ``(N,)``, finite, ≥ 0
            and not all zero; each batch's loss is then the weighted mean
            ``sum(w_i l_i) / sum(w_i)`` of its samples' losses (see
            :class:`~minigrad.Loss`), and the weights go with their rows
            when the mini-batches are shuffled.  The epoch's loss is the
            weighted mean over all samples.  None: every weight 1.  The
            validation loss and the metrics are not weighted.
        class_weight: for class targets (CrossEntropyLoss, or
            BCEWithLogitsLoss with labels 0 and 1): a mapping ``{class:
            weight}`` (classes left out weigh 1) or ``"balanced"``, which
            weighs class ``c`` by ``N / (k · N_c)`` (``k`` the number of
            classes present in y, ``N_c`` the rows of class ``c``), as
            scikit-learn defines it; sample ``i`` then weighs
            ``class_weight[y_i]`` (times its ``sample_weight``).
        clip_grad_norm: None, or a ``max_norm`` > 0 for
            :func:`~minigrad.clip_grad_norm_`, applied to the model's
            parameters after every backward pass and before the update (the
            fused Linear+MSE step, which does not clip, is then not used).

    The ``logs`` each callback gets hold ``"loss"``, ``"converged"``,
    ``"lr"`` (the optimizer's learning rate during the epoch), ``"time"``
    (seconds since training began), and ``"val_loss"`` and each metric when
    asked for.

    Returns:
        A :class:`History` with one training loss and one learning rate per
        epoch run, the validation losses and metrics, and ``best_epoch``.

    Raises:
        ValueError: bad data or arguments, before any update: NaN or inf,
            values too large for the model's dtype, a different number of
            features or outputs, targets the loss does not take (anywhere in
            ``y`` or ``y_val``: BCEWithLogitsLoss outside [0, 1], classes out
            of range or a one-output model for CrossEntropyLoss), targets a
            metric cannot score (``"accuracy"``: not whole numbers; ``"r2"``:
            one row), a callback ``monitor`` the logs will not hold, an
            optimizer holding parameters that are not the model's, bad
            ``sample_weight``/``class_weight``/``clip_grad_norm``, a
            ``monitor`` the logs will not hold, that is not a loss or a metric,
            or without a ReduceLROnPlateau, a ReduceLROnPlateau whose ``mode``
            contradicts its monitor (``mode="max"`` on a loss), a BatchNorm1d
            that would get a batch of one row.
        TypeError: non-numeric data, a masked array (``numpy.ma``: its
            hidden values are never trained on), a loss or optimizer that is
            a class or a name instead of an instance.
        DivergenceError: a loss (the validation loss included), a prediction
            or a parameter became NaN or inf; the parameters and optimizer
            state of the last finite step are restored first.  Also raised,
            with nothing to restore, by the growth rule: when an epoch's
            training loss exceeds ``1e10`` times the first epoch's loss after
            rising in each of the last 20 epochs (a learning rate too large
            for the data, caught long before the numbers overflow; see
            :func:`minigrad.training.trainer.loss_keeps_growing`).  Training stops
            where the rule fires, as for ``tol``: in full batch before that
            epoch's update, with mini-batches after the epoch; the parameters
            are those of the last step made.

    An exception that cuts a step short (a KeyboardInterrupt anywhere in fit,
    or an error raised by the optimizer) leaves the parameters and the
    optimizer's state as after one completed step, the same step for both:
    the last one, or the one before when the last update had not yet been
    checked for NaN/inf.  Once EarlyStopping has put back the best epoch's
    parameters, it leaves what fit would have returned.

    Example:
        >>> import numpy as np, minigrad as mg
        >>> model = mg.Linear(1, 1, bias=False)
        >>> model.weight.data[...] = 1.0
        >>> history = mg.fit(model, [[200_000.0]], [99_750_000.0], loss=mg.MSELoss(),
        ...                  optimizer=mg.SGD(model.parameters(), lr=1e-11 / 2),
        ...                  epochs=100, tol=0.0)
        >>> history.epochs, history.stop_reason, model.weight.data.item()
        (73, 'tol', 498.75)

        With validation data and a metric:

        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 2)); y = X @ np.array([1.0, -2.0]) + 0.5
        >>> model = mg.Linear(2, 1, rng=0)
        >>> h = mg.fit(model, X[:30], y[:30], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1),
        ...            epochs=300, validation_data=(X[30:], y[30:]), metrics=["r2"])
        >>> len(h.val_loss), h.val_loss[-1] < 1e-6, round(h.metrics["val_r2"][-1], 6)
        (300, True, 1.0)
    """
    with _modes_restored(model):  # every check before the first update, in order: arguments, data, targets, ...
        params = model.parameters()
        _check_loss_and_optimizer(params, loss, optimizer)
        _check_arguments(epochs, batch_size, tol, verbose, scheduler, optimizer, clip_grad_norm)
        check_one_library(model, params, optimizer)
        class_targets = bool(getattr(loss, "class_targets", False))
        metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
        Xa, ya = check_data(model, X, y, class_targets=class_targets, finite=False)
        full_batch = batch_size is None or batch_size >= Xa.shape[0]
        weighted = sample_weight is not None or class_weight is not None
        history = History()
        trainer = Trainer(
            model, params, loss, optimizer, history.loss, full_batch=full_batch, clip_grad_norm=clip_grad_norm
        )
        unobserved = full_batch and not (
            callbacks or verbose or validation_data is not None or metrics or scheduler or weighted
        )
        _check_finite_data(model, trainer, Xa, ya, full_batch, unobserved)
        val = _check_validation(model, validation_data, Xa, ya, class_targets)
        metric_fns = _metric_functions(metrics, loss)
        _check_target(loss, ya, "y")
        if val is not None:
            _check_target(loss, val[1], "y_val")
        if class_targets or val is not None or metric_fns:
            _check_before_training(model, loss, Xa, ya, metric_fns, class_targets, ("X", "y"))
            if val is not None:
                _check_before_training(model, loss, val[0], val[1], metric_fns, class_targets, ("X_val", "y_val"))
        w = _sample_weights(model, loss, Xa, ya, sample_weight, class_weight) if weighted else None
        log_keys = _log_keys(val is not None, metric_fns)
        plateau_metric = _plateau_monitor(scheduler, monitor, log_keys)
        _check_batch_norm_batches(model, Xa.shape[0], batch_size)
        cbs = as_callbacks(callbacks)
        if cbs:
            _check_monitors(cbs, log_keys)
        if verbose:
            cbs.append(Progress(int(epochs)))
        run = _Run(
            trainer=trainer,
            history=history,
            X=Xa,
            y=ya,
            y_was_1d=(y.ndim if hasattr(y, "ndim") else np.ndim(y)) == 1 and not class_targets,
            val=val,
            weights=w,
            metric_fns=metric_fns,
            callbacks=cbs,
            scheduler=scheduler,
            plateau_metric=plateau_metric,
            epochs=int(epochs),
            batch_size=None if full_batch else batch_size,
            tol=tol,
            rng=_array.as_rng(rng) if (not full_batch and shuffle) else None,
            eval_rows=max(EVAL_BATCH_SIZE, batch_size or 0),
            unobserved=unobserved,
        )
        for cb in run.callbacks:
            cb.set_optimizer(optimizer)
            cb.on_train_begin(model)
        model.train()
        _run_epochs(run)
        for cb in run.callbacks:
            cb.on_train_end(run.history)
        return run.history


@contextmanager
def _modes_restored(model: Module) -> Iterator[None]:
    """Put every module back in the mode (training or evaluation) it had, however the block ends.

    (Not a ``finally``: a Ctrl-C that cuts the restore short is caught and the restore runs again.)
    """
    modes = model._modes() if isinstance(model, Module) else []
    try:
        yield
        Module._restore_modes(modes)
    except BaseException:
        Module._restore_modes(modes)
        raise


@dataclass
class _Run:
    """What fit's checks produced: the checked data and every piece the epoch loop uses."""

    trainer: Trainer
    history: History
    X: NDArray[Any]
    y: NDArray[Any]
    y_was_1d: bool
    #: The checked ``(X_val, y_val)``, or None.
    val: tuple[NDArray[Any], NDArray[Any]] | None
    #: The sample weights (sample_weight times class_weight), shape ``(N,)``, or None.
    weights: NDArray[Any] | None
    metric_fns: Sequence[tuple[str, MetricFn]]
    callbacks: list[Callback]
    scheduler: Scheduler | None
    #: The log a ReduceLROnPlateau scheduler steps on (fit's ``monitor``), or None for another scheduler.
    plateau_metric: str | None
    epochs: int
    #: None for full batch (``batch_size`` None or at least N).
    batch_size: int | None
    tol: float | None
    #: The shuffling generator of mini-batch training, or None (full batch, or ``shuffle=False``).
    rng: np.random.Generator | None
    #: Rows per forward pass of the evaluation after each epoch.
    eval_rows: int
    #: True when nothing looks at the model between full-batch epochs: the trainer runs them on its own.
    unobserved: bool


def _run_epochs(run: _Run) -> None:
    """fit's epochs, in training mode: train, record, evaluate, call back, schedule; stop on tol or a callback."""
    trainer, history = run.trainer, run.history
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        try:
            if run.unobserved:  # the trainer runs the epochs itself, with less to do per epoch
                if trainer.full_batch(run.X, run.y, run.epochs, run.tol, run.y_was_1d):
                    history.stop_reason = "tol"
                history.lr = [trainer.optimizer.lr] * history.epochs  # (nothing changes lr between epochs)
                return
            for epoch in range(1, run.epochs + 1):
                lr = trainer.optimizer.lr
                epoch_loss = _train_epoch(run, epoch)
                history.loss.append(epoch_loss)
                history.lr.append(lr)
                converged = run.tol is not None and epoch_loss <= run.tol
                logs: dict[str, Any] = {"loss": epoch_loss, "converged": converged}
                _evaluate(run, epoch, logs)
                stop = False
                if run.callbacks:
                    logs["lr"] = lr
                    logs["time"] = time.perf_counter() - start
                    answers = [bool(cb.on_epoch_end(epoch, logs)) for cb in run.callbacks]  # every one, every epoch
                    stop = any(answers)
                _step_scheduler(run, logs)
                if converged or stop:
                    history.stop_reason = "tol" if converged else "callback"
                    break
        except BaseException:  # Ctrl-C, or an error from the optimizer, a callback, ...: no half-made step
            trainer.undo_unfinished_step()
            _close_progress(run.callbacks)
            raise


def _train_epoch(run: _Run, epoch: int) -> float:
    """One epoch of updates (one full-batch step, or the mini-batches); return the epoch's training loss."""
    trainer = run.trainer
    if run.batch_size is not None:
        return minibatch_epoch(trainer, run.X, run.y, run.batch_size, run.rng, epoch, run.y_was_1d, run.weights)
    if run.weights is None:
        return trainer.step(run.X, run.y, epoch, run.tol, run.y_was_1d)
    return trainer.weighted_step(run.X, run.y, run.weights, epoch, run.tol, run.y_was_1d)


def _evaluate(run: _Run, epoch: int, logs: dict[str, Any]) -> None:
    """The validation loss and the metrics after an epoch (evaluation mode), into the history and *logs*.

    A validation loss or a prediction that is not finite restores the last
    step's parameters and raises DivergenceError.
    """
    trainer, history, val = run.trainer, run.history, run.val
    val_pred = None
    if val is not None:
        val_pred = _predict(trainer, val[0], run.eval_rows, epoch)
        val_loss = trainer.loss(val_pred, val[1])
        if not math.isfinite(val_loss):
            trainer.restore()
            raise DivergenceError(epoch, "the validation loss", trainer.optimizer.lr)
        history.val_loss.append(val_loss)
        logs["val_loss"] = val_loss
    if run.metric_fns:
        _record_metrics(_predict(trainer, run.X, run.eval_rows, epoch), run.y, run.metric_fns, "", history, logs)
        if val is not None and val_pred is not None:
            _record_metrics(val_pred, val[1], run.metric_fns, "val_", history, logs)


def _step_scheduler(run: _Run, logs: dict[str, Any]) -> None:
    """Advance the scheduler once: a ReduceLROnPlateau with its monitored log, any other with ``step()``."""
    scheduler = run.scheduler
    if scheduler is None:
        return
    if run.plateau_metric is not None:
        assert isinstance(scheduler, ReduceLROnPlateau)
        scheduler.step(logs[run.plateau_metric])
    else:
        scheduler.step()


def _check_arguments(
    epochs: int,
    batch_size: int | None,
    tol: float | None,
    verbose: int,
    scheduler: Scheduler | None,
    optimizer: Optimizer,
    clip_grad_norm: float | None,
) -> None:
    """ValueError or TypeError for an argument of fit out of its range (the data are checked later)."""
    _check_int("epochs", epochs)
    if batch_size is not None:
        _check_int("batch_size", batch_size)
    if tol is not None and (isinstance(tol, bool) or not math.isfinite(tol) or tol < 0):
        raise ValueError(f"tol must be None or a finite number >= 0, got {tol!r}")
    if not isinstance(verbose, (int, np.integer)) or verbose < 0:  # bool is an int: False = 0, True = 1
        raise ValueError(f"verbose must be 0 (quiet) or 1 (progress), got {verbose!r}")
    if isinstance(scheduler, type):
        raise TypeError(
            f"scheduler must be an instance, got the class {scheduler.__name__}: pass an instance, "
            f"e.g. scheduler={scheduler.__name__}(optimizer, ...)"
        )
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a step() method, got {type(scheduler).__name__}")
    if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("scheduler was made for a different optimizer than the one passed to fit")
    if clip_grad_norm is not None and (
        isinstance(clip_grad_norm, bool)
        or not isinstance(clip_grad_norm, (int, float, np.integer, np.floating))
        or not math.isfinite(clip_grad_norm)
        or clip_grad_norm <= 0
    ):
        raise ValueError(f"clip_grad_norm must be None or a finite number > 0, got {clip_grad_norm!r}")


def _check_finite_data(
    model: Module, trainer: Trainer, X: NDArray[Any], y: NDArray[Any], full_batch: bool, unobserved: bool
) -> None:
    """ValueError for NaN/inf in X or y, naming X first, before any update.

    A large X that the first full-batch step streams anyway (nothing
    observed between epochs) is checked in that pass, with no read of its
    own; Dask data in the first step's pass, or now for mini-batches.
    """
    if dask_blocks.is_rows(X):
        dask_blocks.check_finite_first(trainer, X, y, full_batch)
        return
    x_checked_in_first_pass = unobserved and trainer.check_x_in_first_pass(X, y, "X")
    if not x_checked_in_first_pass or not _all_finite(model, [y]):
        check_finite(model, X, "X")
    check_finite(model, y, "y")


def _sample_weights(
    model: Module,
    loss: Loss,
    X: NDArray[Any],
    y: NDArray[Any],
    sample_weight: ArrayLike | None,
    class_weight: Mapping[int, float] | str | None,
) -> NDArray[Any]:
    """fit's per-sample weights: *sample_weight* times the weight of each sample's class, checked.

    ValueError (before any update) for weights of another shape than
    ``(N,)``, NaN/inf, a negative weight, weights that are all zero, a
    ``class_weight`` for targets that are not classes, a class that the
    model cannot predict, or a weight that is not a finite number ≥ 0.
    """
    if dask_blocks.is_rows(X) or dask_blocks.is_dask(sample_weight):
        raise ValueError(
            "sample_weight and class_weight are not supported for Dask data yet: "
            "fit on NumPy arrays, or repeat/drop rows to weight them"
        )
    try:
        inspect.signature(loss.forward).bind(None, None, sample_weight=None)
    except TypeError:
        raise TypeError(
            f"{type(loss).__name__}.forward takes no sample_weight argument, which fit's sample_weight and "
            "class_weight need: give it forward(pred, target, sample_weight=None) (see mg.Loss)"
        ) from None
    n = X.shape[0]
    dtype = np.dtype(backend.dtype_name(model.dtype)) if model.xp is not np else model.dtype
    w = np.ones(n, dtype=dtype)
    if sample_weight is not None:
        if model.xp is not np and backend.library_of(sample_weight) == backend.library_name(model.xp):
            sample_weight = backend.to_numpy(sample_weight)
        w = check_sample_weight(sample_weight, n, dtype)
    if class_weight is not None:
        classes, num_classes = _classes_of(model, loss, X, y)
        per_class = _class_weight_table(class_weight, classes, num_classes)
        w = w * per_class[classes].astype(dtype)
    if not w.any():
        raise ValueError(
            "the sample weights are zero for every sample (sample_weight"
            + (" times class_weight" if class_weight is not None else "")
            + "): fit needs at least one sample with a weight > 0"
        )
    if model.xp is not np:  # the weights go with the rows, in the model's library and on its device
        moved: NDArray[Any] = backend.move(w, model.xp, model.device)
        return moved
    return w


def _classes_of(model: Module, loss: Loss, X: NDArray[Any], y: NDArray[Any]) -> tuple[NDArray[np.intp], int]:
    """The class of each sample and the number of classes, for ``class_weight``."""
    y = backend.to_numpy(y) if not isinstance(y, np.ndarray) else y
    if loss.class_targets:
        num_classes = int(model.predict(X[:1, ...]).shape[-1])
        return class_indices(y, y.shape[0], num_classes), num_classes
    if isinstance(loss, BCEWithLogitsLoss) and y.ndim == 2 and y.shape[1] == 1:
        labels = y[:, 0]
        bad = (labels != 0) & (labels != 1)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"class_weight needs labels 0 and 1 for BCEWithLogitsLoss, got {labels[i].item()!r} in y at row {i}; "
                "weigh soft labels with sample_weight"
            )
        return labels.astype(np.intp), 2
    raise ValueError(
        f"class_weight needs class targets (CrossEntropyLoss, or BCEWithLogitsLoss with one output and labels 0 "
        f"and 1), got {type(loss).__name__} with targets of shape {y.shape}: weigh samples with sample_weight"
    )


def _class_weight_table(
    class_weight: Mapping[int, float] | str, classes: NDArray[np.intp], num_classes: int
) -> NDArray[np.float64]:
    """The weight of each class ``0 .. num_classes - 1``: from the mapping (1 for a class left out) or balanced."""
    counts = np.bincount(classes, minlength=num_classes)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be a mapping {{class: weight}} or 'balanced', got {class_weight!r}")
        present = np.count_nonzero(counts)
        with np.errstate(divide="ignore"):
            table = np.where(counts > 0, classes.shape[0] / (present * np.maximum(counts, 1)), 1.0)
        return table.astype(np.float64)
    if not isinstance(class_weight, Mapping):
        raise TypeError(
            f"class_weight must be a mapping {{class: weight}} or 'balanced', got {type(class_weight).__name__}"
        )
    table = np.ones(num_classes)
    for key, value in class_weight.items():
        if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)) or not 0 <= key < num_classes:
            raise ValueError(
                f"class_weight has the key {key!r}, but the classes are the integers 0 to {num_classes - 1}"
            )
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)
            or value < 0
        ):
            raise ValueError(f"class_weight[{key!r}] must be a finite number >= 0, got {value!r}")
        table[int(key)] = float(value)
    return table


def _check_batch_norm_batches(model: Module, n: int, batch_size: int | None) -> None:
    """ValueError before training when a BatchNorm1d would get a batch of one row in training mode.

    It cannot normalise one row (its variance is 0 and the running variance
    would need ``N - 1 > 0``); torch raises there too, but only at that batch,
    after the updates before it.
    """
    rows = n if batch_size is None or batch_size >= n else (n % batch_size or batch_size)
    if rows != 1 or not any(isinstance(m, BatchNorm1d) for m in model.modules()):
        return
    hint = (
        "give fit at least two rows"
        if batch_size is None or batch_size >= n
        else f"the last of the mini-batches of {batch_size} has one row of the {n}: choose another batch_size"
    )
    raise ValueError(f"BatchNorm1d cannot normalise a batch of one row in training mode; {hint}")


def _close_progress(cbs: list[Callback]) -> None:
    """End a progress line left open on a terminal, so an error message starts on a line of its own."""
    for cb in cbs:
        if isinstance(cb, Progress):
            cb.close()


def _check_validation(
    model: Module,
    validation_data: tuple[ArrayLike, ArrayLike] | None,
    Xa: NDArray[Any],
    ya: NDArray[Any],
    class_targets: bool,
) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """Check ``(X_val, y_val)`` like the training data and against its shapes."""
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError(
            f"validation_data must be a pair (X_val, y_val), got {type(validation_data).__name__}"
            + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else "")
        )
    Xv, yv = check_data(
        model, validation_data[0], validation_data[1], class_targets=class_targets, names=("X_val", "y_val")
    )
    if Xv.shape[1:] != Xa.shape[1:]:
        raise ValueError(f"X_val has {Xv.shape[1]} features but X has {Xa.shape[1]}: shapes {Xv.shape} and {Xa.shape}")
    if yv.shape[1:] != ya.shape[1:]:
        raise ValueError(f"y_val has shape {yv.shape} but y has shape {ya.shape}; they need the same number of outputs")
    return Xv, yv


def _metric_functions(metrics: Iterable[str | MetricFn], loss: Loss) -> list[tuple[str, MetricFn]]:
    """Resolve metric names and functions into ``(name, f(pred, target))`` pairs."""
    threshold = 0.0 if isinstance(loss, BCEWithLogitsLoss) else 0.5
    known: dict[str, MetricFn] = {
        "accuracy": lambda p, t: _metrics.accuracy(p, t, threshold=threshold),
        "r2": _metrics.r2_score,
    }
    out: list[tuple[str, MetricFn]] = []
    for m in metrics:
        if isinstance(m, str):
            if m not in known:
                raise ValueError(f"unknown metric {m!r}; known metrics are {sorted(known)}, or pass a function")
            out.append((m, known[m]))
        elif isinstance(m, type):
            raise TypeError(f"metrics must be names or functions f(pred, target), got the class {m.__name__}")
        elif callable(m):
            check_callable_as(m, (None, None), "f(pred, target)", "a metric function")
            out.append((getattr(m, "__name__", type(m).__name__), m))
        else:
            raise TypeError(f"metrics must be names or functions f(pred, target), got {type(m).__name__}")
    names = [name for name, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names must be different, got {names}")
    return out


def _check_target(loss: Loss, y: Any, name: str) -> None:
    """``loss.check_target(y, name)``; a Dask y is gathered for it (``N × outputs`` numbers, never X)
    only when the loss restricts its targets."""
    if dask_blocks.is_rows(y):
        if type(loss).check_target is Loss.check_target:  # the base class takes any value
            return
        y = np.asarray(y)
    loss.check_target(y, name)


def _check_before_training(
    model: Module,
    loss: Loss,
    X: NDArray[Any],
    y: NDArray[Any],
    metric_fns: Sequence[tuple[str, MetricFn]],
    class_targets: bool,
    names: tuple[str, str],
) -> None:
    """Raise ValueError now for data that would fail only after updates.

    A forward pass over two rows checks that the model accepts the inputs and
    that the loss and the metrics accept the targets' shape; class targets
    are all checked against the number of classes the model predicts.
    """
    with np.errstate(all="ignore"):
        pred = model.predict(X[:2, ...])  # (evaluation mode: no dropout mask drawn, no running statistic moved)
    if class_targets:
        if pred.ndim != 2:
            raise ValueError(
                f"a loss with class targets needs outputs of shape (N, C), the model gives {tuple(pred.shape)}"
            )
        if pred.shape[1] < 2:
            raise ValueError(
                f"{type(loss).__name__} needs one output per class, the model has {pred.shape[1]} output: give its "
                "last layer out_features = the number of classes (or, for two classes, keep one output and use "
                "BCEWithLogitsLoss)"
            )
        try:
            class_indices(backend.to_numpy(y), y.shape[0], pred.shape[1])
        except ValueError as exc:
            raise ValueError(f"{names[1]}: {exc}") from None
    elif tuple(pred.shape[1:]) != tuple(y.shape[1:]):
        raise ValueError(
            f"the model predicts shape {(X.shape[0], *pred.shape[1:])} for {names[0]} but {names[1]} has shape "
            f"{tuple(y.shape)}; they need the same number of outputs"
        )
    for name, _ in metric_fns:
        if name == "r2" and y.shape[0] < 2:
            raise ValueError(f"metric 'r2' needs at least two samples, {names[1]} has {y.shape[0]}")
    if _all_finite(model, [pred]):
        for name, fn in metric_fns:
            if name == "r2" and tuple(pred.shape) != tuple(y[:2, ...].shape):
                raise ValueError(f"metric 'r2' needs targets shaped like the predictions {tuple(pred.shape[1:])}")
            if name == "accuracy":
                # Every target, against the first prediction repeated (a view): the metric's own checks
                # of shape and whole-number classes, over all rows, at the cost of one evaluation (metrics
                # are numbers computed on NumPy: a target of another library is read back once here).
                first = backend.to_numpy(pred[:1, ...])
                fn(np.broadcast_to(first, (y.shape[0], *first.shape[1:])), backend.to_numpy(y))


def _check_loss_and_optimizer(params: list[Parameter], loss: Loss, optimizer: Optimizer) -> None:
    """TypeError for a loss or optimizer that is not an instance; ValueError for an optimizer of other parameters.

    The optimizer may hold a subset of the model's parameters (the others
    are then not trained, as in PyTorch), but not one that is not the
    model's: training would not move those, and fit's restore on divergence
    or interrupt covers the model's parameters only.
    """
    for arg, value, base, example in (
        ("loss", loss, Loss, "loss=mg.MSELoss()"),
        ("optimizer", optimizer, Optimizer, "optimizer=mg.SGD(model.parameters(), lr=0.01)"),
    ):
        if isinstance(value, type) and issubclass(value, base):
            prefix = "mg." if value.__module__.startswith("minigrad.") else ""
            example = f"{arg}={prefix}{value.__name__}(" + ("model.parameters(), ...)" if arg == "optimizer" else ")")
            raise TypeError(
                f"{arg} must be an instance, got the class {value.__name__}: pass an instance, e.g. {example}"
            )
        if not isinstance(value, base):
            raise TypeError(
                f"{arg} must be a minigrad {base.__name__} instance, got {type(value).__name__} {value!r}: "
                f"pass an instance, e.g. {example}"
            )
    if optimizer.params == params:  # the commonest case (Parameters compare by identity)
        return
    own = {id(p) for p in params}
    foreign = [i for i, p in enumerate(optimizer.params) if id(p) not in own]
    if foreign or not optimizer.params:
        raise ValueError(
            f"the optimizer holds {len(foreign)} of its {len(optimizer.params)} parameters from outside the model "
            f"(at positions {foreign[:5]}{'...' if len(foreign) > 5 else ''}); build it over the model's "
            "parameters: mg.SGD(model.parameters(), ...) (a subset of them is fine)"
        )


def _log_keys(validation: bool, metric_fns: Sequence[tuple[str, MetricFn]]) -> set[str]:
    """The keys of the logs the callbacks will get (see fit's docstring)."""
    keys = {"loss", "converged", "lr", "time"}
    names = [name for name, _ in metric_fns]
    keys.update(names)
    if validation:
        keys.add("val_loss")
        keys.update("val_" + name for name in names)
    return keys


def _check_monitors(cbs: Sequence[Callback], keys: set[str]) -> None:
    """ValueError for a callback whose ``monitor`` names a key that fit's logs will not hold."""
    for cb in cbs:
        monitor = getattr(cb, "monitor", None)
        if isinstance(monitor, str):  # (not: an attribute of that name meaning something else)
            _check_monitor(type(cb).__name__, monitor, keys)


def _check_monitor(who: str, monitor: str, keys: set[str], held: str = "fit's logs will hold only") -> None:
    """ValueError, with the fix, when *monitor* is not one of *keys* (the keys *held* describes)."""
    if monitor in keys:
        return
    hint = ""
    if monitor.startswith("val_") and "val_loss" not in keys:
        hint = " (pass validation_data to fit)"
    elif monitor.removeprefix("val_") in ("accuracy", "r2"):
        hint = f" (pass metrics=[{monitor.removeprefix('val_')!r}] to fit)"
    raise ValueError(f"{who} monitors {monitor!r}, but {held} {sorted(keys)}{hint}")


def _plateau_monitor(scheduler: Scheduler | None, monitor: str | None, keys: set[str]) -> str | None:
    """The key of the logs fit steps a ReduceLROnPlateau with (None without one), checked before training.

    *keys* are the keys the logs will hold.  The monitor must be a loss or a
    metric among them, and the scheduler's mode must be the one
    :func:`~minigrad.training.callbacks.monitor_mode` gives it, when it gives one.
    """
    if monitor is not None and not isinstance(monitor, str):
        raise TypeError(f"monitor must be a key of fit's logs (a str) or None, got {type(monitor).__name__}")
    if not isinstance(scheduler, ReduceLROnPlateau):
        if monitor is not None:
            got = f"a {type(scheduler).__name__}, stepped without a number" if scheduler is not None else "no scheduler"
            raise ValueError(
                f"monitor={monitor!r} names the number fit steps a ReduceLROnPlateau scheduler with, but fit got "
                f"{got}: pass scheduler=mg.optim.ReduceLROnPlateau(optimizer, ...), or leave monitor out"
            )
        return None
    key = monitor if monitor is not None else ("val_loss" if "val_loss" in keys else "loss")
    _check_monitor("ReduceLROnPlateau", key, keys - {"converged", "lr", "time"}, "fit can step it only with")
    mode = monitor_mode(key)
    if mode is not None and mode != scheduler.mode:
        chosen = f"monitor={key!r}" if monitor is not None else f"{key!r} (fit's default monitor)"
        direction = "rise" if scheduler.mode == "max" else "fall"
        if mode == "min":
            kind = "a loss (lower is better)"
            fix = (
                "make it with mode='min', or monitor a number that should rise, e.g. monitor='val_accuracy' "
                "with metrics=['accuracy'] and validation_data"
            )
        else:
            kind, fix = "higher-is-better (an accuracy or R²)", "make it with mode='max'"
        raise ValueError(
            f"ReduceLROnPlateau(mode={scheduler.mode!r}) expects {chosen} to {direction}, but {key!r} is {kind}: {fix}"
        )
    return key


def _predict(trainer: Trainer, X: NDArray[Any], rows: int, epoch: int) -> NDArray[Any]:
    """The model's output for X, ``rows`` at a time; NaN/inf restores the parameters and raises."""
    pred = X.gather_predictions(trainer.model) if dask_blocks.is_rows(X) else trainer.model.predict(X, batch_size=rows)
    if not _all_finite(trainer.model, [pred]):
        trainer.restore()
        raise DivergenceError(epoch, "a prediction", trainer.optimizer.lr)
    return pred


def _all_finite(model: Module, arrays: list[Any]) -> bool:
    """True if every array (of *model*'s library) is free of NaN and inf."""
    return _array.all_finite(arrays) if model.xp is np else backend.all_finite(arrays, model.xp)


def _record_metrics(
    pred: NDArray[Any],
    y: NDArray[Any],
    metric_fns: Sequence[tuple[str, MetricFn]],
    prefix: str,
    history: History,
    logs: dict[str, Any],
) -> None:
    """Compute each metric of *pred* against *y* and record it as ``prefix + name``."""
    for name, fn in metric_fns:
        value = float(fn(pred, y))
        history.metrics.setdefault(prefix + name, []).append(value)
        logs[prefix + name] = value


def _check_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
