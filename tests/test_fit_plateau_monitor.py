"""fit's ``monitor``: the log a ReduceLROnPlateau is stepped with, its mode checked against it before training."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg

EPOCHS = 30


def classes(n: int, seed: int) -> tuple[Any, Any]:
    """Two noisy classes a line separates: the accuracy climbs, then wanders on a plateau."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X @ np.array([1.0, 0.5]) + 0.6 * rng.normal(size=n) > 0).astype(float)


def regression(n: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.tanh(X @ np.array([1.0, -1.0, 0.5])) + 0.3 * rng.normal(size=n)


def train(task: str, monitor: str | None, mode: str, validation: bool = True) -> tuple[mg.History, float]:
    """fit with a ReduceLROnPlateau(mode, factor=0.5, patience=1); returns the History and the final lr."""
    if task == "classes":
        (X, y), val, loss, metrics = classes(80, 0), classes(40, 1), mg.BCEWithLogitsLoss(), ["accuracy"]
    else:
        (X, y), val, loss, metrics = regression(80, 0), regression(40, 1), mg.MSELoss(), ["r2"]
    model = mg.Sequential(mg.Linear(X.shape[1], 8, rng=0), mg.Tanh(), mg.Linear(8, 1, rng=1))
    opt = mg.SGD(model.parameters(), lr=0.4, momentum=0.9)
    scheduler = mg.optim.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1)
    h = mg.fit(model, X, y, loss=loss, optimizer=opt, epochs=EPOCHS, batch_size=16, rng=0, metrics=metrics,
               validation_data=val if validation else None, scheduler=scheduler, monitor=monitor)  # fmt: skip
    return h, opt.lr


def replay(values: list[float], mode: str) -> list[float]:
    """The learning rate of each epoch of a ReduceLROnPlateau stepped with *values*, one per epoch."""
    scheduler = mg.optim.ReduceLROnPlateau(mg.SGD([mg.Parameter(np.zeros(1))], lr=0.4), mode=mode, factor=0.5,
                                           patience=1)  # fmt: skip
    lrs = []
    for value in values:
        lrs.append(scheduler.optimizer.lr)
        scheduler.step(value)
    return lrs


CASES = [
    ("classes", "val_accuracy", "max"),
    ("classes", "accuracy", "max"),
    ("classes", "val_loss", "min"),
    ("classes", "loss", "min"),
    ("regression", "val_r2", "max"),
    ("regression", "r2", "max"),
]


@pytest.mark.parametrize(("task", "monitor", "mode"), CASES)
def test_the_scheduler_is_stepped_with_the_monitored_log_and_no_other(task: str, monitor: str, mode: str) -> None:
    h, _ = train(task, monitor, mode)
    logs = h.history
    assert logs[monitor] == (h.loss if monitor == "loss" else h.val_loss if monitor == "val_loss" else
                             h.metrics[monitor])  # fmt: skip
    assert h.lr == replay(logs[monitor], mode)
    assert min(h.lr) < 0.4  # it did cut the learning rate
    # stepped with any other log (of either direction), the rates would differ: the test tells them apart.
    # (Not the loss on the same rows as R²: for MSELoss r2 = 1 - loss / var(y), the same steps mirrored.)
    mirror = {"val_r2": "val_loss", "r2": "loss"} if task == "regression" else {}
    mirror.update({v: k for k, v in mirror.items()})
    for other, values in logs.items():
        if other not in (monitor, "lr", mirror.get(monitor)):
            for other_mode in ("min", "max"):
                assert replay(values, other_mode) != h.lr, (other, other_mode)


@pytest.mark.parametrize(("validation", "expected"), [(True, "val_loss"), (False, "loss")])
def test_without_monitor_the_validation_loss_else_the_training_loss(validation: bool, expected: str) -> None:
    h, _ = train("classes", None, "min", validation=validation)
    assert h.lr == replay(h.history[expected], "min") and min(h.lr) < 0.4


