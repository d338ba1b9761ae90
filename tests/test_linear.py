"""Linear: forward against the formula, backward against central finite differences, init as PyTorch."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from finite_differences import central_difference
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.typing import NDArray

import minigrad as mg

Array = NDArray[np.float64]

# Values well inside float64's range, so that finite differences only see rounding.
ELEMENTS = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False, width=64)


def assert_grad_close(name: str, analytic: Array, numeric: Array, tol: float = 1e-6) -> None:
    """Fail with the parameter, the index, both values and the relative error."""
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape} vs {numeric.shape}"
    for idx in np.ndindex(analytic.shape):
        a, n = float(analytic[idx]), float(numeric[idx])
        rel = abs(a - n) / max(1.0, abs(a), abs(n))
        assert rel <= tol, f"{name}{list(idx)}: analytic {a!r}, numeric {n!r}, relative error {rel:.3g}"


@st.composite
def linear_case(draw: st.DrawFn) -> tuple[mg.Linear, Array, Array]:
    """A Linear layer (bias or not), an input X and an upstream gradient G = dL/dY."""
    n = draw(st.integers(1, 5))
    fin = draw(st.integers(1, 4))
    fout = draw(st.integers(1, 4))
    bias = draw(st.booleans())
    layer = mg.Linear(fin, fout, bias=bias, rng=draw(st.integers(0, 2**32 - 1)))
    layer.weight.data[...] = draw(hnp.arrays(np.float64, (fout, fin), elements=ELEMENTS))
    if layer.bias is not None:
        layer.bias.data[...] = draw(hnp.arrays(np.float64, (fout,), elements=ELEMENTS))
    X = draw(hnp.arrays(np.float64, (n, fin), elements=ELEMENTS))
    G = draw(hnp.arrays(np.float64, (n, fout), elements=ELEMENTS))
    return layer, X, G


@given(linear_case())
def test_backward_matches_central_differences(case: tuple[mg.Linear, Array, Array]) -> None:
    """With L = sum(G * Y), backward(G) must give dL/dW, dL/db and dL/dX."""
    layer, X, G = case
    X = X.copy()

    def loss() -> float:
        return float(np.sum(G * layer(X)))

    layer(X)
    layer.zero_grad()
    grad_x = layer.backward(G, need_input_grad=True)
    assert grad_x is not None
    assert_grad_close("X", grad_x, central_difference(loss, X))
    assert_grad_close("weight", layer.weight.grad, central_difference(loss, layer.weight.data))
    if layer.bias is not None:
        assert_grad_close("bias", layer.bias.grad, central_difference(loss, layer.bias.data))


@given(linear_case())
def test_backward_through_mse_matches_central_differences(case: tuple[mg.Linear, Array, Array]) -> None:
    """The chain Linear -> MSELoss: a quadratic in every parameter, so central differences are exact."""
    layer, X, target = case
    loss_fn = mg.MSELoss()

    def loss() -> float:
        return loss_fn(layer(X), target)

    loss()
    layer.zero_grad()
    assert layer.backward(loss_fn.backward(), need_input_grad=False) is None
    assert_grad_close("weight", layer.weight.grad, central_difference(loss, layer.weight.data))
    if layer.bias is not None:
        assert_grad_close("bias", layer.bias.grad, central_difference(loss, layer.bias.data))


@given(linear_case())
def test_forward_and_backward_match_the_formulas(case: tuple[mg.Linear, Array, Array]) -> None:
    """Y = X W^T + b, dW = G^T X, db = sum_n G, dX = G W, written as explicit sums."""
    layer, X, G = case
    W = layer.weight.data
    b = layer.bias.data if layer.bias is not None else np.zeros(W.shape[0])
    n, fin = X.shape
    fout = W.shape[0]
    Y = layer(X)
    layer.zero_grad()
    dX = layer.backward(G, need_input_grad=True)
    assert Y.shape == (n, fout)
    assert dX is not None and dX.shape == (n, fin)
    for i in range(n):
        for o in range(fout):
            assert Y[i, o] == pytest.approx(math.fsum(X[i, k] * W[o, k] for k in range(fin)) + b[o], abs=1e-12)
        for k in range(fin):
            assert dX[i, k] == pytest.approx(math.fsum(G[i, o] * W[o, k] for o in range(fout)), abs=1e-12)
    for o in range(fout):
        for k in range(fin):
            assert layer.weight.grad[o, k] == pytest.approx(math.fsum(G[i, o] * X[i, k] for i in range(n)), abs=1e-12)
        if layer.bias is not None:
            assert layer.bias.grad[o] == pytest.approx(math.fsum(G[:, o]), abs=1e-12)


def test_gradients_accumulate_until_zero_grad() -> None:
    layer = mg.Linear(3, 2, rng=0)
    X = np.arange(12.0).reshape(4, 3) / 7
    G = np.linspace(-1, 1, 8).reshape(4, 2)
    layer(X)
    layer.backward(G)
    once_w, once_b = layer.weight.grad.copy(), layer.bias.grad.copy()  # type: ignore[union-attr]
    assert np.any(once_w != 0)
    layer(X)
    layer.backward(G, need_input_grad=False)
    np.testing.assert_array_equal(layer.weight.grad, once_w + once_w)
    np.testing.assert_array_equal(layer.bias.grad, once_b + once_b)  # type: ignore[union-attr]
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()  # type: ignore[union-attr]
    # The optimizer's zero_grad clears the same arrays.
    layer(X)
    layer.backward(G)
    mg.SGD(layer.parameters(), lr=0.1).zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()  # type: ignore[union-attr]


def test_bias_gradient_follows_the_batch_size() -> None:
    """dL/db = 1^T G for batches of any size in turn (the layer keeps its vector of ones between calls)."""
    layer = mg.Linear(2, 3, rng=0)
    rng = np.random.default_rng(4)
    for n in (5, 3, 7, 1, 7):
        X = rng.integers(-4, 5, size=(n, 2)).astype(np.float64)
        G = rng.integers(-4, 5, size=(n, 3)).astype(np.float64)  # small integers: every sum is exact
        layer.zero_grad()
        layer(X)
        layer.backward(G, need_input_grad=False)
        np.testing.assert_array_equal(layer.bias.grad, G.sum(axis=0))  # type: ignore[union-attr]
        np.testing.assert_array_equal(layer.weight.grad, G.T @ X)


def test_forward_does_not_modify_its_input() -> None:
    layer = mg.Linear(2, 3, rng=1)
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = X.copy()
    layer(X)
    layer.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(X, before)


def test_backward_before_forward_raises() -> None:
    with pytest.raises(RuntimeError, match="before forward"):
        mg.Linear(2, 1).backward(np.ones((1, 1)))


def test_backward_checks_grad_output_shape() -> None:
    layer = mg.Linear(2, 3, rng=0)
    layer(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4, 3\)"):
        layer.backward(np.ones((4, 1)))
    assert not layer.weight.grad.any()


def test_forward_rejects_wrong_feature_count_naming_both() -> None:
    layer = mg.Linear(3, 1)
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(5, 2\)"):
        layer(np.ones((5, 2)))


def test_forward_rejects_1d_input_with_reshape_hint() -> None:
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        mg.Linear(1, 1)(np.ones(5))


# -- initialisation -------------------------------------------------------------------------


@pytest.mark.parametrize("fin", [1, 3, 16, 100])
def test_init_is_uniform_within_pytorch_bounds(fin: int) -> None:
    layer = mg.Linear(fin, 200, rng=0)
    bound = 1 / math.sqrt(fin)
    assert layer.bias is not None
    for p in (layer.weight.data, layer.bias.data):
        assert np.all(np.abs(p) <= bound)
        # 200+ draws from U(-k, k) reach close to both ends and are centred.
        assert p.max() > 0.9 * bound and p.min() < -0.9 * bound
    assert abs(layer.weight.data.mean()) < 0.1 * bound
    # Variance of U(-k, k) is k^2 / 3.
    assert layer.weight.data.var() == pytest.approx(bound**2 / 3, rel=0.1)


def test_init_draws_weight_then_bias_from_the_generator() -> None:
    layer = mg.Linear(4, 3, rng=42)
    gen = np.random.default_rng(42)
    k = 1 / math.sqrt(4)
    np.testing.assert_array_equal(layer.weight.data, gen.uniform(-k, k, (3, 4)))
    assert layer.bias is not None
    np.testing.assert_array_equal(layer.bias.data, gen.uniform(-k, k, (3,)))


def test_init_is_reproducible_from_int_seed_and_generator() -> None:
    a = mg.Linear(5, 4, rng=7)
    b = mg.Linear(5, 4, rng=7)
    c = mg.Linear(5, 4, rng=np.random.default_rng(7))
    d = mg.Linear(5, 4, rng=8)
    for name, p in a.state_dict().items():
        np.testing.assert_array_equal(p, b.state_dict()[name])
        np.testing.assert_array_equal(p, c.state_dict()[name])
    assert not np.array_equal(a.weight.data, d.weight.data)


def test_a_shared_generator_advances_between_layers() -> None:
    gen = np.random.default_rng(3)
    first = mg.Linear(3, 3, rng=gen)
    second = mg.Linear(3, 3, rng=gen)
    assert not np.array_equal(first.weight.data, second.weight.data)


def test_no_bias() -> None:
    layer = mg.Linear(3, 2, bias=False, rng=0)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    X = np.ones((2, 3))
    np.testing.assert_array_equal(layer(X), X @ layer.weight.data.T)


def test_shapes_and_parameter_order() -> None:
    layer = mg.Linear(3, 2, rng=0)
    assert layer.weight.data.shape == (2, 3)
    assert layer.bias is not None and layer.bias.data.shape == (2,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.parameters() == [layer.weight, layer.bias]
    assert layer.weight.grad.shape == (2, 3) and not layer.weight.grad.any()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_invalid_sizes_raise(bad: Any) -> None:
    with pytest.raises(ValueError):
        mg.Linear(bad, 2)
    with pytest.raises(ValueError):
        mg.Linear(2, bad)


@pytest.mark.parametrize("dtype", [np.float16, np.int64, np.complex128])
def test_unsupported_dtypes_raise(dtype: Any) -> None:
    with pytest.raises(ValueError, match="float32 or float64"):
        mg.Linear(2, 2, dtype=dtype)


def test_bad_rng_type_raises() -> None:
    with pytest.raises(TypeError, match="rng"):
        mg.Linear(2, 2, rng="seed")  # type: ignore[arg-type]


# -- float32 end to end ---------------------------------------------------------------------


def test_float32_is_kept_end_to_end() -> None:
    layer = mg.Linear(3, 2, dtype=np.float32, rng=0)
    layer64 = mg.Linear(3, 2, dtype=np.float64, rng=0)
    assert layer.weight.data.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    assert layer.bias is not None and layer.bias.data.dtype == np.float32
    assert layer.dtype == np.float32
    # Same draws, cast: float32 and float64 layers from one seed agree to float32 rounding.
    np.testing.assert_array_equal(layer.weight.data, layer64.weight.data.astype(np.float32))
    X = np.linspace(-1, 1, 12).reshape(4, 3)  # float64 input
    Y = layer(X)
    assert Y.dtype == np.float32
    loss_fn = mg.MSELoss()
    loss_fn(Y, np.zeros((4, 2), dtype=np.float32))
    g = loss_fn.backward()
    assert g.dtype == np.float32
    dX = layer.backward(g, need_input_grad=True)
    assert dX is not None and dX.dtype == np.float32
    assert layer.weight.grad.dtype == np.float32 and layer.bias.grad.dtype == np.float32
    opt = mg.SGD(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    opt.step()
    opt.step()
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    history = mg.fit(layer, X, np.ones((4, 2)), loss=mg.MSELoss(), optimizer=opt, epochs=3, batch_size=2, rng=0)
    assert layer.weight.data.dtype == np.float32 and layer.bias.data.dtype == np.float32
    assert all(isinstance(v, float) for v in history.loss)
    for state in opt.state:
        buf = state["momentum_buffer"]
        assert isinstance(buf, np.ndarray) and buf.dtype == np.float32


def test_a_weight_shared_by_two_layers_gets_both_gradients() -> None:
    """After zero_grad the first backward writes the shared gradient and the second adds to it."""
    first, second = mg.Linear(3, 3, rng=0), mg.Linear(3, 3, rng=1)
    second.weight = first.weight  # tied weights
    model = mg.Sequential(first, second)
    rng = np.random.default_rng(5)
    X, G = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for _ in range(2):  # the second round starts from gradients that are not zero
        model.zero_grad()
        h = first(X)
        second(h)
        g_h = second.backward(G, need_input_grad=True)
        first.backward(g_h)
        np.testing.assert_allclose(first.weight.grad, G.T @ h + g_h.T @ X, rtol=1e-12)
