"""Errors that used to come after the model had changed: each is now raised before the first update.

Every test checks that the model's parameters and the optimizer's state are exactly as they were.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.training import trainer as trainer_module


@contextmanager
def untouched(model: mg.Module, opt: mg.Optimizer) -> Iterator[None]:
    """Assert that the block leaves the parameters and the optimizer's state bit for bit as they were."""
    params = model.state_dict()
    state = opt.state_dict()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no RuntimeWarning may escape either
            yield
    finally:
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, params[name], err_msg=f"{name} changed")
        assert repr(opt.state_dict()) == repr(state)


def linear(out: int = 1, dtype: Any = np.float64) -> tuple[mg.Linear, mg.SGD]:
    model = mg.Linear(2, out, rng=0, dtype=dtype)
    return model, mg.SGD(model.parameters(), lr=0.1, momentum=0.9)


X4 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0]])


# -- targets that only a later batch, or the validation data, would have shown -------------------------


def test_bce_targets_outside_0_1_in_a_later_batch() -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(ValueError, match=r"\[0, 1\].*got 2\.0 in y at flat index 3"):
        mg.fit(
            model, X4, [0, 1, 1, 2], loss=mg.BCEWithLogitsLoss(), optimizer=opt, epochs=2, batch_size=2, shuffle=False
        )


def test_bce_targets_outside_0_1_in_y_val() -> None:
    model, opt = linear()
    y_val = np.array([0.0, 1.0, 1.0, -0.5])
    with untouched(model, opt), pytest.raises(ValueError, match=r"got -0\.5 in y_val at flat index 3"):
        mg.fit(
            model, X4, [0, 1, 1, 0], loss=mg.BCEWithLogitsLoss(), optimizer=opt, epochs=2, validation_data=(X4, y_val)
        )


def test_bce_check_target_takes_the_whole_range_and_refuses_nan() -> None:
    loss = mg.BCEWithLogitsLoss()
    loss.check_target(np.array([0.0, 0.25, 1.0]))
    loss.check_target(np.zeros(0))
    with pytest.raises(ValueError, match="nan"):
        loss.check_target(np.array([0.5, np.nan]))
    mg.MSELoss().check_target(np.array([-1e300, 5.0]))  # any value for the base class


# -- callbacks that monitor a key no log will hold ---------------------------------------------------


def test_early_stopping_without_validation_data() -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(ValueError, match=r"'val_loss'.*'loss'.*validation_data") as info:
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=3, callbacks=[mg.EarlyStopping()])
    assert "KeyError" not in repr(info.value)


@pytest.mark.parametrize(
    ("monitor", "hint"),
    [("val_acc", "validation_data"), ("accuracy", r"metrics=\['accuracy'\]"), ("lss", "will hold only")],
)
def test_a_monitor_that_no_log_will_hold(monitor: str, hint: str) -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(ValueError, match=hint):
        mg.fit(
            model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=3, callbacks=[mg.EarlyStopping(monitor)]
        )


def test_a_custom_callback_declares_its_monitor() -> None:
    class WatchR2(mg.Callback):
        monitor = "val_r2"

    model, opt = linear()
    with untouched(model, opt), pytest.raises(ValueError, match=r"WatchR2 monitors 'val_r2'.*'r2'"):
        mg.fit(
            model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=3, metrics=["r2"], callbacks=[WatchR2()]
        )
    h = mg.fit(
        model,
        X4,
        [1, 2, 3, 4],
        loss=mg.MSELoss(),
        optimizer=opt,
        epochs=2,
        metrics=["r2"],
        validation_data=(X4, [1, 2, 3, 4]),
        callbacks=[WatchR2(), mg.EarlyStopping("val_r2")],
    )
    assert h.epochs == 2


# -- metrics that could fail only after an epoch ------------------------------------------------------


@pytest.mark.parametrize("where", ["training", "validation"])
def test_r2_with_one_row(where: str) -> None:
    model, opt = linear()
    X1, y1 = X4[:1], [1.0]
    data = (X1, y1, (X4, [1, 2, 3, 4])) if where == "training" else (X4, [1, 2, 3, 4], (X1, y1))
    name = "y" if where == "training" else "y_val"
    with untouched(model, opt), pytest.raises(ValueError, match=f"'r2' needs at least two samples, {name} has 1"):
        mg.fit(
            model, data[0], data[1], loss=mg.MSELoss(), optimizer=opt, epochs=2, metrics=["r2"], validation_data=data[2]
        )


