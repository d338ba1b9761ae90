"""fit: convergence to least squares, the per-sample loop, determinism, History, tol and callbacks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]


def regression(n: int = 200, fin: int = 5, fout: int = 3, seed: int = 0) -> tuple[Array, Array]:
    """A well-conditioned linear problem with noise (so the least-squares fit is not exact)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, fin))
    W = rng.normal(size=(fout, fin))
    b = rng.normal(size=fout)
    y = X @ W.T + b + 0.1 * rng.normal(size=(n, fout))
    return X, y


def weights(model: mg.Module) -> dict[str, Array]:
    return model.state_dict()


def assert_same_weights(a: dict[str, Array], b: dict[str, Array]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# -- convergence ------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_full_batch_converges_to_lstsq(bias: bool) -> None:
    X, y = regression()
    n, fin = X.shape
    fout = y.shape[1]
    A = np.hstack([X, np.ones((n, 1))]) if bias else X
    solution, *_ = np.linalg.lstsq(A, y, rcond=None)  # (fin [+1], fout)
    # MSELoss(mean) over n * fout numbers: Hessian 2 A^T A / (n * fout) per output; step 1 / its largest eigenvalue.
    hessian = 2 * A.T @ A / (n * fout)
    lr = 1 / np.linalg.eigvalsh(hessian).max()
    model = mg.Linear(fin, fout, bias=bias, rng=0)
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=lr), epochs=500)
    got = model.weight.data.T
    if bias:
        assert model.bias is not None
        got = np.vstack([got, model.bias.data[None, :]])
    rel = np.linalg.norm(got - solution) / np.linalg.norm(solution)
    assert rel <= 1e-8, f"relative error {rel:.3g}"
    assert history.stop_reason == "epochs" and history.epochs == 500
    # Gradient descent with step 1/L on a convex quadratic never increases the loss (up to rounding).
    assert all(b <= a * (1 + 1e-12) for a, b in zip(history.loss, history.loss[1:], strict=False))


def test_momentum_minibatches_also_reach_lstsq() -> None:
    """Mini-batches of the whole data set in a fixed order are full batches: same solution."""
    X, y = regression(n=64, fin=3, fout=2, seed=5)
    A = np.hstack([X, np.ones((64, 1))])
    solution, *_ = np.linalg.lstsq(A, y, rcond=None)
    model = mg.Linear(3, 2, rng=1)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.5, nesterov=True)
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=400, batch_size=64, shuffle=False)
    assert model.bias is not None
    got = np.vstack([model.weight.data.T, model.bias.data[None, :]])
    assert np.linalg.norm(got - solution) / np.linalg.norm(solution) <= 1e-8


# -- the per-sample loop ----------------------------------------------------------------------


@pytest.mark.parametrize("fout", [1, 2])
def test_batch_size_1_without_shuffle_is_the_per_sample_loop(fout: int) -> None:
    X, y = regression(n=13, fin=3, fout=fout, seed=2)
    model = mg.Linear(3, fout, rng=3)
    W = model.weight.data.copy()
    assert model.bias is not None
    b = model.bias.data.copy()
    lr, epochs = 0.05, 4
    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=lr),
        epochs=epochs,
        batch_size=1,
        shuffle=False,
    )
    # The hand-written loop: one sample at a time, in order, the mean over its fout outputs.
    losses = []
    for _ in range(epochs):
        total = 0.0
        for i in range(X.shape[0]):
            x_i, y_i = X[i : i + 1], y[i : i + 1]
            pred = x_i @ W.T + b
            diff = pred - y_i
            total += float(np.sum(diff**2)) / fout
            g = 2 * diff / fout  # d mean((pred - y)^2) / d pred
            W = W - lr * (g.T @ x_i)
            b = b - lr * g[0]
        losses.append(total / X.shape[0])
    np.testing.assert_array_equal(model.weight.data, W)
    np.testing.assert_array_equal(model.bias.data, b)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-14)


def test_full_batch_is_the_manual_loop() -> None:
    X, y = regression(n=20, fin=4, fout=2, seed=6)
    a, b = mg.Linear(4, 2, rng=9), mg.Linear(4, 2, rng=9)
    opt_a = mg.SGD(a.parameters(), lr=0.05, momentum=0.9)
    history = mg.fit(a, X, y, loss=mg.MSELoss(), optimizer=opt_a, epochs=7)
    loss_fn, opt_b = mg.MSELoss(), mg.SGD(b.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(7):
        pred = b(X)
        losses.append(loss_fn(pred, y))
        opt_b.zero_grad()
        b.backward(loss_fn.backward())
        opt_b.step()
    assert history.loss == losses
    assert_same_weights(weights(a), weights(b))


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_full_batch_never_copies_X_per_epoch(dtype: Any) -> None:
    """One step an epoch on X itself (or, for data that needs converting, on one conversion made once)."""
    X, y = regression(n=10, fin=2, fout=1, seed=7)
    X = (10 * X).astype(dtype)
    model = mg.Linear(2, 1, rng=0)
    seen: list[Any] = []
    original_forward = model.forward

    def forward(x: Any) -> Array:
        seen.append(x)
        return original_forward(x)

    model.forward = forward  # type: ignore[method-assign]
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=1e-4), epochs=4)
    assert len(seen) == 4  # one step an epoch
    assert all(x is seen[0] for x in seen)
    if dtype == np.float64:
        assert seen[0] is X


