"""fit(..., sample_weight=, class_weight=): weighted training, checked before any update; History's views."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg


def regression(n: int = 12, seed: int = 0) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3 + 0.1 * rng.normal(size=n)


def mlp() -> mg.Sequential:
    return mg.Sequential(mg.Linear(3, 5, rng=1), mg.Tanh(), mg.Linear(5, 1, rng=2))


def params(model: mg.Module) -> list[bytes]:
    return [p.data.tobytes() for p in model.parameters()]


@pytest.mark.parametrize("make", [lambda: mg.Linear(3, 1, rng=0), mlp], ids=["linear", "mlp"])
@pytest.mark.parametrize("batch_size", [None, 5])
def test_all_ones_weights_train_exactly_as_no_weights(make: Any, batch_size: int | None) -> None:
    """Bit for bit, also against the fused Linear+MSE path that unweighted training of a Linear takes."""
    X, y = regression()
    runs = []
    for w in (None, np.ones(len(X))):
        model = make()
        h = mg.fit(
            model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.05, momentum=0.5),
            epochs=7, batch_size=batch_size, rng=3, sample_weight=w,
        )  # fmt: skip
        runs.append((params(model), h.loss))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("batch_size", [None, 5])
def test_weighted_fit_is_the_manual_loop_with_weighted_losses(batch_size: int | None) -> None:
    """The weights are shuffled with their rows; a Linear+MSE model (the fused path's case) is weighted too."""
    X, y = regression()
    w = np.random.default_rng(5).uniform(0, 2, size=len(X))
    w[3] = 0.0
    model = mg.Linear(3, 1, rng=0)
    opt = mg.Adam(model.parameters(), lr=0.05)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=4, batch_size=batch_size, rng=9, sample_weight=w)

    ref = mg.Linear(3, 1, rng=0)
    ref_opt = mg.Adam(ref.parameters(), lr=0.05)
    loss = mg.MSELoss()
    gen = np.random.default_rng(9)
    Y = y.reshape(-1, 1)
    epoch_losses = []
    for _ in range(4):
        order = gen.permutation(len(X)) if batch_size else np.arange(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size or len(X)):
            idx = order[start : start + (batch_size or len(X))]
            value = loss(ref(X[idx]), Y[idx], sample_weight=w[idx])
            total += value * float(w[idx].sum())
            ref_opt.zero_grad()
            ref.backward(loss.backward())
            ref_opt.step()
        epoch_losses.append(total / float(w.sum()))
    assert params(model) == params(ref)
    assert h.loss == pytest.approx(epoch_losses, rel=1e-15)


def test_whole_number_weights_equal_repeated_rows() -> None:
    X, y = regression()
    w = np.array([2, 1, 0, 1, 3, 1, 1, 0, 1, 2, 1, 1])
    rows = np.repeat(np.arange(len(X)), w)
    a, b = mlp(), mlp()
    mg.fit(a, X, y, loss=mg.HuberLoss(), optimizer=mg.SGD(a.parameters(), lr=0.1), epochs=20, sample_weight=w)
    mg.fit(b, X[rows], y[rows], loss=mg.HuberLoss(), optimizer=mg.SGD(b.parameters(), lr=0.1), epochs=20)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-12)


def classification(n: int = 30, classes: int = 3, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = np.minimum((rng.uniform(size=n) ** 2 * classes).astype(int), classes - 1)  # unbalanced classes
    return X, y


@pytest.mark.parametrize("class_weight", ["balanced", {0: 0.5, 2: 4.0}])
def test_class_weight_is_sample_weight_by_class(class_weight: Any) -> None:
    X, y = classification()
    counts = np.bincount(y, minlength=3)
    table = len(y) / (3 * counts) if class_weight == "balanced" else np.array([0.5, 1.0, 4.0])
    runs = []
    for kwargs in ({"class_weight": class_weight}, {"sample_weight": table[y]}):
        model = mg.Linear(2, 3, rng=0)
        mg.fit(model, X, y, loss=mg.CrossEntropyLoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=5,
               batch_size=7, rng=0, **kwargs)  # fmt: skip
        runs.append(params(model))
    assert runs[0] == runs[1]


def test_balanced_is_scikit_learns_definition() -> None:
    utils = pytest.importorskip("sklearn.utils.class_weight")
    X, y = classification(n=50, classes=4, seed=2)
    y[y == 1] = 0  # a class that does not occur
    expected = np.ones(4)
    present = np.unique(y)
    expected[present] = utils.compute_class_weight("balanced", classes=present, y=y)
    seen: list[Any] = []

    class Spy(mg.CrossEntropyLoss):
        def forward(self, pred: Any, target: Any, sample_weight: Any = None) -> float:
            seen.append(sample_weight)
            return super().forward(pred, target, sample_weight)

    model = mg.Linear(2, 4, rng=0)
    mg.fit(model, X, y, loss=Spy(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1, class_weight="balanced")
    np.testing.assert_allclose(seen[0], expected[y], rtol=1e-15)


def test_class_weight_with_binary_labels_and_bce() -> None:
    X, y = classification(classes=2)
    a, b = mg.Linear(2, 1, rng=0), mg.Linear(2, 1, rng=0)
    mg.fit(a, X, y, loss=mg.BCEWithLogitsLoss(), optimizer=mg.SGD(a.parameters(), lr=0.1), epochs=3,
           class_weight={1: 3.0})  # fmt: skip
    mg.fit(b, X, y, loss=mg.BCEWithLogitsLoss(), optimizer=mg.SGD(b.parameters(), lr=0.1), epochs=3,
           sample_weight=np.where(y == 1, 3.0, 1.0))  # fmt: skip
    assert params(a) == params(b)


def test_the_epoch_loss_is_the_weighted_loss() -> None:
    X, y = regression()
    w = np.linspace(0.0, 2.0, len(X))
    model = mg.Linear(3, 1, rng=0)
    first = mg.MSELoss()(model(X), y.reshape(-1, 1), sample_weight=w)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.01), epochs=2,
               sample_weight=w)  # fmt: skip
    assert h.loss[0] == first


