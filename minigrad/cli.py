"""The ``minigrad`` command line: the seed's example, the bundled examples and the benchmark suite.

Usage (``python -m minigrad`` and the installed ``minigrad`` script are the same)::

    minigrad                        # the seed's example: prints its trace
    minigrad seed --alpha 2e-11     # the seed with another learning rate
    minigrad seed --plot seed.png   # ... and a picture of the weight and the prediction
    minigrad digits --rng 1         # a bundled example (needs the data extra)
    minigrad bench                  # the benchmark suite's quick mode (inside a source checkout)
    minigrad bench --full           # the full benchmark suite
    minigrad COMMAND --help         # the options of each command

Options given without a command go to ``seed``: ``minigrad --epochs 5`` is
``minigrad seed --epochs 5``.

Exit status:
    0: success.
    1: the run failed: training diverged (``DivergenceError``), a file could
       not be written, the output was closed early, or anything else went
       wrong while running (the line names the exception).
    2: usage error: an unknown option or command, a bad value, a missing
       optional dependency (the message names the extra to install), or no
       benchmark suite around the current directory.
    130: interrupted (Ctrl-C), from the start of minigrad's own code on (see
       :mod:`minigrad._startup` for the start-up).

Every error is one line on stderr, ``minigrad: error: …`` (usage errors name
the command, ``minigrad seed: error: …``); never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, TextIO

import minigrad
from minigrad import seed
from minigrad.nn.module import Module
from minigrad.plot import MissingExtraError
from minigrad.training.callbacks import Callback, Logs
from minigrad.training.errors import DivergenceError

__all__ = ["EXAMPLES", "bench_path", "build_parser", "main"]

PROG = "minigrad"

#: The bundled examples, each a module ``minigrad.examples.<name>`` with
#: ``main(*, quiet=False, plot=None, rng=0) -> dict[str, float]``: name -> (summary, needs the data extra).
EXAMPLES: dict[str, tuple[str, bool]] = {
    "diabetes": ("multi-input regression on scikit-learn's diabetes data set, compared with least squares", True),
    "digits": ("classify scikit-learn's 8x8 digits with a small MLP", True),
    "regularization": ("an MLP that memorises noisy digits, and one that dropout and weight decay keep general", True),
    "sine": ("fit sin(x) with a small MLP: a non-linear 1-D regression", False),
}

#: Third-party modules that the ``data`` extra installs.
_DATA_MODULES = ("sklearn", "scipy", "joblib")

_EPILOG = """\
With no command, runs the seed's example (options given without a command go to 'seed').

exit status:
  0    success
  1    the run failed (training diverged, a file could not be written, ...)
  2    usage error (unknown option, bad value, missing optional dependency)
  130  interrupted
