"""Runnable examples on real and synthetic data, each ``python -m minigrad <name>``.

Every example module has ``main(*, quiet=False, plot=None, rng=0, verbose=0) -> dict[str, float]``:
it trains, prints a short report (unless *quiet*), writes the loss curve to
*plot* when given (needs the ``plot`` extra), and returns its metrics.  The
same *rng* (an int seed or a ``numpy.random.Generator``) gives the same
split, the same initial weights, the same batches and the same numbers.

- :mod:`~minigrad.examples.diabetes`: multi-input linear regression on
  scikit-learn's diabetes data set, checked against least squares.
- :mod:`~minigrad.examples.digits`: an MLP classifying scikit-learn's 8×8
  digits, with validation data, accuracy and early stopping.
- :mod:`~minigrad.examples.sine`: a small MLP fitting ``sin(x)`` on
  ``[-π, π]`` (no scikit-learn needed).

scikit-learn ships the diabetes and digits data inside its package (no
download); install it with ``pip install 'minigrad[data]'``.
"""

__all__ = ["diabetes", "digits", "sine"]
