"""ModelCheckpoint, and EarlyStopping putting back the best epoch's optimizer state with its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg


def data() -> tuple[Any, Any, Any, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -1.0, 2.0]) + 0.2 * rng.normal(size=40)
    return X[:30], y[:30], X[30:], 0.3 * y[30:]  # validation targets shrunk: val_loss falls, then rises


def mlp() -> mg.Sequential:
    return mg.Sequential(mg.Linear(3, 8, rng=1), mg.Tanh(), mg.Linear(8, 1, rng=2))


def snapshot(model: mg.Module, opt: mg.Optimizer) -> Any:
    params = [p.data.tobytes() for p in model.parameters()]
    state = [sorted((k, v.tobytes() if isinstance(v, np.ndarray) else v) for k, v in s.items()) for s in opt.state]
    return params, state


def manual(steps: int, make_opt: Any) -> tuple[mg.Module, mg.Optimizer]:
    X, y, _, _ = data()
    model = mlp()
    opt = make_opt(model)
    loss = mg.MSELoss()
    for _ in range(steps):
        loss(model(X), y.reshape(-1, 1))
        opt.zero_grad()
        model.backward(loss.backward())
        opt.step()
    return model, opt


OPTIMIZERS = {
    "momentum": lambda m: mg.SGD(m.parameters(), lr=0.05, momentum=0.9),
    "adam": lambda m: mg.Adam(m.parameters(), lr=0.05),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_early_stopping_restores_the_optimizer_state_of_the_best_epoch(name: str) -> None:
    X, y, Xv, yv = data()
    model = mlp()
    opt = OPTIMIZERS[name](model)
    stop = mg.EarlyStopping(patience=3)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=200, validation_data=(Xv, yv), callbacks=[stop])
    assert h.stop_reason == "callback" and stop.best_epoch == h.best_epoch and h.epochs == stop.best_epoch + 3
    assert snapshot(model, opt) == snapshot(*manual(stop.best_epoch, OPTIMIZERS[name]))
    # Resumed training continues exactly from the best epoch, momentum and moments included.
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2)
    assert snapshot(model, opt) == snapshot(*manual(stop.best_epoch + 2, OPTIMIZERS[name]))


def test_early_stopping_without_an_optimizer_restores_the_parameters_only() -> None:
    model = mg.Linear(1, 1, rng=0)
    stop = mg.EarlyStopping(monitor="loss", patience=1)
    stop.on_train_begin(model)
    stop.on_epoch_end(1, {"loss": 1.0})
    best = model.state_dict()
    model.weight.data += 1.0
    assert stop.on_epoch_end(2, {"loss": 2.0}) is True
    assert model.state_dict()["weight"] == best["weight"] and stop.optimizer is None


def test_checkpoint_saves_the_best_epoch_with_its_optimizer(tmp_path: Path) -> None:
    X, y, Xv, yv = data()
    path = tmp_path / "best.npz"
    model = mlp()
    opt = OPTIMIZERS["adam"](model)
    checkpoint = mg.ModelCheckpoint(path)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=30, validation_data=(Xv, yv),
               callbacks=[checkpoint])  # fmt: skip
    best = h.best_epoch
    assert best is not None and 1 < best < 30 and checkpoint.best_epoch == best
    assert checkpoint.best == min(h.val_loss)
    improving = [e for e in range(1, 31) if h.val_loss[e - 1] < min(h.val_loss[: e - 1], default=np.inf)]
    assert checkpoint.saved_epochs == improving
    copy = mlp()
    copy_opt = OPTIMIZERS["adam"](copy)
    mg.load(copy, path, optimizer=copy_opt)
    assert snapshot(copy, copy_opt) == snapshot(*manual(best, OPTIMIZERS["adam"]))


def test_checkpoint_every_epoch_without_the_optimizer(tmp_path: Path) -> None:
    X, y, _, _ = data()
    path = tmp_path / "last.npz"
    model = mlp()
    checkpoint = mg.ModelCheckpoint(path, monitor="r2", save_best_only=False, save_optimizer=False)
    assert checkpoint.mode == "max"
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.01), epochs=3, metrics=["r2"],
           callbacks=[checkpoint])  # fmt: skip
    assert checkpoint.saved_epochs == [1, 2, 3]
    with np.load(path, allow_pickle=False) as archive:
        assert not any(name.startswith("optim:") for name in archive.files)
    copy = mlp()
    mg.load(copy, path)
    assert [p.data.tobytes() for p in copy.parameters()] == [p.data.tobytes() for p in model.parameters()]
    assert "save_best_only=False" in repr(checkpoint)


def test_checkpoint_nan_never_improves() -> None:
    checkpoint = mg.ModelCheckpoint("unused.npz", monitor="loss")
    assert checkpoint.on_epoch_end(1, {"loss": float("nan")}) is False and checkpoint.best_epoch == 0
    checkpoint.on_epoch_end(2, {"loss": 2.0})
    checkpoint.on_epoch_end(3, {"loss": 3.0})
    assert checkpoint.best_epoch == 2 and checkpoint.saved_epochs == []  # no model: nothing to save outside fit
    with pytest.raises(KeyError, match="monitors 'val_loss'"):
        mg.ModelCheckpoint("unused.npz").on_epoch_end(1, {"loss": 1.0})


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: mg.ModelCheckpoint(p), ValueError, r"monitors 'val_loss'.*pass validation_data"),
        (lambda p: mg.ModelCheckpoint(p, monitor="accuracy"), ValueError, r"metrics=\['accuracy'\]"),
        (lambda p: mg.ModelCheckpoint(p / "missing" / "m.npz", monitor="loss"), FileNotFoundError, "does not exist"),
        (lambda p: mg.ModelCheckpoint(p, monitor="loss"), IsADirectoryError, "is a directory"),
    ],
)
def test_checkpoint_problems_are_raised_before_training(make: Any, error: type, message: str, tmp_path: Path) -> None:
    X, y, _, _ = data()
    model = mlp()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(error, match=message):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2,
               callbacks=[make(tmp_path)])  # fmt: skip
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_checkpoint_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="path must be"):
        mg.ModelCheckpoint(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="monitor must be"):
        mg.ModelCheckpoint("m.npz", monitor=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode must be"):
        mg.ModelCheckpoint("m.npz", mode="best")  # type: ignore[arg-type]
    assert mg.ModelCheckpoint("m.npz", monitor="val_accuracy", mode="min").mode == "min"


def test_an_interrupted_restore_puts_back_the_parameters_and_the_optimizer_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a tracer: a Ctrl-C as the optimizer's state is being installed undoes the parameters too."""
    from minigrad.training.callbacks import load_all_or_none

    model, opt = manual(2, OPTIMIZERS["momentum"])
    last = snapshot(model, opt)
    best_params = {name: value + 1.0 for name, value in model.state_dict().items()}
    best_state = [{k: v * 2.0 for k, v in s.items()} for s in opt.state]

    def interrupted(state: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(opt, "set_state", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_all_or_none(model, best_params, opt, best_state)
    assert snapshot(model, opt) == last
    monkeypatch.undo()
    load_all_or_none(model, best_params, opt, best_state)
    assert opt.state[0]["momentum_buffer"] is not best_state[0]["momentum_buffer"]  # a copy was installed
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], best_state[0]["momentum_buffer"])
