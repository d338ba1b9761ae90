"""r2_score and accuracy: a target (N,) for a one-output prediction (N, 1); nothing else broadcasts."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


def test_r2_score_single_output_either_way_round() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    pred = (y + rng.normal(scale=0.3, size=50)).reshape(-1, 1)
    expected = mg.r2_score(pred.ravel(), y)
    assert mg.r2_score(pred, y) == expected
    assert mg.r2_score(pred.ravel(), y.reshape(-1, 1)) == expected
    assert mg.r2_score(pred, y.reshape(-1, 1)) == expected


@pytest.mark.parametrize(
    ("pred_shape", "target_shape"),
    [((50, 2), (50,)), ((50, 1), (49,)), ((50,), (50, 2)), ((50, 1), (1, 50)), ((50, 1, 1), (50,))],
)
def test_r2_score_never_broadcasts_otherwise(pred_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        mg.r2_score(np.ones(pred_shape), np.ones(target_shape))


def test_accuracy_single_output_with_flat_targets() -> None:
    pred = np.array([[0.9], [0.2], [0.7], [0.4]])
    assert mg.accuracy(pred, np.array([1, 0, 0, 0])) == 0.75
    assert mg.accuracy(pred.ravel(), np.array([[1], [0], [0], [0]])) == 0.75
    with pytest.raises(ValueError):
        mg.accuracy(pred, np.array([1, 0, 0]))
    with pytest.raises(ValueError):
        mg.accuracy(pred, np.ones((4, 2)))
