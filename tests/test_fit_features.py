"""fit's training features: validation data, metrics, schedulers, early stopping, logs, predict, History.to_dict."""

from __future__ import annotations

import io
import json
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import minigrad as mg
from minigrad.optim import Adam, ExponentialLR, StepLR
from minigrad.training.callbacks import EarlyStopping
from minigrad.training.metrics import accuracy, r2_score

Array = NDArray[np.float64]


def regression(n: int = 120, fin: int = 3, seed: int = 0) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, fin))
    y = X @ rng.normal(size=(fin, 1)) + 0.3 + 0.1 * rng.normal(size=(n, 1))
    return X, y


def blobs(n: int = 150, seed: int = 0) -> tuple[Array, NDArray[np.int64]]:
    """Three well-separated Gaussian blobs in 2-D with integer labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n)
    centres = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    return centres[labels] + 0.5 * rng.normal(size=(n, 2)), labels


def mlp(fin: int, fout: int, seed: int = 0) -> mg.Sequential:
    return mg.Sequential(mg.Linear(fin, 8, rng=seed), mg.Tanh(), mg.Linear(8, fout, rng=seed + 1))


def fit_linear(**kwargs: Any) -> tuple[mg.Linear, mg.History]:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    options: dict[str, Any] = {"loss": mg.MSELoss(), "optimizer": mg.SGD(model.parameters(), lr=0.05), "epochs": 5}
    options.update(kwargs)
    return model, mg.fit(model, X[:100], y[:100], **options)


# -- validation data ---------------------------------------------------------------------------


def test_val_loss_is_the_loss_after_each_epoch_without_touching_gradients() -> None:
    X, y = regression()
    Xv, yv = X[100:], y[100:]
    model = mg.Linear(3, 1, rng=0)
    seen: list[float] = []

    def after_epoch(epoch: int, logs: dict[str, Any]) -> None:
        # The validation loss of the parameters as the epoch left them, recomputed independently.
        pred = Xv @ model.weight.data.T + model.bias.data  # type: ignore[union-attr]
        seen.append(float(np.mean((pred - yv) ** 2)))
        assert logs["val_loss"] == pytest.approx(seen[-1], rel=1e-12)

    history = mg.fit(
        model,
        X[:100],
        y[:100],
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.05),
        epochs=6,
        validation_data=(Xv, yv),
        callbacks=[after_epoch],
    )
    assert len(history.val_loss) == 6
    np.testing.assert_allclose(history.val_loss, seen, rtol=1e-12)
    # Training is the same with or without validation data: validation never changes the gradients.
    plain, _ = fit_linear(epochs=6)
    np.testing.assert_array_equal(plain.weight.data, model.weight.data)


def test_no_validation_data_leaves_val_loss_empty() -> None:
    _, history = fit_linear()
    assert history.val_loss == [] and history.metrics == {}


def test_validation_data_is_not_copied_or_modified() -> None:
    X, y = regression(n=40)
    Xv = np.random.default_rng(1).normal(size=(20_000, 3))  # 480 kB
    yv = np.zeros((20_000, 1))
    Xv.flags.writeable = False
    before = Xv.copy()
    model = mg.Linear(3, 1, rng=0)
    tracemalloc.start()
    try:
        mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.01),
            epochs=1,
            validation_data=(Xv, yv),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(Xv, before)
    # Predictions (160 kB) and the loss's difference array (160 kB) are needed; a copy of X_val is not.
    assert peak < Xv.nbytes, f"peak {peak} bytes, X_val is {Xv.nbytes}"


@pytest.mark.parametrize(
    ("Xv", "yv", "message"),
    [
        (np.array([[np.nan, 0.0, 0.0]]), np.zeros((1, 1)), "X_val contains NaN"),
        (np.zeros((1, 3)), np.array([[np.inf]]), "y_val contains NaN"),
        (np.zeros((2, 4)), np.zeros((2, 1)), "X_val has 4 features"),
        (np.zeros((2, 3)), np.zeros((2, 2)), "y_val has shape"),
        (np.zeros((2, 3)), np.zeros((3, 1)), "different numbers of samples"),
        (np.zeros(3), np.zeros(1), "Expected 2D array for X_val"),
        (np.zeros((0, 3)), np.zeros((0, 1)), "X_val is empty"),
    ],
)
def test_bad_validation_data_raises_before_any_update(Xv: Array, yv: Array, message: str) -> None:
    X, y = regression(n=10)
    model = mg.Linear(3, 1, rng=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=message):
        mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=3,
            validation_data=(Xv, yv),
        )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_validation_data_must_be_a_pair() -> None:
    X, y = regression(n=10)
    model = mg.Linear(3, 1, rng=0)
    with pytest.raises(TypeError, match="pair"):
        mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=1,
            validation_data=(X,),  # type: ignore[arg-type]
        )


def test_bad_validation_classes_raise_before_any_update() -> None:
    X, labels = blobs(30)
    model = mlp(2, 3)
    before = model.state_dict()
    bad = labels.copy()
    bad[-1] = 3  # the model has three classes: 0, 1, 2
    with pytest.raises(ValueError, match="y_val"):
        mg.fit(
            model,
            X,
            labels,
            loss=mg.CrossEntropyLoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=2,
            batch_size=4,
            validation_data=(X, bad),
        )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_bad_training_class_in_a_later_batch_raises_before_any_update() -> None:
    X, labels = blobs(30)
    labels = labels.astype(float)
    labels[-1] = 0.5
    model = mlp(2, 3)
    before = model.state_dict()
    with pytest.raises(ValueError, match="whole numbers"):
        mg.fit(
            model,
            X,
            labels,
            loss=mg.CrossEntropyLoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=2,
            batch_size=4,
            shuffle=False,
        )
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def test_validation_loss_that_overflows_raises_divergence_and_restores() -> None:
    X = np.ones((4, 1))
    y = np.ones(4)
    Xv = np.full((2, 1), 1e300)
    model = mg.Linear(1, 1, bias=False, rng=0)
    model.weight.data[...] = 0.5
    with pytest.raises(mg.DivergenceError, match="validation loss"):
        mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=3,
            validation_data=(Xv, np.ones(2)),
        )
    assert model.weight.data.item() == 0.5  # the step before the first (and only) update


# -- metrics -----------------------------------------------------------------------------------


def test_classification_metrics_recorded_per_epoch() -> None:
    X, labels = blobs(150)
    model = mlp(2, 3)
    logs_seen: list[dict[str, Any]] = []
    history = mg.fit(
        model,
        X[:100],
        labels[:100],
        loss=mg.CrossEntropyLoss(),
        optimizer=Adam(model.parameters(), lr=0.05),
        epochs=15,
        batch_size=16,
        rng=0,
        validation_data=(X[100:], labels[100:]),
        metrics=["accuracy"],
        callbacks=[lambda e, logs: logs_seen.append(dict(logs))],
    )
    assert set(history.metrics) == {"accuracy", "val_accuracy"}
    assert all(len(v) == 15 for v in history.metrics.values())
    # The last entries are the accuracy of the final model, computed independently.
    assert history.metrics["accuracy"][-1] == accuracy(model(X[:100]), labels[:100])
    assert history.metrics["val_accuracy"][-1] == accuracy(model(X[100:]), labels[100:])
    assert history.metrics["val_accuracy"][-1] >= 0.95
    assert logs_seen[-1]["val_accuracy"] == history.metrics["val_accuracy"][-1]
    assert list(logs_seen[0])[:3] == ["loss", "converged", "val_loss"]


def test_regression_r2_metric_and_custom_function() -> None:
    def max_error(pred: Array, target: Array) -> float:
        return float(np.abs(pred - target).max())

    X, y = regression()
    model, history = fit_linear(epochs=30, validation_data=(X[100:], y[100:]), metrics=("r2", max_error))
    assert set(history.metrics) == {"r2", "val_r2", "max_error", "val_max_error"}
    assert history.metrics["val_r2"][-1] == pytest.approx(r2_score(model(X[100:]), y[100:]), rel=1e-12)
    assert history.metrics["max_error"][-1] == pytest.approx(max_error(model(X[:100]), y[:100]), rel=1e-12)
    assert history.metrics["r2"][-1] > history.metrics["r2"][0]


def test_single_output_accuracy_threshold_follows_the_loss() -> None:
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    model = mg.Linear(1, 1, rng=0)
    model.weight.data[...] = 1.0
    model.bias.data[...] = 0.0  # type: ignore[union-attr]
    # Logits x: thresholding at 0 is exact (1.0); at 0.5 the logit 1.0 still passes, so shift to tell them apart.
    model.bias.data[...] = -0.75  # type: ignore[union-attr]  # logits -2.75, -1.75, 0.25, 1.25
    h = mg.fit(
        model,
        X,
        y,
        loss=mg.BCEWithLogitsLoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.0),
        epochs=1,
        metrics=["accuracy"],
    )
    assert h.metrics["accuracy"] == [1.0]  # threshold 0: 0.25 > 0 is class 1
    h = mg.fit(
        model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.0), epochs=1, metrics=["accuracy"]
    )
    assert h.metrics["accuracy"] == [0.75]  # threshold 0.5: 0.25 is class 0


@pytest.mark.parametrize("metrics", [["f1"], ["r2", "r2"], [42]])
def test_bad_metrics_raise(metrics: list[Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        fit_linear(metrics=metrics)


def test_r2_with_class_targets_raises_before_training() -> None:
    X, labels = blobs(20)
    model = mlp(2, 3)
    with pytest.raises(ValueError, match="r2"):
        mg.fit(
            model,
            X,
            labels,
            loss=mg.CrossEntropyLoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=1,
            metrics=["r2"],
        )


# -- schedulers --------------------------------------------------------------------------------


def test_scheduler_steps_once_after_each_epoch() -> None:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1)
    lrs: list[float] = []
    mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=opt,
        epochs=8,
        batch_size=32,
        rng=0,
        scheduler=StepLR(opt, step_size=2, gamma=0.5),
        callbacks=[lambda e, logs: lrs.append(logs["lr"])],
    )
    assert lrs == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]
    assert opt.lr == 0.00625  # stepped after the last epoch too


def test_exponential_scheduler_matches_manual_decay() -> None:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1)
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=4, scheduler=ExponentialLR(opt, gamma=0.9))
    manual = mg.Linear(3, 1, rng=0)
    lr = 0.1
    for _ in range(4):
        mg.fit(manual, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(manual.parameters(), lr=lr), epochs=1)
        lr *= 0.9
    np.testing.assert_array_equal(model.weight.data, manual.weight.data)


def test_scheduler_without_step_is_rejected() -> None:
    with pytest.raises(TypeError, match="step"):
        fit_linear(scheduler=object())


def test_scheduler_of_another_optimizer_is_rejected() -> None:
    other = mg.SGD(mg.Linear(3, 1, rng=0).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different optimizer"):
        fit_linear(scheduler=StepLR(other, step_size=1))


# -- early stopping ----------------------------------------------------------------------------


def test_early_stopping_stops_and_restores_the_best_parameters() -> None:
    # Too large a learning rate for mini-batches: the validation loss soon stops improving.
    X, y = regression(n=200)
    model = mg.Linear(3, 1, rng=0)
    snapshots: list[dict[str, Array]] = []
    stopper = EarlyStopping(patience=3)
    history = mg.fit(
        model,
        X[:150],
        y[:150],
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.4),
        epochs=200,
        batch_size=5,
        rng=0,
        validation_data=(X[150:], y[150:]),
        callbacks=[lambda e, logs: snapshots.append(model.state_dict()), stopper],
    )
    assert history.stop_reason == "callback"
    assert history.epochs < 200 and stopper.stopped_epoch == history.epochs
    best = int(np.argmin(history.val_loss)) + 1
    assert stopper.best_epoch == best and stopper.best == min(history.val_loss)
    assert history.epochs - best == 3  # patience epochs without improvement
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, snapshots[best - 1][name])


def test_early_stopping_without_restore_keeps_the_last_parameters() -> None:
    X, y = regression(n=200)
    model = mg.Linear(3, 1, rng=0)
    last: list[dict[str, Array]] = []
    stopper = EarlyStopping(patience=2, restore_best_weights=False)
    mg.fit(
        model,
        X[:150],
        y[:150],
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.4),
        epochs=200,
        batch_size=5,
        rng=0,
        validation_data=(X[150:], y[150:]),
        callbacks=[lambda e, logs: last.append(model.state_dict()), stopper],
    )
    assert stopper.stopped_epoch > 0
    np.testing.assert_array_equal(model.weight.data, last[-1]["weight"])


def test_early_stopping_min_delta_and_max_mode() -> None:
    stop = EarlyStopping(monitor="loss", patience=1, min_delta=0.1)
    assert stop.on_epoch_end(1, {"loss": 1.0}) is False
    assert stop.on_epoch_end(2, {"loss": 0.95}) is True  # improved by less than min_delta
    up = EarlyStopping(monitor="val_accuracy", patience=2)
    assert up.mode == "max"
    assert [up.on_epoch_end(e, {"val_accuracy": v}) for e, v in enumerate([0.5, 0.6, 0.6, 0.55], 1)] == [
        False,
        False,
        False,
        True,
    ]
    assert up.best == 0.6 and up.best_epoch == 2


def test_early_stopping_ignores_nan_and_needs_its_key() -> None:
    stop = EarlyStopping(patience=1)
    assert stop.on_epoch_end(1, {"val_loss": 1.0}) is False
    assert stop.on_epoch_end(2, {"val_loss": math.nan}) is True
    with pytest.raises(KeyError, match="val_loss"):  # used by hand without the key
        stop.on_epoch_end(3, {"loss": 1.0})


@pytest.mark.parametrize(
    "kwargs", [{"patience": -1}, {"patience": 1.5}, {"min_delta": -0.1}, {"min_delta": math.inf}, {"mode": "up"}]
)
def test_early_stopping_rejects_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        EarlyStopping(**kwargs)


# -- logs, determinism, verbose ----------------------------------------------------------------


def test_logs_carry_lr_and_increasing_time() -> None:
    logs_seen: list[dict[str, Any]] = []
    fit_linear(epochs=4, callbacks=[lambda e, logs: logs_seen.append(dict(logs))])
    times = [logs["time"] for logs in logs_seen]
    assert all(t >= 0 for t in times) and times == sorted(times)
    assert all(logs["lr"] == 0.05 for logs in logs_seen)


def test_same_seed_same_history_bit_for_bit_with_all_features() -> None:
    def run() -> tuple[dict[str, Any], dict[str, Array]]:
        X, labels = blobs(120)
        model = mlp(2, 3)
        opt = Adam(model.parameters(), lr=0.02)
        h = mg.fit(
            model,
            X[:90],
            labels[:90],
            loss=mg.CrossEntropyLoss(),
            optimizer=opt,
            epochs=6,
            batch_size=7,
            rng=3,
            validation_data=(X[90:], labels[90:]),
            metrics=["accuracy"],
            scheduler=StepLR(opt, step_size=2),
        )
        return h.to_dict(), model.state_dict()

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    for name in w1:
        np.testing.assert_array_equal(w1[name], w2[name])


def test_verbose_1_shows_progress_lines_and_0_shows_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = regression()
    fit_linear(epochs=3, verbose=1, validation_data=(X[100:], y[100:]))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3  # captured output is not a terminal: one line per epoch
    assert lines[0].startswith("epoch 1/3  loss ") and "val_loss" in lines[0] and "remaining" in lines[0]
    fit_linear(epochs=3, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [-1, 0.5, "yes"])
def test_bad_verbose_raises(verbose: Any) -> None:
    with pytest.raises(ValueError, match="verbose"):
        fit_linear(verbose=verbose)


# -- History.to_dict ---------------------------------------------------------------------------


def test_history_to_dict_is_plain_json() -> None:
    X, y = regression()
    _, history = fit_linear(epochs=3, validation_data=(X[100:], y[100:]), metrics=["r2"])
    d = history.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["epochs"] == 3 and d["stop_reason"] == "epochs"
    assert d["loss"] == history.loss and d["val_loss"] == history.val_loss
    assert set(d["metrics"]) == {"r2", "val_r2"}
    assert all(type(v) is float for v in d["loss"] + d["val_loss"] + d["metrics"]["val_r2"])
    d["loss"].append(1.0)
    assert len(history.loss) == 3  # a copy


# -- Module.predict ----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 7, 10, 64, None])
def test_predict_in_blocks_equals_one_forward(batch_size: int | None) -> None:
    X = np.random.default_rng(0).normal(size=(10, 2))
    model = mlp(2, 3)
    np.testing.assert_allclose(model.predict(X, batch_size=batch_size), model(X), rtol=1e-14, atol=1e-15)


def test_predict_keeps_float32_and_does_not_touch_gradients() -> None:
    model = mg.Linear(2, 2, dtype=np.float32, rng=0)
    out = model.predict(np.ones((5, 2), dtype=np.float32), batch_size=2)
    assert out.dtype == np.float32 and out.shape == (5, 2)
    assert not model.weight.grad.any()


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True])
def test_predict_rejects_bad_batch_size(batch_size: Any) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        mg.Linear(2, 1, rng=0).predict(np.ones((3, 2)), batch_size=batch_size)


def test_predict_checks_each_block_has_one_row_per_input() -> None:
    class Broken(mg.Module):
        def forward(self, x: Any) -> Array:
            return np.ones((1, 2))

    with pytest.raises(ValueError, match="one output row per input row"):
        Broken().predict(np.ones((4, 2)), batch_size=2)


def test_predict_converts_block_by_block_never_all_of_x() -> None:
    model = mg.Linear(3, 1, dtype=np.float32, rng=0)
    X = np.random.default_rng(0).normal(size=(100_000, 3))  # float64, 2.4 MB; a float32 copy would be 1.2 MB
    tracemalloc.start()
    try:
        out = model.predict(X, batch_size=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X.astype(np.float32) @ model.weight.data.T + model.bias.data, atol=1e-6)  # type: ignore[union-attr]
    assert peak < out.nbytes + X.nbytes // 4, f"peak {peak} bytes"


def test_print_loss_shows_validation_numbers_but_not_time_or_lr(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = regression()
    fit_linear(epochs=1, validation_data=(X[100:], y[100:]), callbacks=[mg.PrintLoss()])
    line = capsys.readouterr().out
    assert line.startswith("epoch 1: loss ") and ", val_loss " in line
    assert "time" not in line and "lr" not in line


# -- more bad input, each refused before any update ----------------------------------------------


@pytest.mark.parametrize(
    ("y", "loss", "message"),
    [
        (np.zeros((6, 1)), mg.CrossEntropyLoss(), r"class indices of shape \(N,\).*y.ravel\(\)"),
        (np.zeros((6, 1, 1)), mg.MSELoss(), "1-D .* or 2-D"),
    ],
)
def test_target_shapes_are_checked(y: Array, loss: mg.Loss, message: str) -> None:
    model = mlp(2, 3)
    with pytest.raises(ValueError, match=message):
        mg.fit(model, np.zeros((6, 2)), y, loss=loss, optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1)


def test_model_outputs_must_match_validation_targets() -> None:
    X, y = regression(n=10)
    model = mg.Linear(3, 2, rng=0)
    with pytest.raises(ValueError, match="the model predicts shape"):
        mg.fit(
            model,
            X,
            y,
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=1,
            validation_data=(X, y),
        )


def test_class_targets_need_two_dimensional_logits() -> None:
    class FirstColumn(mg.Module):
        def __init__(self) -> None:
            self.layer = mg.Linear(2, 3, rng=0)

        def forward(self, x: Any) -> Array:
            return self.layer(x)[:, 0]

    model = FirstColumn()
    with pytest.raises(ValueError, match=r"outputs of shape \(N, C\)"):
        mg.fit(
            model,
            np.zeros((4, 2)),
            np.zeros(4),
            loss=mg.CrossEntropyLoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=1,
        )


def test_a_single_metric_name_may_be_a_string() -> None:
    _, history = fit_linear(epochs=2, metrics="r2")
    assert list(history.metrics) == ["r2"]


def test_non_finite_predictions_raise_divergence_and_restore() -> None:
    model = mg.Linear(1, 1, bias=False, rng=0)
    model.weight.data[...] = 1e10
    with pytest.raises(mg.DivergenceError, match="a prediction"):
        mg.fit(
            model,
            [[1.0]],
            [1e10],
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.0),
            epochs=2,
            validation_data=([[1e300]], [0.0]),
        )
    assert model.weight.data.item() == 1e10


def test_keyboard_interrupt_in_a_callback_propagates_and_ends_the_progress_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)

    def interrupt(epoch: int, logs: dict[str, Any]) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_linear(epochs=5, verbose=1, callbacks=[interrupt])
    assert out.getvalue().endswith("\n")


def test_reprs_name_the_settings() -> None:
    assert repr(EarlyStopping(patience=2)) == (
        "EarlyStopping(monitor='val_loss', patience=2, min_delta=0.0, restore_best_weights=True, mode='min')"
    )
    assert repr(mg.Progress(3)) == "Progress(epochs=3, min_interval=0.1)"


def test_predict_rejects_scalars_and_ragged_blocks() -> None:
    with pytest.raises(ValueError, match="scalar"):
        mg.Linear(1, 1, rng=0).predict(np.float64(1.0), batch_size=1)

    class Ragged(mg.Module):
        def forward(self, x: Any) -> Array:
            return np.zeros((len(x), 1 + (len(x) == 1)))

    with pytest.raises(ValueError, match="different shapes"):
        Ragged().predict(np.zeros((3, 1)), batch_size=2)


def test_callback_hooks_do_nothing_by_default_and_early_stopping_works_without_a_model() -> None:
    assert mg.Callback().on_epoch_end(1, {"loss": 1.0}) is None
    stop = EarlyStopping(monitor="loss", patience=1)  # used by hand: no on_train_begin, nothing to restore
    assert stop.on_epoch_end(1, {"loss": 1.0}) is False and stop.best_state is None
    assert stop.on_epoch_end(2, {"loss": 2.0}) is True and stop.stopped_epoch == 2
