"""minigrad.sklearn: scikit-learn's estimator checks, and the same numbers as scikit-learn's MLPs."""

from __future__ import annotations

import io
import pickle
import warnings
from contextlib import redirect_stdout
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

import joblib
from sklearn import neural_network
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import minigrad as mg
import minigrad.sklearn as mgs
from minigrad.sklearn import MLP, MLPClassifier, MLPRegressor, NeuralNetClassifier, NeuralNetRegressor

RTOL = 1e-10  # the promise: scikit-learn's numbers to 1e-10 relative (measured: about 1e-13)


@parametrize_with_checks(
    [MLPClassifier(max_iter=20), MLPRegressor(max_iter=20), NeuralNetClassifier(), NeuralNetRegressor()]
)
def test_sklearn_estimator_checks(estimator: Any, check: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _data() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(83, 5))
    return {
        "X": X,
        "multiclass": np.array(["a", "b", "c"])[(X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 0)],
        "binary": (X[:, 0] - X[:, 3] > 0).astype(int),
        "multilabel": np.c_[X[:, 0] > 0, X[:, 1] > 0.3, X[:, 2] * X[:, 3] > 0].astype(int),
        "single": X @ rng.normal(size=5) + np.sin(X[:, 0]),
        "multioutput": np.c_[X @ rng.normal(size=5), np.cos(X[:, 1])],
        "counts": rng.poisson(np.exp(0.3 * X[:, 0])).astype(float),
    }


DATA = _data()


def _fit_both(kind: str, target: str, **params: Any) -> tuple[Any, Any]:
    name = "MLPClassifier" if kind == "classifier" else "MLPRegressor"
    params = {"shuffle": False, "random_state": 1, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = getattr(mgs, name)(**params).fit(DATA["X"], DATA[target])
        theirs = getattr(neural_network, name)(**params).fit(DATA["X"], DATA[target])
    return ours, theirs


def _assert_same_numbers(ours: Any, theirs: Any, rtol: float = RTOL) -> None:
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol, atol=0)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=rtol)
    assert len(ours.coefs_) == len(theirs.coefs_) and len(ours.intercepts_) == len(theirs.intercepts_)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


SOLVERS = [
    {"solver": "adam"},
    {"solver": "sgd", "learning_rate_init": 0.05},
    {"solver": "sgd", "learning_rate_init": 0.05, "nesterovs_momentum": False, "momentum": 0.5},
    {"solver": "sgd", "learning_rate": "invscaling", "learning_rate_init": 0.05, "power_t": 0.3},
    {"solver": "sgd", "learning_rate": "adaptive", "learning_rate_init": 0.05, "tol": 1e-2, "n_iter_no_change": 2},
]


@pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning")
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("solver", SOLVERS, ids=lambda s: "-".join(str(v) for v in s.values()))
@pytest.mark.parametrize(
    ("kind", "target", "batch_size"),
    [
        ("classifier", "multiclass", 16),
        ("classifier", "binary", "auto"),
        ("classifier", "multilabel", 30),
        ("regressor", "single", 83),
        ("regressor", "multioutput", 200),
    ],
)
def test_same_numbers_as_scikit_learn(
    activation: str, solver: dict[str, Any], kind: str, target: str, batch_size: Any
) -> None:
    ours, theirs = _fit_both(
        kind,
        target,
        hidden_layer_sizes=(6, 4),
        activation=activation,
        batch_size=batch_size,
        max_iter=12,
        alpha=0.01,
        **solver,
    )
    _assert_same_numbers(ours, theirs)
    assert ours.out_activation_ == theirs.out_activation_
    if solver.get("learning_rate") == "adaptive":
        assert ours._optimizer.lr == pytest.approx(theirs._optimizer.learning_rate, rel=1e-15)


