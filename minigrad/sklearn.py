"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``, trained by minigrad.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier`` and
``MLPRegressor``: the same constructor parameters (names, defaults, meaning),
the same fitted attributes (``coefs_`` of shape ``(fan_in, fan_out)``,
``intercepts_``, ``loss_curve_``, ``n_iter_``, ``t_``, ``classes_``, ...) and
the same methods (``fit``, ``partial_fit``, ``predict``, ``predict_proba``,
``predict_log_proba``, ``score``), so they work in ``Pipeline``,
``cross_val_score``, ``GridSearchCV``, ``clone`` and pickle.  Changing the
import line is enough::

    from minigrad.sklearn import MLPClassifier     # was: from sklearn.neural_network import MLPClassifier

Under the hood the network is a minigrad :class:`~minigrad.Sequential` of
:class:`~minigrad.Linear` layers and activations, exposed as ``model_``
(it outputs the raw scores; the output function is applied by the loss
and by ``predict_proba``), and it is trained by :func:`minigrad.fit` with
scikit-learn's pieces written as minigrad ones:

- the solvers: ``"sgd"`` is :class:`~minigrad.optim.VelocitySGD`, ``"adam"``
  is :class:`~minigrad.optim.AdamEpsHat`;
- the loss: :mod:`minigrad.nn.output_losses` (softmax, logistic or identity output)
  wrapped in :class:`~minigrad.optim.penalty.L2Penalty` (``alpha``);
- ``learning_rate="invscaling"`` is :class:`~minigrad.optim.InverseScalingLR`;
- ``tol``/``n_iter_no_change``, ``learning_rate="adaptive"`` and
  ``early_stopping`` are :class:`~minigrad.training.convergence.NoImprovementStopping`.

**Exactness.** With the same ``random_state`` the initial weights are
scikit-learn's (its Glorot-uniform draws from its ``RandomState``, in its
order), the mini-batches are scikit-learn's (``shuffle=True`` draws the same
permutations from the same ``RandomState``) and every step is scikit-learn's
arithmetic: ``loss_curve_``, ``coefs_`` and ``intercepts_`` agree with
scikit-learn's to about 1e-13 relative in float64 (the tests ask for 1e-10),
for both estimators, every activation, both solvers and any batch size;
``early_stopping`` draws the same validation split.  Where the numbers
differ, and why:

- Full batch (``batch_size`` ≥ the number of samples) with ``shuffle=True``:
  scikit-learn still permutes the rows every epoch, which only changes the
  order in which the gradient's sums are added; minigrad uses the rows as
  they are.
- float32 data: the training stays in float32 throughout, while scikit-learn
  computes Adam's step and sums the epoch loss in float64; the numbers agree
  to float32 precision.
- The gradients are summed in a different order (``A^T (δ/N) + (α/N) W``,
  where scikit-learn forms ``(A^T δ + α W) / N``), a difference of one
  rounding per step.
- ``solver="lbfgs"`` is not provided (it is not a mini-batch method and
  :func:`minigrad.fit` does not express it): it raises ValueError; ``max_fun``,
  its only parameter, is accepted and ignored.  ``sample_weight`` and sparse
  input are not supported either.
- A diverging run (NaN or inf) raises :class:`minigrad.DivergenceError` with
  the last finite parameters restored, where scikit-learn finishes its
  iterations and raises ValueError.
- ``verbose=True`` shows minigrad's progress display (:class:`minigrad.Progress`)
  instead of scikit-learn's "Iteration i, loss = ..." lines.

:class:`NeuralNetClassifier` and :class:`NeuralNetRegressor` turn any
minigrad model into an estimator, as skorch does for PyTorch: a callable
``module(n_features, n_outputs, rng=..., dtype=...)`` builds it (default
:class:`MLP`), :func:`minigrad.fit` trains it with the cross-entropy or the
mean squared error and the optimizer class of your choice.

