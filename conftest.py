"""pytest configuration for the whole checkout.

``python -m pytest`` also runs the docstring examples of every module in
``minigrad/``; a module built on an optional extra that is not installed
(``minigrad.sklearn`` needs scikit-learn) is left out of that collection,
as the tests that need it skip.
"""

from __future__ import annotations

import importlib.util

collect_ignore: list[str] = []
if importlib.util.find_spec("sklearn") is None:
    collect_ignore.append("minigrad/sklearn.py")