@pytest.mark.parametrize("where", ["training", "validation"])
def test_accuracy_with_a_non_integer_class_after_row_2(where: str) -> None:
    model, opt = linear()
    good, bad = [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.5]
    y, y_val = (bad, good) if where == "training" else (good, bad)
    with untouched(model, opt), pytest.raises(ValueError, match="whole numbers"):
        mg.fit(
            model,
            X4,
            y,
            loss=mg.BCEWithLogitsLoss(),
            optimizer=opt,
            epochs=2,
            batch_size=2,
            metrics=["accuracy"],
            validation_data=(X4, y_val),
        )


# -- the loss and the optimizer themselves -----------------------------------------------------------


def test_an_optimizer_over_another_models_parameters() -> None:
    model, opt = linear()
    other = mg.Linear(2, 1, rng=1)
    foreign = mg.SGD(other.parameters(), lr=0.1)
    with untouched(model, opt), untouched(other, foreign), pytest.raises(ValueError, match="outside the model"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=foreign, epochs=2)
    mixed = mg.SGD([model.weight, other.bias], lr=0.1)  # type: ignore[list-item]
    with untouched(model, opt), pytest.raises(ValueError, match=r"1 of its 2 parameters.*positions \[1\]"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=mixed, epochs=2)
    emptied = mg.SGD(model.parameters(), lr=0.1)
    emptied.params = []
    with untouched(model, opt), pytest.raises(ValueError, match="0 of its 0"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=emptied, epochs=2)


def test_an_optimizer_over_a_subset_trains_that_subset() -> None:
    model, _ = linear()
    bias = model.bias
    assert bias is not None
    weight_before = model.weight.data.copy()
    mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=mg.SGD([bias], lr=0.1), epochs=3)
    np.testing.assert_array_equal(model.weight.data, weight_before)


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (mg.MSELoss, r"got the class MSELoss: pass an instance, e\.g\. loss=mg\.MSELoss\(\)"),
        ("mse", r"got str 'mse': pass an instance, e\.g\. loss=mg\.MSELoss\(\)"),
        (lambda p, t: 0.0, "pass an instance"),
    ],
)
def test_a_loss_that_is_not_an_instance(loss: Any, message: str) -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(TypeError, match=message):
        mg.fit(model, X4, [1, 2, 3, 4], loss=loss, optimizer=opt, epochs=2)


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (mg.Adam, r"got the class Adam: pass an instance, e\.g\. optimizer=mg\.Adam\(model\.parameters\(\), \.\.\.\)"),
        ("sgd", r"got str 'sgd': pass an instance, e\.g\. optimizer=mg\.SGD\("),
    ],
)
def test_an_optimizer_that_is_not_an_instance(optimizer: Any, message: str) -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(TypeError, match=message):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=optimizer, epochs=2)


def test_cross_entropy_with_one_output() -> None:
    model, opt = linear(out=1)
    with untouched(model, opt), pytest.raises(ValueError, match=r"one output per class.*BCEWithLogitsLoss") as info:
        mg.fit(model, X4, [0, 1, 1, 0], loss=mg.CrossEntropyLoss(), optimizer=opt, epochs=2)
    assert "[0, 0]" not in str(info.value)


# -- values the model's dtype cannot hold --------------------------------------------------------------


@pytest.mark.parametrize("where", ["X", "y", "X_val"])
def test_float32_model_given_values_beyond_float32(where: str) -> None:
    model, opt = linear(dtype=np.float32)
    X, y = [[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0]
    big_X, big_y = [[1.0, 2.0], [3.0, 1e39]], [1.0, -1e39]
    args: dict[str, Any] = {"X": big_X if where == "X" else X, "y": big_y if where == "y" else y}
    if where == "X_val":
        args["validation_data"] = (big_X, y)
    with (
        untouched(model, opt),
        pytest.raises(ValueError, match=f"{where} holds values too large for the model's dtype"),
    ):
        mg.fit(model, args.pop("X"), args.pop("y"), loss=mg.MSELoss(), optimizer=opt, epochs=2, **args)


def test_longdouble_beyond_float64() -> None:
    model, opt = linear()
    X = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.longdouble)
    X[1, 1] = np.longdouble("1e400")
    if not np.isfinite(X[1, 1]):  # pragma: no cover - where longdouble is float64
        pytest.skip("longdouble is float64 here")
    with untouched(model, opt), pytest.raises(ValueError, match=r"float64 \(largest .*\): 1e\+400 at row 1"):
        mg.fit(model, X, [1.0, 2.0], loss=mg.MSELoss(), optimizer=opt, epochs=2)


