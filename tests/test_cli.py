"""The command line: the seed's trace by default, --help everywhere, one-line errors and documented exit codes."""

from __future__ import annotations

import io
import os
import runpy
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from minigrad import cli, seed
from minigrad.plot import MissingExtraError
from minigrad.training.errors import DivergenceError

ROOT = Path(__file__).resolve().parents[1]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` in process; return (status, stdout, stderr)."""
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_process(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m minigrad argv`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "minigrad", *argv], capture_output=True, text=True, env=env, timeout=120, **kwargs
    )


def seed_trace() -> str:
    out = io.StringIO()
    assert seed.main(out) == 0
    return out.getvalue()


def assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("minigrad"), lines[0]
    assert ": error: " in lines[0], lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


# --- the default: the seed's trace ----------------------------------------------------------------


def test_no_arguments_print_the_seed_trace(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys)
    assert status == 0
    assert err == ""
    assert out == seed_trace()
    lines = out.splitlines()
    assert len(lines) == 74
    assert lines[0] == "weight: 1.0, current_prediction: , goal_prediction: 9.975e7"
    assert lines[1] == "weight: 200.1, current_prediction: 2.0e5, goal_prediction: 9.975e7"
    assert lines[-1] == "Training Complete, final weight: 498.75"


def test_seed_command_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "seed")
    assert (status, err) == (0, "")
    assert out == seed_trace()


def test_python_dash_m_prints_the_seed_trace_byte_for_byte() -> None:
    proc = run_process()
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout == seed_trace()


def test_options_without_a_command_go_to_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--epochs", "2") == run(capsys, "seed", "--epochs", "2")


def test_installed_console_script_runs_the_seed() -> None:
    from importlib import metadata

    scripts = metadata.entry_points(group="console_scripts", name="minigrad")
    if not scripts:
        pytest.skip("minigrad is not installed with its console script")
    (entry,) = scripts
    assert entry.value == "_minigrad_main:main"
    script = Path(sys.executable).parent / ("minigrad.exe" if os.name == "nt" else "minigrad")
    if not script.exists():
        pytest.skip(f"no console script at {script}")
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout == seed_trace()


# --- seed options ---------------------------------------------------------------------------------


def test_epochs_limits_the_steps_and_notes_no_convergence(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "seed", "--epochs", "2")
    assert status == 0
    assert out.splitlines() == [
        "weight: 1.0, current_prediction: , goal_prediction: 9.975e7",
        "weight: 200.1, current_prediction: 2.0e5, goal_prediction: 9.975e7",
        "weight: 319.56, current_prediction: 4.002e7, goal_prediction: 9.975e7",
        "Training Complete, final weight: 319.56",
    ]
    assert err.splitlines() == [
        "minigrad: note: the prediction did not reach the goal in 2 epochs (alpha 1e-11); "
        "try more --epochs or another --alpha"
    ]


def test_alpha_changes_the_learning_rate(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "seed", "--alpha", "2e-11")
    assert status == 0
    lines = out.splitlines()
    # weight -= (prediction - goal) * input * alpha: 1 - (2e5 - 9.975e7) * 2e5 * 2e-11 = 399.2
    assert lines[1] == "weight: 399.2, current_prediction: 2.0e5, goal_prediction: 9.975e7"
    assert lines[-1] == "Training Complete, final weight: 498.75"
    assert len(lines) == 26  # factor 1 - alpha * input**2 = 0.2 per step: 24 updates


def test_quiet_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "seed", "--quiet") == (0, "", "")
    assert run(capsys, "-q", "--epochs", "3") == (0, "", "")  # not even the note


def test_verbose_adds_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "seed", "--verbose")
    assert (status, err) == (0, "")
    assert out.startswith(seed_trace())
    summary = out[len(seed_trace()) :].splitlines()
    assert summary == [
        "73 epochs (72 updates), stopped by tol; alpha 1e-11 (SGD lr 5e-12), last loss 0, final weight 498.75"
    ]


def test_divergence_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "seed", "--alpha", "1")
    assert status == 1
    assert out.startswith("weight: 1.0, current_prediction: , goal_prediction: 9.975e7\n")
    assert "Training Complete" not in out
    assert_one_line_error(err, "minigrad: error: alpha 1 is too large for the seed", "training diverged")


def test_divergence_exit_status_in_a_process() -> None:
    proc = run_process("--alpha", "1", "-q")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr, "diverged")


# --- --help and --version on every level ----------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["seed"], ["diabetes"], ["digits"], ["sine"], ["bench"]])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_every_level(capsys: pytest.CaptureFixture[str], command: list[str], flag: str) -> None:
    status, out, err = run(capsys, *command, flag)
    assert (status, err) == (0, "")
    prog = " ".join(["minigrad", *command])
    assert out.startswith(f"usage: {prog} ")
    assert "--help" in out


