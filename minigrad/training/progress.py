"""Progress: a per-epoch display of a fit (epoch, losses, metrics, elapsed and remaining time).

On a terminal (``stream.isatty()``) the line is rewritten in place with a
carriage return ``'\\r'``; in a log file or a pipe each epoch gets one plain
line.  ``fit(..., verbose=1)`` adds it; ``verbose=0`` shows nothing.
No dependency beyond the standard library.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import TextIO

from minigrad.nn.module import Module
from minigrad.training.callbacks import Callback, Logs
from minigrad.training.history import History

#: Keys of ``logs`` that the display does not show as numbers.
_HIDDEN = ("loss", "converged", "time", "lr")


def format_duration(seconds: float) -> str:
    """Format a duration for people: ``"0.4s"``, ``"42.0s"``, ``"3:07"``, ``"1:02:03"``.

    Under a minute the seconds get one decimal; from a minute on it is
    ``m:ss`` and from an hour ``h:mm:ss`` (rounded down to the second).

    Example:
        >>> format_duration(0.42), format_duration(59.96), format_duration(187), format_duration(3723.9)
        ('0.4s', '60.0s', '3:07', '1:02:03')
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_line(epoch: int, epochs: int, logs: Logs, elapsed: float) -> str:
    """One progress line: epoch, loss, other numbers in ``logs``, elapsed and remaining time.

    The remaining time assumes the epochs left take as long as the mean of
    those run: ``remaining = elapsed / epoch * (epochs - epoch)`` (an upper
    bound when early stopping or ``tol`` ends training sooner).

    Example:
        >>> format_line(3, 10, {"loss": 0.125, "val_loss": 0.25, "accuracy": 0.9}, elapsed=1.5)
        'epoch  3/10  loss 0.125  val_loss 0.25  accuracy 0.9  elapsed 1.5s  remaining 3.5s'
    """
    width = len(str(epochs))
    parts = [f"epoch {epoch:>{width}}/{epochs}", f"loss {logs['loss']:.5g}"]
    parts += [f"{k} {v:.5g}" for k, v in logs.items() if k not in _HIDDEN and isinstance(v, (int, float))]
    remaining = elapsed / epoch * (epochs - epoch) if epoch > 0 else math.inf
    parts += [f"elapsed {format_duration(elapsed)}", f"remaining {format_duration(remaining)}"]
    return "  ".join(parts)


class Progress(Callback):
    """Show training progress after every epoch.

    Shows the epoch out of ``epochs``, the training loss, every further
    number in ``logs`` (``val_loss``, metrics), the elapsed time and an
    estimate of the remaining time.  Elapsed time is ``logs["time"]`` (seconds
    since training began, set by :func:`minigrad.fit`) or, without it, the
    ``clock`` since ``on_train_begin``.

    - Terminal (``stream.isatty()`` is True): one line rewritten in place
      (``'\\r'`` then the line, padded with spaces over a longer previous
      line), at most once every ``min_interval`` seconds plus the last epoch;
      ``on_train_end`` ends it with a newline.
    - Anything else (a file, a pipe, ``io.StringIO``): one line per epoch.

    Args:
        epochs: the number of epochs fit was asked for (for the remaining time).
        stream: where to write; None means ``sys.stdout`` at ``on_train_begin``.
        min_interval: the least time between two redraws on a terminal, ≥ 0.
        clock: seconds as a float, for when logs carry no ``"time"``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> p = Progress(2, stream=out)
        >>> p.on_epoch_end(1, {"loss": 0.5, "val_loss": 0.75, "time": 1.0})
        >>> p.on_epoch_end(2, {"loss": 0.25, "val_loss": 0.5, "time": 2.0})
        >>> print(out.getvalue(), end="")
        epoch 1/2  loss 0.5  val_loss 0.75  elapsed 1.0s  remaining 1.0s
        epoch 2/2  loss 0.25  val_loss 0.5  elapsed 2.0s  remaining 0.0s
    """

    def __init__(
        self,
        epochs: int,
        *,
        stream: TextIO | None = None,
        min_interval: float = 0.1,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
        if not (isinstance(min_interval, (int, float)) and math.isfinite(min_interval) and min_interval >= 0):
            raise ValueError(f"min_interval must be a finite number >= 0, got {min_interval!r}")
        self.epochs = epochs
        self.stream = stream
        self.min_interval = float(min_interval)
        self.clock = clock
        self._start = clock()
        self._last_draw = -math.inf
        self._width = 0
        # The last epoch not drawn on a terminal: (epoch, logs, elapsed), formatted only if drawn.
        self._pending: tuple[int, Logs, float] | None = None

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _is_tty(self) -> bool:
        isatty = getattr(self._out(), "isatty", None)
        try:
            return bool(isatty()) if callable(isatty) else False
        except (OSError, ValueError):
            return False

    def on_train_begin(self, model: Module) -> None:
        self._start = self.clock()
        self._last_draw = -math.inf
        self._width = 0
        self._pending = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        elapsed = float(logs["time"]) if "time" in logs else self.clock() - self._start
        if not self._is_tty():
            out = self._out()
            out.write(format_line(epoch, self.epochs, logs, elapsed) + "\n")
            out.flush()
        elif epoch >= self.epochs or elapsed - self._last_draw >= self.min_interval:
            self._draw(format_line(epoch, self.epochs, logs, elapsed))
            self._last_draw = elapsed
        else:
            self._pending = (epoch, dict(logs), elapsed)
        return None

    def _draw(self, line: str) -> None:
        out = self._out()
        out.write("\r" + line.ljust(self._width))
        out.flush()
        self._width = len(line)
        self._pending = None

    def on_train_end(self, history: History) -> None:
        self.close()

    def close(self) -> None:
        """Show the last epoch if a redraw was skipped and end the terminal line (fit calls it on errors too)."""
        if self._pending is not None:
            epoch, logs, elapsed = self._pending
            self._draw(format_line(epoch, self.epochs, logs, elapsed))
        if self._width:
            out = self._out()
            out.write("\n")
            out.flush()
            self._width = 0

    def __repr__(self) -> str:
        return f"Progress(epochs={self.epochs}, min_interval={self.min_interval})"