def test_predict_and_losses_refuse_values_beyond_the_dtype_without_a_warning() -> None:
    model, _ = linear(dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="input holds values too large"):
            model.predict([[1.0, 1e39]])
        with pytest.raises(ValueError, match="target holds values too large"):
            mg.MSELoss()(np.zeros(1, dtype=np.float32), np.array([1e39]))
        # inf and NaN are not "too large": they keep their own message from the finiteness checks
        with pytest.raises(ValueError, match="NaN or infinity"):
            mg.fit(model, [[1.0, np.inf]], [1.0], loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=1)


# -- masked arrays -----------------------------------------------------------------------------------


def masked(a: Any, mask: Any) -> np.ma.MaskedArray[Any, Any]:
    return np.ma.masked_array(np.asarray(a, dtype=np.float64), mask=mask)


@pytest.mark.parametrize("where", ["X", "y", "X_val", "y_val"])
def test_fit_refuses_masked_arrays(where: str) -> None:
    model, opt = linear()
    X = masked(X4, [[False, False], [False, False], [False, True], [False, False]]) if where in ("X", "X_val") else X4
    y = masked([1.0, 2.0, np.nan, 4.0], [False, False, True, False]) if where in ("y", "y_val") else [1, 2, 3, 4]
    args = (X, y, None) if where in ("X", "y") else (X4, [1, 2, 3, 4], (X, y))
    with untouched(model, opt), pytest.raises(TypeError, match=f"{where} is a masked array"):
        mg.fit(model, args[0], args[1], loss=mg.MSELoss(), optimizer=opt, epochs=2, validation_data=args[2])


def test_predict_losses_and_metrics_refuse_masked_arrays() -> None:
    model, _ = linear()
    m = masked([[1.0, 2.0], [3.0, 4.0]], [[False, True], [False, False]])
    for call in (lambda: model(m), lambda: model.predict(m), lambda: model.predict(m, batch_size=1)):
        with pytest.raises(TypeError, match="masked array"):
            call()
    t = masked([0.0, 1.0], [False, True])
    p = np.array([0.2, 0.7])
    for call in (
        lambda: mg.MSELoss()(p, t),
        lambda: mg.MSELoss()(masked(p, [True, False]), np.array([0.0, 1.0])),
        lambda: mg.BCEWithLogitsLoss()(p, t),
        lambda: mg.CrossEntropyLoss()(np.zeros((2, 2)), masked([0, 1], [False, True])),
        lambda: mg.accuracy(p, t),
        lambda: mg.r2_score(p, t),
    ):
        with pytest.raises(TypeError, match="masked array"):
            call()


def test_a_memmap_is_still_used_as_it_is(tmp_path: Any) -> None:
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float64, shape=(4, 2))
    X[...] = X4
    model, opt = linear()
    mg.fit(model, X, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2)
    np.testing.assert_array_equal(model.predict(X), model.predict(X4))


# -- a learning rate that makes the loss grow without overflowing -----------------------------------


def standardized(n: int = 50, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 5.0, 0.2] + [0.0, 3.0, -1.0]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, X @ np.array([1.0, -2.0, 0.5]) + 3.0 + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("observed", [False, True])
def test_a_growing_loss_stops_with_divergence_error_long_before_overflow(observed: bool) -> None:
    X, y = standardized()
    model = mg.Linear(3, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=1.5)
    seen: list[dict[str, np.ndarray[Any, Any]]] = []
    callbacks = [lambda epoch, logs: seen.append(model.state_dict())] if observed else None
    with pytest.raises(mg.DivergenceError, match=r"grew to .*more than 1e\+10 times the first epoch's loss") as info:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=1000, callbacks=callbacks)
    epoch = info.value.epoch
    assert epoch < 60  # it would overflow only after hundreds of epochs
    # The epoch's loss was that of the parameters after the previous epoch's step, and no update followed.
    with np.errstate(all="ignore"):
        loss = mg.MSELoss()(model(X), y.reshape(-1, 1))
    assert np.isfinite(loss) and loss > 1e10
    if observed:
        assert len(seen) == epoch - 1
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value, seen[-1][name])


