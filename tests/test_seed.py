"""The seed's example, bit for bit, as the 1-D case of minigrad's gradient descent.

The seed ("Machine Learning from Scratch in Elixir") predicts ``input * weight``,
compares with ``delta ** 2`` and learns with ``weight -= delta * input * alpha``.
MSELoss's gradient carries the 2 that the seed leaves out, so the seed's ``alpha`` is
SGD's ``2 * lr``; halving is exact in binary floating point, so every number below
must come out exactly, with ``==``, never ``approx``.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.seed import elixir_float

BUDGET = 200_000.0
GROSS = 99_750_000.0
ALPHA = 1e-11

# The trace lines the seed prints (its first three and its last three lines).
SEED_HEAD = [
    "weight: 1.0, current_prediction: , goal_prediction: 9.975e7",
    "weight: 200.1, current_prediction: 2.0e5, goal_prediction: 9.975e7",
    "weight: 319.56, current_prediction: 4.002e7, goal_prediction: 9.975e7",
]
SEED_TAIL = [
    "weight: 498.74999999999994, current_prediction: 99749999.99999997, goal_prediction: 9.975e7",
    "weight: 498.75, current_prediction: 99749999.99999999, goal_prediction: 9.975e7",
    "Training Complete, final weight: 498.75",
]


def seed_model(weight: float) -> mg.Linear:
    model = mg.Linear(1, 1, bias=False)
    model.weight.data[...] = weight
    return model


def reference_weights(alpha: float = ALPHA, start: float = 1.0) -> list[float]:
    """The seed's recursion in plain Python floats: every weight it prints, in order."""
    x, y, w = BUDGET, GROSS, start
    weights = [w]
    while x * w != y:
        w = w - (x * w - y) * x * alpha
        weights.append(w)
        assert len(weights) < 1000, "the reference loop does not converge"
    return weights


def bits(values: list[float]) -> list[str]:
    """Hex form of floats, so that a failure shows the exact bits that differ."""
    return [float(v).hex() for v in values]


def test_reference_loop_is_the_seeds_trace() -> None:
    weights = reference_weights()
    assert len(weights) == 73
    assert weights[:4] == [1.0, 200.1, 319.56, 391.236]
    assert weights[-2:] == [498.74999999999994, 498.75]


def test_predict_250000_for_budget_100000() -> None:
    pred = seed_model(2.5)(np.array([[100_000.0]]))
    assert pred.shape == (1, 1)
    assert pred.dtype == np.float64
    assert pred[0, 0] == 250000.0


def test_compare_delta_and_squared_error() -> None:
    model = seed_model(2.5)
    pred = model(np.array([[BUDGET]]))
    delta = pred[0, 0] - GROSS
    assert delta == -99250000.0
    loss_fn = mg.MSELoss()
    assert loss_fn(pred, np.array([[GROSS]])) == 9850562500000000.0
    # MSELoss's gradient is 2 * delta (one element): the seed's delta doubled, exactly.
    assert loss_fn.backward()[0, 0] == 2 * -99250000.0


def test_learn_one_update_with_alpha_1() -> None:
    model = seed_model(2.5)
    loss_fn = mg.MSELoss()
    opt = mg.SGD(model.parameters(), lr=1 / 2)
    loss_fn(model(np.array([[BUDGET]])), np.array([[GROSS]]))
    opt.zero_grad()
    model.backward(loss_fn.backward())
    opt.step()
    assert model.weight.data[0, 0] == 19850000000002.5


def test_fit_with_tol_zero_follows_the_seed_bit_for_bit() -> None:
    model = seed_model(1.0)
    weights: list[float] = [float(model.weight.data[0, 0])]
    converged: list[bool] = []

    def record(epoch: int, logs: dict[str, Any]) -> None:
        converged.append(logs["converged"])
        if not logs["converged"]:  # the stopping epoch makes no update
            weights.append(float(model.weight.data[0, 0]))

    history = mg.fit(
        model,
        np.array([[BUDGET]]),
        np.array([[GROSS]]),
        loss=mg.MSELoss(),
        optimizer=mg.SGD(model.parameters(), lr=ALPHA / 2),
        epochs=1000,
        tol=0.0,
        callbacks=[record],
    )
    expected = reference_weights()
    assert bits(weights) == bits(expected)
    assert len(weights) == 73
    assert weights[:4] == [1.0, 200.1, 319.56, 391.236]
    assert weights[-2:] == [498.74999999999994, 498.75]
    assert history.epochs == 73
    assert len(history.loss) == 73
    assert history.stop_reason == "tol"
    assert history.loss[-1] == 0.0
    assert all(v > 0.0 for v in history.loss[:-1])
    assert converged == [False] * 72 + [True]
    assert model.weight.data[0, 0] == 498.75


def test_manual_loop_follows_the_seed_bit_for_bit() -> None:
    model = seed_model(1.0)
    loss_fn = mg.MSELoss()
    opt = mg.SGD(model.parameters(), lr=ALPHA / 2)
    X, y = np.array([[BUDGET]]), np.array([[GROSS]])
    weights = [float(model.weight.data[0, 0])]
    while True:
        pred = model(X)
        if loss_fn(pred, y) == 0.0:
            break
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        weights.append(float(model.weight.data[0, 0]))
        assert len(weights) < 1000
    assert bits(weights) == bits(reference_weights())


def test_final_weight_predicts_the_gross_exactly() -> None:
    assert seed_model(498.75)(np.array([[BUDGET]]))[0, 0] == 99750000.0


def test_python_m_minigrad_prints_the_seeds_trace() -> None:
    result = subprocess.run([sys.executable, "-m", "minigrad"], capture_output=True, text=True, check=True, timeout=60)
    lines = result.stdout.splitlines()
    assert lines[:3] == SEED_HEAD
    assert lines[-3:] == SEED_TAIL
    assert lines[-1] == "Training Complete, final weight: 498.75"
    # One line per weight, then the final line.
    assert len(lines) == 73 + 1
    assert result.stderr == ""


def test_trace_lines_match_the_reference_weights() -> None:
    """Every printed weight is the reference weight, in the seed's number format."""
    result = subprocess.run([sys.executable, "-m", "minigrad"], capture_output=True, text=True, check=True, timeout=60)
    printed = [line.split(",")[0].removeprefix("weight: ") for line in result.stdout.splitlines()[:-1]]
    assert [float(v) for v in printed] == reference_weights()


@pytest.mark.parametrize("alpha", [ALPHA, 2e-11, 5e-12])
def test_other_alphas_also_match_bit_for_bit(alpha: float) -> None:
    """lr = alpha / 2 is exact for any alpha, not just the seed's."""
    model = seed_model(1.0)
    opt = mg.SGD(model.parameters(), lr=alpha / 2)
    loss_fn = mg.MSELoss()
    X, y = np.array([[BUDGET]]), np.array([[GROSS]])
    w = 1.0
    for _ in range(40):
        loss_fn(model(X), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
        w = w - (BUDGET * w - GROSS) * BUDGET * alpha
        assert model.weight.data[0, 0].hex() == w.hex()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (-2.5, "-2.5"),
        (0.001, "0.001"),
        (1e-7, "1.0e-7"),
        (1.5e-5, "1.5e-5"),
        (1e22, "1.0e22"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_elixir_float_edge_cases(value: float, text: str) -> None:
    assert elixir_float(value) == text
