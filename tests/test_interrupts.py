"""Ctrl-C anywhere in fit: the model and the optimizer are left as after one completed step, both the same step.

Exhaustive, not sampled: a trace function raises KeyboardInterrupt at the k-th line that minigrad's code
executes, for every k from the first line of ``fit`` to its last, on every training path (the fused
single-Linear full-batch loop with plain SGD, momentum SGD and Adam; the general path; mini-batches;
validation with EarlyStopping restoring the best weights; the streamed fused step).  After each
interrupted run the parameters and the optimizer's per-parameter state must equal, bit for bit, one entry
of a replay: the states after each step of the same training run without interruption (the initial state
included), or the state that the uninterrupted fit returns.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.training import fused_step
from minigrad.training import trainer as trainer_module
from minigrad.training.callbacks import load_all_or_none

PACKAGE_DIR = os.path.dirname(mg.__file__)

# The trace function takes the place of any other (a coverage tracer or a debugger would lose what it
# records): under one, the line-by-line tests skip; the plain test run (CI's first gate) runs them.
needs_settrace = pytest.mark.skipif(
    sys.gettrace() is not None, reason="interrupts at every line need sys.settrace, which another tracer holds"
)

Snapshot = tuple[Any, ...]
Setup = Callable[[], tuple[mg.Module, mg.Optimizer]]


class InterruptAtLine:
    """A trace function that counts the line events of minigrad's frames and raises KeyboardInterrupt at one.

    CPython turns tracing off once a trace function raises, so exactly one interrupt is raised: what
    fit does to recover from it runs untraced, as after a real Ctrl-C.
    """

    def __init__(self, at: int | None) -> None:
        self.at = at
        self.count = 0

    def trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename.startswith(PACKAGE_DIR):
            return self.trace_lines
        return None

    def trace_lines(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            self.count += 1
            if self.count == self.at:
                raise KeyboardInterrupt
        return self.trace_lines


def snapshot(model: mg.Module, opt: mg.Optimizer) -> Snapshot:
    """Every parameter, every entry of the optimizer's per-parameter state and every module's mode, hashable."""
    params = tuple((p.data.dtype.str, p.data.shape, p.data.tobytes()) for p in model.parameters())
    state = tuple(
        tuple(sorted((k, v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in s.items())) for s in opt.state
    )
    buffers = tuple(np.asarray(b).tobytes() for _, b in model.named_buffers())
    return params, state, tuple(m.training for m in model.modules()), buffers


def check_every_interrupt(setup: Setup, run: Callable[[mg.Module, mg.Optimizer], Any], allowed: set[Snapshot]) -> int:
    """Interrupt ``run`` at each of its line events in turn; every outcome must be in *allowed*.

    Returns the number of line events (so a test can check that it covered a real run).
    """
    model, opt = setup()
    counter = InterruptAtLine(None)
    outer = sys.gettrace()  # a coverage tracer, say: put back after each run
    sys.settrace(counter.trace)
    try:
        run(model, opt)
    finally:
        sys.settrace(outer)
    total = counter.count
    assert snapshot(model, opt) in allowed, "the uninterrupted run is not in the replay"
    for k in range(1, total + 1):
        model, opt = setup()
        interrupter = InterruptAtLine(k)
        sys.settrace(interrupter.trace)
        try:
            run(model, opt)
        except KeyboardInterrupt:
            pass
        else:  # pragma: no cover - only on a failure
            pytest.fail(f"no interrupt at line event {k} of {total}")
        finally:
            sys.settrace(outer)
        if snapshot(model, opt) not in allowed:
            pytest.fail(f"interrupt at line event {k} of {total} left a state that no completed step had")
    return total


def manual_replay(
    setup: Setup, X: Any, y: Any, loss: mg.Loss, epochs: int, batch_size: int | None = None, rng: int | None = None
) -> set[Snapshot]:
    """The states after each step of the manual loop (fit's documented arithmetic), the initial one first."""
    model, opt = setup()
    states = {snapshot(model, opt)}
    n = X.shape[0]
    gen = np.random.default_rng(rng) if batch_size is not None else None
    for _ in range(epochs):
        if gen is None or batch_size is None:
            batches = [np.arange(n)]
        else:
            order = gen.permutation(n)
            batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        for idx in batches:
            loss(model(X[idx]), y[idx])
            opt.zero_grad()
            model.backward(loss.backward())
            opt.step()
            states.add(snapshot(model, opt))
    return states


def data(n: int = 4, features: int = 2, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    return X, (X @ np.arange(1.0, features + 1.0) + 0.5).reshape(-1, 1)


def linear_with(make_opt: Callable[[mg.Module], mg.Optimizer]) -> Setup:
    def setup() -> tuple[mg.Module, mg.Optimizer]:
        model = mg.Linear(2, 1, rng=0)
        return model, make_opt(model)

    return setup


def mlp_with_adam(lr: float = 0.05) -> tuple[mg.Module, mg.Optimizer]:
    model = mg.Sequential(mg.Linear(2, 3, rng=1), mg.Tanh(), mg.Linear(3, 1, rng=2))
    return model, mg.Adam(model.parameters(), lr=lr)


OPTIMIZERS: dict[str, Callable[[mg.Module], mg.Optimizer]] = {
    "sgd": lambda m: mg.SGD(m.parameters(), lr=0.05),
    "momentum": lambda m: mg.SGD(m.parameters(), lr=0.05, momentum=0.9),
    "adam": lambda m: mg.Adam(m.parameters(), lr=0.05),
}


@needs_settrace
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fused_full_batch_loop(name: str) -> None:
    """The fused single-Linear loop (Trainer._fused_epochs), which checks each update by the next loss."""
    X, y = data()
    setup = linear_with(OPTIMIZERS[name])
    allowed = manual_replay(setup, X, y, mg.MSELoss(), epochs=4)
    assert len(allowed) == 5  # every step changes the state: an interrupt could not hide among equal states

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=4)

    assert check_every_interrupt(setup, run, allowed) > 200


@needs_settrace
def test_general_path_with_an_mlp() -> None:
    X, y = data()
    allowed = manual_replay(mlp_with_adam, X, y, mg.MSELoss(), epochs=3)

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3)

    assert check_every_interrupt(mlp_with_adam, run, allowed) > 200


