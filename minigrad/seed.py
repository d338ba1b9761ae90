"""The seed's example: one movie, one weight, trained until the prediction is exact.

The blog post "Machine Learning from Scratch in Elixir" predicts a film's
gross from its budget with ``prediction = input * weight`` and learns the
weight with ``weight -= (prediction - goal) * input * alpha``.  Here the same
example runs through minigrad's Linear, MSELoss, SGD and fit, and prints the
post's trace lines in the post's own float format.
"""

from __future__ import annotations

import decimal
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import numpy as np

from minigrad.nn.linear import Linear
from minigrad.nn.losses import MSELoss
from minigrad.nn.module import Module
from minigrad.optim.sgd import SGD
from minigrad.training.callbacks import Callback, Logs
from minigrad.training.fit import fit
from minigrad.training.history import History

#: The seed's numbers: Mad Max (1980), budget $200,000, gross $99,750,000.
BUDGET = 200_000.0
GROSS = 99_750_000.0
START_WEIGHT = 1.0
ALPHA = 1e-11


def elixir_float(x: float) -> str:
    """Format *x* as Elixir's ``Float.to_string`` does (shortest digits).

    Decimal notation unless the exponent form is shorter, as in the seed's
    trace: ``200.1``, ``2.0e5``, ``9.975e7``, ``99749999.99999997``.

    Example:
        >>> [elixir_float(v) for v in (1.0, 200000.0, 99750000.0, 498.75, 9850562500000000.0)]
        ['1.0', '2.0e5', '9.975e7', '498.75', '9.8505625e15']
    """
    if x != x or x in (float("inf"), float("-inf")):
        return repr(x)
    sign = "-" if x < 0 or (x == 0 and str(x).startswith("-")) else ""
    tup = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, tup.digits)) or "0"
    assert isinstance(tup.exponent, int)
    if digits == "0":
        return sign + "0.0"
    place = len(digits) + tup.exponent  # position of the decimal point
    exp = str(place - 1)
    exp_cost = len(exp) + 2
    n = len(digits)
    if place <= 0:
        body = "0." + "0" * -place + digits if 1 - place <= exp_cost else _exp_form(digits, exp)
    elif place < n:
        body = digits[:place] + "." + digits[place:]
    elif place - n + 2 <= exp_cost:
        body = digits + "0" * (place - n) + ".0"
    else:
        body = _exp_form(digits, exp)
    return sign + body


def _exp_form(digits: str, exp: str) -> str:
    return f"{digits[0]}.{digits[1:] or '0'}e{exp}"


class SeedTrace(Callback):
    """Print the seed's trace: ``weight: …, current_prediction: …, goal_prediction: …``.

    Like the post's ``ModelTrainer.train``, each line shows a weight and the
    prediction made with the weight before it (empty on the first line), and
    the last line is ``Training Complete, final weight: …``.

    Example:
        Two steps of the seed (``w ← w - (x w - y) x alpha``, alpha 1e-11):

        >>> import minigrad as mg
        >>> model = seed_model()
        >>> opt = mg.SGD(model.parameters(), lr=ALPHA / 2)
        >>> h = mg.fit(model, [[BUDGET]], [GROSS], loss=mg.MSELoss(), optimizer=opt, epochs=2,
        ...            callbacks=[SeedTrace(model, BUDGET, GROSS)])
        weight: 1.0, current_prediction: , goal_prediction: 9.975e7
        weight: 200.1, current_prediction: 2.0e5, goal_prediction: 9.975e7
        weight: 319.56, current_prediction: 4.002e7, goal_prediction: 9.975e7
        Training Complete, final weight: 319.56
    """

    def __init__(self, model: Linear, x: float, goal: float, stream: TextIO | None = None) -> None:
        self.model = model
        self.x = np.array([[x]])
        self.goal = goal
        self.stream = stream
        self._prediction = ""

    def _print(self, line: str) -> None:
        print(line, file=self.stream or sys.stdout)

    def _weight(self) -> float:
        return float(self.model.weight.data[0, 0])

    def on_train_begin(self, model: Module) -> None:
        self._line()

    def on_epoch_end(self, epoch: int, logs: Logs) -> bool | None:
        if not logs["converged"]:
            self._line()
        return None

    def _line(self) -> None:
        w = self._weight()
        self._print(
            f"weight: {elixir_float(w)}, current_prediction: {self._prediction}, "
            f"goal_prediction: {elixir_float(self.goal)}"
        )
        self._prediction = elixir_float(float(self.model(self.x)[0, 0]))

    def on_train_end(self, history: History) -> None:
        self._print(f"Training Complete, final weight: {elixir_float(self._weight())}")


def seed_model(weight: float = START_WEIGHT) -> Linear:
    """The seed's model: ``Linear(1, 1, bias=False)`` holding *weight*, so ``prediction = input * weight``.

    Example:
        >>> seed_model(2.5)(np.array([[100_000.0]]))
        array([[250000.]])
    """
    model = Linear(1, 1, bias=False)
    model.weight.data[...] = weight
    return model


def train_seed(
    *,
    alpha: float = ALPHA,
    max_epochs: int = 1000,
    stream: TextIO | None = None,
    quiet: bool = False,
    callbacks: Sequence[Callback] = (),
) -> tuple[Linear, History]:
    """Run the seed's training with minigrad and return the model and its History.

    ``lr = alpha / 2``: MSELoss's gradient carries the factor 2 that the
    seed's update leaves out, and halving is exact, so every weight equals
    the seed's bit for bit.  Training stops, as the seed does, at the first
    epoch whose prediction equals the goal (``tol=0.0``).  Extra *callbacks*
    run after the trace (the command line records the steps for ``--plot``).

    Example:
        >>> model, history = train_seed(quiet=True)
        >>> history.epochs, history.stop_reason, model.weight.data.item()
        (73, 'tol', 498.75)
    """
    model = seed_model()
    X = np.array([[BUDGET]])
    y = np.array([[GROSS]])
    trace: list[Any] = [] if quiet else [SeedTrace(model, BUDGET, GROSS, stream)]
    history = fit(
        model,
        X,
        y,
        loss=MSELoss(),
        optimizer=SGD(model.parameters(), lr=alpha / 2),
        epochs=max_epochs,
        tol=0.0,
        callbacks=trace + list(callbacks),
    )
    return model, history


def main(stream: TextIO | None = None) -> int:
    """Print the seed's trace, ending with its final weight; return the exit status.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> main(out), out.getvalue().splitlines()[-1]
        (0, 'Training Complete, final weight: 498.75')
    """
    train_seed(stream=stream)
    return 0
