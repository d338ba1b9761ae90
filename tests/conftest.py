"""Shared test configuration: the hypothesis profile every property test runs under.

``deadline=None`` because a first call can be slow on a loaded CI machine (imports,
BLAS warm-up) and that says nothing about correctness; ``derandomize=True`` so that a
run is reproducible: the same examples every time, on every machine.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=40, print_blob=True)
settings.load_profile("ci")