BAD: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"sample_weight": np.ones(11)}, ValueError, r"shape \(12,\)"),
    ({"sample_weight": np.ones((12, 1))}, ValueError, r"ravel"),
    ({"sample_weight": -np.ones(12)}, ValueError, ">= 0"),
    ({"sample_weight": np.full(12, np.nan)}, ValueError, "NaN"),
    ({"sample_weight": np.zeros(12)}, ValueError, "zero for every sample"),
    ({"sample_weight": ["a"] * 12}, TypeError, "real numbers"),
    ({"class_weight": "balanced"}, ValueError, "class targets"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD)
def test_bad_weights_are_refused_before_any_update(kwargs: dict[str, Any], error: type, message: str) -> None:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    before = params(model)
    with pytest.raises(error, match=message):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2,
               batch_size=4, **kwargs)  # fmt: skip
    assert params(model) == before


BAD_CLASS_WEIGHTS: list[tuple[Any, Any, type[Exception], str]] = [
    (mg.CrossEntropyLoss(), {3: 1.0}, ValueError, "integers 0 to 2"),
    (mg.CrossEntropyLoss(), {0: -1.0}, ValueError, "finite number >= 0"),
    (mg.CrossEntropyLoss(), {0: float("inf")}, ValueError, "finite number >= 0"),
    (mg.CrossEntropyLoss(), {0.5: 1.0}, ValueError, "integers"),
    (mg.CrossEntropyLoss(), {0: 0, 1: 0, 2: 0}, ValueError, "zero for every sample"),
    (mg.CrossEntropyLoss(), "balance", ValueError, "'balanced'"),
    (mg.CrossEntropyLoss(), [1.0, 2.0, 3.0], TypeError, "mapping"),
]


@pytest.mark.parametrize(("loss", "class_weight", "error", "message"), BAD_CLASS_WEIGHTS)
def test_bad_class_weights_are_refused(loss: Any, class_weight: Any, error: type, message: str) -> None:
    X, y = classification()
    model = mg.Linear(2, 3, rng=0)
    before = params(model)
    with pytest.raises(error, match=message):
        mg.fit(model, X, y, loss=loss, optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2,
               class_weight=class_weight)  # fmt: skip
    assert params(model) == before


def test_soft_bce_labels_and_a_loss_without_sample_weight_are_refused() -> None:
    X, _ = classification(classes=2)
    model = mg.Linear(2, 1, rng=0)
    with pytest.raises(ValueError, match="labels 0 and 1"):
        mg.fit(model, X, np.full(len(X), 0.5), loss=mg.BCEWithLogitsLoss(),
               optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1, class_weight="balanced")  # fmt: skip

    class OldLoss(mg.MSELoss):
        def forward(self, pred: Any, target: Any) -> float:  # type: ignore[override]
            return super().forward(pred, target)

    with pytest.raises(TypeError, match="no sample_weight argument"):
        mg.fit(model, X, X[:, 0], loss=OldLoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1,
               sample_weight=np.ones(len(X)))  # fmt: skip


def test_history_views_and_short_repr() -> None:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.05)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2000, validation_data=(X[:4], y[:4]),
               metrics=["r2"], scheduler=mg.optim.StepLR(opt, step_size=500, gamma=0.5))  # fmt: skip
    assert h.history["loss"] is h.loss and h["val_loss"] is h.val_loss and h["val_r2"] is h.metrics["val_r2"]
    assert sorted(h.history) == ["loss", "lr", "r2", "val_loss", "val_r2"]
    assert h.lr[0] == 0.05 and h.lr[499] == 0.05 and h.lr[500] == 0.025 and h.lr[-1] == 0.05 / 8
    assert h.best_epoch == 1 + int(np.argmin(h.val_loss))
    text = repr(h)
    assert len(text) < 500 and text.count("\n") == 5, text
    assert "best_epoch=" in text and "r2 " in text and "(max " in text
    with pytest.raises(KeyError, match="has no 'accuracy'"):
        h["accuracy"]
    assert h.to_dict()["lr"] == h.lr


def test_history_without_validation_and_with_the_fused_loop() -> None:
    X, y = regression()
    model = mg.Linear(3, 1, rng=0)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.05), epochs=30)
    assert h.best_epoch is None and h.lr == [0.05] * 30 and sorted(h.history) == ["loss", "lr"]
    assert "best_epoch" not in repr(h)
    assert repr(mg.History()) == "History(epochs=0, stop_reason='epochs')"
    nan = mg.History(loss=[float("nan"), 2.0, 1.0, 1.0], val_loss=[float("nan"), 3.0, 1.0, 1.0])
    assert nan.best_epoch == 3 and "(min 1 at epoch 3)" in repr(nan)
