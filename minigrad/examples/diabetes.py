"""Multi-input linear regression on scikit-learn's diabetes data set, checked against least squares.

442 patients, 10 baseline measurements (age, sex, body-mass index, blood
pressure and six blood serum values) and a measure of disease progression
one year later.  A ``Linear(10, 1)`` trained by full-batch gradient descent
with momentum should reach the same test-set R² as the ordinary least-squares
solution ``np.linalg.lstsq`` (the exact minimiser of the same training loss),
within 0.02.

Run it with ``python -m minigrad diabetes`` (needs ``pip install 'minigrad[data]'``).
"""

from __future__ import annotations

import os

import numpy as np

from minigrad.backend import _array
from minigrad.examples._common import load_sklearn_data, maybe_plot, report, split, standardize
from minigrad.nn.linear import Linear
from minigrad.nn.losses import MSELoss
from minigrad.optim import SGD
from minigrad.training.fit import fit
from minigrad.training.metrics import r2_score

EPOCHS = 300
LR = 0.1
MOMENTUM = 0.9


def main(
    *,
    quiet: bool = False,
    plot: str | os.PathLike[str] | None = None,
    rng: int | np.random.Generator | None = 0,
    verbose: int = 0,
) -> dict[str, float]:
    """Fit the diabetes data with ``Linear(10, 1)`` and compare with least squares.

    Steps: shuffle with *rng* and keep 20% as the test set; standardise the
    features and the target with the training statistics (so one learning
    rate suits every weight); train ``Linear(10, 1)`` with ``MSELoss`` and
    ``SGD(lr=0.1, momentum=0.9)`` for 300 full-batch epochs, the test set as
    validation data; solve the same least-squares problem exactly with
    ``np.linalg.lstsq`` on ``[X, 1]``; compare test-set R² (``1 - SS_res/SS_tot``).

    Returns:
        ``test_r2`` (minigrad), ``ols_test_r2`` (least squares), ``r2_gap``
        (their absolute difference) and ``test_rmse`` (in the target's units).

    Raises:
        MissingExtraError: scikit-learn is not installed (the ``data`` extra).

    Example:
        >>> import importlib.util
        >>> if importlib.util.find_spec("sklearn"):
        ...     assert main(quiet=True)["r2_gap"] <= 0.02
    """
    X, y = load_sklearn_data("load_diabetes", "diabetes")
    gen = _array.as_rng(rng)
    test, train = split(len(X), (0.2,), gen)
    X_train, X_test = standardize(X[train], X[test])
    y_mean, y_std = y[train].mean(), y[train].std()
    y_train, y_test = (y[train] - y_mean) / y_std, (y[test] - y_mean) / y_std

    model = Linear(X.shape[1], 1, rng=gen)
    optimizer = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    history = fit(
        model,
        X_train,
        y_train,
        loss=MSELoss(),
        optimizer=optimizer,
        epochs=EPOCHS,
        validation_data=(X_test, y_test),
        metrics=["r2"],
        verbose=verbose,
    )
    pred = model.predict(X_test).ravel() * y_std + y_mean

    A_train = np.hstack([X_train, np.ones((len(train), 1))])
    A_test = np.hstack([X_test, np.ones((len(test), 1))])
    coef, *_ = np.linalg.lstsq(A_train, y_train, rcond=None)
    ols_pred = (A_test @ coef) * y_std + y_mean

    results = {
        "test_r2": r2_score(pred, y[test].astype(np.float64)),
        "ols_test_r2": r2_score(ols_pred, y[test].astype(np.float64)),
        "r2_gap": 0.0,
        "test_rmse": float(np.sqrt(np.mean((pred - y[test]) ** 2))),
    }
    results["r2_gap"] = abs(results["test_r2"] - results["ols_test_r2"])
    ours = f"minigrad Linear(10, 1), SGD(lr={LR}, momentum={MOMENTUM}), {history.epochs} epochs"
    ols = "least squares (np.linalg.lstsq)"
    width = max(len(ours), len(ols))
    report(
        [
            f"diabetes: {len(X)} samples, {X.shape[1]} features; {len(train)} to train, {len(test)} to test",
            f"{ours:<{width}}  test R² {results['test_r2']:.4f}  RMSE {results['test_rmse']:.2f}",
            f"{ols:<{width}}  test R² {results['ols_test_r2']:.4f}",
            f"difference {results['r2_gap']:.2g} (at most 0.02 expected)",
        ],
        quiet,
    )
    maybe_plot(history, plot, "diabetes: Linear(10, 1), mean squared error (standardised target)")
    return results


if __name__ == "__main__":  # pragma: no cover
    main()
