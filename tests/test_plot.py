"""minigrad.plot: the pictures are written, valid and drawn as documented; without matplotlib, a clear error."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from minigrad import plot
from minigrad.plot import MissingExtraError
from minigrad.training.history import History

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def mpl() -> object:
    return pytest.importorskip("matplotlib")


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import matplotlib`` fail, as on a machine without the plot extra."""
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def _xdata(line: Any) -> list[float]:
    return list(np.asarray(line.get_xdata(), dtype=float))


def _ydata(line: Any) -> list[float]:
    return list(np.asarray(line.get_ydata(), dtype=float))


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} does not start with the PNG signature"
    assert len(data) > 5000, f"{path} is only {len(data)} bytes: nothing was drawn"


# --- without matplotlib ---------------------------------------------------------------------------


def test_require_matplotlib_names_the_extra_when_missing(no_matplotlib: None) -> None:
    with pytest.raises(MissingExtraError, match=r"pip install 'minigrad\[plot\]'") as info:
        plot.require_matplotlib()
    assert isinstance(info.value, ImportError)
    assert info.value.extra == "plot"
    assert info.value.name == "matplotlib"
    assert not plot.has_matplotlib()


@pytest.mark.parametrize("draw", ["history", "seed", "check"])
def test_every_plot_function_needs_the_extra(no_matplotlib: None, tmp_path: Path, draw: str) -> None:
    path = tmp_path / "x.png"
    with pytest.raises(MissingExtraError, match=r"minigrad\[plot\]"):
        if draw == "history":
            plot.plot_history(History(loss=[1.0]), path)
        elif draw == "seed":
            plot.plot_seed([1.0], [2.0], 3.0, path)
        else:
            plot.check_plot_path(path)
    assert not path.exists()


def test_importing_minigrad_and_plot_does_not_import_matplotlib() -> None:
    import subprocess

    code = "import minigrad, minigrad.plot, minigrad.cli, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([100.0, 1.0], False),  # exactly two decades: linear
        ([100.1, 1.0], True),
        ([5.0], False),
        ([], False),
        ([1e16, 0.0, -1.0], False),  # one positive value
        ([1e16, 1e-3, 0.0], True),  # zero left out, the rest span 19 decades
        ([float("inf"), 1.0, 2.0], False),
        ([float("nan"), 1e-9, 1.0], True),
    ],
)
def test_wants_log_scale_more_than_two_decades(values: list[float], expected: bool) -> None:
    assert plot.wants_log_scale(values) is expected


def test_missing_extra_error_message() -> None:
    err = MissingExtraError("the digits example needs scikit-learn", extra="data")
    assert str(err) == "the digits example needs scikit-learn: install it with pip install 'minigrad[data]'"


# --- with matplotlib ------------------------------------------------------------------------------


def test_plot_history_writes_a_valid_png(mpl: object, tmp_path: Path) -> None:
    path = tmp_path / "loss.png"
    assert plot.has_matplotlib()
    written = plot.plot_history(History(loss=[4.0, 1.0, 0.25, 0.0625]), path)
    assert written == path
    _assert_png(path)


@pytest.mark.parametrize(("name", "head"), [("loss.svg", b"<?xml"), ("loss.pdf", b"%PDF"), ("loss", PNG_SIGNATURE)])
def test_the_suffix_picks_the_format(mpl: object, tmp_path: Path, name: str, head: bytes) -> None:
    path = plot.plot_history(History(loss=[2.0, 1.0]), tmp_path / name)
    assert path.read_bytes().startswith(head)


def test_history_figure_draws_training_and_validation(mpl: object) -> None:
    h = History(loss=[1.0, 0.5, 0.3], metrics={"val_loss": [1.2, 0.7, 0.6]})
    (ax,) = history_axes = plot.history_figure(h).axes
    assert len(history_axes) == 1
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["training loss", "validation loss"]
    assert _xdata(lines[0]) == [1, 2, 3]
    assert _ydata(lines[0]) == [1.0, 0.5, 0.3]
    assert _ydata(lines[1]) == [1.2, 0.7, 0.6]
    assert ax.get_yscale() == "linear"
    assert ax.get_xlabel() == "epoch"


def test_history_figure_reads_a_val_loss_attribute(mpl: object) -> None:
    h = SimpleNamespace(loss=[1.0, 0.5], val_loss=[2.0, 1.5], metrics={})
    (ax,) = plot.history_figure(h).axes  # type: ignore[arg-type]
    assert _ydata(ax.get_lines()[1]) == [2.0, 1.5]


