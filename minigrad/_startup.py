"""A quiet Ctrl-C while the command line starts: exit status 130 and one line, never a traceback.

Starting ``python -m minigrad`` or the installed ``minigrad`` script takes about
0.1 s before the command line's :func:`minigrad.cli.main` runs, nearly all of it
importing NumPy.  Python turns a Ctrl-C in that time into a KeyboardInterrupt,
and its traceback runs through NumPy's import machinery (where C code may even
turn it into an ImportError about NumPy's installation).  This module closes
that window.  It imports nothing but ``os`` and ``sys`` (loaded with Python
itself) and ``_signal`` (the C module behind :mod:`signal`, which would import
``enum``, milliseconds more).

- ``python -m minigrad``: Python imports the package (``minigrad/__init__.py``,
  hence NumPy) before any line of ``minigrad/__main__.py`` runs, so a
  ``try``/``except`` there would come too late.  ``minigrad/__init__.py``
  imports this module before anything else; when it finds that the process
  is ``python -m minigrad`` (:func:`run_as_main`), it installs
  :func:`exit_interrupted` as the SIGINT handler (:func:`quiet_interrupts`).
  ``import minigrad`` in any other program changes nothing.
- The ``minigrad`` script calls ``_minigrad_main.main``, a module outside the
  package that installs the same kind of handler before it imports the
  package.

The handler writes one line and ends the process at once (``os._exit(130)``)
instead of raising: an exception raised in the middle of NumPy's import can
be caught and replaced there, and nothing has been written or opened yet
that would need cleaning up.  :func:`run_cli` puts Python's own handler back
just before ``main`` runs, so that a Ctrl-C during the run is a
KeyboardInterrupt again (``fit`` leaves the model as after its last completed
step, and ``main`` turns it into exit status 130).  Once ``main`` has
returned, SIGINT is ignored for the few milliseconds of the interpreter's
shut-down: the run is complete and its exit status stands.

What remains: Python's own start-up until this module (or ``_minigrad_main``)
has loaded: the interpreter, ``site``, then ``runpy`` or the script's
``import re``; 20 to 60 ms, measured on a loaded 2-core machine.  A Ctrl-C there ends the
process by SIGINT before Python has installed its handler, or prints Python's
traceback of its start-up.
"""

from __future__ import annotations

import os
import sys

try:  # the C module behind `signal`: importing `signal` itself would import enum first
    import _signal as signal  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover (an interpreter without it)
    import signal

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing takes milliseconds to import, before the handler is in place
    from types import FrameType

__all__ = ["INTERRUPTED", "exit_interrupted", "quiet_interrupts", "run_as_main", "run_cli", "say_interrupted"]

#: The line printed when the command line is interrupted (its exit status is 130).
INTERRUPTED = "minigrad: interrupted\n"

#: The modules whose ``python -m`` runs the command line.
_MAIN_MODULES = ("minigrad", "minigrad.__main__")


def say_interrupted() -> None:
    """Write :data:`INTERRUPTED` to file descriptor 2 (nothing when stderr is closed: the status says it)."""
    try:  # noqa: SIM105 (contextlib would be one more import before the handler is in place)
        os.write(2, INTERRUPTED.encode())
    except OSError:
        pass


def exit_interrupted(signum: int, frame: FrameType | None) -> None:
    """SIGINT handler while the command line starts: print :data:`INTERRUPTED`, end the process with status 130.

    It does not return: ``os._exit`` ends the process at once, wherever the
    signal landed.  Nothing needs flushing: the command line has not
    written anything yet.
    """
    say_interrupted()
    os._exit(130)


def run_as_main(argv: list[str] | None = None, orig_argv: list[str] | None = None) -> bool:
    """True while Python is locating the module of ``python -m minigrad``.

    While ``python -m MODULE`` imports MODULE's packages, ``sys.argv`` is
    ``["-m", *arguments]``; ``sys.orig_argv`` holds the interpreter's own
    command line, whose entry just before the arguments names MODULE
    (``minigrad``, or ``-m`` joined to it, as in ``-mminigrad``).

    Example:
        >>> run_as_main(["-m", "--epochs", "5"], ["python3", "-m", "minigrad", "--epochs", "5"])
        True
        >>> run_as_main(["-m"], ["python3", "-X", "dev", "-mminigrad"])
        True
        >>> run_as_main(["-m"], ["python3", "-m", "mytool.train"])   # mytool imports minigrad
        False
        >>> run_as_main(["train.py"], ["python3", "train.py"])
        False
    """
    argv = getattr(sys, "argv", []) if argv is None else argv  # an embedding program may set none
    orig_argv = getattr(sys, "orig_argv", []) if orig_argv is None else orig_argv
    if argv[:1] != ["-m"] or len(orig_argv) < len(argv) + 1:
        return False
    named = orig_argv[len(orig_argv) - len(argv)]  # the entry before the arguments
    if named.startswith("-"):  # -mminigrad, -Bmminigrad: the module follows the m
        named = named[named.find("m") + 1 :] if "m" in named else ""
    return named in _MAIN_MODULES


def quiet_interrupts() -> None:
    """Make SIGINT call :func:`exit_interrupted`, if it has Python's own handler now.

    A SIGINT that the parent process set to be ignored (``nohup``, a
    background job) stays ignored, and a handler installed by someone else
    stays installed.
    """
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, exit_interrupted)


def run_cli() -> int:
    """Run :func:`minigrad.cli.main` on ``sys.argv``; return its exit status.

    When the quiet handler is installed (the process is the command line),
    Python's own takes its place while ``main`` runs, and SIGINT is ignored
    once ``main`` has returned.  A KeyboardInterrupt outside ``main`` is exit
    status 130 with one line, like one inside it.
    """
    quiet = signal.getsignal(signal.SIGINT) is exit_interrupted
    try:
        from minigrad.cli import main

        if quiet:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        status = main()
    except KeyboardInterrupt:
        say_interrupted()
        status = 130
    finally:
        if quiet:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


if run_as_main():
    quiet_interrupts()