Needs scikit-learn (``pip install 'minigrad[data]'``); ``import minigrad``
does not import this module.
"""

from __future__ import annotations

import copy
import warnings
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
    from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - the tests run with scikit-learn or skip this module
    raise ImportError(
        "minigrad.sklearn needs scikit-learn 1.6 or newer: pip install 'minigrad[data]' (or pip install scikit-learn)"
    ) from exc

from minigrad.nn.activations import ReLU, Sigmoid, Tanh
from minigrad.nn.linear import Linear
from minigrad.nn.losses import CrossEntropyLoss, MSELoss
from minigrad.nn.module import Module
from minigrad.nn.output_losses import HalfPoissonLoss, HalfSquaredLoss, OutputLoss, SigmoidLogLoss, SoftmaxLogLoss
from minigrad.nn.sequential import Sequential
from minigrad.optim.adam_eps_hat import AdamEpsHat
from minigrad.optim.inverse_scaling import InverseScalingLR
from minigrad.optim.optimizer import Optimizer
from minigrad.optim.penalty import L2Penalty
from minigrad.optim.velocity_sgd import VelocitySGD
from minigrad.training.callbacks import Callback
from minigrad.training.convergence import NoImprovementStopping
from minigrad.training.fit import fit as _fit

__all__ = ["MLP", "MLPClassifier", "MLPRegressor", "NeuralNetClassifier", "NeuralNetRegressor"]

_HIDDEN = {"identity": None, "logistic": Sigmoid, "tanh": Tanh, "relu": ReLU}
_OUTPUT_LOSSES: dict[str, type[OutputLoss]] = {
    "softmax": SoftmaxLogLoss,
    "logistic": SigmoidLogLoss,
    "identity": HalfSquaredLoss,
    "exp": HalfPoissonLoss,
}


class _BaseMLP(BaseEstimator):  # type: ignore[misc]
    """What the classifier and the regressor share: the network, the training and the forward pass."""

    _parameter_constraints: ClassVar[dict[str, Any]] = dict(_SkMLPRegressor._parameter_constraints)
    loss: str

    # -- the network ----------------------------------------------------------

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[NDArray[Any], NDArray[Any]]:
        raise NotImplementedError

    def _output_activation(self) -> str:
        raise NotImplementedError

    def _initialize(self, y: NDArray[Any], layer_units: list[int], dtype: np.dtype[Any]) -> None:
        """Build ``model_`` with scikit-learn's initial weights and reset the training records."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        factor = 2.0 if self.activation == "logistic" else 6.0  # Glorot uniform, scikit-learn's gains
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(pairwise(layer_units)):
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False)
            intercept = self._random_state.uniform(-bound, bound, fan_out).astype(dtype, copy=False)
            layer = Linear(fan_in, fan_out, dtype=dtype, rng=0)
            layer.weight.data = np.ascontiguousarray(coef.T)  # minigrad's (fan_out, fan_in), in C order
            assert layer.bias is not None
            layer.bias.data = intercept
            layers.append(layer)
            hidden = _HIDDEN[self.activation]
            if hidden is not None and i < len(layer_units) - 2:
                layers.append(hidden())
        self.model_ = Sequential(*layers)
        self._set_coefs()
        self._best_state = self.model_.state_dict()
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_: list[float] | None = []
            self.best_validation_score_: float | None = -np.inf
            self.best_loss_: float | None = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _linears(self) -> list[Linear]:
        return [layer for layer in self.model_ if isinstance(layer, Linear)]

    def _set_coefs(self) -> None:
        """``coefs_`` and ``intercepts_``: views of the model's parameters, in scikit-learn's layout."""
        self.coefs_ = [layer.weight.data.T for layer in self._linears()]
        self.intercepts_ = [layer.bias.data for layer in self._linears() if layer.bias is not None]

    def _out_loss(self) -> OutputLoss:
        return _OUTPUT_LOSSES[self.out_activation_]()

    def _forward(self, X: Any) -> NDArray[Any]:
        """The output of the network for X (checked), after the output function."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        z = self.model_(X)
        return self._out_loss().output(z)

    # -- training -------------------------------------------------------------

    def _fit(self, X: Any, y: Any, incremental: bool = False) -> _BaseMLP:
        self._validate_params()
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not supported by minigrad.sklearn, which trains by mini-batch gradient descent; "
                "use solver='adam' or solver='sgd', or sklearn.neural_network for L-BFGS"
            )
        hidden = self.hidden_layer_sizes
        hidden_sizes = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if any(int(h) <= 0 for h in hidden_sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden_sizes}.")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [X.shape[1], *[int(h) for h in hidden_sizes], self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, X.dtype)
        elif [lin.in_features for lin in self._linears()] + [self._linears()[-1].out_features] != layer_units:
            raise ValueError(
                f"the network has layer sizes {[lin.in_features for lin in self._linears()]} but the data and "
                f"hidden_layer_sizes ask for {layer_units[:-1]}; fit afresh with warm_start=False"
            )
        self._fit_stochastic(X, y, incremental)
        return self

    def _fit_stochastic(self, X: NDArray[Any], y: NDArray[Any], incremental: bool) -> None:
        model = self.model_
        if not incremental or not hasattr(self, "_optimizer"):
            opt: Optimizer
            if self.solver == "sgd":
                opt = VelocitySGD(
                    model.parameters(), self.learning_rate_init, self.momentum, nesterov=self.nesterovs_momentum
                )
                self._scheduler = (
                    InverseScalingLR(opt, self.power_t, count=self.t_) if self.learning_rate == "invscaling" else None
                )
            else:
                opt = AdamEpsHat(model.parameters(), self.learning_rate_init, (self.beta_1, self.beta_2), self.epsilon)
                self._scheduler = None
            self._optimizer = opt
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        X_val = y_val = None
        if early_stopping:
            stratify = y if (isinstance(self, ClassifierMixin) and self.n_outputs_ == 1) else None
            X_train, X_val, y_train, y_val = train_test_split(
                X, y, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            if isinstance(self, MLPClassifier):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train = X, y
        n_samples = X_train.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=3
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        if self._scheduler is not None:
            self._scheduler.increment = n_samples
        loss = L2Penalty(self._out_loss(), [lin.weight for lin in self._linears()], self.alpha)
        # scikit-learn's convergence rule: the training loss, or with early stopping the validation score.
        stopper = NoImprovementStopping(
            monitor=(lambda: self._validation_score(X_val, y_val)) if early_stopping else "loss",
            mode="max" if early_stopping else "min",
            tol=self.tol,
            n_iter_no_change=self.n_iter_no_change,
            optimizer=self._optimizer if (self.solver == "sgd" and self.learning_rate == "adaptive") else None,
            restore_best_weights=early_stopping,
        )
        stopper.best = self.best_validation_score_ if early_stopping else self.best_loss_  # type: ignore[assignment]
        stopper.count = self._no_improvement_count
        stopper.best_state = self._best_state
        rng = _EpochOrder(self._random_state) if self.shuffle else None
        records = _Records(self, n_samples)
        self.n_iter_ = 0
        interrupted = False
        try:
            history = _fit(
                model,
                X_train,
                y_train.astype(X_train.dtype),
                loss=loss,
                optimizer=self._optimizer,
                epochs=1 if incremental else self.max_iter,
                batch_size=batch_size,
                shuffle=self.shuffle,
                rng=rng,
                callbacks=[records, stopper],
                verbose=1 if self.verbose else 0,
                scheduler=self._scheduler,
            )
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
            interrupted = True
            if early_stopping:
                stopper.restore_best()
        finally:
            self._no_improvement_count = stopper.count
            self._best_state = stopper.best_state
            if early_stopping:
                self.best_validation_score_ = stopper.best
            else:
                self.best_loss_ = stopper.best
            self._set_coefs()
        if not interrupted and not incremental and history.stop_reason == "epochs":
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _validation_score(self, X_val: Any, y_val: Any) -> float:
        score = self._score_fn(X_val, y_val)
        assert self.validation_scores_ is not None
        self.validation_scores_.append(score)
        return score

    def _score_fn(self, X: Any, y: Any) -> float:
        raise NotImplementedError

    @staticmethod
    def _finite(pred: NDArray[Any]) -> bool:
        return not (np.issubdtype(pred.dtype, np.floating) and not np.isfinite(pred).all())

    def fit(self, X: Any, y: Any) -> _BaseMLP:
        """Fit the model to data matrix X and target(s) y, as scikit-learn's MLP does.

        Args:
            X: the input data, shape ``(n_samples, n_features)``; float32 stays float32.
            y: the targets: class labels (or a label indicator matrix) for the
                classifier, values ``(n_samples,)`` or ``(n_samples, n_outputs)`` for the regressor.

        Returns:
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    # -- pickling: the layers' per-step caches stay behind ---------------------

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        if "model_" in state:
            state = dict(state)
            state["model_"] = _without_caches(state["model_"])
            state.pop("coefs_", None)
            state.pop("intercepts_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "model_" in state:
            self._set_coefs()


class _Records(Callback):
    """scikit-learn's per-epoch records: ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``."""

    def __init__(self, est: _BaseMLP, n_samples: int) -> None:
        self.est = est
        self.n_samples = n_samples

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> bool | None:
        est = self.est
        est.n_iter_ += 1
        est.loss_ = logs["loss"]
        est.t_ += self.n_samples
        est.loss_curve_.append(logs["loss"])
        return False


class _EpochOrder(np.random.Generator):
    """The mini-batch order of scikit-learn's MLP, as the Generator that :func:`minigrad.fit` shuffles with.

    fit draws one ``permutation(n)`` per epoch and takes its batches in that
    order.  scikit-learn's MLP keeps an order ``idx`` (``arange(n)`` when
    ``fit`` or ``partial_fit`` starts) and, every epoch, permutes it by
    ``RandomState.shuffle`` of ``arange(n)``::

        perm = arange(n); random_state.shuffle(perm); idx = idx[perm]

    ``permutation`` returns that ``idx``, drawn from the estimator's
    ``RandomState`` (the one its initial weights and its validation split
    came from), so the batches are scikit-learn's, batch for batch.  Nothing
    else is drawn from this Generator.
    """

    def __init__(self, random_state: np.random.RandomState) -> None:
        super().__init__(np.random.PCG64(0))
        self.random_state = random_state
        self.order: NDArray[Any] | None = None

    def permutation(self, x: Any, axis: int = 0) -> NDArray[Any]:
        """The next epoch's order of ``range(x)`` (x an int, as fit passes it)."""
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or axis != 0:
            raise TypeError("this Generator only draws the epoch orders of range(n), for minigrad.fit")
        n = int(x)
        if self.order is None or len(self.order) != n:
            self.order = np.arange(n)
        perm = np.arange(n)
        self.random_state.shuffle(perm)
        self.order = self.order[perm]
        return self.order


def _without_caches(model: Module) -> Module:
    """A shallow copy of *model* without the arrays its layers keep from the last forward pass.

    The parameters are shared; every other array attribute of a layer (the
    last input, a ReLU mask, ...) is what ``forward`` keeps for ``backward``.
    """
    if isinstance(model, Sequential):
        return Sequential(*[_without_caches(layer) for layer in model])
    clone = copy.copy(model)
    for name, value in list(vars(clone).items()):
        if isinstance(value, np.ndarray) and name not in model._buffer_names:
            setattr(clone, name, None)
    return clone


class MLPClassifier(ClassifierMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron classifier, scikit-learn's ``MLPClassifier`` trained by minigrad.

    The parameters, attributes and methods are those of
    ``sklearn.neural_network.MLPClassifier`` (see its documentation); the
    module docstring of :mod:`minigrad.sklearn` says how the numbers compare.
    The output is a softmax for more than two classes and a logistic function
    for two classes and for multi-label targets (a label indicator matrix).
    ``model_`` is the trained minigrad :class:`~minigrad.Sequential`; it
    returns the raw scores (logits).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> X, y = load_iris(return_X_y=True)
        >>> mlp = MLPClassifier((16,), learning_rate_init=0.01, max_iter=300, random_state=0)
        >>> clf = make_pipeline(StandardScaler(), mlp)
        >>> clf.fit(X, y).score(X, y) > 0.95
        True
        >>> clf[-1].coefs_[0].shape, clf[-1].model_[0]
        ((4, 16), Linear(in_features=4, out_features=16, bias=True, dtype=float64))
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    _parameter_constraints: ClassVar[dict[str, Any]] = dict(_SkMLPClassifier._parameter_constraints)
    loss = "log_loss"

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[NDArray[Any], NDArray[Any]]:
        X, y = validate_data(self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to "
                        f"fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _score_fn(self, X: Any, y: Any) -> float:
        pred = self._out_loss().output(self.model_(X))
        if not self._finite(pred):
            return float("nan")
        return float(accuracy_score(y, self._labels(pred)))

    def _labels(self, prob: NDArray[Any]) -> NDArray[Any]:
        if self.n_outputs_ == 1:
            prob = prob.ravel()
        labels: NDArray[Any] = self._label_binarizer.inverse_transform(prob)
        return labels

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict the class labels (or the label indicator matrix, for multi-label targets) of X."""
        return self._labels(self._forward(X))

    def predict_proba(self, X: Any) -> NDArray[Any]:
        """The probability of each class, shape ``(n_samples, n_classes)`` (of each label, for multi-label)."""
        prob = self._forward(X)
        if self.n_outputs_ == 1:
            prob = prob.ravel()
            return np.vstack([1 - prob, prob]).T
        return prob

    def predict_log_proba(self, X: Any) -> NDArray[Any]:
        """The logarithm of :meth:`predict_proba`."""
        prob = self.predict_proba(X)
        log_prob: NDArray[Any] = np.log(prob, out=prob)
        return log_prob

    def _stochastic(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    @available_if(_stochastic)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """Update the model with one epoch over (X, y); ``classes`` (all the labels) is needed on the first call."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None and getattr(self, "classes_", None) is not None:
            if not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to partial_fit, was: {self.classes_!r}"
                )
        elif classes is not None:  # the first call
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        self._fit(X, y, incremental=True)
        return self

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):  # type: ignore[misc]
    """Multi-layer perceptron regressor, scikit-learn's ``MLPRegressor`` trained by minigrad.

    The parameters, attributes and methods are those of
    ``sklearn.neural_network.MLPRegressor`` (see its documentation); the
    module docstring of :mod:`minigrad.sklearn` says how the numbers compare.
    The output is the identity (``loss="squared_error"``) or the exponential
    (``loss="poisson"``).  ``model_`` is the trained minigrad
    :class:`~minigrad.Sequential`.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
        >>> reg = MLPRegressor(hidden_layer_sizes=(), solver="sgd", learning_rate_init=0.05, random_state=0)
        >>> reg.fit(X, y).score(X, y) > 0.95, reg.coefs_[0].shape   # a linear model
        (True, (3, 1))
    """

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: Any = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
    ) -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple[NDArray[Any], NDArray[Any]]:
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _score_fn(self, X: Any, y: Any) -> float:
        pred = self._out_loss().output(self.model_(X))
        if not self._finite(pred):
            return float("nan")
        return float(r2_score(y, pred.ravel() if pred.shape[1] == 1 else pred))

    def predict(self, X: Any) -> NDArray[Any]:
        """Predict the targets of X: shape ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        pred = self._forward(X)
        return pred.ravel() if pred.shape[1] == 1 else pred

    def _stochastic(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    @available_if(_stochastic)  # type: ignore[untyped-decorator]
    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """Update the model with one epoch over (X, y)."""
        self._fit(X, y, incremental=True)
        return self


# -- any minigrad model as an estimator ----------------------------------------------------------------


class MLP:
    """A picklable recipe for a minigrad MLP, the default ``module`` of :class:`NeuralNetClassifier`.

    ``MLP(hidden, activation)(n_features, n_outputs, rng=rng, dtype=dtype)``
    builds ``Sequential(Linear(n_features, h1), act, …, Linear(h_k, n_outputs))``
    with minigrad's initialisation drawn from *rng*.  Any callable with that
    signature returning a :class:`~minigrad.Module` can take its place.

    Args:
        hidden: the hidden layer sizes (an empty tuple: a linear model).
        activation: ``"relu"``, ``"tanh"``, ``"logistic"`` or ``"identity"``.

    Example:
        >>> MLP((8,), "tanh")(3, 2, rng=0, dtype=np.float64)
        Sequential(
          (0): Linear(in_features=3, out_features=8, bias=True, dtype=float64)
          (1): Tanh()
          (2): Linear(in_features=8, out_features=2, bias=True, dtype=float64)
        )
    """

    def __init__(self, hidden: tuple[int, ...] = (100,), activation: str = "relu") -> None:
        if activation not in _HIDDEN:
            raise ValueError(f"activation must be one of {sorted(_HIDDEN)}, got {activation!r}")
        self.hidden = tuple(int(h) for h in hidden)
        self.activation = activation

    def __call__(self, n_features: int, n_outputs: int, *, rng: Any, dtype: Any) -> Module:
        gen = np.random.default_rng(rng)
        sizes = [n_features, *self.hidden, n_outputs]
        layers: list[Module] = []
        for i, (fan_in, fan_out) in enumerate(pairwise(sizes)):
            layers.append(Linear(fan_in, fan_out, dtype=dtype, rng=gen))
            hidden = _HIDDEN[self.activation]
            if hidden is not None and i < len(sizes) - 2:
                layers.append(hidden())
        return Sequential(*layers)

    def __repr__(self) -> str:
        return f"MLP(hidden={self.hidden}, activation={self.activation!r})"


class _NeuralNet(BaseEstimator):  # type: ignore[misc]
    """What NeuralNetClassifier and NeuralNetRegressor share: build ``module``, train it with :func:`minigrad.fit`."""

    def __init__(
        self,
        module: Any = None,
        *,
        optimizer: type[Optimizer] = AdamEpsHat,
        lr: float = 1e-3,
        max_epochs: int = 50,
        batch_size: int = 32,
        shuffle: bool = True,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.module = module
        self.optimizer = optimizer
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose

    def _train(self, X: NDArray[Any], y: NDArray[Any], n_outputs: int, loss: Any) -> None:
        rs = check_random_state(self.random_state)
        factory = self.module if self.module is not None else MLP()
        model = factory(X.shape[1], n_outputs, rng=rs.randint(np.iinfo(np.int32).max), dtype=X.dtype)
        if not isinstance(model, Module):
            raise TypeError(f"module must build a minigrad Module, it built a {type(model).__name__}")
        if not (isinstance(self.optimizer, type) and issubclass(self.optimizer, Optimizer)):
            raise TypeError(f"optimizer must be a minigrad Optimizer class, got {self.optimizer!r}")
        self.model_ = model
        self.optimizer_ = self.optimizer(model.parameters(), lr=self.lr)
        self.history_ = _fit(
            model,
            X,
            y,
            loss=loss,
            optimizer=self.optimizer_,
            epochs=self.max_epochs,
            batch_size=min(self.batch_size, X.shape[0]),
            shuffle=self.shuffle,
            rng=rs.randint(np.iinfo(np.int32).max),
            verbose=1 if self.verbose else 0,
        )

    def _raw(self, X: Any) -> NDArray[Any]:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        out: NDArray[Any] = self.model_(X)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        if "model_" in state:
            state = dict(state)
            state["model_"] = _without_caches(state["model_"])
        return state


class NeuralNetClassifier(ClassifierMixin, _NeuralNet):  # type: ignore[misc]
    """Any minigrad model as a scikit-learn classifier, trained by :func:`minigrad.fit` on the cross-entropy.

    ``module(n_features, n_classes, rng=seed, dtype=dtype)`` builds the model
    (default: :class:`MLP` with one hidden layer of 100); it must return logits
    of shape ``(N, n_classes)``.  It is trained with
    :class:`~minigrad.CrossEntropyLoss`, ``optimizer(model.parameters(),
    lr=lr)`` (default :class:`~minigrad.optim.AdamEpsHat`), ``max_epochs``
    epochs of mini-batches of ``batch_size``.  Fitted: ``model_``,
    ``optimizer_``, ``history_`` (fit's :class:`~minigrad.History`),
    ``classes_``, ``n_features_in_``.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = NeuralNetClassifier(MLP((16,)), lr=0.01, max_epochs=60, random_state=0).fit(X, y)
        >>> clf.score(X, y) > 0.95, clf.predict_proba(X[:1]).shape, len(clf.history_.loss)
        (True, (1, 3), 60)
    """

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Build the model and train it on (X, y); y holds class labels."""
        X, y = validate_data(self, X, y, dtype=(np.float64, np.float32))
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"NeuralNetClassifier needs samples of at least 2 classes; y has 1 class ({self.classes_[0]!r})"
            )
        self._train(X, indices, len(self.classes_), CrossEntropyLoss())
        return self

    def predict_proba(self, X: Any) -> NDArray[Any]:
        """The softmax of the model's logits, shape ``(n_samples, n_classes)``."""
        return SoftmaxLogLoss().output(self._raw(X))

    def predict(self, X: Any) -> NDArray[Any]:
        """The class of the largest logit."""
        logits = self._raw(X)
        labels: NDArray[Any] = self.classes_[np.argmax(logits, axis=1)]
        return labels


class NeuralNetRegressor(RegressorMixin, _NeuralNet):  # type: ignore[misc]
    """Any minigrad model as a scikit-learn regressor, trained by :func:`minigrad.fit` on the mean squared error.

    As :class:`NeuralNetClassifier`, with ``module(n_features, n_outputs, rng=, dtype=)``
    predicting ``(N, n_outputs)`` and :class:`~minigrad.MSELoss`.  A 1-D y gives
    1-D predictions.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
        >>> reg = NeuralNetRegressor(MLP(()), lr=0.05, max_epochs=40, random_state=0).fit(X, y)
        >>> reg.score(X, y) > 0.99
        True
    """

    def fit(self, X: Any, y: Any) -> NeuralNetRegressor:
        """Build the model and train it on (X, y); y is ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=(np.float64, np.float32))
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        self._train(X, y2.astype(X.dtype), y2.shape[1], MSELoss())
        return self

    def predict(self, X: Any) -> NDArray[Any]:
        """The model's output: ``(n_samples,)`` for one output, else ``(n_samples, n_outputs)``."""
        out = self._raw(X)
        return out.ravel() if out.shape[1] == 1 else out
