"""train/eval modes, sub-module traversal, Sequential.append, num_parameters, summary and buffers in state_dict."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg


class Holder(mg.Module):
    """A module that never calls super().__init__ and holds a sub-module as an attribute."""

    def __init__(self) -> None:
        self.inner = mg.Sequential(mg.Linear(2, 3, rng=0), mg.Dropout(0.5, rng=1))
        self.head = mg.Linear(3, 1, rng=2)

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.head(self.inner(x))


def test_new_modules_train_and_eval_recurse_and_return_the_module() -> None:
    model = Holder()
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model and all(m.training for m in model.modules())
    assert model.train(False) is model and not model.inner[1].training
    with pytest.raises(TypeError, match="bool"):
        model.train("no")  # type: ignore[arg-type]


def test_modules_and_children_in_order_each_instance_once() -> None:
    shared = mg.ReLU()
    model = Holder()
    model.extra = shared  # type: ignore[attr-defined]
    model.again = shared  # type: ignore[attr-defined]
    assert [type(c).__name__ for c in model.children()] == ["Sequential", "Linear", "ReLU", "ReLU"]
    names = [type(m).__name__ for m in model.modules()]
    assert names == ["Holder", "Sequential", "Linear", "Dropout", "Linear", "ReLU"]
    seq = mg.Sequential(mg.Linear(1, 1), mg.Tanh())
    assert list(seq.children()) == list(seq)


def test_predict_runs_in_eval_mode_and_restores_each_mode() -> None:
    model = mg.Sequential(mg.Linear(4, 4, rng=0), mg.Dropout(0.5, rng=0))
    x = np.ones((3, 4))
    expected = model[0](x)
    model[0].training = False  # a mixed state must come back exactly
    np.testing.assert_array_equal(model.predict(x), expected)
    np.testing.assert_array_equal(model.predict(x, batch_size=2), expected)
    assert model.training and not model[0].training and model[1].training
    model.eval()
    np.testing.assert_array_equal(model.predict(x), expected)
    assert not model.training


def test_predict_restores_the_mode_on_error() -> None:
    model = mg.Sequential(mg.Linear(4, 1))
    with pytest.raises(ValueError):
        model.predict(np.ones((3, 5)))
    assert model.training and model[0].training


def test_append_num_parameters_and_refusals() -> None:
    model = mg.Sequential()
    relu = mg.ReLU()
    assert model.append(mg.Linear(3, 4)).append(relu) is model
    model.append(mg.Linear(4, 2))
    assert len(model) == 3 and model[1] is relu
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError, match="already"):
        model.append(relu)
    with pytest.raises(TypeError, match="Module"):
        model.append("relu")  # type: ignore[arg-type]
    assert mg.BatchNorm1d(5).num_parameters() == 10  # buffers are not parameters


def test_summary_table() -> None:
    model = mg.Sequential(
        mg.Linear(3, 4), mg.BatchNorm1d(4), mg.Sequential(mg.ReLU(), mg.Dropout(0.5, rng=0)), mg.Linear(4, 2)
    )
    model[1].training = True
    lines: list[str] = []
    model.summary((5, 3), print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0].split() == ["layer", "output", "shape", "parameters"]
    assert any(line.split() == ["0", "Linear", "(5,", "4)", "16"] for line in lines)
    assert any(line.split() == ["1", "BatchNorm1d", "(5,", "4)", "8"] for line in lines)
    assert any(line.split() == ["2", "Sequential"] for line in lines)
    assert any(line.split() == ["2.1", "Dropout", "(5,", "4)", "0"] for line in lines)
    assert any(line.split() == ["3", "Linear", "(5,", "2)", "10"] for line in lines)
    assert "total parameters: 34" in text and "buffers (not trained): 9 numbers" in text
    assert model[1].training and int(model[1].num_batches_tracked) == 0  # ran in eval mode, modes restored
    no_shapes: list[str] = []
    mg.Linear(2, 1).summary(print_fn=no_shapes.append)
    assert no_shapes[0].split() == ["layer", "parameters"] and no_shapes[2].split() == ["Linear", "3"]
    with pytest.raises(ValueError, match="input_shape"):
        model.summary([5, 3])  # type: ignore[arg-type]


def test_summary_prints_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    mg.Sequential().summary()
    assert "total parameters: 0" in capsys.readouterr().out


def test_state_dict_holds_buffers_after_parameters_and_loads_all_or_nothing() -> None:
    model = mg.Sequential(mg.Linear(2, 3, rng=0), mg.BatchNorm1d(3))
    model(np.random.default_rng(0).normal(size=(8, 2)))
    state = model.state_dict()
    assert list(state) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
    ]  # fmt: skip
    assert state["1.num_batches_tracked"].dtype == np.int64 and int(state["1.num_batches_tracked"]) == 1
    assert all(p is not b for p in model.parameters() for _, b in model.named_buffers())
    other = mg.Sequential(mg.Linear(2, 3, rng=1), mg.BatchNorm1d(3))
    other.load_state_dict(state)
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[name])
    before = other.state_dict()
    for bad, error in [
        ({**state, "1.running_var": np.full(3, np.nan)}, ValueError),
        ({**state, "1.running_mean": np.zeros(4)}, ValueError),
        ({**state, "1.num_batches_tracked": np.array(-1)}, ValueError),
        ({**state, "1.num_batches_tracked": np.array(1.5)}, ValueError),
        ({**state, "1.num_batches_tracked": np.array(np.inf)}, ValueError),
        ({**state, "1.num_batches_tracked": np.array("x")}, ValueError),
        ({k: v for k, v in state.items() if k != "1.running_var"}, KeyError),
        ({**state, "1.extra": np.zeros(1)}, KeyError),
    ]:
        with pytest.raises(error):
            other.load_state_dict(bad)
        for name, value in other.state_dict().items():
            np.testing.assert_array_equal(value, before[name])
    other.load_state_dict({**state, "1.num_batches_tracked": 7.0})
    assert int(other[1].num_batches_tracked) == 7


def test_load_state_dict_refuses_a_text_buffer() -> None:
    bn = mg.BatchNorm1d(2)
    state = bn.state_dict()
    with pytest.raises(ValueError, match="real numbers"):
        bn.load_state_dict({**state, "running_var": np.array(["a", "b"])})