@pytest.mark.parametrize("hidden", [(), (5,), (4, 3, 2)])
def test_same_numbers_linear_models_and_deeper_networks(hidden: tuple[int, ...]) -> None:
    _assert_same_numbers(*_fit_both("classifier", "multiclass", hidden_layer_sizes=hidden, max_iter=15))
    _assert_same_numbers(*_fit_both("regressor", "single", hidden_layer_sizes=hidden, solver="sgd", max_iter=15))


def test_same_numbers_until_convergence_and_with_poisson_loss() -> None:
    ours, theirs = _fit_both("classifier", "binary", hidden_layer_sizes=(5,), learning_rate_init=0.05, max_iter=500)
    assert ours.n_iter_ < 500  # stopped by tol / n_iter_no_change, at the same epoch
    _assert_same_numbers(ours, theirs)
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=RTOL)
    _assert_same_numbers(*_fit_both("regressor", "counts", loss="poisson", hidden_layer_sizes=(4,), max_iter=20))


@pytest.mark.parametrize(("kind", "target"), [("classifier", "multiclass"), ("regressor", "multioutput")])
def test_same_numbers_with_early_stopping(kind: str, target: str) -> None:
    ours, theirs = _fit_both(
        kind, target, hidden_layer_sizes=(5,), early_stopping=True, n_iter_no_change=3, learning_rate_init=0.01
    )
    _assert_same_numbers(ours, theirs)  # the best epoch's parameters, put back
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=RTOL)
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=RTOL)
    assert ours.best_loss_ is None and theirs.best_loss_ is None