def test_top_level_help_lists_commands_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--help")
    for command in ("seed", "diabetes", "digits", "sine", "bench"):
        assert f"    {command}" in out
    assert "exit status" in out and "130" in out


def test_command_help_lists_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "seed", "--help")
    for option in ("--alpha", "--epochs", "--plot", "--quiet", "--verbose"):
        assert option in out
    _, out, _ = run(capsys, "digits", "--help")
    assert "--rng" in out and "minigrad[data]" in out
    _, out, _ = run(capsys, "bench", "--help")
    assert "--full" in out


def test_help_in_a_process() -> None:
    proc = run_process("bench", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: minigrad bench")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import minigrad

    assert run(capsys, "--version") == (0, f"minigrad {minigrad.__version__}\n", "")


# --- usage errors: one line, exit 2, never a traceback --------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["seed", "--bogus"], "unrecognized arguments: --bogus"),
        (["seed", "extra"], "unrecognized arguments: extra"),
        (["sine", "--alpha", "1e-11"], "unrecognized arguments: --alpha"),
        (["nonsense"], "invalid choice: 'nonsense'"),
        (["seed", "--alp", "1e-11"], "unrecognized arguments: --alp"),  # no abbreviations
        (["seed", "-q", "-v"], "not allowed with"),
        (["seed", "--plot"], "expected one argument"),
    ],
)
def test_unknown_options_and_commands_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert_one_line_error(err, needle, "--help")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["seed", "--alpha", "0"], "argument --alpha: expected a finite number > 0, got '0'"),
        (["seed", "--alpha", "-1e-11"], "argument --alpha"),
        (["seed", "--alpha", "nan"], "argument --alpha"),
        (["seed", "--alpha", "inf"], "argument --alpha"),
        (["seed", "--alpha", "abc"], "argument --alpha: expected a number > 0, got 'abc'"),
        (["seed", "--alpha", ""], "argument --alpha"),
        (
            ["seed", "--alpha", "1e-400"],
            "argument --alpha: expected a finite number > 0, got '1e-400', which rounds to 0.0",
        ),
        (["seed", "--alpha", "0e5"], "argument --alpha: expected a finite number > 0, got '0e5' (see"),
        (["seed", "--epochs", "0"], "argument --epochs: expected a whole number >= 1, got '0'"),
        (["seed", "--epochs", "1.5"], "argument --epochs"),
        (["seed", "--epochs", "many"], "argument --epochs"),
        (["digits", "--rng", "-1"], "argument --rng: expected a whole number >= 0, got '-1'"),
        (["sine", "--rng", "x"], "argument --rng"),
    ],
)
def test_bad_values_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert_one_line_error(err, f"minigrad {argv[0]}: error: {needle}")


@pytest.mark.parametrize("argv", [["--bogus"], ["seed", "--alpha", "0"], ["nonsense"], ["digits", "--rng", "x"]])
def test_usage_errors_in_a_process(argv: list[str]) -> None:
    proc = run_process(*argv)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert_one_line_error(proc.stderr)


# --- --plot ---------------------------------------------------------------------------------------


def test_plot_writes_the_seed_picture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "seed.png"
    status, out, err = run(capsys, "seed", "--plot", str(path))
    assert status == 0
    assert out == seed_trace()  # the trace is unchanged; the note about the file goes to stderr
    assert err == f"minigrad: wrote {path}\n"
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_plot_records_every_weight(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    drawn: dict[str, Any] = {}

    def fake_plot_seed(weights: list[float], predictions: list[float], goal: float, path: str, **kw: Any) -> Path:
        drawn.update(weights=weights, predictions=predictions, goal=goal, path=path, **kw)
        return Path(path)

    monkeypatch.setattr("minigrad.plot.plot_seed", fake_plot_seed)
    assert run(capsys, "seed", "-q", "--plot", str(tmp_path / "s.png"))[0] == 0
    weights = drawn["weights"]
    assert len(weights) == 73  # the start and 72 updates
    assert weights[:3] == [1.0, 200.1, 319.56]
    assert weights[-1] == 498.75
    assert drawn["predictions"][-1] == 99_750_000.0
    assert drawn["predictions"] == [w * 200_000.0 for w in weights]
    assert drawn["goal"] == 99_750_000.0 and drawn["goal_weight"] == 498.75


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    path = tmp_path / "seed.png"
    status, out, err = run(capsys, "seed", "--plot", str(path))
    assert status == 2
    assert out == ""  # refused before training
    assert_one_line_error(err, "pip install 'minigrad[plot]'")
    assert not path.exists()


def test_plot_without_matplotlib_in_a_process(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('blocked for the test')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "minigrad", "--plot", str(tmp_path / "x.png")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr, "minigrad[plot]")


@pytest.mark.parametrize(
    ("name", "needle"), [("x.foo", "cannot write a picture as .foo"), ("no/x.png", "does not exist")]
)
def test_plot_to_a_bad_path_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, needle: str) -> None:
    pytest.importorskip("matplotlib")
    status, out, err = run(capsys, "seed", "--plot", str(tmp_path / name))
    assert (status, out) == (2, "")
    assert_one_line_error(err, "minigrad seed: error: argument --plot:", needle)


