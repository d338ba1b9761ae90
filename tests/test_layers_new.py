"""Dropout, BatchNorm1d, LayerNorm, GELU, ELU, Softplus, Softmax, Identity and Flatten: gradients and behaviour."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import minigrad as mg

RNG = np.random.default_rng(42)


def x_away_from_kinks(shape: tuple[int, ...]) -> np.ndarray:
    x = RNG.normal(scale=1.5, size=shape)
    return np.where(np.abs(x) < 0.05, 0.3, x)  # ELU/Softplus thresholds are smooth enough; keep off x = 0


LAYERS: list[tuple[str, Callable[[], mg.Module], tuple[int, ...], bool | None]] = [
    ("gelu", lambda: mg.GELU(), (4, 5), None),
    ("gelu-tanh", lambda: mg.GELU(approximate="tanh"), (4, 5), None),
    ("elu", lambda: mg.ELU(alpha=0.7), (4, 5), None),
    ("softplus", lambda: mg.Softplus(beta=2.0, threshold=3.0), (4, 5), None),
    ("softmax", lambda: mg.Softmax(dim=-1), (4, 5), None),
    ("softmax-dim0", lambda: mg.Softmax(dim=0), (4, 3, 2), None),
    ("identity", lambda: mg.Identity(), (3, 2), None),
    ("flatten", lambda: mg.Flatten(), (3, 2, 4), None),
    ("flatten-mid", lambda: mg.Flatten(0, 1), (3, 2, 4), None),
    ("dropout-train", lambda: mg.Dropout(0.4, rng=3), (6, 5), True),
    ("dropout-eval", lambda: mg.Dropout(0.4, rng=3), (6, 5), False),
    ("batchnorm-train", lambda: mg.BatchNorm1d(3), (7, 3), True),
    ("batchnorm-eval", lambda: mg.BatchNorm1d(3), (7, 3), False),
    ("batchnorm-3d", lambda: mg.BatchNorm1d(3), (4, 3, 2), True),
    ("batchnorm-noaffine", lambda: mg.BatchNorm1d(3, affine=False, track_running_stats=False), (5, 3), False),
    ("layernorm", lambda: mg.LayerNorm(4), (3, 4), None),
    ("layernorm-2d", lambda: mg.LayerNorm((2, 3)), (4, 2, 3), None),
    ("layernorm-noaffine", lambda: mg.LayerNorm(4, elementwise_affine=False), (3, 4), None),
    ("layernorm-nobias", lambda: mg.LayerNorm(4, bias=False), (4,), None),
]


def perturb_parameters(layer: mg.Module) -> None:
    for p in layer.parameters():  # away from the ones/zeros start so that every term of the gradient counts
        p.data[...] = RNG.normal(size=p.data.shape)
    if isinstance(layer, mg.BatchNorm1d) and layer.running_mean is not None:
        layer.running_mean[...] = RNG.normal(size=3)
        layer.running_var[...] = RNG.uniform(0.5, 2.0, size=3)


@pytest.mark.parametrize(("name", "make", "shape", "train"), LAYERS, ids=[case[0] for case in LAYERS])
def test_gradcheck(name: str, make: Callable[[], mg.Module], shape: tuple[int, ...], train: bool | None) -> None:
    layer = make()
    perturb_parameters(layer)
    assert mg.gradcheck(layer, x_away_from_kinks(shape), rng=0, train=train)


@pytest.mark.parametrize(("name", "make", "shape", "train"), LAYERS, ids=[case[0] for case in LAYERS])
def test_need_input_grad_false_and_misuse(
    name: str, make: Callable[[], mg.Module], shape: tuple[int, ...], train: bool | None
) -> None:
    layer = make()
    if name != "identity":  # the identity needs nothing from a forward
        with pytest.raises(RuntimeError, match="before forward"):
            layer.backward(np.ones(shape))
    if train is not None:
        layer.train(train)
    y = layer(x_away_from_kinks(shape))
    assert layer.backward(np.ones(y.shape), need_input_grad=False) is None
    if name != "identity":
        with pytest.raises(ValueError, match="shape"):
            layer.backward(np.ones((*y.shape, 1)))
    assert repr(layer).startswith(type(layer).__name__)


def test_gradcheck_catches_a_wrong_batchnorm_backward() -> None:
    class NoMeanTerm(mg.BatchNorm1d):
        def backward(self, grad_output, *, need_input_grad=False):  # type: ignore[no-untyped-def]
            grad = super().backward(grad_output, need_input_grad=need_input_grad)
            return grad + 0.1 * self._inv_std * grad_output.sum(axis=0)  # a wrong extra term

    assert not mg.gradcheck(NoMeanTerm(3), x_away_from_kinks((5, 3)), rng=0, raise_exception=False, train=True)


def test_gradcheck_train_argument_restores_modes() -> None:
    model = mg.Sequential(mg.Linear(3, 3, rng=0), mg.Dropout(0.5, rng=0))
    model.eval()
    mg.gradcheck(model, x_away_from_kinks((4, 3)), rng=0, train=True)
    assert not any(m.training for m in model.modules())


# -- Dropout -----------------------------------------------------------------------------------------


def test_dropout_same_seed_same_masks_and_scaling() -> None:
    x = RNG.normal(size=(200, 50))
    a, b = mg.Dropout(0.3, rng=7), mg.Dropout(0.3, rng=np.random.default_rng(7))
    ya, yb = a(x), b(x)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(a(x), b(x))  # the next masks agree too ...
    assert not np.array_equal(ya, a(x))  # ... and differ from the first
    kept = ya != 0
    np.testing.assert_array_equal(ya[kept], x[kept] * (1 / 0.7))
    assert abs(kept.mean() - 0.7) < 0.01
    g = RNG.normal(size=x.shape)
    y = a(x)
    np.testing.assert_array_equal(a.backward(g, need_input_grad=True), np.where(y != 0, g * (1 / 0.7), 0.0))


def test_dropout_eval_p0_p1_and_bad_p() -> None:
    x = RNG.normal(size=(5, 4))
    layer = mg.Dropout(0.5, rng=0).eval()
    assert layer(x) is x and layer.backward(x, need_input_grad=True) is x
    np.testing.assert_array_equal(mg.Dropout(0.0, rng=0)(x), x)
    ones = mg.Dropout(1.0, rng=0)
    assert np.array_equal(ones(x), np.zeros_like(x)) and np.array_equal(
        ones.backward(x, need_input_grad=True), np.zeros_like(x)
    )
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            mg.Dropout(bad)
    with pytest.raises(TypeError):
        mg.Dropout("0.5")  # type: ignore[arg-type]
    assert mg.Dropout(0.5, rng=0)(np.ones((2, 2), dtype=np.float32)).dtype == np.float32


def test_fit_like_loop_with_dropout_is_reproducible() -> None:
    def run() -> np.ndarray:
        model = mg.Sequential(mg.Linear(3, 8, rng=0), mg.ReLU(), mg.Dropout(0.5, rng=1), mg.Linear(8, 1, rng=2))
        opt = mg.SGD(model.parameters(), lr=0.05)
        loss = mg.MSELoss()
        x, y = np.random.default_rng(0).normal(size=(16, 3)), np.ones((16, 1))
        for _ in range(5):
            opt.zero_grad()
            loss(model(x), y)
            model.backward(loss.backward())
            opt.step()
        return model.predict(x)

    np.testing.assert_array_equal(run(), run())


# -- BatchNorm1d -------------------------------------------------------------------------------------


def test_batchnorm_training_statistics_and_running_update() -> None:
    x = RNG.normal(loc=3.0, scale=2.0, size=(10, 4))
    bn = mg.BatchNorm1d(4, momentum=0.2)
    y = bn(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(bn.running_mean, 0.2 * x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(bn.running_var, 0.8 + 0.2 * x.var(axis=0, ddof=1), rtol=1e-14)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    np.testing.assert_allclose(bn(x), (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5), rtol=1e-13)
    assert int(bn.num_batches_tracked) == 1  # evaluation leaves the statistics alone


def test_batchnorm_cumulative_average_with_momentum_none() -> None:
    bn = mg.BatchNorm1d(2, momentum=None)
    batches = [RNG.normal(size=(5, 2)) for _ in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean, np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var, np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0))


def test_batchnorm_refusals() -> None:
    bn = mg.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(np.ones((1, 3)))
    assert int(bn.num_batches_tracked) == 0
    bn.eval()(np.ones((1, 3)))  # evaluation mode: one row is fine
    for shape in [(4,), (4, 2), (4, 3, 2, 1)]:
        with pytest.raises(ValueError, match="BatchNorm1d expects"):
            bn(np.ones(shape))
    for kwargs in [{"num_features": 0}, {"num_features": 3, "eps": 0}, {"num_features": 3, "momentum": 1.5}]:
        with pytest.raises(ValueError):
            mg.BatchNorm1d(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mg.BatchNorm1d(3, momentum="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mg.BatchNorm1d(3, eps="small")  # type: ignore[arg-type]
    nb = mg.BatchNorm1d(3, track_running_stats=False)
    assert nb.running_mean is None and list(nb.named_buffers()) == []
    assert nb.eval()(np.arange(6.0).reshape(2, 3)).tolist() == nb.train()(np.arange(6.0).reshape(2, 3)).tolist()


def test_batchnorm_float32_and_optimizer_never_sees_buffers() -> None:
    bn = mg.BatchNorm1d(3, dtype=np.float32)
    assert bn(RNG.normal(size=(4, 3))).dtype == np.float32 and bn.running_var.dtype == np.float32
    opt = mg.Adam(bn.parameters())
    assert len(opt.params) == 2


# -- LayerNorm, activations, softmax, Flatten --------------------------------------------------------


def test_layernorm_normalises_each_sample() -> None:
    x = RNG.normal(loc=5, scale=3, size=(6, 8))
    y = mg.LayerNorm(8)(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=1), x.var(axis=1) / (x.var(axis=1) + 1e-5), rtol=1e-12)
    with pytest.raises(ValueError, match="LayerNorm expects"):
        mg.LayerNorm(8)(np.ones((6, 7)))
    for bad in (0, (2, 0), "4", ()):
        with pytest.raises(ValueError, match="normalized_shape"):
            mg.LayerNorm(bad)  # type: ignore[arg-type]


def test_softmax_function_is_stable_and_normalised() -> None:
    z = np.array([[1000.0, 0.0, -1000.0], [1.0, 1.0, 1.0]])
    p = mg.softmax(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    assert p[0, 0] == 1.0 and np.all(np.isfinite(p))
    np.testing.assert_allclose(mg.softmax(z, axis=0).sum(axis=0), 1.0)
    assert mg.softmax([[1, 2]]).dtype == np.float64 and mg.softmax(np.float32([1, 2])).dtype == np.float32
    assert mg.softmax(np.array(3.0)) == 1.0
    scalar = mg.Softmax()
    assert scalar(np.array(3.0)) == 1.0 and scalar.backward(np.array(5.0), need_input_grad=True) == 0.0
    with pytest.raises(ValueError, match="out of range"):
        mg.softmax(z, axis=2)
    with pytest.raises(TypeError):
        mg.softmax(z, axis=1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mg.Softmax(dim=None)  # type: ignore[arg-type]


def test_softmax_of_predict_is_predict_proba_for_a_cross_entropy_model() -> None:
    model = mg.Sequential(mg.Linear(4, 3, rng=0))
    x = RNG.normal(size=(5, 4))
    proba = mg.softmax(model.predict(x))
    assert np.array_equal(proba.argmax(axis=1), model.predict(x).argmax(axis=1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_activation_values_and_argument_checks() -> None:
    x = np.array([-50.0, -1.0, 0.0, 1.0, 50.0])
    np.testing.assert_allclose(mg.ELU()(x), np.where(x > 0, x, np.expm1(x)))
    np.testing.assert_allclose(mg.Softplus()(x), np.logaddexp(0, x), rtol=1e-15)
    np.testing.assert_array_equal(mg.Softplus(threshold=0.5)(x)[3:], [1.0, 50.0])
    gelu = mg.GELU()(np.array([-40.0, -10.0, 40.0]))
    assert gelu[0] == -0.0 and -1e-22 < gelu[1] < 0 and gelu[2] == 40.0  # no 1 + (-1 + tiny) cancellation
    for make in (lambda: mg.ELU("1"), lambda: mg.Softplus(beta="1"), lambda: mg.Softplus(threshold=[1])):
        with pytest.raises(TypeError):
            make()
    for make in (lambda: mg.ELU(float("inf")), lambda: mg.Softplus(beta=0), lambda: mg.GELU("erf")):
        with pytest.raises(ValueError):
            make()


def test_flatten_shapes_and_refusals() -> None:
    x = np.zeros((2, 3, 4, 5))
    assert mg.Flatten()(x).shape == (2, 60)
    assert mg.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert mg.Flatten(-2)(x).shape == (2, 3, 20)
    assert mg.Flatten(0)(np.zeros(3)).shape == (3,)
    with pytest.raises(ValueError, match="out of range"):
        mg.Flatten(4)(x)
    with pytest.raises(ValueError, match="after end_dim"):
        mg.Flatten(2, 1)(x)
    with pytest.raises(TypeError):
        mg.Flatten(1.0)  # type: ignore[arg-type]
