"""The benchmark suite's own pieces: the machine it names, the timing loop, the report's header, --only.

Nothing here times anything: the suite asserts nothing about speed, and neither do the tests.
"""

from __future__ import annotations

import gc
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from benchmarks import bench
from benchmarks.suite import machine, report, timing
from benchmarks.suite.peers import Peers


@pytest.mark.parametrize(
    ("cpu", "slug"),
    [
        ("AMD EPYC", "amd-epyc"),
        ("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "intel-xeon-platinum-8480"),
        ("AMD EPYC 9B45 128-Core Processor", "amd-epyc-9b45-128-core"),
        ("", "unknown-cpu"),
    ],
)
def test_cpu_slug_is_a_file_name_part(cpu: str, slug: str) -> None:
    assert machine.cpu_slug(cpu) == slug


def test_cpu_caches_read_sysfs(tmp_path: Path) -> None:
    base = tmp_path / "cache"
    for index, (level, kind, size, shared) in enumerate(
        [("1", "Data", "48K", "0"), ("1", "Instruction", "32K", "0"), ("2", "Unified", "1024K", "0"),
         ("3", "Unified", "32768K", "0-1")]
    ):  # fmt: skip
        folder = base / f"index{index}"
        folder.mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (folder / name).write_text(value + "\n")
    (base / "uevent").write_text("")
    assert machine.cpu_caches(str(base)) == {
        "L1d": "48K per core",
        "L2": "1024K per core",
        "L3": "32768K shared by CPUs 0-1",
    }


def test_cpu_caches_fall_back_on_lscpu(monkeypatch: pytest.MonkeyPatch) -> None:
    lscpu = "Model name: AMD EPYC\nL1d cache: 96 KiB (2 instances)\nL2 cache: 2 MiB (2 instances)\nL3 cache: 32 MiB\n"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout=lscpu, stderr=""))
    assert machine.cpu_caches("/nonexistent") == {
        "L1d": "96 KiB (2 instances)",
        "L2": "2 MiB (2 instances)",
        "L3": "32 MiB",
    }

    def no_lscpu(*a: Any, **k: Any) -> None:
        raise FileNotFoundError("lscpu")

    monkeypatch.setattr(subprocess, "run", no_lscpu)
    assert machine.cpu_caches("/nonexistent") == {}


def test_machine_info_names_the_machine_and_the_openblas_variables(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("OPENBLAS_L2_SIZE", raising=False)
    info = machine.machine_info(Peers())
    for key in ("cpu", "cpu_slug", "cores", "caches", "date", "numpy", "commit", "blas", "env"):
        assert key in info
    assert info["env"]["OPENBLAS_CORETYPE"] == "Haswell"
    json.dumps(info)  # the JSON record keeps it as it is
    machine.print_machine(info)
    out = capsys.readouterr().out
    assert out.startswith(f"machine: {info['cpu']}, {info['cores']} cores")
    assert "OPENBLAS_CORETYPE=Haswell" in out
    assert "(OPENBLAS_L2_SIZE not set)" in out


def test_markdown_opens_with_the_machine_the_date_and_the_command() -> None:
    record: dict[str, Any] = {
        "machine": {
            "cpu": "AMD EPYC",
            "cores": 2,
            "caches": {"L1d": "48K per core", "L2": "1024K per core", "L3": "32768K shared by CPUs 0-1"},
            "numpy": "2.4.6",
            "torch": {"version": "2.13.0", "threads": 2},
            "blas": [
                {"user_api": "blas", "internal_api": "openblas", "version": "0.3.31", "architecture": "Zen"},
                {"user_api": "openmp", "internal_api": "openmp", "version": None, "architecture": None},
            ],
            "env": {},
            "date": "2026-12-03 09:50 UTC",
        },
        "command": "python benchmarks/bench.py --only step",
        "groups": [],
    }
    first = report.markdown(record).split("\n")[0]
    assert first == (
        "Measured on AMD EPYC (2 cores; L2 1024K per core, L3 32768K shared by CPUs 0-1), openblas 0.3.31 "
        "(Zen kernel), numpy 2.4.6, torch 2.13.0, on 2026-12-03 09:50 UTC; "
        "command: `python benchmarks/bench.py --only step`."
    )
    record["machine"]["env"] = {"OPENBLAS_CORETYPE": "Haswell"}
    record["machine"]["commit"] = "0123456789ab+"
    first = report.markdown(record).split("\n")[0]
    assert ", numpy 2.4.6, minigrad at commit 0123456789ab+, torch" in first
    assert ", with OPENBLAS_CORETYPE=Haswell;" in first


def test_the_manual_loop_has_a_target_at_every_float64_size_up_to_2e5_rows() -> None:
    def group(n: int, d: int, o: int, dtype: str) -> dict[str, Any]:
        results = [{"name": name, "ratio": 1.0, "median_s": 1.0} for name in ("numpy-min", "minigrad manual loop")]
        return {"kind": "step", "n": n, "d": d, "o": o, "dtype": dtype, "results": results}

    sizes = [(1, 1, 1), (32, 10, 1), (1000, 100, 10), (10_000, 100, 1), (200_000, 100, 1), (1_000_000, 100, 1)]
    groups = [group(n, d, o, dtype) for n, d, o in sizes for dtype in ("float64", "float32")]
    targets = [t["target"] for t in report.summary(groups, {}, [10_000, 200_000, 1_000_000])["targets"]]
    manual = [t for t in targets if t.startswith("manual/")]
    assert manual == [f"manual/numpy-min {n}x{d}x{o} float64" for n, d, o in sizes[:-1]]


def test_measure_interleaves_and_leaves_nothing_frozen() -> None:
    calls: list[str] = []

    def maker(name: str) -> timing.Runner:
        return lambda k: calls.append(name)

    st = timing.Settings(sample_s=1e-6, pause_s=0.0, reps=3, quick=True)
    frozen = gc.get_freeze_count()
    results = timing.measure([timing.Case(n, timing._bind(maker, n)) for n in ("a", "b")], st)
    assert gc.get_freeze_count() == frozen
    assert [len(r.samples) for r in results] == [3, 3]
    assert calls[-6:] == ["a", "b", "b", "a", "a", "b"]  # a rotating order, sample by sample


def test_only_runs_a_separate_module_and_nothing_else(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    seen: list[list[str]] = []
    fake = types.ModuleType("fake_separate_bench")
    fake.main = seen.append  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "fake_separate_bench", fake)
    monkeypatch.setitem(bench.SEPARATE, "fake", "fake_separate_bench")
    assert "fake" in bench.build_parser().parse_args(["--only", "fake"]).only
    assert bench.main(["--only", "fake", "--quick"]) == 0
    assert bench.main(["--only", "fake"]) == 0
    assert seen == [["--quick"], []]
    assert capsys.readouterr().out == ""  # no section of the suite ran
