"""The installed ``minigrad`` script's entry point: :func:`main` runs minigrad's command line.

This module sits outside the ``minigrad`` package on purpose.  Importing
anything from the package first runs ``minigrad/__init__.py``, which imports
NumPy (about 0.1 s); a Ctrl-C in that time would print a traceback.  Here a
SIGINT handler that writes one line and exits with status 130 is installed
when this module is imported, before the package is (see
``minigrad/_startup.py``, which does the same for ``python -m minigrad``).
Only the script imports this module.
"""

import os

try:  # the C module behind `signal`: importing `signal` itself would import enum first
    import _signal as signal  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover (an interpreter without it)
    import signal


def _interrupted(signum: int, frame: object) -> None:
    try:  # noqa: SIM105 (contextlib would be one more import before the handler is in place)
        os.write(2, b"minigrad: interrupted\n")
    except OSError:
        pass
    os._exit(130)


def main() -> int:
    """Run ``minigrad.cli.main`` on ``sys.argv``; return the exit status (130 when interrupted)."""
    from minigrad import _startup

    if signal.getsignal(signal.SIGINT) is _interrupted:
        signal.signal(signal.SIGINT, _startup.exit_interrupted)  # the same, and run_cli knows it
    return _startup.run_cli()


# Installed on import: the script imports this module and calls main() at once.
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _interrupted)
