"""Optimizer.load_state_dict refuses every malformed state and then leaves the optimizer exactly as it was."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg


def trained_sgd() -> tuple[mg.SGD, mg.Linear]:
    model = mg.Linear(3, 2, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(2):
        for p in model.parameters():
            p.grad[...] = 1.0
        opt.step()
    return opt, model


def snapshot(opt: mg.Optimizer) -> dict[str, Any]:
    return opt.state_dict()


def assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a["hyperparameters"] == b["hyperparameters"]
    assert len(a["state"]) == len(b["state"])
    for sa, sb in zip(a["state"], b["state"], strict=True):
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k])


def bad_states(good: dict[str, Any]) -> list[tuple[dict[str, Any], type[Exception], str]]:
    hyper, state = good["hyperparameters"], good["state"]
    return [
        ({"hyperparameters": hyper}, KeyError, "needs keys"),
        ({**good, "extra": 1}, KeyError, "needs keys"),
        ({"hyperparameters": {k: v for k, v in hyper.items() if k != "momentum"}, "state": state}, KeyError, "hyper"),
        ({"hyperparameters": {**hyper, "betas": (0.9, 0.99)}, "state": state}, KeyError, "hyper"),
        ({"hyperparameters": hyper, "state": state[:1]}, ValueError, "state for 1 parameters"),
        (
            {"hyperparameters": hyper, "state": [{"momentum_buffer": np.zeros((3, 2))}, state[1]]},
            ValueError,
            "has shape",
        ),
        ({"hyperparameters": {**hyper, "lr": -1.0}, "state": state}, ValueError, "Invalid learning rate"),
        ({"hyperparameters": {**hyper, "momentum": float("nan")}, "state": state}, ValueError, "momentum"),
    ]


@pytest.mark.parametrize("case", range(8))
def test_bad_state_is_refused_and_changes_nothing(case: int) -> None:
    opt, _ = trained_sgd()
    before = snapshot(opt)
    state, error, message = bad_states(before)[case]
    with pytest.raises(error, match=message):
        opt.load_state_dict(state)
    assert_same(snapshot(opt), before)
    assert opt.lr == 0.1 and opt.momentum == 0.9


def test_good_state_round_trips_and_is_copied() -> None:
    opt, model = trained_sgd()
    saved = opt.state_dict()
    other = mg.SGD(model.parameters(), lr=0.5)
    other.load_state_dict(saved)
    assert_same(other.state_dict(), saved)
    assert other.momentum == 0.9
    buf = other.state[0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray)
    buf += 1.0  # the loaded buffer is the optimizer's own copy
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], buf - 1.0)


def test_state_arrays_take_the_parameter_dtype() -> None:
    model = mg.Linear(2, 1, dtype=np.float32, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.5)
    state = {
        "hyperparameters": opt.state_dict()["hyperparameters"],
        "state": [{"momentum_buffer": np.ones((1, 2))}, {"momentum_buffer": np.ones(1)}],
    }
    opt.load_state_dict(state)
    buf = opt.state[0]["momentum_buffer"]
    assert isinstance(buf, np.ndarray) and buf.dtype == np.float32


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"step": 1.5, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}, "'step' must be an int"),
        ({"step": True, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}, "'step' must be an int"),
        ({"step": 1, "exp_avg": None, "exp_avg_sq": np.zeros(2)}, "buffer must be an array"),
        ({"step": 1, "exp_avg": np.zeros(2), "exp_avg_sq": 0.0}, "buffer must be an array"),
    ],
)
def test_adam_refuses_damaged_state_at_the_next_step(state: dict[str, Any], message: str) -> None:
    p = mg.Parameter(np.array([1.0, 2.0]))
    opt = mg.Adam([p], lr=0.1)
    opt.state[0] = dict(state)
    with pytest.raises(TypeError, match=message):
        opt.step()


def test_parameter_repr_names_shape_and_dtype() -> None:
    assert repr(mg.Parameter(np.zeros((2, 3), dtype=np.float32))) == "Parameter(shape=(2, 3), dtype=float32)"


# -- every value checked against the class's _state_spec, all or nothing ---------------------------


def trained_adam(dtype: Any = np.float64) -> tuple[mg.Adam, mg.Linear]:
    model = mg.Linear(2, 1, rng=0, dtype=dtype)
    opt = mg.Adam(model.parameters(), lr=0.01)
    for p in model.parameters():
        p.grad[...] = 1.0
    opt.step()
    return opt, model


def with_state(good: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """*good* with the first parameter's state changed (a value of DROP removes the key)."""
    first = {**good["state"][0], **changes}
    first = {k: v for k, v in first.items() if v is not DROP}
    return {"hyperparameters": good["hyperparameters"], "state": [first, *good["state"][1:]]}