def test_a_file_that_cannot_be_written_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")

    def disk_full(*args: Any, **kwargs: Any) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("minigrad.plot.plot_seed", disk_full)
    status, _, err = run(capsys, "-q", "--plot", str(tmp_path / "x.png"))
    assert status == 1
    assert_one_line_error(err, "No space left on device")


# --- bundled examples -----------------------------------------------------------------------------


def fake_example(monkeypatch: pytest.MonkeyPatch, name: str, main: Callable[..., Any]) -> None:
    module = ModuleType(f"minigrad.examples.{name}")
    module.main = main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"minigrad.examples.{name}", module)


def test_example_gets_quiet_plot_and_rng(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def main(*, quiet: bool = False, plot: str | None = None, rng: int = 0) -> dict[str, float]:
        calls.append({"quiet": quiet, "plot": plot, "rng": rng})
        print("sine: r2 0.99")
        return {"r2": 0.99}

    fake_example(monkeypatch, "sine", main)
    assert run(capsys, "sine") == (0, "sine: r2 0.99\n", "")
    assert run(capsys, "sine", "--quiet", "--rng", "7")[0] == 0
    assert calls == [{"quiet": False, "plot": None, "rng": 0}, {"quiet": True, "plot": None, "rng": 7}]


def test_example_plot_path_is_passed_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    seen: list[str | None] = []

    def main(*, quiet: bool = False, plot: str | None = None, rng: int = 0) -> dict[str, float]:
        seen.append(plot)
        if plot is not None and rng == 0:
            Path(plot).write_bytes(b"picture")
        return {}

    fake_example(monkeypatch, "digits", main)
    path = str(tmp_path / "digits.png")
    status, _, err = run(capsys, "digits", "--plot", path)
    assert status == 0
    assert seen == [path]
    assert err == f"minigrad: wrote {path}\n"
    other = str(tmp_path / "not-drawn.png")
    assert run(capsys, "digits", "--rng", "1", "--plot", other) == (0, "", "")  # nothing claimed when not written


def test_verbose_prints_the_example_results(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_example(monkeypatch, "diabetes", lambda **kw: {"r2": 0.4523456789, "ols_r2": 0.45})
    assert run(capsys, "diabetes", "-v") == (0, "r2: 0.452346\nols_r2: 0.45\n", "")
    assert run(capsys, "diabetes") == (0, "", "")


def test_an_example_that_takes_verbose_gets_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []

    def main(*, quiet: bool = False, plot: str | None = None, rng: int = 0, verbose: int = 0) -> dict[str, float]:
        seen.append(verbose)
        return {"accuracy": 0.97}

    fake_example(monkeypatch, "digits", main)
    assert run(capsys, "digits", "--verbose") == (0, "", "")  # the example prints what it wants
    assert seen == [1] and type(seen[0]) is int


@pytest.mark.parametrize("missing", ["sklearn", "sklearn.datasets", "scipy"])
def test_missing_scikit_learn_names_the_data_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise ModuleNotFoundError(f"No module named {missing!r}", name=missing)

    fake_example(monkeypatch, "digits", main)
    status, out, err = run(capsys, "digits")
    assert (status, out) == (2, "")
    assert_one_line_error(err, "the digits example needs scikit-learn", "pip install 'minigrad[data]'")


@pytest.mark.parametrize("name", ["diabetes", "digits"])
def test_real_example_without_scikit_learn(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    import minigrad

    if not (Path(minigrad.__file__).parent / "examples" / f"{name}.py").is_file():
        pytest.skip(f"minigrad.examples.{name} is not written yet")
    for mod in list(sys.modules):
        if mod == "sklearn" or mod.startswith("sklearn.") or mod == f"minigrad.examples.{name}":
            monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    status, out, err = run(capsys, name, "-q")
    assert out == ""
    assert status == 2
    assert_one_line_error(err, "minigrad[data]")


def test_a_missing_example_module_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "minigrad.examples.sine", None)
    status, out, err = run(capsys, "sine")
    assert (status, out) == (2, "")
    assert_one_line_error(err, "the sine example is not in this installation")


def test_another_missing_module_is_named(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise ModuleNotFoundError("No module named 'pandas'", name="pandas")

    fake_example(monkeypatch, "sine", main)
    status, _, err = run(capsys, "sine")
    assert status == 2
    assert_one_line_error(err, "needs the module pandas")


def test_example_missing_matplotlib_names_the_plot_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise ModuleNotFoundError("No module named 'matplotlib.pyplot'", name="matplotlib.pyplot")

    fake_example(monkeypatch, "sine", main)
    status, _, err = run(capsys, "sine")
    assert status == 2
    assert_one_line_error(err, "pip install 'minigrad[plot]'")


def test_example_bad_value_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise ValueError("X contains NaN\nat row 3")

    fake_example(monkeypatch, "sine", main)
    status, _, err = run(capsys, "sine")
    assert status == 1
    assert_one_line_error(err, "minigrad: error: X contains NaN at row 3")


def test_example_missing_an_extra_exits_2(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise MissingExtraError("the digits example needs scikit-learn", extra="data")

    fake_example(monkeypatch, "digits", main)
    status, _, err = run(capsys, "digits")
    assert status == 2
    assert_one_line_error(err, "minigrad: error: the digits example needs scikit-learn", "minigrad[data]")


def test_example_divergence_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise DivergenceError(3, "the loss", lr=10.0)

    fake_example(monkeypatch, "sine", main)
    status, _, err = run(capsys, "sine")
    assert status == 1
    assert_one_line_error(err, "minigrad: error: training diverged in epoch 3")


def test_interrupt_exits_130(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise KeyboardInterrupt

    fake_example(monkeypatch, "sine", main)
    assert run(capsys, "sine") == (130, "", "minigrad: interrupted\n")


# --- bench ----------------------------------------------------------------------------------------


@pytest.fixture
def fake_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in benchmarks/bench.py whose main(argv) prints argv and imports a sibling module."""
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "bench_helper_for_test.py").write_text("WHO = 'sibling'\n")
    (folder / "bench.py").write_text(
        textwrap.dedent(
            """
            import sys
            import bench_helper_for_test

            def main(argv):
                if "--fail" in argv:
                    print("bench.py: error: bad option", file=sys.stderr)
                    raise SystemExit(2)
                print(bench_helper_for_test.WHO, argv)
                return 3 if "--three" in argv else 0
            """
        )
    )
    path = folder / "bench.py"
    monkeypatch.setattr(cli, "bench_path", lambda: path)
    return path


def test_bench_path_is_beside_the_package() -> None:
    assert cli.bench_path() == ROOT / "benchmarks" / "bench.py"


@pytest.mark.parametrize("pyproject", [None, '[project]\nname = "other"\n'])
def test_bench_path_outside_a_source_checkout_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyproject: str | None
) -> None:
    import minigrad

    (tmp_path / "minigrad").mkdir()
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench.py").write_text("def main(argv):\n    return 0\n")
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject)
    monkeypatch.setattr(minigrad, "__file__", str(tmp_path / "minigrad" / "__init__.py"))
    monkeypatch.chdir(tmp_path)
    assert cli.bench_path() is None


def test_bench_in_an_installed_wheel_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "bench_path", lambda: None)
    status, out, err = run(capsys, "bench")
    assert (status, out) == (2, "")
    assert_one_line_error(
        err, "minigrad bench: error: no benchmark suite here", "run minigrad bench inside a source checkout"
    )


@pytest.mark.parametrize(
    ("argv", "passed"),
    [
        (["bench"], ["--quick"]),
        (["bench", "--full"], []),
        (["bench", "--sizes", "1", "10", "--json=out.json"], ["--quick", "--sizes", "1", "10", "--json=out.json"]),
        (["bench", "--full", "--repeat", "3"], ["--repeat", "3"]),
    ],
)
def test_bench_runs_the_quick_mode_and_passes_options_on(
    capsys: pytest.CaptureFixture[str], fake_bench: Path, argv: list[str], passed: list[str]
) -> None:
    path_before = list(sys.path)
    status, out, err = run(capsys, *argv)
    assert (status, err) == (0, "")
    assert out == f"sibling {passed!r}\n"
    assert sys.path == path_before
    assert "minigrad_benchmarks_bench" not in sys.modules


def test_bench_plot_is_passed_on(capsys: pytest.CaptureFixture[str], fake_bench: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = str(tmp_path / "bench.png")
    assert run(capsys, "bench", "--plot", path) == (0, f"sibling {['--quick', '--plot', path]!r}\n", "")


def test_bench_quiet_hides_the_report(capsys: pytest.CaptureFixture[str], fake_bench: Path) -> None:
    assert run(capsys, "bench", "--quiet", "--full") == (0, "", "")
    status, out, err = run(capsys, "bench", "-q", "--fail")  # errors still show
    assert (status, out, err) == (2, "", "bench.py: error: bad option\n")
    assert run(capsys, "bench")[1] == "sibling ['--quick']\n"  # stdout is back


def test_bench_has_no_verbose(capsys: pytest.CaptureFixture[str], fake_bench: Path) -> None:
    status, out, err = run(capsys, "bench", "--help")
    assert (status, err) == (0, "")
    assert "--verbose" not in out
    assert run(capsys, "bench", "-v") == (0, "sibling ['--quick', '-v']\n", "")  # the suite's to judge
    assert "--json" in out


def test_bench_exit_status_is_the_suites(capsys: pytest.CaptureFixture[str], fake_bench: Path) -> None:
    assert run(capsys, "bench", "--three")[0] == 3
    status, out, err = run(capsys, "bench", "--fail")
    assert (status, out, err) == (2, "", "bench.py: error: bad option\n")


def test_bench_sys_exit_statuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bench.py"
    path.write_text("import sys\ndef main(argv):\n    sys.exit(None if '--fail' not in argv else 'suite failed')\n")
    monkeypatch.setattr(cli, "bench_path", lambda: path)
    assert run(capsys, "bench") == (0, "", "")
    assert run(capsys, "bench", "--fail") == (1, "", "suite failed\n")


def test_bench_without_the_suite_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "bench_path", lambda: tmp_path / "benchmarks" / "bench.py")
    status, out, err = run(capsys, "bench")
    assert (status, out) == (2, "")
    assert_one_line_error(err, "no benchmark suite here", f"({tmp_path / 'benchmarks' / 'bench.py'} is missing)")


def test_bench_without_main_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bench.py"
    path.write_text("x = 1\n")
    monkeypatch.setattr(cli, "bench_path", lambda: path)
    status, _, err = run(capsys, "bench")
    assert status == 2
    assert_one_line_error(err, "has no main(argv)")


# --- output closed early --------------------------------------------------------------------------


def test_a_closed_pipe_in_process_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def closed(**kwargs: Any) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(seed, "train_seed", closed)
    assert run(capsys) == (1, "", "")


def test_a_closed_pipe_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # alpha 5e-11 oscillates forever: 5000 lines, far more than a pipe buffer holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "--alpha", "5e-11", "--epochs", "5000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    status = proc.wait(timeout=120)
    assert first.startswith(b"weight: 1.0")
    assert "Traceback" not in err
    assert err == ""
    assert status == 1


def test_bench_runs_the_real_suite(capsys: pytest.CaptureFixture[str]) -> None:
    path = cli.bench_path()
    if path is None or not path.is_file():
        pytest.skip("benchmarks/bench.py is not in this tree")
    fast = ["--only", "seed", "--reps", "1", "--sample", "0.001", "--pause", "0", "--no-torch", "--no-sklearn"]
    status, out, _ = run(capsys, "bench", *fast)
    assert status == 0
    assert "quick run" in out
    assert run(capsys, "bench", "-q", *fast)[:2] == (0, "")


def test_python_dash_m_minigrad_runs_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["minigrad", "--epochs", "1"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("minigrad", run_name="__main__", alter_sys=False)
    assert exc.value.code == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Training Complete, final weight: 200.1"


# --- hostile input: every failure is one line, with the documented exit status ---------------------


def test_plot_as_pgf_without_tex_exits_2_before_training(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    from minigrad import plot

    monkeypatch.setattr(plot.shutil, "which", lambda name: None)
    status, out, err = run(capsys, "seed", "--plot", str(tmp_path / "s.pgf"))
    assert (status, out) == (2, "")  # refused before the trace
    assert_one_line_error(
        err, "minigrad seed: error: argument --plot: cannot write a picture as .pgf (PGF needs", "use one of: .png"
    )


def test_any_failure_while_drawing_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    import shutil

    from minigrad import plot

    if shutil.which("xelatex") is not None:
        pytest.skip("xelatex is installed here: PGF would be written")
    monkeypatch.setattr(plot.shutil, "which", lambda name: f"/usr/bin/{name}")  # PGF is accepted, then fails
    path = tmp_path / "s.pgf"
    status, out, err = run(capsys, "seed", "-q", "--plot", str(path))
    assert (status, out) == (1, "")
    assert_one_line_error(err, f"minigrad: error: cannot write the picture {path}: RuntimeError: ")
    assert not path.exists()


@pytest.mark.parametrize("suffix", ["eps", "ps"])
def test_postscript_plots_print_nothing_with_quiet(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, tmp_path: Path, suffix: str
) -> None:
    # matplotlib logs its "does not support transparency" warning, which reaches stderr outside pytest
    pytest.importorskip("matplotlib")
    path = tmp_path / f"seed.{suffix}"
    assert run(capsys, "seed", "-q", "--plot", str(path)) == (0, "", "")
    assert [record.getMessage() for record in caplog.records] == []
    assert path.read_bytes().startswith(b"%!PS")


def test_plot_to_a_full_device_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    status, _, err = run(capsys, "-q", "--plot", "/dev/full")
    assert status == 1
    assert err == "minigrad: error: cannot write the picture /dev/full: No space left on device\n"


@pytest.mark.parametrize("command", ["seed", "sine", "bench"])
def test_an_empty_plot_path_exits_2(capsys: pytest.CaptureFixture[str], fake_bench: Path, command: str) -> None:
    status, out, err = run(capsys, command, "--plot", "")
    assert (status, out) == (2, "")
    assert_one_line_error(err, f"minigrad {command}: error: argument --plot: the picture's path is empty")


def test_a_plot_path_that_is_not_utf8_in_a_process(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    name = os.fsdecode(b"\xff-seed.png")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "minigrad", "--plot", name, "--epochs", "2"], capture_output=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0
    assert proc.stderr.decode().splitlines()[-1] == "minigrad: wrote \\udcff-seed.png"  # as Python escapes it
    assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    proc = subprocess.run(
        [sys.executable, "-m", "minigrad", "-q", "--plot", os.fsdecode(b"\xff/x.png")],
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert_one_line_error(proc.stderr.decode(errors="replace"), "does not exist")


def test_an_unexpected_exception_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise RuntimeError("something broke\nbadly")

    fake_example(monkeypatch, "sine", main)
    assert run(capsys, "sine") == (1, "", "minigrad: error: RuntimeError: something broke badly\n")


def test_an_os_error_names_the_file_first(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def main(**kwargs: Any) -> dict[str, float]:
        raise PermissionError(13, "Permission denied", "/data/x.csv")

    fake_example(monkeypatch, "sine", main)
    assert run(capsys, "sine") == (1, "", "minigrad: error: /data/x.csv: Permission denied\n")


# --- bench: the suite of the checkout around the current directory ---------------------------------


def _fake_checkout(folder: Path, name: str = "minigrad", bench: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\nversion = "0.1.0"\n')
    if bench:
        (folder / "benchmarks").mkdir()
        (folder / "benchmarks" / "bench.py").write_text("def main(argv):\n    return 0\n")
    return folder / "benchmarks" / "bench.py"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the running package look installed in site-packages, as after ``pip install .``."""
    import minigrad

    site = tmp_path / "venv" / "site-packages" / "minigrad"
    site.mkdir(parents=True)
    monkeypatch.setattr(minigrad, "__file__", str(site / "__init__.py"))


def test_bench_finds_the_checkout_around_the_current_directory(
    installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT / "minigrad" / "examples")
    assert cli.bench_path() == ROOT / "benchmarks" / "bench.py"
    monkeypatch.chdir(tmp_path)
    assert cli.bench_path() is None
    assert cli.bench_path(ROOT) == ROOT / "benchmarks" / "bench.py"


def test_bench_walks_up_past_other_projects(installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = _fake_checkout(tmp_path / "src")
    _fake_checkout(tmp_path / "src" / "vendor" / "other", name="other")  # another project's benchmarks
    no_bench = tmp_path / "src" / "vendor" / "other" / "docs"
    _fake_checkout(no_bench, bench=False)  # names minigrad, but holds no suite
    (no_bench / "deep").mkdir()
    (no_bench / "deep" / "pyproject.toml").write_text("this is [not TOML")
    (no_bench / "deep" / "benchmarks").mkdir()
    (no_bench / "deep" / "benchmarks" / "bench.py").write_text("")
    monkeypatch.chdir(no_bench / "deep")
    assert cli.bench_path() == suite


def test_bench_path_with_a_deleted_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    assert cli.bench_path() == ROOT / "benchmarks" / "bench.py"  # beside the running package


def test_bench_runs_the_checkouts_suite_when_installed(
    capsys: pytest.CaptureFixture[str], installed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = _fake_checkout(tmp_path / "checkout")
    suite.write_text("def main(argv):\n    print('suite', argv)\n    return 0\n")
    monkeypatch.chdir(tmp_path / "checkout")
    assert run(capsys, "bench") == (0, "suite ['--quick']\n", "")
    assert run(capsys, "bench", "--where") == (0, f"{suite}\n", "")
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "bench", "--where")
    assert (status, out) == (2, "")
    assert_one_line_error(err, "minigrad bench: error: no benchmark suite here", "inside a source checkout")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--reps", "0"], "argument --reps: expected a whole number >= 1, got '0'"),
        (["--threads", "-1"], "argument --threads: expected a whole number >= 1, got '-1'"),
        (["--sample", "nan"], "argument --sample: expected a finite number > 0, got 'nan'"),
        (["--pause", "-1"], "argument --pause: expected a finite number >= 0, got '-1'"),
        (["--json", ""], "argument --json: expected a file name, got ''"),
        (
            ["--json", "/nonexistent-minigrad-dir/x.json"],
            "argument --json: cannot write /nonexistent-minigrad-dir/x.json: /nonexistent-minigrad-dir does not exist",
        ),
        (["--markdown", str(ROOT)], f"argument --markdown: {ROOT} is a directory"),
        (["--only", "bogus"], "argument --only: invalid choice: 'bogus'"),
    ],
)
def test_bench_checks_the_suites_options_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    path = cli.bench_path()
    if path is None:
        pytest.skip("benchmarks/bench.py is not in this tree")
    status, out, err = run(capsys, "bench", *argv)
    assert (status, out) == (2, "")
    assert_one_line_error(err, f"minigrad bench: error: {needle}", f"(the suite's options: python {path} --help)")


def test_bench_suite_option_errors_in_a_process() -> None:
    if cli.bench_path() is None:
        pytest.skip("benchmarks/bench.py is not in this tree")
    proc = run_process("bench", "--bogus", cwd=ROOT)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert_one_line_error(proc.stderr, "minigrad bench: error: unrecognized arguments: --bogus")


# --- Ctrl-C while the command line starts ---------------------------------------------------------


def _interrupt_after(cmd: list[str], marker: str, delay: float, cwd: Path) -> tuple[int, str, bool]:
    """Start *cmd* (run with -X importtime), send SIGINT *delay* s after the import of *marker* completes.

    Return the exit status, stderr without the import-time lines, and whether NumPy was imported.
    """
    import signal
    import time

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # The child runs at the lowest priority, so that on a busy machine this process still wakes up and
    # sends the signal while the child is where the marker says, not a scheduler slice later.
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, preexec_fn=lambda: os.nice(19)
    )
    assert proc.stderr is not None
    lines = []
    while line := proc.stderr.readline().decode():
        lines.append(line)
        if line.rstrip().endswith(f"| {marker}") or line.rstrip().endswith(f" {marker}"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    lines += rest.decode().splitlines(keepends=True)
    numpy = any(line.rstrip().endswith("| numpy") for line in lines)
    return proc.returncode, "".join(line for line in lines if not line.startswith("import time:")), numpy


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
@pytest.mark.parametrize(
    ("entry", "delays"),
    [
        ("python -m minigrad", [0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3]),
        ("the minigrad script", [0.0, 0.01, 0.03, 0.08]),
    ],
)
def test_ctrl_c_while_starting_exits_130_in_one_line(tmp_path: Path, entry: str, delays: list[float]) -> None:
    # Time 0 is the end of the import of the first module of minigrad's own (Python's own start-up,
    # before it, is out of reach); the signals then land while NumPy is imported, while the seed
    # trains (10,000 oscillating epochs, about 0.15 s), and after it has finished.
    if entry == "python -m minigrad":
        args = ["-q", "--alpha", "5e-11", "--epochs", "10000"]
        cmd, marker = [sys.executable, "-X", "importtime", "-m", "minigrad", *args], "minigrad._startup"
    else:  # what the installed script does
        script = "import sys; sys.argv[0] = 'minigrad'; from _minigrad_main import main; sys.exit(main())"
        cmd, marker = [sys.executable, "-X", "importtime", "-c", script, "-q"], "_minigrad_main"
    during_numpy = 0
    for delay in delays:
        status, err, numpy = _interrupt_after(cmd, marker, delay, tmp_path)
        assert "Traceback" not in err and "Exception ignored" not in err, f"after {delay} s:\n{err}"
        assert (status, err) in ((130, "minigrad: interrupted\n"), (0, "")), f"after {delay} s: {status}, {err!r}"
        during_numpy += status == 130 and not numpy
    for _ in range(20):  # a busy machine may run the child past NumPy's import before the signal lands: retry
        if during_numpy:
            break
        status, err, numpy = _interrupt_after(cmd, marker, 0.0, tmp_path)
        assert (status, err) in ((130, "minigrad: interrupted\n"), (0, "")), f"retry: {status}, {err!r}"
        during_numpy += status == 130 and not numpy
    assert during_numpy >= 1  # at least one signal landed before NumPy was imported


@pytest.fixture
def sigint() -> Any:
    """Python's own SIGINT handler for the test, and whatever was there before put back afterwards."""
    import signal

    before = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield signal
    signal.signal(signal.SIGINT, before)


@pytest.mark.parametrize(
    ("argv", "orig_argv", "expected"),
    [
        (["-m", "-q"], ["python", "-X", "importtime", "-m", "minigrad", "-q"], True),
        (["-m"], ["python", "-Bmminigrad"], True),
        (["-m", "seed"], ["python", "-m", "minigrad.__main__", "seed"], True),
        (["-m", "minigrad"], ["python", "-m", "other", "minigrad"], False),  # another module, given minigrad
        (["-m"], ["python", "-m", "minigrad.cli"], False),
        (["-m"], ["-m"], False),  # no interpreter command line to read
        (["-c"], ["python", "-c", "import minigrad"], False),
    ],
)
def test_run_as_main_recognises_python_dash_m_minigrad(argv: list[str], orig_argv: list[str], expected: bool) -> None:
    from minigrad import _startup

    assert _startup.run_as_main(argv, orig_argv) is expected


def test_importing_minigrad_leaves_sigint_alone(sigint: Any) -> None:
    code = "import signal, minigrad; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out == "True\n"


def test_quiet_interrupts_only_replaces_pythons_own_handler(sigint: Any) -> None:
    from minigrad import _startup

    _startup.quiet_interrupts()
    assert sigint.getsignal(sigint.SIGINT) is _startup.exit_interrupted
    sigint.signal(sigint.SIGINT, sigint.SIG_IGN)  # as under nohup
    _startup.quiet_interrupts()
    assert sigint.getsignal(sigint.SIGINT) is sigint.SIG_IGN


def test_the_quiet_handler_writes_one_line_and_exits_130(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from minigrad import _startup

    def exit_(status: int) -> None:
        raise SystemExit(status)

    monkeypatch.setattr(_startup.os, "_exit", exit_)
    with pytest.raises(SystemExit) as info:
        _startup.exit_interrupted(2, None)
    assert info.value.code == 130
    assert capfd.readouterr().err == "minigrad: interrupted\n"


def test_run_cli_gives_main_pythons_handler_and_ignores_sigint_after_it(
    sigint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from minigrad import _startup

    seen: list[object] = []

    def main() -> int:
        seen.append(sigint.getsignal(sigint.SIGINT))
        return 7

    monkeypatch.setattr(cli, "main", main)
    sigint.signal(sigint.SIGINT, _startup.exit_interrupted)
    assert _startup.run_cli() == 7
    assert seen == [sigint.default_int_handler]  # a Ctrl-C during the run is a KeyboardInterrupt
    assert sigint.getsignal(sigint.SIGINT) is sigint.SIG_IGN  # the run is over: its status stands

    sigint.signal(sigint.SIGINT, sigint.default_int_handler)  # not started as the command line: left alone
    assert _startup.run_cli() == 7
    assert sigint.getsignal(sigint.SIGINT) is sigint.default_int_handler


def test_run_cli_turns_a_stray_interrupt_into_130(
    sigint: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from minigrad import _startup

    def main() -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "main", main)
    assert _startup.run_cli() == 130
    assert capfd.readouterr().err == "minigrad: interrupted\n"


def test_errors_are_not_printed_on_stdout_when_stderr_is_closed() -> None:
    # With 2>&- Python sets sys.stderr to None, and print(file=None) would write to stdout.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for argv, status in ((["--bogus"], 2), (["--alpha", "1", "-q"], 1)):
        proc = subprocess.run(
            ["sh", "-c", 'exec "$0" -m minigrad "$@" 2>&-', sys.executable, *argv], stdout=subprocess.PIPE, env=env
        )
        assert (proc.returncode, proc.stdout) == (status, b"")


def test_bench_refuses_an_output_it_may_not_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cli.bench_path()
    if path is None:
        pytest.skip("benchmarks/bench.py is not in this tree")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as an ordinary user without the rights
    status, out, err = run(capsys, "bench", "--json", str(tmp_path / "out.json"))
    assert (status, out) == (2, "")
    assert_one_line_error(err, f"argument --json: cannot write {tmp_path / 'out.json'}: you may not create files in")
