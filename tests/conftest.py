"""Shared test configuration: the hypothesis profile, and the ``xp`` fixture over array libraries.

``deadline=None`` because a first call can be slow on a loaded CI machine (imports,
BLAS warm-up) and that says nothing about correctness; ``derandomize=True`` so that a
run is reproducible: the same examples every time, on every machine.

The ``xp`` fixture runs a test once per array library (see :mod:`array_libraries`):
NumPy, array-api-strict (which proves that only Array API standard calls are used) and
torch on the CPU by default, each skipped cleanly when not installed.  ``--xp`` chooses
others, e.g. ``--xp cupy,torch:cuda`` on a machine with an NVIDIA GPU
(``benchmarks/gpu_check.py`` does that).
"""

from __future__ import annotations

from typing import Any

import pytest
from array_libraries import DEFAULT_LIBRARIES, ArrayLibrary
from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=40, print_blob=True)
settings.load_profile("ci")


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        "--xp",
        default=",".join(DEFAULT_LIBRARIES),
        help="comma-separated array libraries for the xp fixture, LIBRARY[:DEVICE] "
        f"(default {','.join(DEFAULT_LIBRARIES)}; e.g. cupy,torch:cuda)",
    )


def pytest_generate_tests(metafunc: Any) -> None:
    if "xp" in metafunc.fixturenames:
        specs = [s.strip() for s in metafunc.config.getoption("--xp").split(",") if s.strip()]
        metafunc.parametrize("xp", specs, indirect=True)


@pytest.fixture
def xp(request: Any) -> ArrayLibrary:
    """The array library under test (module, device and helpers); skips when it is not installed."""
    return ArrayLibrary.load(request.param)
