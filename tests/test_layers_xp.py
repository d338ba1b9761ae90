"""The new layers use only Array API standard calls: run them on array-api-strict and torch, compare with NumPy.

Until ``model.to(xp)`` exists, the parameters and buffers are moved by hand here.  torch runs through
array-api-compat's ``torch`` namespace; each library is skipped when it is not installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import minigrad as mg


def namespace(name: str) -> Any:
    if name == "array_api_strict":
        return pytest.importorskip("array_api_strict")
    pytest.importorskip("torch")
    return pytest.importorskip("array_api_compat.torch")


NAMESPACES = ["array_api_strict", "torch"]

LAYERS: list[tuple[str, Callable[[], mg.Module], tuple[int, ...]]] = [
    ("gelu", lambda: mg.GELU(), (4, 5)),
    ("gelu-tanh", lambda: mg.GELU("tanh"), (4, 5)),
    ("elu", lambda: mg.ELU(0.5), (4, 5)),
    ("softplus", lambda: mg.Softplus(2.0, 3.0), (4, 5)),
    ("softmax", lambda: mg.Softmax(0), (4, 5)),
    ("identity", lambda: mg.Identity(), (4, 5)),
    ("flatten", lambda: mg.Flatten(), (2, 3, 4)),
    ("dropout", lambda: mg.Dropout(0.3, rng=0), (4, 5)),
    ("batchnorm", lambda: mg.BatchNorm1d(5, momentum=None), (4, 5)),
    ("batchnorm-3d", lambda: mg.BatchNorm1d(3), (4, 3, 2)),
    ("layernorm", lambda: mg.LayerNorm((2, 5)), (3, 2, 5)),
]


def move_to(module: mg.Module, xp: Any) -> None:
    for m in module.modules():
        m.xp = xp  # type: ignore[misc]
        for name in m._buffer_names:
            value = getattr(m, name)
            if value is not None:
                setattr(m, name, xp.asarray(value))
    for p in module.parameters():
        p.data = xp.asarray(p.data)
        p._grad = xp.zeros(p.data.shape, dtype=p.data.dtype)
        p._zeroed = False


@pytest.mark.parametrize("library", NAMESPACES)
@pytest.mark.parametrize(("name", "make", "shape"), LAYERS, ids=[case[0] for case in LAYERS])
def test_layer_on_another_library_matches_numpy(
    name: str, make: Callable[[], mg.Module], shape: tuple[int, ...], library: str
) -> None:
    xps = namespace(library)

    def in_library(a: Any) -> bool:  # an array of that library, not a NumPy array
        return type(a) is type(xps.asarray(0.0))

    rng = np.random.default_rng(0)
    x = rng.normal(size=shape)
    reference, moved = make(), make()
    for a, b in zip(reference.parameters(), moved.parameters(), strict=True):
        a.data[...] = b.data[...] = rng.normal(size=a.shape)
    move_to(moved, xps)
    for mode in (True, False):  # training, then evaluation (running statistics, no dropout)
        reference.train(mode), moved.train(mode)
        y_ref = reference(x)
        y = moved(xps.asarray(x))
        g_out = rng.normal(size=y_ref.shape)
        dx_ref = reference.backward(g_out)
        dx = moved.backward(xps.asarray(g_out))
        assert in_library(y) and in_library(dx)
        np.testing.assert_allclose(np.asarray(y), y_ref, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(np.asarray(dx), dx_ref, rtol=1e-14, atol=1e-15)
    for (n, p), (_, q) in zip(reference.named_parameters(), moved.named_parameters(), strict=True):
        assert in_library(q.grad)
        np.testing.assert_allclose(np.asarray(q.grad), p.grad, rtol=1e-13, err_msg=n)
    for (n, a), (_, b) in zip(reference.named_buffers(), moved.named_buffers(), strict=True):
        assert in_library(b)
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-14, err_msg=n)


@pytest.mark.parametrize("library", NAMESPACES)
def test_softmax_function_on_another_library(library: str) -> None:
    xps = namespace(library)
    z = np.random.default_rng(1).normal(size=(3, 4))
    p = mg.softmax(xps.asarray(z), axis=0, xp=xps)
    assert type(p) is type(xps.asarray(0.0))
    np.testing.assert_allclose(np.asarray(p), mg.softmax(z, axis=0), rtol=1e-15)