def test_last_partial_batch_is_kept() -> None:
    X, y = regression(n=10, fin=2, fout=1, seed=7)
    steps: list[int] = []
    model = mg.Linear(2, 1, rng=0)

    class CountingSGD(mg.SGD):
        def step(self) -> None:
            steps.append(self.params[0].grad.shape[0])
            super().step()

    seen: list[int] = []
    original_forward = model.forward

    def forward(x: Any) -> Array:
        seen.append(np.shape(x)[0])
        return original_forward(x)

    model.forward = forward  # type: ignore[method-assign]
    mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=CountingSGD(model.parameters(), lr=0.01),
        epochs=2,
        batch_size=4,
        shuffle=False,
    )
    assert seen == [4, 4, 2, 4, 4, 2]
    assert len(steps) == 6


# -- determinism ------------------------------------------------------------------------------


def shuffled_fit(rng: Any, seed_model: int = 0) -> dict[str, Array]:
    X, y = regression(n=30, fin=3, fout=2, seed=8)
    model = mg.Linear(3, 2, rng=seed_model)
    mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.02),
        epochs=3,
        batch_size=4,
        shuffle=True,
        rng=rng,
    )
    return weights(model)


def test_same_seed_same_weights() -> None:
    assert_same_weights(shuffled_fit(11), shuffled_fit(11))
    assert_same_weights(shuffled_fit(11), shuffled_fit(np.random.default_rng(11)))


def test_different_seeds_differ() -> None:
    a, b = shuffled_fit(11), shuffled_fit(12)
    assert not np.array_equal(a["weight"], b["weight"])


def test_shuffle_changes_the_order() -> None:
    X, y = regression(n=30, fin=3, fout=2, seed=8)
    model = mg.Linear(3, 2, rng=0)
    mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.02),
        epochs=3,
        batch_size=4,
        shuffle=False,
    )
    assert not np.array_equal(weights(model)["weight"], shuffled_fit(11)["weight"])


def test_full_batch_uses_no_randomness() -> None:
    X, y = regression(n=16, fin=2, fout=1, seed=9)
    results = []
    for rng in (0, 1, None):
        model = mg.Linear(2, 1, rng=0)
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=5, rng=rng)
        results.append(weights(model))
    assert_same_weights(results[0], results[1])
    assert_same_weights(results[0], results[2])


# -- History and tol --------------------------------------------------------------------------


def test_history_has_one_loss_per_epoch() -> None:
    X, y = regression(n=20, fin=2, fout=1, seed=10)
    model = mg.Linear(2, 1, rng=0)
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=6)
    assert len(history.loss) == history.epochs == 6
    assert history.stop_reason == "epochs"
    assert not history.converged
    assert all(isinstance(v, float) for v in history.loss)


def test_history_loss_is_the_loss_before_each_update() -> None:
    X, y = regression(n=20, fin=2, fout=1, seed=10)
    model = mg.Linear(2, 1, rng=0)
    first = mg.MSELoss()(model(X), y)
    history = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2)
    assert history.loss[0] == first


def test_tol_stops_at_the_first_loss_below_it_without_updating() -> None:
    X, y = regression(n=20, fin=2, fout=1, seed=12)
    free = mg.Linear(2, 1, rng=0)
    run = mg.fit(free, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(free.parameters(), lr=0.1), epochs=30)
    tol = run.loss[9]  # the 10th epoch's loss, computed before its update
    assert run.loss[8] > tol

    model = mg.Linear(2, 1, rng=0)
    snapshots: list[dict[str, Array]] = []
    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.1),
        epochs=30,
        tol=tol,
        callbacks=[lambda epoch, logs: snapshots.append(weights(model))],
    )
    assert history.epochs == 10
    assert history.stop_reason == "tol" and history.converged
    assert history.loss == run.loss[:10]
    # The stopping epoch made no update: the weights are those after epoch 9.
    assert_same_weights(snapshots[-1], snapshots[-2])
    assert_same_weights(weights(model), snapshots[8])


