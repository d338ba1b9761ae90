"""The few places where minigrad creates, converts and checks arrays.

Layers, losses and optimizers compute with array operators and in-place
ufuncs on the arrays they are given; everything that *makes* an array from
user input, draws random numbers or inspects a whole array for NaN/inf lives
here.  This is the NumPy side: :mod:`minigrad.backend` decides which library
and device a model computes on and holds the general path's helpers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from minigrad import backend

#: Elements checked per block by :func:`check_finite`: large enough to amortise
#: the Python loop, small enough (1 MiB of float64) to stay in cache for the
#: exact second look that a block whose sum is not finite gets.
FINITE_BLOCK_ELEMENTS = 1 << 17

#: Arrays with fewer elements than this are updated as ``a[...] = a + b``
#: rather than ``a += b``: NumPy's in-place ufuncs take a slower path for
#: one-element arrays (about twice the time of a new array and a copy, as
#: measured with NumPy 2.4), while for anything larger in place is as fast or
#: faster and needs no temporary.  Both give the same numbers.
INPLACE_MIN_SIZE = 2

#: The dtypes a model computes in; float64, the default, first: a membership test finds it at the first comparison.
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


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
    Complex, object and string data raise TypeError, and so does a masked
    array (``numpy.ma``): its hidden values would be used as if they were
    data; so does an array of another library (a torch tensor): it is never
    converted silently (the message says to call ``model.to(torch)``).  A
    finite value too large for *dtype* (``1e39`` for float32, a
    ``longdouble`` beyond float64) raises ValueError instead of becoming inf.

    Example:
        >>> as_float_array([[1e39]], np.dtype(np.float32), "X")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: X holds values too large for the model's dtype float32 (largest 3.4028235e+38): 1e+39 at row 0; ...
    """
    if type(a) is np.ndarray and a.dtype == dtype:
        return a
    if not isinstance(a, np.ndarray):
        lib = backend.library_of(a)
        if lib is not None and lib != "numpy":
            raise TypeError(backend.foreign_message(name, lib, "numpy"))
    refuse_masked(a, name)
    if isinstance(a, np.ndarray) and a.dtype == dtype:  # a subclass such as np.memmap, used as it is
        return a
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > dtype.itemsize:  # a float cast that can overflow
        with np.errstate(over="ignore"):
            out = arr.astype(dtype)
        _check_cast(arr, out, name)
        return out
    return arr.astype(dtype, copy=False)


def _check_cast(src: NDArray[Any], out: NDArray[Any], name: str) -> None:
    """Raise ValueError where the narrowing cast of *src* into *out* turned a finite value into inf."""
    if all_finite([out]):
        return
    with np.errstate(invalid="ignore"):
        overflowed = np.isinf(out) & np.isfinite(src)
    if overflowed.any():
        where = tuple(np.argwhere(overflowed)[0])
        at = f" at row {where[0]}" if where else ""
        fix = "scale the data or use a float64 model" if out.dtype == np.float32 else "scale the data"
        raise ValueError(
            f"{name} holds values too large for the model's dtype {out.dtype} (largest {np.finfo(out.dtype).max:.8g}): "
            f"{src[where]!s}{at}; {fix}"
        )


def refuse_masked(a: Any, name: str) -> None:
    """Raise TypeError if *a* is a masked array (``numpy.ma``): minigrad never computes on hidden values.

    Example:
        >>> refuse_masked(np.ma.masked_array([1.0, 2.0], mask=[False, True]), "X")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: X is a masked array (numpy.ma), whose hidden values would be used as data; drop the masked rows ...
    """
    if isinstance(a, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a masked array (numpy.ma), whose hidden values would be used as data; drop the masked rows "
            f"or fill them first ({name}.filled(value)), and pass a plain array"
        )


def check_2d(a: NDArray[Any], name: str) -> None:
    """Raise ValueError unless *a* is 2-D, with scikit-learn's reshape hint."""
    if a.ndim == 2:
        return
    if a.ndim == 1:
        raise ValueError(
            f"Expected 2D array for {name}, got 1D array instead: shape {tuple(a.shape)}. "
            "Reshape your data either using array.reshape(-1, 1) if your data has "
            "a single feature or array.reshape(1, -1) if it contains a single sample."
        )
    raise ValueError(f"Expected 2D array for {name}, got {a.ndim}D array with shape {tuple(a.shape)}")


