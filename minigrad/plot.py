"""Pictures of training: the loss curve of a History and the seed's approach to its goal.

Drawing needs the optional ``plot`` extra (``pip install 'minigrad[plot]'``,
which installs matplotlib); the rest of minigrad never imports matplotlib.
Figures are drawn with matplotlib's non-interactive Agg canvas directly
(``Figure`` + ``FigureCanvasAgg``, no ``pyplot``), so plotting works on a
machine without a display and changes no global matplotlib state: no backend
switch, no open figures left behind.

The file format follows the path's suffix, one of :data:`FORMATS` (``.png``,
``.svg``, ``.pdf``, ``.eps``, ``.jpg``, …; ``.pgf`` only where its TeX program is
installed); a path without a suffix is written as PNG.  The pictures use no
transparency, so PostScript draws them as they look elsewhere, without a warning.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from minigrad.training.history import History

__all__ = [
    "FORMATS",
    "MissingExtraError",
    "check_plot_path",
    "has_matplotlib",
    "history_figure",
    "plot_history",
    "plot_seed",
    "require_matplotlib",
    "seed_figure",
    "wants_log_scale",
]

#: The command that installs what plotting needs.
PLOT_EXTRA_HINT = "pip install 'minigrad[plot]'"

#: The picture formats written without any program beyond matplotlib and Pillow (its own dependency).
#: PGF is accepted too where its TeX program (``rcParams["pgf.texsystem"]``, xelatex by default) is installed;
#: raw RGBA pixel dumps (``.raw``, ``.rgba``) are not pictures a viewer opens and are refused.
FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")

# The grid's colour: matplotlib's default grid grey at 30% over white, drawn opaque (PostScript has no alpha).
_GRID_COLOR = "#e7e7e7"


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install.

    Attributes:
        extra: the name of the extra in minigrad's ``pyproject.toml``
            (``"plot"``, ``"data"``).

    Example:
        >>> err = MissingExtraError("plotting needs matplotlib", extra="plot")
        >>> str(err)
        "plotting needs matplotlib: install it with pip install 'minigrad[plot]'"
        >>> isinstance(err, ImportError)
        True
    """

    def __init__(self, what: str, *, extra: str, name: str | None = None) -> None:
        self.extra = extra
        super().__init__(f"{what}: install it with pip install 'minigrad[{extra}]'", name=name)


def has_matplotlib() -> bool:
    """True when matplotlib can be imported (the ``plot`` extra is installed).

    Example:
        >>> has_matplotlib() in (True, False)
        True
    """
    try:
        require_matplotlib()
    except MissingExtraError:
        return False
    return True


def require_matplotlib() -> ModuleType:
    """Import and return matplotlib, or raise :class:`MissingExtraError` naming the extra.

    Raises:
        MissingExtraError: (an ImportError) matplotlib is not installed.

    Example:
        >>> try:
        ...     mpl = require_matplotlib()
        ... except MissingExtraError as err:          # without matplotlib: the extra to install
        ...     print(err.extra == "plot")
        ... else:
        ...     print(mpl.__name__ == "matplotlib")
        True
    """
    try:
        return importlib.import_module("matplotlib")
    except ImportError as exc:
        raise MissingExtraError(
            "plotting needs matplotlib, which is not installed", extra="plot", name="matplotlib"
        ) from exc


def check_plot_path(path: str | os.PathLike[str]) -> str:
    """Check, before any work, that a picture can be written to *path*; return its format.

    The format is the lower-cased suffix without its dot, or ``"png"`` when
    the path has no suffix; it must be one of :data:`FORMATS`, or ``"pgf"``
    where its TeX program is installed.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: the path is empty, the suffix is not a format listed
            above, the path is a directory, its directory does not exist, or
            you may not write there.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> if has_matplotlib():
        ...     assert check_plot_path(folder / "loss.SVG") == "svg"
        ...     assert check_plot_path(folder / "loss") == "png"
    """
    if not os.fspath(path):
        raise ValueError("the picture's path is empty; give a file name such as loss.png")
    mpl = require_matplotlib()
    p = Path(path)
    fmt = p.suffix[1:].lower() or "png"
    if fmt not in FORMATS:
        texsystem = str(mpl.rcParams["pgf.texsystem"])
        if fmt == "pgf" and shutil.which(texsystem) is not None:
            return _check_place(p, fmt)
        why = f"PGF needs {texsystem}, which is not installed" if fmt == "pgf" else "not a picture format written here"
        raise ValueError(f"cannot write a picture as .{fmt} ({why}); use one of: .{', .'.join(FORMATS)}")
    if fmt == "webp" and not _pillow_writes_webp():
        raise ValueError("cannot write a picture as .webp (this Pillow was built without WebP); use .png")
    return _check_place(p, fmt)


