"""minigrad.sklearn: scikit-learn's estimator checks, and the same numbers as scikit-learn's MLPs."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from minigrad.sklearn import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(max_iter=20), MLPRegressor(max_iter=20)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
