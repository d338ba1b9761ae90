"""accuracy and r2_score against naive per-sample loops (and scikit-learn when it is installed)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.typing import NDArray

from minigrad.training.metrics import accuracy, r2_score

Array = NDArray[np.float64]


def naive_accuracy(scores: Array, labels: NDArray[np.int64]) -> float:
    correct = 0
    for row, label in zip(scores, labels, strict=True):
        best = 0
        for c in range(len(row)):
            if row[c] > row[best]:
                best = c
        correct += int(best == label)
    return correct / len(labels)


def naive_r2(pred: Array, target: Array) -> float:
    scores: list[float] = []
    for j in range(target.shape[1]):
        t, p = target[:, j], pred[:, j]
        mean = sum(t) / len(t)
        ss_res = sum((ti - pi) ** 2 for ti, pi in zip(t, p, strict=True))
        ss_tot = sum((ti - mean) ** 2 for ti in t)
        scores.append(float(1 - ss_res / ss_tot))
    return sum(scores) / len(scores)


@given(st.integers(1, 40), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_accuracy_is_the_fraction_of_argmax_hits(n: int, c: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, c))
    labels = rng.integers(0, c, size=n)
    assert accuracy(scores, labels) == pytest.approx(naive_accuracy(scores, labels), abs=1e-15)


def test_logits_and_probabilities_give_the_same_accuracy() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 4)) * 5
    labels = rng.integers(0, 4, size=50)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    assert accuracy(logits, labels) == accuracy(probs, labels)


def test_accuracy_target_forms_agree() -> None:
    scores = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    labels = np.array([1, 0, 1, 0])
    expected = 0.75
    assert accuracy(scores, labels) == expected
    assert accuracy(scores, labels.astype(float)) == expected
    assert accuracy(scores, labels.reshape(-1, 1)) == expected
    assert accuracy(scores, np.eye(3)[labels]) == expected
    assert accuracy(scores.tolist(), labels.tolist()) == expected


def test_ties_go_to_the_lowest_class_index() -> None:
    assert accuracy(np.array([[1.0, 1.0]]), np.array([0])) == 1.0


@pytest.mark.parametrize(
    ("pred", "threshold", "expected"),
    [
        ([0.2, 0.5, 0.51, 0.9], 0.5, 0.5),  # probabilities: > 0.5 is class 1 (0.5 itself is not)
        ([-1.0, 0.0, 0.01, 3.0], 0.0, 0.5),  # logits
        ([[-1.0], [0.0], [0.01], [3.0]], 0.0, 0.5),
    ],
)
def test_binary_accuracy_thresholds(pred: Any, threshold: float, expected: float) -> None:
    assert accuracy(np.array(pred), np.array([0, 1, 1, 0]), threshold=threshold) == expected


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        (np.zeros((3, 2)), np.array([0, 1]), "different numbers of samples"),
        (np.zeros((0, 2)), np.zeros(0), "N >= 1"),
        (np.zeros((2, 2, 2)), np.zeros(2), "shape"),
        (np.array([[np.nan, 0.0]]), np.array([0]), "NaN"),
        (np.zeros((2, 2)), np.array([0.5, 1.0]), "whole numbers"),
        (np.zeros((2, 3)), np.zeros((2, 2)), "target must have shape"),
        (np.zeros((2, 1)), np.zeros((2, 2)), "target must have shape"),
    ],
)
def test_accuracy_rejects_bad_input(pred: Array, target: Array, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        accuracy(pred, target)


@given(st.integers(2, 30), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_r2_matches_the_textbook_formula(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(n, k))
    pred = target + rng.normal(size=(n, k)) * rng.uniform(0.01, 2.0)
    assert r2_score(pred, target) == pytest.approx(naive_r2(pred, target), rel=1e-10, abs=1e-12)


def test_r2_landmarks() -> None:
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert r2_score(t, t) == 1.0
    assert r2_score(np.full(4, t.mean()), t) == 0.0
    assert r2_score(-t, t) < 0
    assert r2_score(t.reshape(-1, 1), t.reshape(-1, 1)) == 1.0


def test_r2_constant_target_scores_like_scikit_learn() -> None:
    t = np.ones((3, 2))
    assert r2_score(t, t) == 1.0
    assert r2_score(t + np.array([0.0, 0.5]), t) == 0.5  # column 1 perfect (1), column 2 wrong (0)


@pytest.mark.parametrize(
    ("pred", "target", "message"),
    [
        (np.zeros((3, 2)), np.zeros(3), "does not broadcast"),
        (np.zeros(1), np.zeros(1), "at least two"),
        (np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), "1-D or 2-D"),
        (np.array([1.0, np.inf]), np.zeros(2), "NaN"),
    ],
)
def test_r2_rejects_bad_input(pred: Array, target: Array, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        r2_score(pred, target)


def test_agrees_with_scikit_learn_when_installed() -> None:
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    target = rng.normal(size=(25, 3))
    pred = target + rng.normal(size=(25, 3))
    assert r2_score(pred, target) == pytest.approx(sk.r2_score(target, pred), rel=1e-12)
    scores = rng.normal(size=(25, 5))
    labels = rng.integers(0, 5, size=25)
    assert accuracy(scores, labels) == sk.accuracy_score(labels, scores.argmax(axis=1))