@needs_settrace
@pytest.mark.parametrize("which", ["fused", "mlp"])
def test_shuffled_mini_batches(which: str) -> None:
    X, y = data(n=3)
    setup = linear_with(OPTIMIZERS["momentum"]) if which == "fused" else mlp_with_adam
    allowed = manual_replay(setup, X, y, mg.MSELoss(), epochs=2, batch_size=2, rng=7)
    assert len(allowed) == 5

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2, batch_size=2, rng=7)

    check_every_interrupt(setup, run, allowed)


@needs_settrace
def test_validation_and_early_stopping_restoring_the_best_weights() -> None:
    """The validation targets are zero: the validation loss falls, then rises as the model learns y, and
    EarlyStopping stops and puts back the best epoch's parameters and optimizer state together: the
    uninterrupted fit returns the replay's state after epoch 1, and an interrupt anywhere (in the restore
    too) leaves one completed step's parameters with that same step's optimizer state."""
    X, y = data()
    Xv, yv = X, np.zeros_like(y)

    def setup() -> tuple[mg.Module, mg.Optimizer]:
        model, opt = mlp_with_adam(lr=0.2)
        return model.eval(), opt  # fit trains in training mode and must put evaluation mode back

    epochs = 4

    def run(model: mg.Module, opt: mg.Optimizer) -> mg.History:
        stop = mg.EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
        return mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=opt,
            epochs=epochs,
            validation_data=(Xv, yv),
            metrics=["r2"],
            callbacks=[stop],
        )

    model, opt = setup()
    history = run(model, opt)
    assert history.stop_reason == "callback" and history.epochs == 2  # it stopped at 2 and restored epoch 1
    allowed = manual_replay(setup, X, y, mg.MSELoss(), epochs=epochs)
    assert snapshot(model, opt) == snapshot(*after_manual_steps(setup, X, y, 1))
    check_every_interrupt(setup, run, allowed)