def test_same_numbers_with_partial_fit_and_warm_start() -> None:
    X, y = DATA["X"], DATA["multiclass"]
    params = {"hidden_layer_sizes": (5,), "shuffle": False, "random_state": 2, "solver": "sgd"}
    ours, theirs = MLPClassifier(**params), neural_network.MLPClassifier(**params)
    for start in range(0, 80, 20):
        ours.partial_fit(X[start : start + 20], y[start : start + 20], classes=["a", "b", "c"])
        theirs.partial_fit(X[start : start + 20], y[start : start + 20], classes=["a", "b", "c"])
    _assert_same_numbers(ours, theirs)
    reg_params = {"hidden_layer_sizes": (5,), "shuffle": False, "random_state": 2, "warm_start": True, "max_iter": 7}
    ours, theirs = MLPRegressor(**reg_params), neural_network.MLPRegressor(**reg_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(2):
            ours.fit(X, DATA["single"])
            theirs.fit(X, DATA["single"])
    _assert_same_numbers(ours, theirs)
    assert len(ours.loss_curve_) == 14


def test_partial_fit_needs_classes_first_and_the_same_classes_after() -> None:
    clf = MLPClassifier(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(DATA["X"], DATA["binary"])
    clf.partial_fit(DATA["X"], DATA["binary"], classes=[0, 1])
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(DATA["X"], DATA["binary"], classes=[0, 1, 2])
    with pytest.raises(ValueError, match="early_stopping"):
        clf.set_params(early_stopping=True).partial_fit(DATA["X"], DATA["binary"])
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


@pytest.mark.filterwarnings("ignore:Got `batch_size`:UserWarning")
@pytest.mark.parametrize("solver", SOLVERS[:2], ids=["adam", "sgd"])
@pytest.mark.parametrize(
    ("kind", "target", "extra"),
    [
        ("classifier", "multiclass", {"batch_size": 16}),
        ("classifier", "binary", {"batch_size": 20, "early_stopping": True}),
        ("classifier", "multilabel", {}),
        ("regressor", "multioutput", {"batch_size": 30}),
        ("regressor", "single", {"batch_size": 25, "early_stopping": True}),
        ("regressor", "single", {"batch_size": 1000}),  # full batch: scikit-learn permutes, we do not
    ],
)
def test_same_numbers_with_shuffled_batches(
    kind: str, target: str, extra: dict[str, Any], solver: dict[str, Any]
) -> None:
    ours, theirs = _fit_both(
        kind, target, shuffle=True, hidden_layer_sizes=(6,), activation="tanh", max_iter=12, **extra, **solver
    )
    _assert_same_numbers(ours, theirs)


def test_shuffled_batches_continue_across_partial_fit_calls() -> None:
    params = {"hidden_layer_sizes": (5,), "random_state": 4, "batch_size": 10}
    ours, theirs = MLPRegressor(**params), neural_network.MLPRegressor(**params)
    for _ in range(3):
        ours.partial_fit(DATA["X"], DATA["single"])
        theirs.partial_fit(DATA["X"], DATA["single"])
    _assert_same_numbers(ours, theirs)


def test_epoch_order_draws_only_permutations() -> None:
    order = mgs._EpochOrder(np.random.RandomState(0))
    first = order.permutation(5).copy()
    assert sorted(first) == [0, 1, 2, 3, 4] and sorted(order.permutation(5)) == [0, 1, 2, 3, 4]
    assert len(order.permutation(3)) == 3  # a new n starts from arange(n) again
    with pytest.raises(TypeError, match="epoch orders"):
        order.permutation(np.arange(4))


def test_model_is_a_minigrad_sequential_of_logits() -> None:
    clf, sk = _fit_both("classifier", "multiclass", hidden_layer_sizes=(4,), max_iter=5)
    model = clf.model_
    assert isinstance(model, mg.Sequential) and [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    logits = model(DATA["X"])
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(DATA["X"]), prob / prob.sum(axis=1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(clf.predict_proba(DATA["X"]), sk.predict_proba(DATA["X"]), rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(DATA["X"]), np.log(clf.predict_proba(DATA["X"])))
    assert (clf.predict(DATA["X"]) == sk.predict(DATA["X"])).all()
    assert list(clf.classes_) == ["a", "b", "c"]
    binary, _ = _fit_both("classifier", "binary", hidden_layer_sizes=(4,), max_iter=3)
    assert binary.predict_proba(DATA["X"]).shape == (83, 2) and binary.out_activation_ == "logistic"
    multilabel, sk_ml = _fit_both("classifier", "multilabel", hidden_layer_sizes=(4,), max_iter=3)
    assert multilabel.predict(DATA["X"]).shape == (83, 3)
    np.testing.assert_array_equal(multilabel.predict(DATA["X"]), sk_ml.predict(DATA["X"]))


def test_float32_stays_float32() -> None:
    X32 = DATA["X"].astype(np.float32)
    params = {"hidden_layer_sizes": (5,), "shuffle": False, "random_state": 0, "max_iter": 10}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(**params).fit(X32, DATA["multiclass"])
        reg = MLPRegressor(**params).fit(X32, DATA["single"])
        sk = neural_network.MLPRegressor(**params).fit(X32, DATA["single"])
    assert clf.model_.dtype == np.float32 and clf.coefs_[0].dtype == np.float32
    assert clf.predict_proba(X32).dtype == np.float32 and reg.predict(X32).dtype == np.float32
    _assert_same_numbers(reg, sk, rtol=1e-4)  # float32 rounding, Adam's step summed in float64 by scikit-learn


def test_pipeline_grid_search_cross_validation_and_pandas_output() -> None:
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(DATA["X"], columns=[f"f{i}" for i in range(5)])
    y = DATA["multiclass"]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=60, random_state=0))
    pipe.set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3, n_jobs=2).fit(X, y)
    assert scores.shape == (3,) and (scores > 0.4).all()
    best = search.best_estimator_[-1]
    assert list(best.feature_names_in_) == list(X.columns) and best.n_features_in_ == 5
    assert search.best_params_["mlpclassifier__alpha"] in (1e-4, 1e-1)


def test_clone_pickle_and_joblib_round_trips_continue_training_identically(tmp_path: Any) -> None:
    clf, _ = _fit_both("classifier", "multiclass", hidden_layer_sizes=(4,), max_iter=5, solver="sgd")
    assert clone(clf).get_params() == clf.get_params() and not hasattr(clone(clf), "model_")
    copy = pickle.loads(pickle.dumps(clf))
    joblib.dump(clf, tmp_path / "clf.joblib")
    loaded = joblib.load(tmp_path / "clf.joblib")
    for other in (copy, loaded):
        np.testing.assert_array_equal(other.predict_proba(DATA["X"]), clf.predict_proba(DATA["X"]))
    assert len(pickle.dumps(clf)) < 20_000  # the layers' caches of the last batch stay behind
    for est in (clf, copy):
        est.partial_fit(DATA["X"], DATA["multiclass"])  # the optimizer's velocities travel with the pickle
    for a, b in zip(clf.coefs_, copy.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_coefs_are_views_of_the_model() -> None:
    reg, _ = _fit_both("regressor", "single", hidden_layer_sizes=(3,), max_iter=2)
    assert reg.coefs_[0].shape == (5, 3) and np.shares_memory(reg.coefs_[0], reg.model_[0].weight.data)
    assert reg.n_layers_ == 3 and reg.n_outputs_ == 1


def test_refusals_are_clear() -> None:
    with pytest.raises(ValueError, match=r"lbfgs.*not supported"):
        MLPClassifier(solver="lbfgs").fit(DATA["X"], DATA["binary"])
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(3, 0)).fit(DATA["X"], DATA["single"])
    with pytest.raises(ValueError, match="activation"):
        MLPRegressor(activation="softplus").fit(DATA["X"], DATA["single"])
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(DATA["X"], DATA["single"])
        with pytest.raises(ValueError, match="layer sizes"):
            reg.set_params(hidden_layer_sizes=(4,)).fit(DATA["X"], DATA["single"])
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.01).fit(DATA["X"][:20], DATA["single"][:20])
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(DATA["X"], DATA["binary"])
        with pytest.raises(ValueError, match="same classes"):
            clf.fit(DATA["X"], DATA["multiclass"])
    with pytest.warns(UserWarning, match="clipped"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(hidden_layer_sizes=(2,), batch_size=1000, max_iter=1).fit(DATA["X"], DATA["single"])


def test_divergence_restores_and_raises() -> None:
    y = DATA["single"] * 1e6
    with pytest.raises(mg.DivergenceError):
        MLPRegressor(hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=10.0).fit(DATA["X"], y)


def test_verbose_shows_minigrad_progress_and_a_ctrl_c_keeps_the_model(monkeypatch: Any) -> None:
    out = io.StringIO()
    with redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPRegressor(hidden_layer_sizes=(2,), max_iter=3, verbose=True).fit(DATA["X"], DATA["single"])
    assert "epoch 3/3" in out.getvalue()
    calls = {"n": 0}
    forward = mg.L2Penalty.forward

    def interrupt_at_the_tenth_batch(self: Any, pred: Any, target: Any) -> float:
        calls["n"] += 1
        if calls["n"] == 10:
            raise KeyboardInterrupt
        return forward(self, pred, target)

    monkeypatch.setattr(mg.L2Penalty, "forward", interrupt_at_the_tenth_batch)
    clf = MLPClassifier(hidden_layer_sizes=(3,), batch_size=20, early_stopping=True, random_state=0)
    with pytest.warns(UserWarning, match="interrupted"):
        clf.fit(DATA["X"], DATA["multiclass"])
    assert clf.n_iter_ == 2 and len(clf.validation_scores_) == 2  # 4 batches an epoch: cut short in epoch 3
    assert clf.predict(DATA["X"]).shape == (83,)


def test_readme_example_prints_what_readme_says() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in readme.split("```python\n")[1:]]
    (code,) = [b for b in blocks if "from minigrad.sklearn import MLPClassifier" in b]
    expected = next(line[2:] for line in code.splitlines() if line.startswith("# {"))
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    out = io.StringIO()
    # one BLAS thread: on a busy machine, OpenBLAS's threads waiting for each other make these small products slow
    with redirect_stdout(out), warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        namespace: dict[str, Any] = {}
        exec(code.replace("n_jobs=2", "n_jobs=None"), namespace)  # n_jobs=2 is tested on smaller data above
    assert out.getvalue().strip() == expected
    assert isinstance(namespace["model"], mg.Sequential)