def _pillow_writes_webp() -> bool:
    from PIL import features

    return bool(features.check("webp"))


def _check_place(p: Path, fmt: str) -> str:
    if p.is_dir():
        raise ValueError(f"{p} is a directory; give a file name such as {p / 'loss.png'}")
    parent = p.parent
    if not parent.is_dir():
        why = "is not a directory" if os.path.lexists(parent) else "does not exist"
        raise ValueError(f"cannot write {p}: {parent} {why}")
    if os.path.lexists(p) and not os.access(p, os.W_OK):
        raise ValueError(f"cannot write {p}: the file is read-only for you")
    if not os.path.lexists(p) and not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {p}: you may not create files in {parent}")
    return fmt


def wants_log_scale(values: Sequence[float], decades: float = 2.0) -> bool:
    """True when the positive finite *values* span more than *decades* powers of ten.

    Zeros, negatives and non-finite values are left out (a log axis cannot
    show them); fewer than two such values never ask for a log scale.

    Example:
        >>> wants_log_scale([100.0, 2.0, 1.5])
        False
        >>> wants_log_scale([1e4, 10.0, 0.5, 0.0])
        True
    """
    pos = [v for v in values if math.isfinite(v) and v > 0]
    if len(pos) < 2:
        return False
    return math.log10(max(pos)) - math.log10(min(pos)) > decades


def _series(values: Any, name: str) -> list[float]:
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}") from exc
    return out


