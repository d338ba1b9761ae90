"""fit trains in training mode and evaluates in evaluation mode; ReduceLROnPlateau gets its metric; clipping."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg


class Probe(mg.Module):
    """An identity layer that records the mode and the number of rows of every forward."""

    def __init__(self) -> None:
        self.seen: list[tuple[bool, int]] = []

    def forward(self, x: Any) -> Any:
        self.seen.append((self.training, len(x)))
        return x

    def backward(self, grad_output: Any, *, need_input_grad: bool = False) -> Any:
        return grad_output


def data(n: int = 20, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("start_in_training_mode", [True, False])
def test_fit_trains_in_training_mode_evaluates_in_evaluation_mode_and_puts_the_mode_back(
    start_in_training_mode: bool,
) -> None:
    X, y = data()
    probe = Probe()
    model = mg.Sequential(mg.Linear(3, 4, rng=0), probe, mg.Tanh(), mg.Linear(4, 1, rng=1))
    model.train(start_in_training_mode)
    mg.fit(model, X[:14], y[:14], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2,
           batch_size=7, validation_data=(X[14:], y[14:]), metrics=["r2"])  # fmt: skip
    assert all(m.training is start_in_training_mode for m in model.modules())
    # the check before training (2 rows, evaluation), then per epoch: two batches of 7 (training), the
    # validation data (6 rows) and the training data for the metric (14 rows), both in evaluation mode
    epoch = [(True, 7), (True, 7), (False, 6), (False, 14)]
    assert probe.seen == [(False, 2), (False, 2)] + epoch * 2


def test_the_mode_is_put_back_after_an_error() -> None:
    X, y = data()
    model = mg.Sequential(mg.Linear(3, 1, rng=0), mg.Dropout(0.2, rng=0)).eval()

    def fail(epoch: int, logs: dict[str, Any]) -> None:
        assert model.training and model[1].training  # training mode while training
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2,
               callbacks=[fail])  # fmt: skip
    assert not model.training and not model[1].training


def test_dropout_training_is_the_manual_loop_bit_for_bit() -> None:
    """The checks before training draw no dropout mask (they run in evaluation mode)."""
    X, y = data()
    Y = y.reshape(-1, 1)

    def make() -> mg.Sequential:
        return mg.Sequential(mg.Linear(3, 8, rng=0), mg.ReLU(), mg.Dropout(0.3, rng=5), mg.Linear(8, 1, rng=1))

    model = make()
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.Adam(model.parameters(), lr=0.01), epochs=5, batch_size=8,
           rng=2, validation_data=(X, y), metrics=["r2"])  # fmt: skip
    ref = make()
    opt = mg.Adam(ref.parameters(), lr=0.01)
    loss = mg.MSELoss()
    gen = np.random.default_rng(2)
    for _ in range(5):
        order = gen.permutation(len(X))
        for start in range(0, len(X), 8):
            idx = order[start : start + 8]
            loss(ref(X[idx]), Y[idx])
            opt.zero_grad()
            ref.backward(loss.backward())
            opt.step()
    assert [p.data.tobytes() for p in model.parameters()] == [p.data.tobytes() for p in ref.parameters()]


def test_batch_norm_trains_on_batch_statistics_and_a_one_row_batch_is_refused_before_training() -> None:
    X, y = data(n=17)
    model = mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4), mg.ReLU(), mg.Linear(4, 1, rng=1))
    before = model.state_dict()
    with pytest.raises(ValueError, match="mini-batches of 8 has one row of the 17"):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=8)
    with pytest.raises(ValueError, match="at least two rows"):
        mg.fit(model, X[:1], y[:1], loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=2)
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=9,
               validation_data=(X, y))  # fmt: skip
    assert int(model[1].num_batches_tracked) == 6  # two batches an epoch; validation moved no statistic
    assert h.val_loss[-1] == mg.MSELoss()(model.predict(X), y.reshape(-1, 1))


@pytest.mark.parametrize("validation", [True, False])
def test_reduce_lr_on_plateau_gets_the_validation_loss_or_the_training_loss(validation: bool) -> None:
    X, y = data()
    model = mg.Sequential(mg.Linear(3, 8, rng=0), mg.Tanh(), mg.Linear(8, 1, rng=1))
    opt = mg.SGD(model.parameters(), lr=0.3, momentum=0.9)
    scheduler = mg.optim.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    h = mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=40, scheduler=scheduler,
               validation_data=(X[:5], -y[:5]) if validation else None)  # fmt: skip
    replay = mg.optim.ReduceLROnPlateau(mg.SGD([mg.Parameter(np.zeros(1))], lr=0.3), factor=0.5, patience=2)
    expected = []
    for value in h.val_loss if validation else h.loss:
        expected.append(replay.optimizer.lr)
        replay.step(value)
    assert h.lr == expected and min(h.lr) < 0.3  # it did cut the learning rate


def test_reduce_lr_on_plateau_in_max_mode_is_refused() -> None:
    X, y = data()
    model = mg.Linear(3, 1, rng=0)
    opt = mg.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="mode='min'"):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2,
               scheduler=mg.optim.ReduceLROnPlateau(opt, mode="max"))  # fmt: skip


@pytest.mark.parametrize("make", [lambda: mg.Linear(3, 1, rng=0), lambda: mg.Sequential(mg.Linear(3, 4, rng=0),
                                  mg.Tanh(), mg.Linear(4, 1, rng=1))], ids=["linear", "mlp"])  # fmt: skip
def test_clip_grad_norm_clips_before_every_step(make: Any) -> None:
    """Bit for bit the manual loop with clip_grad_norm_ (for a Linear: not the fused step, which does not clip)."""
    X, y = data()
    Y = y.reshape(-1, 1) * 100.0
    model = make()
    mg.fit(model, X, Y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.01), epochs=6,
           clip_grad_norm=1.0)  # fmt: skip
    ref = make()
    opt = mg.SGD(ref.parameters(), lr=0.01)
    loss = mg.MSELoss()
    norms = []
    for _ in range(6):
        loss(ref(X), Y)
        opt.zero_grad()
        ref.backward(loss.backward(), need_input_grad=False)
        norms.append(mg.clip_grad_norm_(ref.parameters(), 1.0))
        opt.step()
    assert min(norms) > 1.0  # every step was clipped
    assert [p.data.tobytes() for p in model.parameters()] == [p.data.tobytes() for p in ref.parameters()]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_bad_clip_grad_norm_is_refused(bad: Any) -> None:
    X, y = data()
    model = mg.Linear(3, 1, rng=0)
    with pytest.raises(ValueError, match="clip_grad_norm must be"):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=1,
               clip_grad_norm=bad)  # fmt: skip


class InterruptOnCall(mg.Module):
    """An identity layer that raises KeyboardInterrupt in its forward pass number *at*."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.calls = 0

    def forward(self, x: Any) -> Any:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        return x

    def backward(self, grad_output: Any, *, need_input_grad: bool = False) -> Any:
        return grad_output


def test_a_step_cut_after_the_batch_norm_forward_pass_puts_its_statistics_back() -> None:
    """Without a tracer: Ctrl-C after BatchNorm1d moved its running statistics, before the update."""
    X, y = data(n=8)

    def make(at: int) -> mg.Sequential:
        return mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4), InterruptOnCall(at), mg.Linear(4, 1, rng=1))

    done = make(0)
    mg.fit(done, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(done.parameters(), lr=0.1), epochs=2)
    model = make(2)  # forward passes: epoch 1, then epoch 2 is cut short after BatchNorm1d
    opt = mg.SGD(model.parameters(), lr=0.1)
    with pytest.raises(KeyboardInterrupt):
        mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=2)
    one = make(0)
    mg.fit(one, X, y, loss=mg.MSELoss(), optimizer=mg.SGD(one.parameters(), lr=0.1), epochs=1)
    for name, value in one.state_dict().items():
        assert model.state_dict()[name].tobytes() == value.tobytes(), name
    assert int(model[1].num_batches_tracked) == 1 and int(done[1].num_batches_tracked) == 2
