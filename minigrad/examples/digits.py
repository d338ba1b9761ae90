"""Classify scikit-learn's 8×8 handwritten digits with a small MLP.

1797 images of the digits 0–9, each 8×8 pixels with values 0–16.  The model
is ``Linear(64, 64) → ReLU → Linear(64, 10)``, trained with
``CrossEntropyLoss`` and ``Adam`` on mini-batches, with a validation split
for early stopping; it reaches at least 95% accuracy on the held-out test
set, and the same *rng* gives the same numbers.

Run it with ``python -m minigrad digits`` (needs ``pip install 'minigrad[data]'``).
"""

from __future__ import annotations

import os

import numpy as np

from minigrad.backend import _array
from minigrad.examples._common import load_sklearn_data, maybe_plot, report, split, standardize
from minigrad.nn.activations import ReLU
from minigrad.nn.linear import Linear
from minigrad.nn.losses import CrossEntropyLoss
from minigrad.nn.sequential import Sequential
from minigrad.optim import Adam
from minigrad.training.callbacks import EarlyStopping
from minigrad.training.fit import fit
from minigrad.training.metrics import accuracy

HIDDEN = 64
LR = 0.005
BATCH_SIZE = 32
MAX_EPOCHS = 100
PATIENCE = 5


def main(
    *,
    quiet: bool = False,
    plot: str | os.PathLike[str] | None = None,
    rng: int | np.random.Generator | None = 0,
    verbose: int = 0,
) -> dict[str, float]:
    """Train the MLP on the digits and report its test accuracy.

    Steps: shuffle with *rng* into test (25%), validation (12.5%) and
    training sets; standardise the pixels with the training statistics;
    train with ``Adam(lr=0.005)`` on batches of 32 for up to 100 epochs,
    recording validation loss and accuracy, and stop with
    ``EarlyStopping(patience=5)``, which puts back the parameters of the epoch
    with the lowest validation loss; then measure the test set once.

    Returns:
        ``test_accuracy``, ``test_loss`` (mean cross-entropy), ``val_accuracy``
        (of the model kept) and ``epochs`` (run, as a float).

    Raises:
        MissingExtraError: scikit-learn is not installed (the ``data`` extra).

    Example:
        >>> import importlib.util
        >>> if importlib.util.find_spec("sklearn"):
        ...     assert main(quiet=True)["test_accuracy"] >= 0.95
    """
    X, y = load_sklearn_data("load_digits", "digits")
    gen = _array.as_rng(rng)
    test, val, train = split(len(X), (0.25, 0.125), gen)
    X_train, X_val, X_test = standardize(X[train], X[val], X[test])

    model = Sequential(Linear(64, HIDDEN, rng=gen), ReLU(), Linear(HIDDEN, 10, rng=gen))
    loss = CrossEntropyLoss()
    stopper = EarlyStopping(monitor="val_loss", patience=PATIENCE)
    history = fit(
        model,
        X_train,
        y[train],
        loss=loss,
        optimizer=Adam(model.parameters(), lr=LR),
        epochs=MAX_EPOCHS,
        batch_size=BATCH_SIZE,
        rng=gen,
        validation_data=(X_val, y[val]),
        metrics=["accuracy"],
        callbacks=[stopper],
        verbose=verbose,
    )
    logits = model.predict(X_test)
    best = stopper.best_epoch if stopper.stopped_epoch else history.epochs
    restored = " (parameters restored)" if stopper.stopped_epoch else ""
    results = {
        "test_accuracy": accuracy(logits, y[test]),
        "test_loss": loss(logits, y[test]),
        "val_accuracy": history.metrics["val_accuracy"][best - 1],
        "epochs": float(history.epochs),
    }
    report(
        [
            (
                f"digits: {len(X)} images of 8x8 pixels; {len(train)} to train, {len(val)} to validate, "
                f"{len(test)} to test"
            ),
            (
                f"MLP 64-{HIDDEN}-10 (ReLU), Adam(lr={LR}), batches of {BATCH_SIZE}: {history.epochs} epochs, "
                f"the model of epoch {best}{restored}"
            ),
            (
                f"validation accuracy {results['val_accuracy']:.2%}, test accuracy {results['test_accuracy']:.2%} "
                f"({round(results['test_accuracy'] * len(test))}/{len(test)})"
            ),
        ],
        quiet,
    )
    maybe_plot(history, plot, f"digits: MLP 64-{HIDDEN}-10, cross-entropy")
    return results


if __name__ == "__main__":  # pragma: no cover
    main()