def test_a_metric_function_log_takes_either_mode() -> None:
    """A metric function's name says nothing of its direction: the scheduler's mode is the author's."""
    X, y = regression(60, 0)

    def neg_mae(pred: Any, target: Any) -> float:
        return -float(np.mean(np.abs(pred - target)))

    for mode in ("max", "min"):
        model = mg.Sequential(mg.Linear(3, 8, rng=0), mg.Tanh(), mg.Linear(8, 1, rng=1))
        opt = mg.SGD(model.parameters(), lr=0.4, momentum=0.9)
        h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=EPOCHS, metrics=[neg_mae], monitor="neg_mae",
                   scheduler=mg.optim.ReduceLROnPlateau(opt, mode=mode, factor=0.5, patience=1))  # fmt: skip
        assert h.lr == replay(h.metrics["neg_mae"], mode)


REFUSED = [
    # (scheduler mode, monitor, fit arguments, message)
    (
        "max",
        None,
        {},
        r"expects 'loss' \(fit's default monitor\) to rise, but 'loss' is a loss .* mode='min', or "
        r"monitor a number that should rise, e\.g\. monitor='val_accuracy'",
    ),
    ("max", None, {"val": True}, r"expects 'val_loss' \(fit's default monitor\) to rise"),
    ("max", "val_loss", {"val": True}, r"expects monitor='val_loss' to rise, but 'val_loss' is a loss"),
    ("max", "loss", {"metrics": ["accuracy"]}, "make it with mode='min'"),
    (
        "min",
        "val_accuracy",
        {"val": True, "metrics": ["accuracy"]},
        r"mode='min'\) expects monitor='val_accuracy' to fall, but 'val_accuracy' is higher-is-better .*mode='max'",
    ),
    ("min", "accuracy", {"metrics": ["accuracy"]}, "make it with mode='max'"),
    ("max", "val_accuracy", {"metrics": ["accuracy"]}, r"monitors 'val_accuracy'.*pass validation_data to fit"),
    ("max", "val_accuracy", {"val": True}, r"monitors 'val_accuracy'.*pass metrics=\['accuracy'\] to fit"),
    ("max", "r2", {"metrics": ["accuracy"]}, r"pass metrics=\['r2'\] to fit"),
    ("min", "lr", {}, r"ReduceLROnPlateau monitors 'lr', but fit can step it only with \['loss'\]"),
    ("min", "time", {"val": True}, r"fit can step it only with \['loss', 'val_loss'\]"),
    ("min", "val_los", {"val": True}, "monitors 'val_los'"),
]


@pytest.mark.parametrize(("mode", "monitor", "args", "message"), REFUSED)
def test_a_monitor_the_logs_will_not_hold_or_a_contradicting_mode_is_refused_before_training(
    mode: str, monitor: str | None, args: dict[str, Any], message: str
) -> None:
    X, y = classes(40, 0)
    model = mg.Sequential(mg.Linear(2, 4, rng=0), mg.Tanh(), mg.Linear(4, 1, rng=1))
    before = model.state_dict()
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = mg.optim.ReduceLROnPlateau(opt, mode=mode)
    with pytest.raises(ValueError, match=message):
        mg.fit(model, X, y, loss=mg.BCEWithLogitsLoss(), optimizer=opt, epochs=3, scheduler=scheduler,
               monitor=monitor, metrics=args.get("metrics", ()),
               validation_data=classes(10, 1) if args.get("val") else None)  # fmt: skip
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert opt.state == [{} for _ in opt.params] or not any(opt.state)
    assert opt.lr == 0.1 and scheduler.last_epoch == 0


def test_monitor_needs_a_reduce_lr_on_plateau_and_a_str() -> None:
    X, y = classes(20, 0)
    model = mg.Linear(2, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1)
    fit: dict[str, Any] = {"loss": mg.BCEWithLogitsLoss(), "optimizer": opt, "epochs": 2}
    with pytest.raises(ValueError, match=r"but fit got no scheduler: pass scheduler=mg\.optim\.ReduceLROnPlateau"):
        mg.fit(model, X, y, monitor="loss", **fit)
    with pytest.raises(ValueError, match="fit got a StepLR, stepped without a number"):
        mg.fit(model, X, y, monitor="loss", scheduler=mg.optim.StepLR(opt, step_size=1), **fit)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="monitor must be a key of fit's logs"):
        mg.fit(model, X, y, monitor=1, scheduler=mg.optim.ReduceLROnPlateau(opt), **fit)  # type: ignore[arg-type]
    assert model.weight.data.tolist() == mg.Linear(2, 1, rng=0).weight.data.tolist()