def test_history_figure_without_validation_draws_one_line(mpl: object) -> None:
    (ax,) = plot.history_figure(History(loss=[1.0, 0.5])).axes
    assert len(ax.get_lines()) == 1


def test_history_figure_uses_log_scale_when_losses_span_decades(mpl: object) -> None:
    from minigrad.seed import train_seed

    _, history = train_seed(quiet=True)  # 9.9e15 down to exactly 0
    (ax,) = plot.history_figure(history, title="seed").axes
    assert ax.get_yscale() == "log"
    assert ax.get_title() == "seed"
    assert "log" in ax.get_ylabel()


def test_plot_seed_writes_two_panels(mpl: object, tmp_path: Path) -> None:
    weights = [1.0, 200.1, 319.56, 498.75]
    preds = [w * 2e5 for w in weights]
    fig = plot.seed_figure(weights, preds, 9.975e7, goal_weight=498.75)
    top, bottom = fig.axes
    assert _ydata(top.get_lines()[0]) == weights
    assert _xdata(top.get_lines()[0]) == [0, 1, 2, 3]
    assert _ydata(bottom.get_lines()[0]) == preds
    assert _ydata(bottom.get_lines()[1]) == [9.975e7, 9.975e7]  # the goal line
    assert _ydata(top.get_lines()[1]) == [498.75, 498.75]
    path = plot.plot_seed(weights, preds, 9.975e7, tmp_path / "seed.png", goal_weight=498.75)
    _assert_png(path)


def test_plot_seed_without_goal_weight_draws_only_the_weight(mpl: object) -> None:
    top, _ = plot.seed_figure([1.0, 2.0], [2.0, 4.0], 5.0).axes
    assert len(top.get_lines()) == 1


