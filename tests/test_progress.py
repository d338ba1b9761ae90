"""Progress: in place on a terminal, one line per epoch elsewhere, nothing when quiet; times formatted for people."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.training.progress import Progress, format_duration, format_line


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.0, "0.0s"),
        (0.04, "0.0s"),
        (9.96, "10.0s"),
        (59.9, "59.9s"),
        (60, "1:00"),
        (187.9, "3:07"),
        (3599.99, "59:59"),
        (3600, "1:00:00"),
        (3723, "1:02:03"),
        (-1, "?"),
        (float("inf"), "?"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_line_shows_epoch_losses_metrics_and_times() -> None:
    logs = {"loss": 0.123456789, "converged": False, "val_loss": 2.0, "val_accuracy": 0.5, "lr": 0.1, "time": 3.0}
    line = format_line(4, 12, logs, elapsed=3.0)
    assert line == "epoch  4/12  loss 0.12346  val_loss 2  val_accuracy 0.5  elapsed 3.0s  remaining 6.0s"


def test_remaining_time_is_the_mean_epoch_time_times_the_epochs_left() -> None:
    assert format_line(1, 101, {"loss": 1.0}, elapsed=0.5).endswith("elapsed 0.5s  remaining 50.0s")


def test_plain_stream_gets_one_line_per_epoch_with_logs_time() -> None:
    out = io.StringIO()
    p = Progress(3, stream=out)
    p.on_train_begin(mg.Linear(1, 1))
    for epoch in (1, 2, 3):
        p.on_epoch_end(epoch, {"loss": 1.0 / epoch, "time": 2.0 * epoch})
    p.on_train_end(mg.History())
    lines = out.getvalue().split("\n")
    assert lines == [
        "epoch 1/3  loss 1  elapsed 2.0s  remaining 4.0s",
        "epoch 2/3  loss 0.5  elapsed 4.0s  remaining 2.0s",
        "epoch 3/3  loss 0.33333  elapsed 6.0s  remaining 0.0s",
        "",
    ]
    assert "\r" not in out.getvalue()


def test_terminal_rewrites_one_line_in_place_and_ends_with_a_newline() -> None:
    out = FakeTerminal()
    p = Progress(3, stream=out, min_interval=0.0)
    p.on_train_begin(mg.Linear(1, 1))
    p.on_epoch_end(1, {"loss": 10.0, "val_loss": 123.0, "time": 1.0})
    p.on_epoch_end(2, {"loss": 1.0, "time": 2.0})  # shorter line: padded over the previous one
    p.on_epoch_end(3, {"loss": 1.0, "time": 3.0})
    p.on_train_end(mg.History())
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    frames = text[:-1].split("\r")[1:]
    assert len(frames) == 3
    assert frames[0] == "epoch 1/3  loss 10  val_loss 123  elapsed 1.0s  remaining 2.0s"
    assert frames[1].rstrip() == "epoch 2/3  loss 1  elapsed 2.0s  remaining 1.0s"
    assert len(frames[1]) == len(frames[0])  # the longer previous line is fully overwritten


def test_terminal_redraws_at_most_every_min_interval_but_always_the_last_state() -> None:
    out = FakeTerminal()
    clock = Clock()
    p = Progress(100, stream=out, min_interval=1.0, clock=clock)
    p.on_train_begin(mg.Linear(1, 1))
    for epoch in range(1, 8):
        clock.now = 0.25 * epoch  # no "time" in logs: the clock is used
        p.on_epoch_end(epoch, {"loss": float(epoch)})
    p.on_train_end(mg.History())  # stopped early at epoch 7: its line must still be shown
    frames = out.getvalue().rstrip("\n").split("\r")[1:]
    shown = [int(f.split()[1].split("/")[0]) for f in frames]
    assert shown == [1, 5, 7]  # at 0.25 s, at 1.25 s (1 s later), then the pending epoch 7 at the end


def test_progress_without_stream_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    p = Progress(1)
    p.on_train_begin(mg.Linear(1, 1))
    p.on_epoch_end(1, {"loss": 0.5, "time": 0.25})
    assert capsys.readouterr().out == "epoch 1/1  loss 0.5  elapsed 0.2s  remaining 0.0s\n"


def test_a_stream_whose_isatty_fails_counts_as_plain() -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    out = Closed()
    Progress(2, stream=out).on_epoch_end(1, {"loss": 1.0, "time": 1.0})
    assert out.getvalue().endswith("\n") and "\r" not in out.getvalue()


@pytest.mark.parametrize(
    ("kwargs"),
    [{"epochs": 0}, {"epochs": True}, {"epochs": 2, "min_interval": -1.0}, {"epochs": 2, "min_interval": float("nan")}],
)
def test_bad_arguments_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Progress(**kwargs)


def test_fit_verbose_on_a_terminal_updates_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    out = FakeTerminal()
    monkeypatch.setattr("sys.stdout", out)
    model = mg.Linear(1, 1, rng=0)
    X = np.array([[1.0], [2.0]])
    mg.fit(model, X, X, loss=mg.MSELoss(), optimizer=mg.SGD(model.parameters(), lr=0.1), epochs=50, verbose=1)
    text = out.getvalue()
    assert text.startswith("\repoch  1/50  loss ") and text.endswith("\n") and text.count("\n") == 1
    assert "\repoch 50/50  loss " in text


def test_an_error_during_fit_ends_the_terminal_line(monkeypatch: pytest.MonkeyPatch) -> None:
    out = FakeTerminal()
    monkeypatch.setattr("sys.stdout", out)
    model = mg.Linear(1, 1, bias=False, rng=0)
    # Epoch 1 is finite and its update makes the weight about 1e200, so the loss of epoch 2 overflows.
    optimizer = mg.SGD(model.parameters(), lr=1.0)
    with pytest.raises(mg.DivergenceError):
        mg.fit(model, [[1e100]], [0.0], loss=mg.MSELoss(), optimizer=optimizer, epochs=5, verbose=1)
    text = out.getvalue()
    assert text.startswith("\repoch 1/5  loss ") and text.endswith("\n") and text.count("\n") == 1