"""


class UsageError(Exception):
    """A bad command line; the message is the one line to print (exit status 2)."""


class RunError(Exception):
    """The run failed; the message is the one line to print (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised rather than printed and exited."""

    def error(self, message: str) -> NoReturn:
        one_line = " ".join(message.split())
        raise UsageError(f"{self.prog}: error: {one_line} (see '{self.prog} --help')")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        rounded = ", which rounds to 0.0" if value == 0 and any(c in "123456789" for c in text.split("e")[0]) else ""
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}{rounded}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _seed_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _common_options(*, verbose: bool = True) -> _Parser:
    """Options every command takes: --plot, --quiet and (unless *verbose* is False) --verbose."""
    common = _Parser(add_help=False, allow_abbrev=False)
    common.add_argument(
        "--plot",
        metavar="PATH",
        help="write the run's picture to PATH (.png, .svg, .pdf, .eps, .jpg, ...; needs pip install 'minigrad[plot]')",
    )
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    if verbose:
        talk.add_argument("-v", "--verbose", action="store_true", help="print more: a summary of the run")
    return common


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """Build the command line's parser; return it and the parser of each command by name.

    Example:
        >>> parser, commands = build_parser()
        >>> sorted(commands)
        ['bench', 'diabetes', 'digits', 'regularization', 'seed', 'sine']
        >>> args = parser.parse_args(["seed", "--alpha", "2e-11"])
        >>> args.command, args.alpha, args.epochs
        ('seed', 2e-11, 1000)
    """
    parser = _Parser(
        prog=PROG,
        description=(
            "minigrad: a small NumPy machine-learning framework that shows how gradient descent works.\n"
            "Runs the seed's example, the bundled examples and the benchmark suite."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {minigrad.__version__}")
    common = _common_options()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)
    commands: dict[str, argparse.ArgumentParser] = {}

    p = sub.add_parser(
        "seed",
        parents=[common],
        allow_abbrev=False,
        help="the seed's example (the default): one weight learns to predict a film's gross",
        description=(
            "The seed's example: Linear(1, 1) learns the weight that turns a budget of 2.0e5 into a gross of "
            "9.975e7 with weight -= (prediction - goal) * input * alpha, printing each step's weight and "
            "prediction until the prediction equals the goal. --plot draws the weight and the prediction "
            "step by step."
        ),
    )
    p.add_argument(
        "--alpha",
        type=_positive_float,
        default=seed.ALPHA,
        metavar="ALPHA",
        help=f"the learning rate alpha of the seed's update, > 0 (default {seed.ALPHA:g}; "
        "2e-11 reaches the goal in 24 steps; 5e-11 and above never do)",
    )
    p.add_argument(
        "--epochs",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="the most steps to run before giving up, >= 1 (default 1000; the seed needs 72)",
    )
    p.set_defaults(run=_run_seed)
    commands["seed"] = p

    for name, (summary, needs_data) in EXAMPLES.items():
        needs = " Needs pip install 'minigrad[data]'." if needs_data else ""
        p = sub.add_parser(
            name,
            parents=[common],
            allow_abbrev=False,
            help=summary,
            description=f"Example '{name}': {summary}.{needs} --plot draws the loss per epoch.",
        )
        p.add_argument(
            "--rng", type=_seed_int, default=0, metavar="SEED", help="seed of every random draw, >= 0 (default 0)"
        )
        p.set_defaults(run=_run_example, example=name)
        commands[name] = p

    p = sub.add_parser(
        "bench",
        parents=[_common_options(verbose=False)],
        allow_abbrev=False,
        help="the benchmark suite's quick mode (--full for all sizes); run it inside a source checkout",
        description=(
            "Run the benchmark suite in its quick mode, or with --full in full. The suite ships with "
            "minigrad's source, not with the installed package: it is benchmarks/bench.py of the source "
            "checkout that holds the current directory (the first directory from here upwards with a "
            "pyproject.toml naming minigrad and benchmarks/bench.py), else of the checkout the running "
            "minigrad was imported from. It times the minigrad that runs this command. --plot is passed "
            "on, and so are options not listed here, such as --json PATH (python benchmarks/bench.py "
            "--help lists the suite's own). --quiet hides the suite's printed report (useful with --json "
            "or --plot)."
        ),
    )
    p.add_argument("--full", action="store_true", help="run the full suite instead of the quick mode")
    p.add_argument("--where", action="store_true", help="print the path of the suite that would run, and exit")
    p.set_defaults(run=_run_bench)
    commands["bench"] = p
    return parser, commands


def _with_default_command(argv: list[str]) -> list[str]:
    """Insert ``seed`` when no command is given (no arguments, or only options)."""
    if not argv:
        return ["seed"]
    if argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        return ["seed", *argv]
    return argv


# --- seed ---------------------------------------------------------------------------------------


class _SeedSteps(Callback):
    """Record the seed's weight before training and after each update, for the picture."""

    def __init__(self) -> None:
        self.weights: list[float] = []
        self._model: Module | None = None

    def _weight(self) -> float:
        assert self._model is not None
        return float(self._model.parameters()[0].data.reshape(-1)[0])

    def on_train_begin(self, model: Module) -> None:
        self._model = model
        self.weights = [self._weight()]

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if not logs["converged"]:  # a converged epoch makes no update
            self.weights.append(self._weight())
        return None


def _run_seed(args: argparse.Namespace, extra: list[str]) -> int:
    from minigrad import plot

    steps = _SeedSteps()
    try:
        model, history = seed.train_seed(alpha=args.alpha, max_epochs=args.epochs, quiet=args.quiet, callbacks=[steps])
    except DivergenceError as exc:
        raise RunError(f"{PROG}: error: alpha {args.alpha:g} is too large for the seed: {exc}") from exc
    weight = float(model.weight.data[0, 0])
    if not history.converged and not args.quiet:
        _say(
            f"{PROG}: note: the prediction did not reach the goal in {history.epochs} epochs "
            f"(alpha {args.alpha:g}); try more --epochs or another --alpha"
        )
    if args.verbose:
        print(
            f"{history.epochs} epochs ({len(steps.weights) - 1} updates), stopped by {history.stop_reason}; "
            f"alpha {args.alpha:g} (SGD lr {args.alpha / 2:g}), last loss {history.loss[-1]:g}, "
            f"final weight {seed.elixir_float(weight)}"
        )
    if args.plot is not None:
        path = plot.plot_seed(
            steps.weights,
            [w * seed.BUDGET for w in steps.weights],
            seed.GROSS,
            args.plot,
            goal_weight=seed.GROSS / seed.BUDGET,
        )
        _wrote(path, args)
    return 0


def _say(line: str) -> None:
    """Print *line* on stderr; nothing when stderr is closed (``2>&-``), rather than on stdout as print would."""
    if sys.stderr is not None:
        print(line, file=sys.stderr)


def _wrote(path: Path, args: argparse.Namespace) -> None:
    if not args.quiet:
        _say(f"{PROG}: wrote {path}")


# --- bundled examples ---------------------------------------------------------------------------


def _missing_module_message(name: str, exc: ModuleNotFoundError) -> str:
    missing = exc.name or ""
    top = missing.split(".")[0]
    if top in _DATA_MODULES:
        return f"the {name} example needs scikit-learn, which is not installed: pip install 'minigrad[data]'"
    if top == "matplotlib":
        return "plotting needs matplotlib, which is not installed: pip install 'minigrad[plot]'"
    if missing in ("minigrad.examples", f"minigrad.examples.{name}"):
        return f"the {name} example is not in this installation of minigrad (no module minigrad.examples.{name})"
    return f"the {name} example needs the module {missing or '?'}, which is not installed"


def _load_example(name: str) -> ModuleType:
    return importlib.import_module(f"minigrad.examples.{name}")


def _run_example(args: argparse.Namespace, extra: list[str]) -> int:
    name: str = args.example
    try:
        module = _load_example(name)
        example_main: Callable[..., Any] = module.main
        kwargs: dict[str, Any] = {"quiet": args.quiet, "plot": args.plot, "rng": args.rng}
        takes_verbose = "verbose" in inspect.signature(example_main).parameters
        if takes_verbose:
            kwargs["verbose"] = int(args.verbose)  # the examples take verbose as 0 or 1
        results = example_main(**kwargs)
    except MissingExtraError:
        raise
    except ModuleNotFoundError as exc:
        raise UsageError(f"{PROG}: error: {_missing_module_message(name, exc)}") from exc
    if args.verbose and not takes_verbose and isinstance(results, dict):
        for key, value in results.items():
            print(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")
    if args.plot is not None and Path(args.plot).is_file():
        _wrote(Path(args.plot), args)
    return 0


# --- benchmark suite ----------------------------------------------------------------------------


def bench_path(cwd: str | os.PathLike[str] | None = None) -> Path | None:
    """Where the benchmark suite is: ``benchmarks/bench.py`` of the source checkout around *cwd*.

    The suite ships with minigrad's source, not with the installed package
    (the wheel holds no ``benchmarks/``).  A source checkout is a directory
    holding a ``pyproject.toml`` whose ``[project]`` name is ``minigrad``
    and ``benchmarks/bench.py``.  It is looked for in *cwd* (default: the
    current directory) and every directory above it, then beside the running
    package (a checkout on ``PYTHONPATH`` or installed in editable mode).
    A ``benchmarks/`` folder that some other project or package holds is
    never run.

    Returns:
        The suite's path, or None when there is no checkout.

    Example:
        >>> import tempfile
        >>> bench_path(tempfile.gettempdir()) in (None, _package_checkout_bench())
        True
    """
    try:
        here = Path.cwd() if cwd is None else Path(cwd).absolute()
    except OSError:  # the current directory was deleted
        places: list[Path] = []
    else:
        places = [here, *here.parents]
    for place in places:
        if _is_checkout(place):
            return place / "benchmarks" / "bench.py"
    return _package_checkout_bench()


def _package_checkout_bench() -> Path | None:
    root = Path(minigrad.__file__).resolve().parents[1]
    return root / "benchmarks" / "bench.py" if _is_checkout(root) else None


def _is_checkout(folder: Path) -> bool:
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8")).get("project")
    except (OSError, ValueError):  # no file, unreadable, not UTF-8, not TOML
        return False
    return (
        isinstance(project, dict)
        and project.get("name") == "minigrad"
        and (folder / "benchmarks" / "bench.py").is_file()
    )


def _bench_argv(args: argparse.Namespace, extra: list[str]) -> list[str]:
    argv = [] if args.full else ["--quick"]
    if args.plot is not None:
        argv += ["--plot", args.plot]
    return argv + extra


def _devnull() -> TextIO:
    return open(os.devnull, "w", encoding="utf-8")


#: Said when no benchmark suite is found (exit status 2).
NO_SUITE = (
    "no benchmark suite here: it comes with minigrad's source, not with the installed package; "
    "run minigrad bench inside a source checkout of minigrad (the directory holding pyproject.toml "
    "and benchmarks/bench.py, or one below it)"
)


def _run_bench(args: argparse.Namespace, extra: list[str]) -> int:
    path = bench_path()
    if path is None or not path.is_file():
        where = "" if path is None else f" ({path} is missing)"
        raise UsageError(f"{PROG} bench: error: {NO_SUITE}{where}")
    if args.where:
        print(path)
        return 0
    folder = str(path.parent)
    sys.path.insert(0, folder)  # as `python benchmarks/bench.py` would, for the suite's own imports
    try:
        spec = importlib.util.spec_from_file_location("minigrad_benchmarks_bench", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        try:
            spec.loader.exec_module(module)
            bench_main = getattr(module, "main", None)
            if not callable(bench_main):
                raise UsageError(f"{PROG}: error: {path} has no main(argv) function")
            argv = _bench_argv(args, extra)
            try:
                _check_suite_options(module, argv, path)
                with contextlib.ExitStack() as stack:
                    if args.quiet:
                        stack.enter_context(contextlib.redirect_stdout(stack.enter_context(_devnull())))
                    status = bench_main(argv)
            except SystemExit as exc:  # the suite's own argument errors (already printed) or sys.exit
                return _exit_code(exc)
        finally:
            sys.modules.pop(spec.name, None)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    return int(status or 0)


def _check_suite_options(module: ModuleType, argv: list[str], path: Path) -> None:
    """Parse *argv* with the suite's own parser, if it offers ``build_parser()``; a bad option is one line."""
    build = getattr(module, "build_parser", None)
    if not callable(build):  # an older suite: it reports its own errors
        return
    parser = build()

    def one_line(message: str) -> NoReturn:
        text = " ".join(message.split())
        raise UsageError(f"{PROG} bench: error: {text} (the suite's options: python {path} --help)")

    parser.error = one_line
    parser.parse_args(argv)


# --- main ---------------------------------------------------------------------------------------


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    _say(str(exc.code))
    return 1


def _fail(message: object, status: int) -> int:
    if isinstance(message, OSError) and message.strerror:
        # "[Errno 2] No such file or directory: 'x'" -> "x: No such file or directory"
        message = f"{message.filename}: {message.strerror}" if message.filename else message.strerror
    text = " ".join(str(message).split())
    _say(text if text.startswith(f"{PROG}") else f"{PROG}: error: {text}")
    return status


def _silence_stdout() -> None:
    """After a closed pipe (``minigrad | head``), send further output to /dev/null so exit is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default ``sys.argv[1:]``); return the exit status.

    With no arguments it runs the seed's example and prints the seed's trace.
    Errors print one line on stderr; see the module docstring for the exit
    statuses.  ``--help`` and ``--version`` print and return 0.

    Example:
        >>> main(["seed", "--epochs", "2"])
        weight: 1.0, current_prediction: , goal_prediction: 9.975e7
        weight: 200.1, current_prediction: 2.0e5, goal_prediction: 9.975e7
        weight: 319.56, current_prediction: 4.002e7, goal_prediction: 9.975e7
        Training Complete, final weight: 319.56
        0
    """
    from minigrad import plot

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, commands = build_parser()
    try:
        try:
            args, extra = parser.parse_known_args(_with_default_command(arguments))
        except SystemExit as exc:  # --help, --version
            return _exit_code(exc)
        if extra and args.command != "bench":
            commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
        if args.plot is not None:
            try:
                plot.check_plot_path(args.plot)
            except ValueError as exc:
                raise UsageError(f"{commands[args.command].prog}: error: argument --plot: {exc}") from exc
        status: int = args.run(args, extra)
        return status
    except UsageError as exc:
        return _fail(exc, 2)
    except RunError as exc:
        return _fail(exc, 1)
    except MissingExtraError as exc:
        return _fail(exc, 2)
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except (DivergenceError, ArithmeticError, ValueError, OSError) as exc:
        return _fail(exc, 1)
    except KeyboardInterrupt:
        _say(f"{PROG}: interrupted")
        return 130
    except Exception as exc:  # anything else while running: still one line, naming the exception
        return _fail(f"{type(exc).__name__}: {exc}", 1)
