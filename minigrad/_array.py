"""The few places where minigrad creates, converts and checks arrays.

Layers, losses and optimizers compute with array operators and in-place
ufuncs on the arrays they are given; everything that *makes* an array from
user input, draws random numbers or inspects a whole array for NaN/inf lives
here.  A future array backend (CuPy, Dask) therefore has one module to adapt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

#: Rows checked per block by :func:`check_finite`: small enough that the
#: temporary boolean mask stays in cache, large enough to amortise the call.
FINITE_BLOCK_ELEMENTS = 1 << 16

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise ValueError."""
    dt = np.dtype(dtype)
    if dt not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def as_rng(rng: int | np.random.Generator | None) -> np.random.Generator:
    """Turn an int seed, a Generator or None into a ``numpy.random.Generator``.

    ``None`` gives a freshly seeded generator; an int gives a reproducible one;
    a Generator is used as it is (its state advances with every draw).
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed, a numpy.random.Generator or None, got {type(rng).__name__}")


def as_float_array(a: ArrayLike, dtype: np.dtype[Any], name: str) -> NDArray[Any]:
    """Convert *a* to an array of *dtype* without copying when it already is one.

    Lists, tuples and integer or boolean arrays are converted (a new array);
    a float array of the right dtype is returned as it is (never written to).
    Complex, object and string data raise TypeError.
    """
    if isinstance(a, np.ndarray) and a.dtype == dtype:
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(dtype, copy=False)


def check_2d(a: NDArray[Any], name: str) -> None:
    """Raise ValueError unless *a* is 2-D, with scikit-learn's reshape hint."""
    if a.ndim == 2:
        return
    if a.ndim == 1:
        raise ValueError(
            f"Expected 2D array for {name}, got 1D array instead: shape {a.shape}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has "
            "a single feature or array.reshape(1, -1) if it contains a single sample."
        )
    raise ValueError(f"Expected 2D array for {name}, got {a.ndim}D array with shape {a.shape}")


def check_finite(a: NDArray[Any], name: str) -> None:
    """Raise ValueError if *a* holds NaN or inf.

    A whole-array ``np.isfinite(a).all()`` would allocate a boolean array the
    size of *a*; the check runs over row blocks instead, so its extra memory
    is bounded by :data:`FINITE_BLOCK_ELEMENTS` whatever the size of *a*.
    """
    if a.size == 0:
        return
    flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    rows = max(1, FINITE_BLOCK_ELEMENTS // max(1, flat.shape[1]))
    for start in range(0, flat.shape[0], rows):
        block = flat[start : start + rows]
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            index = (start + int(bad[0]),) + tuple(int(i) for i in bad[1:])
            raise ValueError(
                f"{name} contains NaN or infinity (first at row {index[0]}); "
                "remove or impute those values before training"
            )


def all_finite(arrays: list[NDArray[Any]]) -> bool:
    """True if every array in *arrays* is free of NaN and inf (small arrays: parameters)."""
    return all(bool(np.isfinite(a).all()) for a in arrays)


def copy(a: NDArray[Any]) -> NDArray[Any]:
    """An independent copy of *a* with the same dtype and shape."""
    return np.array(a, copy=True)


def copy_into(dst: NDArray[Any], src: NDArray[Any]) -> None:
    """Overwrite *dst* with *src* in place (same shape), casting to *dst*'s dtype."""
    np.copyto(dst, src, casting="same_kind")


def zeros_like(a: NDArray[Any]) -> NDArray[Any]:
    """A new zero array of *a*'s shape and dtype."""
    return np.zeros_like(a)


def empty(shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
    """A new uninitialised array (every entry must be written before it is read)."""
    return np.empty(shape, dtype=dtype)


def uniform(
    rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> NDArray[Any]:
    """Draw from U(low, high) with *rng* in float64, then cast to *dtype*.

    Drawing in float64 first makes float32 and float64 models built from the
    same seed hold the same numbers up to float32 rounding.
    """
    return rng.uniform(low, high, size=shape).astype(dtype, copy=False)


def normal(
    rng: np.random.Generator, mean: float, std: float, shape: tuple[int, ...], dtype: np.dtype[Any]
) -> NDArray[Any]:
    """Draw from N(mean, std**2) with *rng* in float64, then cast to *dtype* (as :func:`uniform`)."""
    return rng.normal(mean, std, size=shape).astype(dtype, copy=False)


def result_dtype(a: ArrayLike) -> np.dtype[Any]:
    """The float dtype computations on *a* keep: its own if float32/64, else float64."""
    dt = getattr(a, "dtype", None)
    if dt is not None and dt in FLOAT_DTYPES:
        return np.dtype(dt)
    return np.dtype(np.float64)