def test_tol_already_met_makes_no_update() -> None:
    model = mg.Linear(1, 1, bias=False)
    model.weight.data[...] = 2.0
    history = mg.fit(
        model,
        [[1.0], [2.0]],
        [[2.0], [4.0]],
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.1),
        epochs=5,
        tol=0.0,
    )
    assert history.loss == [0.0] and history.stop_reason == "tol"
    assert model.weight.data[0, 0] == 2.0


@pytest.mark.parametrize("tol", [-1.0, float("nan"), float("inf")])
def test_invalid_tol_raises(tol: float) -> None:
    model = mg.Linear(1, 1)
    with pytest.raises(ValueError, match="tol"):
        mg.fit(
            model, [[1.0]], [1.0], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1, tol=tol
        )


@pytest.mark.parametrize(("epochs", "batch_size"), [(0, None), (-1, None), (1.5, None), (1, 0), (1, -2)])
def test_invalid_epochs_and_batch_size_raise(epochs: Any, batch_size: Any) -> None:
    model = mg.Linear(1, 1)
    with pytest.raises(ValueError):
        mg.fit(
            model,
            [[1.0]],
            [1.0],
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=epochs,
            batch_size=batch_size,
        )


# -- callbacks --------------------------------------------------------------------------------


def test_function_callback_can_stop_training() -> None:
    X, y = regression(n=20, fin=2, fout=1, seed=13)
    model = mg.Linear(2, 1, rng=0)
    calls: list[tuple[int, float]] = []

    def stop_at_3(epoch: int, logs: dict[str, Any]) -> bool:
        calls.append((epoch, logs["loss"]))
        return epoch == 3

    history = mg.fit(
        model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=50, callbacks=[stop_at_3]
    )
    assert history.epochs == 3 and history.stop_reason == "callback"
    assert calls == list(zip([1, 2, 3], history.loss, strict=True))


def test_callback_class_hooks_run_in_order_and_can_stop() -> None:
    X, y = regression(n=20, fin=2, fout=1, seed=14)
    model = mg.Linear(2, 1, rng=0)
    events: list[Any] = []

    class Recorder(mg.Callback):
        def on_train_begin(self, m: mg.Module) -> None:
            events.append(("begin", m))

        def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool:
            events.append(("epoch", epoch, logs["loss"], logs["converged"]))
            return epoch == 4

        def on_train_end(self, history: mg.History) -> None:
            events.append(("end", history))

    class Other(mg.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
            events.append(("other", epoch))

    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.1),
        epochs=50,
        callbacks=[Recorder(), Other()],
    )
    assert history.epochs == 4 and history.stop_reason == "callback"
    assert events[0] == ("begin", model)
    assert events[-1] == ("end", history)
    middle = events[1:-1]
    # Every callback sees every epoch, even the one where another callback asks to stop.
    assert middle == [
        e for epoch in range(1, 5) for e in (("epoch", epoch, history.loss[epoch - 1], False), ("other", epoch))
    ]


def test_verbose_prints_progress(capsys: pytest.CaptureFixture[str]) -> None:
    model = mg.Linear(1, 1, rng=0)
    mg.fit(
        model,
        [[1.0], [2.0]],
        [1.0, 2.0],
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=0.1),
        epochs=2,
        verbose=1,
    )
    captured = capsys.readouterr()
    assert "loss" in captured.out + captured.err


def test_quiet_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    model = mg.Linear(1, 1, rng=0)
    mg.fit(model, [[1.0]], [1.0], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2)
    assert capsys.readouterr().out == ""


def test_bad_callback_raises_type_error() -> None:
    model = mg.Linear(1, 1, rng=0)
    with pytest.raises(TypeError, match="callbacks"):
        mg.fit(
            model,
            [[1.0]],
            [1.0],
            loss=mg.MSELoss(),
            optimizer=mg.SGD(model.parameters(), lr=0.1),
            epochs=1,
            callbacks=[42],  # type: ignore[list-item]
        )


# -- the epoch loss with mini-batches ----------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_minibatch_epoch_loss_is_the_whole_data_loss_when_nothing_moves(reduction: Any) -> None:
    """With lr=0 the batch losses of 3 + 3 + 2 samples add up to the loss over all 8 samples."""
    X, y = regression(n=8, fin=2, fout=2, seed=15)
    model = mg.Linear(2, 2, rng=0)
    expected = mg.MSELoss(reduction=reduction)(model(X), y)
    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(reduction=reduction),
        optimizer=mg.SGD(model.parameters(), lr=0.0),
        epochs=2,
        batch_size=3,
        shuffle=True,
        rng=0,
    )
    assert history.loss == pytest.approx([expected, expected], rel=1e-14)
