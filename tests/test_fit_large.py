"""fit on data large enough for the fused Linear + MSELoss step to stream X in blocks equals the plain manual loop.

The fused path of ``fit`` (one Linear layer under MSELoss) may compute the loss and the gradient
block by block over a large X; whatever it does inside, the parameters after each epoch must
equal those of the manual loop ``model(X)``, ``loss(pred, y)``, ``model.backward(...)``,
``opt.step()`` to floating-point rounding, and the recorded losses must match too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg

N, D = 24_000, 100  # 19.2 MB of float64, 9.6 MB of float32


def manual(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], model: mg.Linear, loss: mg.MSELoss, opt: mg.Optimizer, epochs: int
) -> list[float]:
    losses = []
    for _ in range(epochs):
        pred = model(X)
        losses.append(loss(pred, y))
        opt.zero_grad()
        model.backward(loss.backward(), need_input_grad=False)
        opt.step()
    return losses


@pytest.mark.parametrize(
    ("dtype", "outputs", "bias", "reduction", "momentum"),
    [
        (np.float64, 1, True, "mean", 0.0),
        (np.float64, 3, False, "sum", 0.9),
        (np.float32, 2, True, "mean", 0.5),
    ],
)
def test_large_full_batch_fit_equals_the_manual_loop(
    dtype: type[np.floating[Any]], outputs: int, bias: bool, reduction: str, momentum: float
) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, D)).astype(dtype)
    y = (X[:, :outputs] * 2.0 - 1.0 + rng.normal(scale=0.1, size=(N, outputs))).astype(dtype)
    lr = 0.05 if reduction == "mean" else 0.05 / (N * outputs)
    epochs = 4

    ref = mg.Linear(D, outputs, bias=bias, dtype=dtype, rng=0)
    ref_losses = manual(
        X,
        y,
        ref,
        mg.MSELoss(reduction=reduction),
        mg.SGD(ref.parameters(), lr=lr, momentum=momentum),
        epochs,  # type: ignore[arg-type]
    )

    model = mg.Linear(D, outputs, bias=bias, dtype=dtype, rng=0)
    X_before, y_before = X.copy(), y.copy()
    history = mg.fit(
        model,
        X,
        y,
        loss=mg.MSELoss(reduction=reduction),  # type: ignore[arg-type]
        optimizer=mg.SGD(model.parameters(), lr=lr, momentum=momentum),
        epochs=epochs,
    )
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(history.loss, ref_losses, rtol=rtol)
    for (name, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
        assert p.data.dtype == dtype, name
        np.testing.assert_allclose(p.data, q.data, rtol=rtol, atol=rtol * 1e-2, err_msg=name)
    assert history.loss[-1] < history.loss[0]
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_large_fit_restores_the_last_finite_parameters_on_divergence() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D)) * 1e100
    y = rng.normal(size=(N, 1))
    model = mg.Linear(D, 1, rng=0)
    first = model.state_dict()
    with pytest.raises(mg.DivergenceError):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=1.0), epochs=5)
    for name, p in model.named_parameters():
        assert np.isfinite(p.data).all(), name
    # The first loss is already inf (1e100 squared overflows): nothing may have been updated.
    for name, value in first.items():
        np.testing.assert_array_equal(dict(model.named_parameters())[name].data, value)