def _new_figure(nrows: int, figsize: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    return fig, axes


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write *fig* to *path*; any failure is an OSError naming the path, and leaves no partial new file."""
    p = Path(path)
    fmt = check_plot_path(p)
    existed = os.path.lexists(p)
    try:
        fig.savefig(p, format=fmt, dpi=120)
    except BaseException as exc:  # an interrupted write, too, leaves no partial new file
        if not existed and p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
        if not isinstance(exc, Exception):
            raise
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise OSError(exc.errno, f"cannot write the picture {p}: {reason}") from exc
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise OSError(f"cannot write the picture {p}: {reason}") from exc
    return p


def history_figure(history: History, *, title: str | None = None) -> Figure:
    """Return a matplotlib Figure of the loss of each epoch of *history* (see :func:`plot_history`).

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: the history has no epochs.
        TypeError: the losses are not numbers.

    Example:
        >>> from minigrad.training.history import History
        >>> if has_matplotlib():
        ...     fig = history_figure(History(loss=[1e4, 1.0, 1e-4]))
        ...     assert fig.axes[0].get_yscale() == "log"
    """
    loss = _series(history.loss, "history.loss")
    if not loss:
        raise ValueError("history has no epochs: there is no loss to draw")
    val_raw = getattr(history, "val_loss", None)
    if not val_raw:
        val_raw = getattr(history, "metrics", {}).get("val_loss")
    val = _series(val_raw, "validation loss") if val_raw else []

    fig, (ax,) = _new_figure(1, (6.4, 4.0))
    marker = "o" if len(loss) <= 30 else None
    ax.plot(range(1, len(loss) + 1), loss, marker=marker, markersize=3, label="training loss")
    if val:
        ax.plot(range(1, len(val) + 1), val, marker=marker, markersize=3, linestyle="--", label="validation loss")
    if wants_log_scale(loss + val):
        ax.set_yscale("log", nonpositive="mask")
        ax.set_ylabel("loss (log scale)")
    else:
        ax.set_ylabel("loss")
    ax.set_xlabel("epoch")
    ax.grid(True, which="major", color=_GRID_COLOR)
    ax.legend(framealpha=1.0)
    ax.set_title(title if title is not None else "Loss per epoch")
    return fig


def plot_history(history: History, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Draw the loss of each epoch of *history* and write the picture to *path*.

    The training loss ``history.loss`` is drawn against the epoch (1, 2, …);
    the validation loss too when the history has one (``history.val_loss``
    or ``history.metrics["val_loss"]``).  The y axis is logarithmic when the
    drawn losses span more than two decades (:func:`wants_log_scale`), as
    they do when gradient descent converges geometrically; a loss of exactly
    0 cannot be shown on a log axis and is then left out.

    Args:
        history: what :func:`minigrad.fit` returned.
        path: the file to write; the suffix picks the format (one of :data:`FORMATS`).
        title: a title over the picture (default ``"Loss per epoch"``).

    Returns:
        *path* as a :class:`pathlib.Path`.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: the history has no epochs, or *path* cannot be written
            (see :func:`check_plot_path`).
        OSError: writing failed (the message names the path and why); a
            file that did not exist before is not left behind half written.

    Example:
        >>> import tempfile, pathlib
        >>> from minigrad.training.history import History
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "loss.png"
        >>> if has_matplotlib():
        ...     written = plot_history(History(loss=[4.0, 1.0, 0.25, 0.0625]), path)
        ...     assert written.read_bytes()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    """
    check_plot_path(path)
    return _save(history_figure(history, title=title), path)


def seed_figure(
    weights: Sequence[float], predictions: Sequence[float], goal: float, *, goal_weight: float | None = None
) -> Figure:
    """Return a matplotlib Figure of the seed's weight and prediction, step by step (see :func:`plot_seed`).

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: empty or different-length series, or a non-finite goal.
        TypeError: the series are not numbers.

    Example:
        >>> if has_matplotlib():
        ...     fig = seed_figure([1.0, 200.1], [2e5, 4.002e7], 9.975e7)
        ...     assert [ax.get_ylabel() for ax in fig.axes] == ["weight", "prediction"]
    """
    ws = _series(weights, "weights")
    ps = _series(predictions, "predictions")
    if not ws:
        raise ValueError("weights is empty: there is nothing to draw")
    if len(ws) != len(ps):
        raise ValueError(f"weights and predictions differ in length: {len(ws)} weights, {len(ps)} predictions")
    if not math.isfinite(goal):
        raise ValueError(f"goal must be finite, got {goal!r}")

    fig, (top, bottom) = _new_figure(2, (6.4, 6.0))
    steps = range(len(ws))
    marker = "o" if len(ws) <= 30 else None
    top.plot(steps, ws, marker=marker, markersize=3, color="tab:blue", label="weight")
    if goal_weight is not None:
        top.axhline(goal_weight, color="tab:green", linestyle="--", label=f"goal weight {goal_weight:g}")
    top.set_ylabel("weight")
    top.set_title("The weight, step by step")
    bottom.plot(steps, ps, marker=marker, markersize=3, color="tab:orange", label="prediction")
    bottom.axhline(goal, color="tab:green", linestyle="--", label=f"goal {goal:g}")
    bottom.set_ylabel("prediction")
    bottom.set_xlabel("step")
    bottom.set_title("The prediction approaching the goal")
    for ax in (top, bottom):
        ax.grid(True, color=_GRID_COLOR)
        ax.legend(loc="lower right", framealpha=1.0)
    return fig


def plot_seed(
    weights: Sequence[float],
    predictions: Sequence[float],
    goal: float,
    path: str | os.PathLike[str],
    *,
    goal_weight: float | None = None,
) -> Path:
    """Draw the seed's training: the weight and the prediction approaching the goal, step by step.

    Two panels share the step axis (0 = before training).  The top one shows
    the weight after each step, the bottom one the prediction made with that
    weight (``prediction = input * weight``) and the goal as a dashed line.
    With ``goal_weight`` (``goal / input``), the top panel also shows the
    weight that predicts the goal exactly.

    Args:
        weights: the weight before training and after each step.
        predictions: the prediction made with each of those weights (same length).
        goal: the goal prediction.
        path: the file to write; the suffix picks the format.
        goal_weight: the weight that reaches the goal, drawn dashed when given.

    Returns:
        *path* as a :class:`pathlib.Path`.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: empty or different-length series, non-finite goal, or
            *path* cannot be written (see :func:`check_plot_path`).
        OSError: writing failed (the message names the path and why).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "seed.png"
        >>> w = [1.0, 200.1, 319.56, 498.75]
        >>> if has_matplotlib():
        ...     written = plot_seed(w, [x * 2e5 for x in w], 9.975e7, path, goal_weight=498.75)
        ...     assert written.stat().st_size > 1000
    """
    check_plot_path(path)
    return _save(seed_figure(weights, predictions, goal, goal_weight=goal_weight), path)