def after_manual_steps(setup: Setup, X: Any, y: Any, steps: int) -> tuple[mg.Module, mg.Optimizer]:
    """The model and optimizer after *steps* full-batch steps of the manual loop."""
    model, opt = setup()
    loss = mg.MSELoss()
    for _ in range(steps):
        loss(model(X), y)
        opt.zero_grad()
        model.backward(loss.backward())
        opt.step()
    return model, opt


@needs_settrace
def test_early_stopping_restore_is_all_or_nothing() -> None:
    """An interrupt while EarlyStopping loads the best weights leaves every layer from the last epoch or
    every layer from the best one, never a mix."""
    model = mg.Sequential(mg.Linear(2, 3, rng=1), mg.Tanh(), mg.Linear(3, 1, rng=2))
    stop = mg.EarlyStopping(monitor="loss", patience=1)
    stop.on_train_begin(model)
    stop.on_epoch_end(1, {"loss": 1.0})
    best = model.state_dict()
    for p in model.parameters():
        p.data += 1.0
    last = model.state_dict()

    def run(_model: mg.Module, _opt: mg.Optimizer) -> None:
        stop.on_epoch_end(2, {"loss": 2.0})  # no improvement: stop and restore epoch 1

    def as_snapshot(state: dict[str, Any]) -> Snapshot:
        return tuple(v.tobytes() for v in state.values()), (), (), ()

    count = InterruptAtLine(None)
    sys.settrace(count.trace)
    try:
        run(model, mg.SGD(model.parameters(), lr=0.1))
    finally:
        sys.settrace(None)
    assert model.state_dict().keys() == best.keys()
    for k in range(1, count.count + 1):
        model.load_state_dict(last)
        stop.wait = 0
        interrupter = InterruptAtLine(k)
        sys.settrace(interrupter.trace)
        try:
            run(model, mg.SGD(model.parameters(), lr=0.1))
        except KeyboardInterrupt:
            pass
        finally:
            sys.settrace(None)
        got = as_snapshot(model.state_dict())
        assert got in (as_snapshot(best), as_snapshot(last)), f"a mix of epochs after an interrupt at line {k}"


@needs_settrace
def test_streamed_fused_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streamed fused step (threads for X of 2 * STREAM_MIN_BYTES and more), made to run on tiny data;
    only the main thread is traced.  Its sums are blockwise, so the replay is fit's own run, recorded."""
    monkeypatch.setattr(fused_step, "STREAM_MIN_BYTES", 32)
    monkeypatch.setattr(fused_step, "STREAM_BLOCK_ELEMENTS", 4)
    X, y = data(n=12)
    setup = linear_with(OPTIMIZERS["adam"])
    model, opt = setup()
    states = {snapshot(model, opt)}

    def record(epoch: int, logs: dict[str, Any]) -> None:
        states.add(snapshot(model, opt))

    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3, callbacks=[record])
    assert len(states) == 4

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=3)

    check_every_interrupt(setup, run, states)


def finite_replay(setup: Setup, X: Any, y: Any, epochs: int, batch_size: int | None = None) -> set[Snapshot]:
    """:func:`manual_replay` of a run that overflows, keeping the states whose numbers are all finite."""
    model, opt = setup()
    states = {snapshot(model, opt)}
    loss = mg.MSELoss()
    n = X.shape[0]
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            for start in range(0, n, batch_size or n):
                xb, yb = X[start : start + (batch_size or n)], y[start : start + (batch_size or n)]
                loss(model(xb), yb)
                opt.zero_grad()
                model.backward(loss.backward())
                opt.step()
                arrays = [p.data for p in model.parameters()] + [b for _, b in model.named_buffers()]
                arrays += [v for s in opt.state for v in s.values() if isinstance(v, np.ndarray)]
                if all(np.isfinite(a).all() for a in arrays):
                    states.add(snapshot(model, opt))
    return states


