"""Per-sample weights in every loss: the weighted mean sum(w_i l_i) / sum(w_i), its gradient, all ones = none."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from finite_differences import central_difference

import minigrad as mg

Make = Callable[[str], mg.Loss]

LOSSES: dict[str, Make] = {
    "mse": lambda r: mg.MSELoss(reduction=r),  # type: ignore[arg-type]
    "l1": lambda r: mg.L1Loss(reduction=r),  # type: ignore[arg-type]
    "huber": lambda r: mg.HuberLoss(reduction=r, delta=0.7),  # type: ignore[arg-type]
    "bce": lambda r: mg.BCEWithLogitsLoss(reduction=r),  # type: ignore[arg-type]
    "cross_entropy": lambda r: mg.CrossEntropyLoss(reduction=r),  # type: ignore[arg-type]
}


def batch(name: str, n: int = 7, outputs: int = 3, dtype: Any = np.float64, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    pred = rng.normal(size=(n, outputs)).astype(dtype)
    if name == "cross_entropy":
        return pred, rng.integers(0, outputs, size=n)
    if name == "bce":
        return pred, rng.uniform(size=(n, outputs)).astype(dtype)
    return pred, rng.normal(size=(n, outputs)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_all_ones_weights_equal_the_unweighted_loss_bit_for_bit(name: str, reduction: str, dtype: Any) -> None:
    for n, outputs in [(1, 2), (7, 3), (300, 5)]:
        pred, target = batch(name, n, outputs, dtype)
        loss = LOSSES[name](reduction)
        plain = loss(pred, target)
        plain_grad = loss.backward()
        weighted = loss(pred, target, sample_weight=np.ones(n))
        weighted_grad = loss.backward()
        assert weighted == plain
        assert weighted_grad.dtype == plain_grad.dtype and weighted_grad.shape == plain_grad.shape
        assert weighted_grad.tobytes() == plain_grad.tobytes()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_weighted_loss_is_the_weighted_mean_of_the_per_sample_losses(name: str, reduction: str) -> None:
    pred, target = batch(name)
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 0.25, 1.5])
    loss = LOSSES[name](reduction)
    # Each sample's own loss, one row at a time: the mean (or sum) over its outputs.
    per_sample = np.array([LOSSES[name](reduction)(pred[i : i + 1], target[i : i + 1]) for i in range(len(w))])
    expected = (w @ per_sample) / w.sum() if reduction == "mean" else w @ per_sample
    assert loss(pred, target, sample_weight=w) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_whole_number_weights_equal_repeated_rows(name: str) -> None:
    pred, target = batch(name)
    w = np.array([2, 1, 0, 3, 1, 1, 4])
    rows = np.repeat(np.arange(len(w)), w)
    loss = LOSSES[name]("mean")
    value = loss(pred, target, sample_weight=w)
    grad = loss.backward()
    repeated = loss(pred[rows], target[rows])
    grad_rows = loss.backward()
    assert value == pytest.approx(repeated, rel=1e-13)
    expected_grad = np.zeros_like(pred)
    np.add.at(expected_grad, rows, grad_rows)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_weighted_gradient_matches_finite_differences(name: str, reduction: str) -> None:
    pred, target = batch(name, n=5, outputs=3, seed=1)
    if name in ("l1", "huber"):  # away from the kinks at |p - t| = 0 and |p - t| = delta
        pred = target + np.where(np.abs(pred) < 0.2, 0.5, pred) * 1.0
        pred[np.abs(np.abs(pred - target) - 0.7) < 0.05] += 0.2
    w = np.array([0.3, 0.0, 2.0, 1.0, 0.7])
    loss = LOSSES[name](reduction)
    loss(pred, target, sample_weight=w)
    grad = loss.backward()
    numeric = central_difference(lambda: LOSSES[name](reduction)(pred, target, sample_weight=w), pred)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_one_dimensional_predictions_take_one_weight_per_element() -> None:
    loss = mg.L1Loss()
    assert loss(np.array([1.0, -2.0, 4.0]), np.zeros(3), sample_weight=[1.0, 1.0, 2.0]) == 11.0 / 4.0
    np.testing.assert_array_equal(loss.backward(), [0.25, -0.25, 0.5])


def test_weights_that_are_all_zero_give_zero_loss_and_gradient() -> None:
    for name, make in LOSSES.items():
        pred, target = batch(name, n=3)
        loss = make("mean")
        assert loss(pred, target, sample_weight=np.zeros(3)) == 0.0, name
        np.testing.assert_array_equal(loss.backward(), np.zeros_like(pred))


@pytest.mark.parametrize(
    ("w", "message"),
    [
        (np.ones(6), r"shape \(7,\).*got shape \(6,\)"),
        (np.ones((7, 1)), r"got shape \(7, 1\) \(pass w.ravel\(\)\)"),
        (np.ones(1), r"shape \(7,\)"),
        (np.array([1.0, -0.5, 1, 1, 1, 1, 1]), r"must be >= 0, got -0.5 at index 1"),
        (np.array([1.0, np.nan, 1, 1, 1, 1, 1]), "NaN"),
        (np.array([1.0, np.inf, 1, 1, 1, 1, 1]), "inf"),
    ],
)
def test_bad_weights_are_refused(w: Any, message: str) -> None:
    for name, make in LOSSES.items():
        pred, target = batch(name)
        with pytest.raises(ValueError, match=message):
            make("mean")(pred, target, sample_weight=w)


def test_weights_are_never_written_to_and_strings_are_refused() -> None:
    pred, target = batch("mse")
    w = np.arange(7.0)
    w.flags.writeable = False
    mg.MSELoss()(pred, target, sample_weight=w)
    with pytest.raises(TypeError, match="real numbers"):
        mg.MSELoss()(pred, target, sample_weight=np.array(["a"] * 7))
    with pytest.raises(ValueError, match="0-d"):
        mg.MSELoss()(np.float64(1.0), np.float64(2.0), sample_weight=[1.0])


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_class_weights_match_torch_cross_entropy_weight(reduction: str) -> None:
    """torch's CrossEntropyLoss(weight=c) is the weighted mean with w_i = c[y_i]: the same numbers."""
    torch = pytest.importorskip("torch")
    pred, target = batch("cross_entropy", n=20, outputs=4, seed=3)
    class_weight = np.array([0.5, 2.0, 1.0, 3.0])
    loss = mg.CrossEntropyLoss(reduction=reduction)  # type: ignore[arg-type]
    value = loss(pred, target, sample_weight=class_weight[target])
    grad = loss.backward()
    z = torch.tensor(pred, requires_grad=True)
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(class_weight), reduction=reduction)(z, torch.tensor(target))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, z.grad.numpy(), rtol=1e-12, atol=1e-15)