def check_finite(a: NDArray[Any], name: str, first_row: int = 0) -> None:
    """Raise ValueError if *a* holds NaN or inf.

    The message names the first bad row, counted from *first_row* (for *a*
    a block of rows of a larger array).

    A whole-array ``np.isfinite(a).all()`` would allocate a boolean array the
    size of *a*; the check runs over row blocks instead, so its extra memory
    is bounded by :data:`FINITE_BLOCK_ELEMENTS` whatever the size of *a*.
    Each float block is first summed: NaN or inf anywhere in it makes the sum
    NaN or inf, so a finite sum clears the block in one read with no
    temporary; a sum that is not finite (NaN/inf, or finite values whose sum
    overflows) gets the exact element-wise check.
    """
    if a.size == 0:
        return
    if a.size <= FINITE_BLOCK_ELEMENTS and np.isfinite(a).all():  # one small block: the exact check at once
        return
    flat = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    rows = max(1, FINITE_BLOCK_ELEMENTS // max(1, flat.shape[1]))
    summable = a.dtype.kind == "f"
    with np.errstate(over="ignore", invalid="ignore"):  # a sum that overflows only means: look closer
        for start in range(0, flat.shape[0], rows):
            block = flat[start : start + rows]
            if summable and math.isfinite(np.add.reduce(block, None)):
                continue
            if not np.isfinite(block).all():
                bad = np.argwhere(~np.isfinite(block))[0]
                raise ValueError(
                    f"{name} contains NaN or infinity (first at row {first_row + start + int(bad[0])}); "
                    "remove or impute those values before training"
                )


def is_finite(a: NDArray[Any]) -> bool:
    """True if *a* holds no NaN or inf, checked as :func:`check_finite` checks (no BLAS, bounded memory).

    For arrays read from a file, where a threaded BLAS call on a busy machine
    costs more than the plain sums.
    """
    try:
        check_finite(a, "array")
    except ValueError:
        return False
    return True


def all_finite(arrays: list[NDArray[Any]]) -> bool:
    """True if every array in *arrays* is free of NaN and inf.

    Meant for parameters and predictions.  A float array whose sum of squares
    (one BLAS dot product) is finite holds no NaN or inf, since either would
    make that sum NaN or inf; an array whose sum of squares is not finite
    (NaN/inf, or large values whose squares overflow) gets the exact check.
    """
    for a in arrays:
        if a.dtype.kind == "f" and math.isfinite(np.vdot(a, a)):
            continue
        if not np.isfinite(a).all():
            return False
    return True


def nonzero_in_every_column(a: NDArray[Any]) -> bool:
    """True if every column of the 2-D *a* holds at least one nonzero (or NaN) entry.

    The first row is looked at first (for most data it settles the question);
    otherwise every row, in NumPy's buffered chunks, so no temporary the size
    of *a* is made.

    Example:
        >>> import numpy as np
        >>> nonzero_in_every_column(np.array([[0.0, 2.0], [3.0, 0.0]]))
        True
        >>> nonzero_in_every_column(np.array([[0.0, 2.0], [0.0, 1.0]]))
        False
    """
    if a.shape[0] > 0 and np.logical_and.reduce(a[0], None):
        return True
    return bool(np.logical_and.reduce(np.logical_or.reduce(a, 0), None))


def add_into(a: NDArray[Any], b: ArrayLike) -> None:
    """``a += b``, in place, the fastest way for the size of *a* (see :data:`INPLACE_MIN_SIZE`)."""
    if a.size < INPLACE_MIN_SIZE:
        a[...] = a + b
    else:
        a += b


def subtract_into(a: NDArray[Any], b: ArrayLike) -> None:
    """``a -= b``, in place, the fastest way for the size of *a* (see :data:`INPLACE_MIN_SIZE`)."""
    if a.size < INPLACE_MIN_SIZE:
        a[...] = a - b
    else:
        a -= b


def sum_of_squares(a: NDArray[Any]) -> float:
    """``sum(a**2)`` over all elements, as a Python float (one BLAS dot product, no temporary)."""
    return float(np.vdot(a, a))


def copy(a: NDArray[Any]) -> NDArray[Any]:
    """An independent copy of *a* with the same dtype and shape."""
    return np.array(a, copy=True)


def copy_into(dst: NDArray[Any], src: NDArray[Any]) -> None:
    """Overwrite *dst* with *src* in place (same shape), casting to *dst*'s dtype."""
    np.copyto(dst, src, casting="same_kind")


def zeros_like(a: NDArray[Any]) -> NDArray[Any]:
    """A new zero array of *a*'s shape and dtype."""
    return np.zeros_like(a)


def zeros(shape: tuple[int, ...], dtype: np.dtype[Any]) -> NDArray[Any]:
    """A new zero array, in C order."""
    return np.zeros(shape, dtype=dtype)


def ones(n: int, dtype: np.dtype[Any]) -> NDArray[Any]:
    """A new vector of *n* ones."""
    return np.ones(n, dtype=dtype)


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
    found: np.dtype[Any] = np.dtype(dt) if dt is not None and dt in FLOAT_DTYPES else np.dtype(np.float64)
    return found


def as_input(x: Any, xp: Any, dtype: Any = None) -> Any:
    """A layer's input as an array of the namespace *xp*, in *dtype* or else its own float dtype.

    Under NumPy this is :func:`as_float_array` (no copy for an array that already has the dtype; float32
    stays float32, other numbers become float64).  With another namespace the input is taken with
    ``xp.asarray`` and cast only when its dtype is not the one wanted.
    """
    if xp is np:
        return as_float_array(x, np.dtype(dtype) if dtype is not None else result_dtype(x), "input")
    a = xp.asarray(x)
    if dtype is None:
        if xp.isdtype(a.dtype, "real floating"):
            return a
        dtype = xp.float64
    return a if a.dtype == dtype else xp.astype(a, dtype)