def mlp_with_batch_norm(lr: float = 0.05) -> tuple[mg.Module, mg.Optimizer]:
    model = mg.Sequential(mg.Linear(2, 3, rng=1), mg.BatchNorm1d(3), mg.Tanh(), mg.Linear(3, 1, rng=2))
    return model, mg.SGD(model.parameters(), lr=lr, momentum=0.9)


@needs_settrace
@pytest.mark.parametrize("batch_size", [None, 2])
def test_batch_norm_statistics_go_with_their_step(batch_size: int | None) -> None:
    """BatchNorm1d's running statistics, which each training-mode forward pass moves, are always those of
    the same completed step as the parameters and the optimizer's state."""
    X, y = data(n=4)
    allowed = manual_replay(mlp_with_batch_norm, X, y, mg.MSELoss(), epochs=2, batch_size=batch_size, rng=7)
    assert len(allowed) == (3 if batch_size is None else 5)

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2, batch_size=batch_size, rng=7)

    check_every_interrupt(mlp_with_batch_norm, run, allowed)


DIVERGING: dict[str, tuple[Setup, dict[str, Any]]] = {
    "fused-loop": (linear_with(lambda m: mg.SGD(m.parameters(), lr=1e100, momentum=0.5)), {}),
    "general": (lambda: mlp_with_adam(lr=1e200), {}),
    "batch-norm": (lambda: mlp_with_batch_norm(lr=1e200), {}),
    "mini-batch": (linear_with(lambda m: mg.SGD(m.parameters(), lr=1e100, momentum=0.5)), {"batch_size": 2}),
    "validation": (linear_with(lambda m: mg.SGD(m.parameters(), lr=1e100)), {"validation": True}),
}


@needs_settrace
@pytest.mark.parametrize("name", sorted(DIVERGING))
def test_interrupts_while_divergence_restores_the_last_finite_step(name: str) -> None:
    """Runs that overflow and restore the last finite step: an interrupt during the restore is finished too."""
    setup, options = DIVERGING[name]
    X, y = data()
    batch_size = options.get("batch_size")
    allowed = finite_replay(setup, X, y, epochs=5, batch_size=batch_size)
    extra = {"validation_data": (X * 1e100, y)} if options.get("validation") else {}

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        with pytest.raises(mg.DivergenceError):
            mg.fit(
                model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=5, batch_size=batch_size, shuffle=False, **extra
            )

    check_every_interrupt(setup, run, allowed)


@needs_settrace
def test_interrupts_around_the_growth_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loss that grows without overflowing, stopped by the growth rule (made to fire sooner here)."""
    monkeypatch.setattr(trainer_module, "LOSS_GROWTH_FACTOR", 10.0)
    monkeypatch.setattr(trainer_module, "LOSS_GROWTH_EPOCHS", 2)
    X, y = data()
    setup = linear_with(lambda m: mg.SGD(m.parameters(), lr=1.5))
    allowed = manual_replay(setup, X, y, mg.MSELoss(), epochs=8)

    def run(model: mg.Module, opt: mg.Optimizer) -> None:
        with pytest.raises(mg.DivergenceError, match="grew"):
            mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=8)

    check_every_interrupt(setup, run, allowed)


def test_early_stopping_restore_undoes_a_load_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a tracer: a KeyboardInterrupt after the first parameter was loaded puts that one back."""
    model = mg.Sequential(mg.Linear(2, 3, rng=1), mg.Tanh(), mg.Linear(3, 1, rng=2))
    last = model.state_dict()
    best = {name: value + 1.0 for name, value in last.items()}
    copies = []
    copy_into = mg.nn.module._array.copy_into

    def interrupted_copy(dst: Any, src: Any) -> None:
        copies.append(1)
        if len(copies) == 2:
            raise KeyboardInterrupt
        copy_into(dst, src)

    monkeypatch.setattr(mg.nn.module._array, "copy_into", interrupted_copy)
    with pytest.raises(KeyboardInterrupt):
        load_all_or_none(model, best)
    monkeypatch.undo()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, last[name])
