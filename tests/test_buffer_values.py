"""A BatchNorm1d state with a negative or non-finite running_var, or a negative count, is refused, nothing changed.

Both ways in, ``Module.load_state_dict`` and ``mg.load``, apply one rule
(``minigrad.nn.module.check_buffer_value``) to every value before writing any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.module import check_buffer_value, nonnegative_buffers


def make(seed: int) -> mg.Sequential:
    """Two BatchNorm1d layers, trained a few batches, so every parameter and buffer differs between seeds."""
    model = mg.Sequential(
        mg.Linear(3, 4, rng=seed), mg.BatchNorm1d(4), mg.Tanh(), mg.Linear(4, 2, rng=seed + 1), mg.BatchNorm1d(2)
    )
    rng = np.random.default_rng(seed)
    for layer in (model[1], model[4]):
        layer.weight.data[...] = rng.uniform(0.5, 2.0, size=layer.weight.shape)
        layer.bias.data[...] = rng.normal(size=layer.bias.shape)
    for _ in range(seed % 5 + 2):
        model(rng.normal(size=(6, 3)))
    return model


BAD = {
    "negative running_var": ("1.running_var", lambda v: np.where(np.arange(v.size) == 2, -1e-3, v)),
    "NaN running_var": ("1.running_var", lambda v: np.where(np.arange(v.size) == 1, np.nan, v)),
    "inf running_var": ("4.running_var", lambda v: np.where(np.arange(v.size) == 0, np.inf, v)),
    "-inf running_var": ("4.running_var", lambda v: np.where(np.arange(v.size) == 1, -np.inf, v)),
    "negative num_batches_tracked": ("4.num_batches_tracked", lambda v: np.array(-1, dtype=np.int64)),
}


def bad_state(case: str) -> dict[str, Any]:
    """The state of another model (every value different) with one bad buffer, in the last layer or an earlier one."""
    state = make(7).state_dict()
    key, change = BAD[case]
    state[key] = change(state[key]).astype(state[key].dtype)
    return state


def assert_unchanged(model: mg.Sequential, before: dict[str, Any]) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for name, value in before.items():
        np.testing.assert_array_equal(after[name], value, err_msg=name)


@pytest.mark.parametrize("case", sorted(BAD))
def test_load_state_dict_refuses_a_bad_buffer_and_changes_nothing(case: str) -> None:
    model = make(0)
    before = model.state_dict()
    other = bad_state(case)
    assert all(not np.array_equal(other[k], before[k]) for k in before)  # a partial write would show
    with pytest.raises(ValueError, match=BAD[case][0].replace(".", r"\.")):
        model.load_state_dict(other)
    assert_unchanged(model, before)


@pytest.mark.parametrize("case", sorted(BAD))
def test_mg_load_refuses_a_bad_buffer_and_changes_nothing(case: str, tmp_path: Path) -> None:
    source = make(7)
    key, change = BAD[case]
    buffer = dict(source.named_buffers())[key]
    buffer[...] = change(buffer)  # a model holding the bad value, saved as it is
    path = mg.save(source, tmp_path / "bad.npz")
    model = make(0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=BAD[case][0].replace(".", r"\.")):
        mg.load(model, path)
    assert_unchanged(model, before)


@pytest.mark.parametrize("path_kind", ["load_state_dict", "mg.load"])
def test_negative_values_name_the_rule(path_kind: str, tmp_path: Path) -> None:
    model = make(0)
    expectations = {
        "negative running_var": r"must be >= 0 \(a statistic such as a variance\), got -0\.001 at index 2",
        "negative num_batches_tracked": r"must be >= 0 \(a count\), got -1",
    }
    for case, expected in expectations.items():
        state = bad_state(case)
        with pytest.raises(ValueError, match=expected):
            if path_kind == "load_state_dict":
                model.load_state_dict(state)
            else:
                source = make(7)
                for name, b in source.named_buffers():
                    b[...] = state[name]
                mg.load(model, mg.save(source, tmp_path / "bad.npz"))


def test_a_running_var_of_zero_is_accepted_by_both_and_evaluates_finite(tmp_path: Path) -> None:
    state = make(7).state_dict()
    state["1.running_var"] = np.zeros(4)
    model = make(0)
    model.load_state_dict(state)
    assert np.array_equal(model[1].running_var, np.zeros(4))
    out = model.predict(np.random.default_rng(0).normal(size=(5, 3)))
    assert np.isfinite(out).all()  # eps > 0 keeps 1 / sqrt(running_var + eps) finite
    other = make(3)
    mg.load(other, mg.save(model, tmp_path / "zero.npz"))
    assert np.array_equal(other[1].running_var, np.zeros(4))


def test_the_rule_covers_running_var_only_and_running_mean_may_be_negative() -> None:
    model = make(0)
    assert nonnegative_buffers(model) == {"1.running_var", "4.running_var"}
    state = make(7).state_dict()
    state["1.running_mean"] = -np.abs(state["1.running_mean"]) - 1.0
    model.load_state_dict(state)
    np.testing.assert_array_equal(model[1].running_mean, state["1.running_mean"])


def test_check_buffer_value_alone() -> None:
    check_buffer_value("b", np.array([0.0, 2.0]), nonnegative=True)
    check_buffer_value("b", np.array([-1.0, 2.0]), nonnegative=False)  # a mean may be negative
    check_buffer_value("b", np.array(0, dtype=np.int64), nonnegative=False)
    for value, nonnegative in [
        (np.array([1.0, -1e-300]), True),
        (np.array([np.nan]), False),
        (np.array(-1, dtype=np.int64), False),  # an integer buffer is a count, whatever the module says
    ]:
        with pytest.raises(ValueError, match="'b'"):
            check_buffer_value("'b'", value, nonnegative=nonnegative)


def test_a_module_of_ones_own_declares_its_nonnegative_buffers() -> None:
    class Scale(mg.Module):
        _buffer_names = ("scale",)
        _nonnegative_buffer_names = ("scale",)

        def __init__(self) -> None:
            self.scale = np.ones(2)

        def forward(self, x: Any) -> Any:
            return np.asarray(x) * self.scale

        def backward(self, grad_output: Any, *, need_input_grad: bool = True) -> Any:
            return grad_output * self.scale

    model = mg.Sequential(Scale())
    with pytest.raises(ValueError, match=r"state_dict\['0\.scale'\] must be >= 0"):
        model.load_state_dict({"0.scale": np.array([1.0, -2.0])})
    np.testing.assert_array_equal(model[0].scale, np.ones(2))