def output_batch(name: str, n: int = 6, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    columns = 1 if name == "half_squared" else 3
    z = rng.normal(size=(n, columns))
    if name == "softmax_log":
        return z, np.eye(3)[rng.integers(0, 3, size=n)]
    if name == "sigmoid_log":
        return z, rng.integers(0, 2, size=(n, 3)).astype(float)
    if name == "half_poisson":
        return z, rng.poisson(2.0, size=(n, 3)).astype(float)
    return z, rng.normal(size=(n, 1))


OUTPUT_LOSSES: dict[str, Make] = {
    "softmax_log": lambda r: mg.SoftmaxLogLoss(reduction=r),  # type: ignore[arg-type]
    "sigmoid_log": lambda r: mg.SigmoidLogLoss(reduction=r),  # type: ignore[arg-type]
    "half_squared": lambda r: mg.HalfSquaredLoss(reduction=r),  # type: ignore[arg-type]
    "half_poisson": lambda r: mg.HalfPoissonLoss(reduction=r),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", sorted(OUTPUT_LOSSES))
def test_output_losses_weigh_their_rows(name: str, reduction: str) -> None:
    """scikit-learn's loss forms: all ones equal the unweighted loss to rounding; the weighted gradient is exact."""
    z, t = output_batch(name)
    loss = OUTPUT_LOSSES[name](reduction)
    plain, plain_grad = loss(z, t), loss.backward()
    assert loss(z, t, sample_weight=np.ones(len(z))) == pytest.approx(plain, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), plain_grad, rtol=1e-14, atol=1e-17)
    w = np.array([0.5, 2.0, 0.0, 1.0, 3.0, 0.25])
    per_row = np.array([OUTPUT_LOSSES[name]("mean")(z[i : i + 1], t[i : i + 1]) for i in range(len(w))])
    expected = w @ per_row / (w.sum() if reduction == "mean" else 1.0)
    assert loss(z, t, sample_weight=w) == pytest.approx(expected, rel=1e-13)
    grad = loss.backward()
    numeric = central_difference(lambda: OUTPUT_LOSSES[name](reduction)(z, t, sample_weight=w), z)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert loss(z, t, sample_weight=np.zeros(len(z))) == 0.0
    np.testing.assert_array_equal(loss.backward(), np.zeros_like(z))


def test_l2_penalty_divides_by_the_total_weight() -> None:
    layer = mg.Linear(2, 1, rng=0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    t = np.zeros((4, 1))
    loss = mg.L2Penalty(mg.MSELoss(), [layer.weight], alpha=0.5)
    plain = loss(layer(X), t)
    layer.zero_grad()
    layer.backward(loss.backward())
    plain_grad = layer.weight.grad.copy()
    assert loss(layer(X), t, sample_weight=np.ones(4)) == plain
    layer.zero_grad()
    layer.backward(loss.backward())
    assert layer.weight.grad.tobytes() == plain_grad.tobytes()
    w = np.array([1.0, 2.0, 0.0, 1.0])
    penalty = 0.25 * float(np.sum(layer.weight.data**2)) / 4.0
    assert loss(layer(X), t, sample_weight=w) == pytest.approx(mg.MSELoss()(layer(X), t, sample_weight=w) + penalty)
    assert loss(layer(X), t, sample_weight=np.zeros(4)) == 0.0