def test_the_less_travelled_paths(monkeypatch: Any) -> None:
    X, y = DATA["X"], DATA["multilabel"]
    clf = MLPClassifier(hidden_layer_sizes=(3,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict(X).shape == (83, 3)  # multi-label, from y
    binary = MLPClassifier(hidden_layer_sizes=(3,), random_state=0).partial_fit(X, DATA["binary"], classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in"):
        binary.partial_fit(X, DATA["binary"] + 1)
    warm = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, DATA["binary"]).fit(X, DATA["binary"])  # the same classes: continues
    assert len(warm.loss_curve_) == 4
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    unfitted = pickle.loads(pickle.dumps(MLPRegressor(alpha=0.5)))
    assert unfitted.alpha == 0.5 and not hasattr(unfitted, "coefs_")
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, random_state=0, alpha=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, DATA["single"])
    reg.model_[0].weight.data[...] = np.nan  # a model gone bad scores NaN, as scikit-learn's does
    assert np.isnan(reg._score_fn(X, DATA["single"]))
    clf.model_[0].weight.data[...] = np.nan
    assert np.isnan(clf._score_fn(X, clf._label_binarizer.inverse_transform(y)))
    forward = mg.L2Penalty.forward

    def interrupt(self: Any, pred: Any, target: Any) -> float:
        raise KeyboardInterrupt

    monkeypatch.setattr(mg.L2Penalty, "forward", interrupt)
    with pytest.warns(UserWarning, match="interrupted"):
        interrupted = MLPRegressor(hidden_layer_sizes=(3,)).fit(X, DATA["single"])
    assert interrupted.n_iter_ == 0 and interrupted.loss_curve_ == []
    monkeypatch.setattr(mg.L2Penalty, "forward", forward)


def _wide_and_linear(n_features: int, n_outputs: int, *, rng: Any, dtype: Any) -> mg.Module:
    return mg.Sequential(mg.Linear(n_features, n_outputs, dtype=dtype, rng=rng))


def test_any_minigrad_model_as_an_estimator(tmp_path: Any) -> None:
    X, y = DATA["X"], DATA["multiclass"]
    clf = NeuralNetClassifier(MLP((8,), "tanh"), optimizer=mg.SGD, lr=0.1, max_epochs=30, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.6 and isinstance(clf.optimizer_, mg.SGD) and len(clf.history_.loss) == 30
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert list(clf.classes_) == ["a", "b", "c"] and set(clf.predict(X)) <= {"a", "b", "c"}
    again = NeuralNetClassifier(MLP((8,), "tanh"), optimizer=mg.SGD, lr=0.1, max_epochs=30, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))  # the same seed, the same bits
    copy = joblib.load(joblib.dump(clf, tmp_path / "nn.joblib")[0])
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    reg = NeuralNetRegressor(_wide_and_linear, lr=0.05, max_epochs=40, random_state=0)
    reg.fit(X.astype(np.float32), DATA["multioutput"])
    assert reg.predict(X).shape == (83, 2) and reg.predict(X).dtype == np.float32
    assert reg.model_[0].weight.data.dtype == np.float32
    search = GridSearchCV(NeuralNetRegressor(max_epochs=5), {"lr": [1e-3, 1e-2]}, cv=2).fit(X, DATA["single"])
    assert search.best_params_["lr"] in (1e-3, 1e-2)
    with pytest.raises(TypeError, match="minigrad Module"):
        NeuralNetRegressor(lambda n, k, rng, dtype: "model").fit(X, DATA["single"])
    with pytest.raises(TypeError, match="Optimizer class"):
        NeuralNetRegressor(optimizer="adam").fit(X, DATA["single"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="activation"):
        MLP((3,), "softplus")
    assert repr(MLP()) == "MLP(hidden=(100,), activation='relu')"
    assert pickle.loads(pickle.dumps(NeuralNetClassifier(lr=0.5))).lr == 0.5  # unfitted: nothing to strip