def with_hyper(good: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {"hyperparameters": {**good["hyperparameters"], **changes}, "state": good["state"]}


DROP = object()
Z = np.zeros((1, 2))

BAD_ADAM: dict[str, tuple[Any, type[Exception], str]] = {
    "step 'x'": (lambda g: with_state(g, step="x"), TypeError, "'step' of parameter 0 must be an int"),
    "step 1.5": (lambda g: with_state(g, step=1.5), TypeError, "must be an int"),
    "step 2.0": (lambda g: with_state(g, step=2.0), TypeError, "must be an int"),
    "step np.float64(2)": (lambda g: with_state(g, step=np.float64(2)), TypeError, "must be an int"),
    "step True": (lambda g: with_state(g, step=True), TypeError, "must be an int"),
    "step np.True_": (lambda g: with_state(g, step=np.True_), TypeError, "must be an int"),
    "step None": (lambda g: with_state(g, step=None), TypeError, "must be an int"),
    "step -1": (lambda g: with_state(g, step=-1), ValueError, r"\[0, 2\*\*63\)"),
    "step 2**63": (lambda g: with_state(g, step=2**63), ValueError, r"\[0, 2\*\*63\)"),
    "step 10**400": (lambda g: with_state(g, step=10**400), ValueError, "about 401 digits"),
    "step 0 with buffers": (lambda g: with_state(g, step=0), ValueError, "must be >= 1"),
    "step an array": (lambda g: with_state(g, step=np.array(3)), TypeError, "must be an int"),
    "exp_avg missing": (lambda g: with_state(g, exp_avg=DROP), KeyError, r"missing keys \['exp_avg'\]"),
    "step missing": (lambda g: with_state(g, step=DROP), KeyError, r"missing keys \['step'\]"),
    "unknown key": (lambda g: with_state(g, max_exp_avg_sq=Z), KeyError, r"unknown keys \['max_exp_avg_sq'\]"),
    "exp_avg_sq a number": (lambda g: with_state(g, exp_avg_sq=0.0), TypeError, "must be an array of shape"),
    "exp_avg_sq None": (lambda g: with_state(g, exp_avg_sq=None), TypeError, "must be an array of shape"),
    "exp_avg a list": (lambda g: with_state(g, exp_avg=[[0.0, 0.0]]), TypeError, "must be an array"),
    "exp_avg of ints": (lambda g: with_state(g, exp_avg=np.zeros((1, 2), int)), TypeError, "real floats"),
    "exp_avg complex": (lambda g: with_state(g, exp_avg=np.zeros((1, 2), complex)), TypeError, "real floats"),
    "exp_avg of bools": (lambda g: with_state(g, exp_avg=np.zeros((1, 2), bool)), TypeError, "real floats"),
    "exp_avg of another shape": (lambda g: with_state(g, exp_avg=np.zeros((2, 1))), ValueError, "has shape"),
    "exp_avg flattened": (lambda g: with_state(g, exp_avg=np.zeros(2)), ValueError, "has shape"),
    "exp_avg NaN": (lambda g: with_state(g, exp_avg=np.array([[0.0, np.nan]])), ValueError, "not finite"),
    "exp_avg_sq inf": (lambda g: with_state(g, exp_avg_sq=np.array([[0.0, np.inf]])), ValueError, "not finite"),
    "exp_avg_sq negative": (lambda g: with_state(g, exp_avg_sq=np.array([[0.0, -1.0]])), ValueError, "negative"),
    "state not a dict": (lambda g: {**g, "state": [[("step", 1)], g["state"][1]]}, TypeError, "must be a dict"),
    "state a generator": (lambda g: {**g, "state": (s for s in g["state"])}, TypeError, "must be a list"),
    "hyperparameters a list": (lambda g: {**g, "hyperparameters": [0.1]}, TypeError, "must be a dict"),
    "state_dict a list": (lambda g: [g], TypeError, "must be a dict"),
    "lr 10**400": (lambda g: with_hyper(g, lr=10**400), ValueError, "Invalid learning rate: an integer of about 401"),
    "lr longdouble 1e400": (
        lambda g: with_hyper(g, lr=np.longdouble("1e400")),
        ValueError,
        "Invalid learning rate",
    ),
    "lr a string": (lambda g: with_hyper(g, lr="0.1"), TypeError, "learning rate must be a number"),
    "betas with 10**400": (lambda g: with_hyper(g, betas=(0.9, 10**400)), ValueError, "beta parameter at index 1"),
    "betas of length 1": (lambda g: with_hyper(g, betas=(0.9,)), ValueError, "betas must be a pair"),
    "betas a string": (lambda g: with_hyper(g, betas="ab"), ValueError, "betas must be a pair"),
    "betas of strings": (lambda g: with_hyper(g, betas=("a", 0.9)), TypeError, "index 0 must be a number"),
    "beta1 of 1": (lambda g: with_hyper(g, betas=(1.0, 0.9)), ValueError, "index 0"),
    "eps a bool": (lambda g: with_hyper(g, eps=True), TypeError, "epsilon value must be a number"),
}


@pytest.mark.parametrize("case", list(BAD_ADAM))
def test_adam_refuses_every_bad_value_and_changes_nothing(case: str) -> None:
    opt, _ = trained_adam()
    before = snapshot(opt)
    make, error, message = BAD_ADAM[case]
    with pytest.raises(error, match=message):
        opt.load_state_dict(make(snapshot(opt)))
    assert_same(snapshot(opt), before)
    assert opt.lr == 0.01 and opt.betas == (0.9, 0.999)


def test_the_checks_use_the_hyper_parameters_being_loaded() -> None:
    """SGD keeps a momentum buffer only with momentum; a buffer is valid state either way (it is unused without)."""
    opt, model = trained_sgd()
    plain = mg.SGD(model.parameters(), lr=0.5)
    plain.load_state_dict(opt.state_dict())
    assert plain.momentum == 0.9 and isinstance(plain.state[0]["momentum_buffer"], np.ndarray)
    plain.load_state_dict(
        {"hyperparameters": {**opt.state_dict()["hyperparameters"], "momentum": 0.0}, "state": [{}, {}]}
    )
    assert plain.momentum == 0.0 and plain.state == [{}, {}]


def test_loaded_values_are_normalised() -> None:
    """Counts become ints, arrays the parameter's dtype (copies), hyper-parameters what the constructor makes."""
    opt, _ = trained_adam(np.float32)
    state = {
        "hyperparameters": {"lr": 1, "betas": [0.5, 0.75], "eps": 0, "weight_decay": np.float64(0.0)},
        "state": [{"step": np.int64(7), "exp_avg": np.ones((1, 2)), "exp_avg_sq": np.ones((1, 2))}, {}],
    }
    opt.load_state_dict(state)
    assert type(opt.state[0]["step"]) is int and opt.state[0]["step"] == 7
    assert type(opt.lr) is float and opt.betas == (0.5, 0.75) and type(opt.weight_decay) is float
    exp_avg = opt.state[0]["exp_avg"]
    assert isinstance(exp_avg, np.ndarray) and exp_avg.dtype == np.float32
    assert exp_avg is not state["state"][0]["exp_avg"]
    assert opt.state[1] == {}
    opt.step()  # a partly empty state is one the next step starts from
    assert opt.state[0]["step"] == 8 and opt.state[1]["step"] == 1


def test_a_value_beyond_the_parameter_dtype_is_refused() -> None:
    opt, _ = trained_adam(np.float32)
    before = snapshot(opt)
    with pytest.raises(ValueError, match="beyond the range of the parameter's dtype float32"):
        opt.load_state_dict(with_state(before, exp_avg=np.array([[1e39, 0.0]])))
    assert_same(snapshot(opt), before)


def test_sgd_refuses_a_nesterov_that_is_not_a_bool() -> None:
    opt, _ = trained_sgd()
    before = snapshot(opt)
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        opt.load_state_dict(with_hyper(before, nesterov="false"))
    assert_same(snapshot(opt), before)


def test_huge_hyper_parameters_raise_value_error_in_constructors() -> None:
    p = [mg.Parameter(np.zeros(2))]
    for make in (
        lambda: mg.SGD(p, lr=10**400),
        lambda: mg.SGD(p, lr=0.1, momentum=10**400),
        lambda: mg.Adam(p, lr=10**5000),
        lambda: mg.AdamW(p, betas=(0.9, 10**400)),
    ):
        with pytest.raises(ValueError, match="too large for a float"):
            make()


class TwoBuffers(mg.Optimizer):
    """A toy optimizer whose second buffer exists only when `keep_b` is set."""

    _hyperparameters = ("lr", "keep_b")
    _state_spec = {"a": "array", "b": "array", "n": "count"}  # noqa: RUF012

    def __init__(self, params: Any, lr: float = 0.1, keep_b: bool = False) -> None:
        super().__init__(params, lr)
        self.keep_b = keep_b

    def _required_state_keys(self) -> set[str]:
        return {"a", "b", "n"} if self.keep_b else {"a", "n"}

    def step(self) -> None:  # pragma: no cover - only the state checks are used
        pass


def test_required_keys_follow_the_subclass_and_its_hyper_parameters() -> None:
    p = mg.Parameter(np.zeros(2))
    opt = TwoBuffers([p])
    good = {"a": np.ones(2), "n": 3}
    opt.load_state_dict({"hyperparameters": {"lr": 0.1, "keep_b": False}, "state": [good]})
    assert opt.state[0]["n"] == 3
    with pytest.raises(KeyError, match=r"missing keys \['b'\]"):
        opt.load_state_dict({"hyperparameters": {"lr": 0.1, "keep_b": True}, "state": [good]})
    assert opt.keep_b is False and opt.state[0]["n"] == 3
    opt.load_state_dict({"hyperparameters": {"lr": 0.1, "keep_b": True}, "state": [{**good, "b": np.ones(2)}]})
    assert opt.keep_b is True


def test_a_spec_with_an_unknown_kind_is_reported() -> None:
    class Odd(mg.Optimizer):
        _state_spec = {"a": "matrix"}  # noqa: RUF012

    opt = Odd([mg.Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(TypeError, match="the kinds are 'array' and 'count'"):
        opt.load_state_dict({"hyperparameters": {"lr": 0.1}, "state": [{"a": np.ones(2)}]})