def test_plotting_leaves_the_callers_lists_and_matplotlib_state_alone(mpl: object, tmp_path: Path) -> None:
    import matplotlib

    backend = matplotlib.get_backend()
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    weights, preds = [1.0, 2.0], [2.0, 4.0]
    h = History(loss=[3.0, 2.0])
    plot.plot_seed(weights, preds, 5.0, tmp_path / "a.png")
    plot.plot_history(h, tmp_path / "b.png")
    assert weights == [1.0, 2.0] and preds == [2.0, 4.0] and h.loss == [3.0, 2.0]
    assert matplotlib.get_backend() == backend
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([], [], 1.0), "empty"),
        (([1.0, 2.0], [1.0], 1.0), "differ in length"),
        (([1.0], [1.0], float("nan")), "goal must be finite"),
    ],
)
def test_seed_figure_refuses_bad_series(
    mpl: object, args: tuple[list[float], list[float], float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        plot.seed_figure(*args)


def test_plot_history_refuses_an_empty_history(mpl: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no epochs"):
        plot.plot_history(History(), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_non_numbers_are_a_type_error(mpl: object) -> None:
    with pytest.raises(TypeError, match=r"history\.loss"):
        plot.history_figure(History(loss=["a"]))  # type: ignore[list-item]


def test_check_plot_path(mpl: object, tmp_path: Path) -> None:
    assert plot.check_plot_path(tmp_path / "x.PNG") == "png"
    assert plot.check_plot_path(tmp_path / "x.svg") == "svg"
    assert plot.check_plot_path(tmp_path / "noext") == "png"
    with pytest.raises(ValueError, match=r"cannot write a picture as \.foo"):
        plot.check_plot_path(tmp_path / "x.foo")
    with pytest.raises(ValueError, match="does not exist"):
        plot.check_plot_path(tmp_path / "missing" / "x.png")
    with pytest.raises(ValueError, match="is a directory"):
        plot.check_plot_path(tmp_path)


def test_a_bad_path_is_refused_before_drawing(mpl: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        plot.plot_seed([1.0], [1.0], 1.0, tmp_path / "missing" / "x.png")


# --- formats: only those that work here, and no warning while writing them -----------------------

# The first bytes of each format that matplotlib writes (svgz and the others compressed by Pillow are checked by size).
_MAGIC = {"png": PNG_SIGNATURE, "pdf": b"%PDF", "svg": b"<?xml", "eps": b"%!PS", "ps": b"%!PS", "jpg": b"\xff\xd8"}


@pytest.mark.parametrize("fmt", plot.FORMATS)
def test_every_accepted_format_is_written_without_a_warning(
    mpl: object, tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    # PostScript has no transparency: matplotlib logs a warning (on stderr, whatever -q says) for any
    # transparent artist, such as a grid drawn with alpha or a legend's default frame.
    import warnings

    path = tmp_path / f"seed.{fmt}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.plot_seed([1.0, 200.1, 319.56], [2e5, 4.002e7, 6.3912e7], 9.975e7, path, goal_weight=498.75)
        plot.plot_history(History(loss=[4.0, 1.0], val_loss=[5.0, 2.0]), tmp_path / f"loss.{fmt}")
    assert [r.getMessage() for r in caplog.records if r.levelno >= 30] == []
    assert capfd.readouterr().err == ""
    data = path.read_bytes()
    assert data.startswith(_MAGIC.get(fmt, b"")) and len(data) > 1000


@pytest.mark.parametrize("name", ["x.raw", "x.rgba", "x.foo", "x.gif"])
def test_formats_that_are_no_picture_or_unknown_are_refused(mpl: object, tmp_path: Path, name: str) -> None:
    with pytest.raises(
        ValueError,
        match=r"cannot write a picture as \.\w+ \(not a picture format written here\); "
        r"use one of: \.png, \.pdf, \.svg",
    ):
        plot.check_plot_path(tmp_path / name)


def test_an_empty_path_is_refused(mpl: object) -> None:
    with pytest.raises(ValueError, match="path is empty"):
        plot.check_plot_path("")


def test_pgf_needs_its_tex_program(mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plot.shutil, "which", lambda name: None)
    with pytest.raises(
        ValueError, match=r"cannot write a picture as \.pgf \(PGF needs xelatex, which is not installed\)"
    ):
        plot.check_plot_path(tmp_path / "x.pgf")


def test_a_failure_while_writing_is_an_oserror_and_leaves_no_file(
    mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Claim that xelatex is installed: the PGF backend then fails inside savefig, as it does when
    # the TeX program is broken. That must be one OSError naming the path, with no half-written file.
    import shutil

    if shutil.which("xelatex") is not None:
        pytest.skip("xelatex is installed here: PGF would be written")
    monkeypatch.setattr(plot.shutil, "which", lambda name: f"/usr/bin/{name}")
    path = tmp_path / "seed.pgf"
    assert plot.check_plot_path(path) == "pgf"
    with pytest.raises(OSError, match=rf"cannot write the picture {path}: RuntimeError: .*xelatex") as info:
        plot.plot_seed([1.0, 2.0], [2.0, 4.0], 4.0, path)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert not path.exists()


def test_an_os_error_while_writing_keeps_its_errno_and_an_old_file(
    mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    path = tmp_path / "old.png"
    path.write_bytes(b"old")

    def disk_full(self: Any, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", disk_full)
    with pytest.raises(OSError, match=f"cannot write the picture {path}: No space left on device") as info:
        plot.plot_history(History(loss=[1.0, 0.5]), path)
    assert info.value.errno == 28
    assert path.exists()  # the caller's file is not deleted (its old content is lost: matplotlib wrote over it)
    new = tmp_path / "new.png"
    with pytest.raises(OSError, match="No space left"):
        plot.plot_history(History(loss=[1.0, 0.5]), new)
    assert not new.exists()


def test_webp_needs_a_pillow_that_writes_it(mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plot, "_pillow_writes_webp", lambda: False)
    with pytest.raises(ValueError, match=r"cannot write a picture as \.webp \(this Pillow was built without WebP\)"):
        plot.check_plot_path(tmp_path / "x.webp")


def test_a_place_that_cannot_be_written_is_refused_before_drawing(
    mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match=r"cannot write .*x\.png: .*notes\.txt is not a directory"):
        plot.check_plot_path(tmp_path / "notes.txt" / "x.png")
    old = tmp_path / "old.png"
    old.write_bytes(b"")
    # Root may write anywhere: let os.access answer as it would for an ordinary user without the rights.
    monkeypatch.setattr(plot.os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match="the file is read-only for you"):
        plot.check_plot_path(old)
    with pytest.raises(ValueError, match=f"you may not create files in {tmp_path}"):
        plot.check_plot_path(tmp_path / "new.png")


def test_an_interrupted_write_leaves_no_partial_new_file(
    mpl: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    def interrupted(self: Any, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", interrupted)
    path = tmp_path / "loss.png"
    with pytest.raises(KeyboardInterrupt):
        plot.plot_history(History(loss=[1.0, 0.5]), path)
    assert not path.exists()