def test_the_growth_rule_with_mini_batches_checks_epoch_losses() -> None:
    X, y = standardized()
    model = mg.Linear(3, 1, rng=0)
    with pytest.raises(mg.DivergenceError, match="grew") as info:
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=1.5), epochs=1000, batch_size=50)
    assert info.value.epoch < 60
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_the_growth_rule_spares_adam_restarted_on_an_exact_fit() -> None:
    """An exact fit trained again with a fresh Adam: the loss jumps from rounding level by far more than
    1e10 (Adam's first step moves every parameter by lr) but does not keep rising."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 2))
    y = X @ np.array([0.1, -0.7]) + 0.3 + 1e-14 * rng.normal(size=8)  # the loss is at rounding level, not 0
    model = mg.Linear(2, 1, rng=0)
    model.weight.data[...] = [[0.1, -0.7]]
    assert model.bias is not None
    model.bias.data[...] = 0.3
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.Adam(model.parameters(), lr=1e-3), epochs=300)
    assert h.loss[0] < 1e-25 and max(h.loss) > 1e10 * h.loss[0] and h.stop_reason == "epochs"


def test_the_growth_rule_spares_a_first_loss_of_zero() -> None:
    model = mg.Linear(1, 1, bias=False)
    model.weight.data[...] = 2.0
    h = mg.fit(model, [[1.0], [2.0]], [2.0, 4.0], loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=0.1), epochs=30)
    assert h.loss == [0.0] * 30


def test_the_growth_rule_fires_alike_on_every_full_batch_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the rule made quick: the fused loop, the general path and the observed loop stop in the same epoch."""
    monkeypatch.setattr(trainer_module, "LOSS_GROWTH_FACTOR", 100.0)
    monkeypatch.setattr(trainer_module, "LOSS_GROWTH_EPOCHS", 3)
    X, y = standardized()
    epochs = []
    for make in (lambda: mg.Linear(3, 1, rng=0), lambda: mg.Sequential(mg.Linear(3, 1, rng=0))):
        for callbacks in (None, [lambda epoch, logs: None]):
            model = make()
            with pytest.raises(mg.DivergenceError, match="rose in each of the last 3 epochs") as info:
                mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model, lr=1.5), epochs=100, callbacks=callbacks)
            epochs.append(info.value.epoch)
    assert len(set(epochs)) == 1 and epochs[0] > 3


# -- an error inside a step ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 2])
def test_an_error_halfway_through_an_update_is_undone(batch_size: int | None) -> None:
    """Not only Ctrl-C: any exception out of the optimizer's step (a broken state, say) leaves the model and
    the optimizer as after the last completed step."""

    class Breaks(mg.Adam):
        calls = 0

        def step(self) -> None:
            self.calls += 1
            if self.calls == 3:
                self.params[0].data += 1.0  # half an update: the weight moves, the bias not
                self.state[0]["step"] = "x"  # type: ignore[assignment]
                raise TypeError("optimizer state 'step' must be an int")
            super().step()

    model = mg.Linear(2, 1, rng=0)
    opt = Breaks(model.parameters(), lr=0.1)
    snapshots = []

    def record(epoch: int, logs: dict[str, Any]) -> None:
        snapshots.append((model.state_dict(), opt.state_dict()))

    with pytest.raises(TypeError, match="must be an int"):
        mg.fit(
            model,
            X4,
            [1, 2, 3, 4],
            loss=mg.MSELoss(),
            optimizer=opt,
            epochs=5,
            batch_size=batch_size,
            shuffle=False,
            callbacks=[record],
        )
    params, state = snapshots[-1] if batch_size is None else snapshots[0]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, params[name])
    assert repr(opt.state_dict()) == repr(state)


# -- what fit calls after every epoch, refused before the first when it cannot be called -------------


def test_a_callback_class_instead_of_an_instance() -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(TypeError, match=r"class EarlyStopping: pass an instance"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2, callbacks=[mg.EarlyStopping])


def test_a_callback_function_with_the_wrong_signature() -> None:
    model, opt = linear()

    def report(logs: dict[str, Any]) -> None: ...

    with untouched(model, opt), pytest.raises(TypeError, match=r"f\(epoch, logs\), but report\(logs"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2, callbacks=[report])
    mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=1, callbacks=[print])  # no signature


def test_a_metric_function_with_the_wrong_signature_or_a_class() -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(TypeError, match=r"f\(pred, target\), but <lambda>\(p\)"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2, metrics=[lambda p: 0.0])
    with untouched(model, opt), pytest.raises(TypeError, match="got the class float"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2, metrics=[float])


def test_a_scheduler_class_instead_of_an_instance() -> None:
    model, opt = linear()
    with untouched(model, opt), pytest.raises(TypeError, match=r"class StepLR: pass an instance"):
        mg.fit(model, X4, [1, 2, 3, 4], loss=mg.MSELoss(), optimizer=opt, epochs=2, scheduler=mg.optim.StepLR)
