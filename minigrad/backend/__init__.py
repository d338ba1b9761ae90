"""Which array library and which device: the one module that knows.

A model lives in one array library (NumPy by default, or any library that
follows the Python Array API standard: PyTorch, CuPy, array-api-strict) and
on one device; :meth:`minigrad.Module.to` moves it.  Layers, losses and
optimizers compute with ``xp``, the standard namespace of that library, which
this module resolves once per model (:func:`namespace`) and caches per array
type (:func:`namespace_of`), so no operation looks it up again.

Everything that decides "is this array of that library, and on that device",
converts data into a library, copies an array back to NumPy (for ``save``,
metrics and reports), or checks an array of any library for NaN/inf lives
here.  NumPy is used as it is (its own namespace is the standard one since
NumPy 2); the namespaces of PyTorch and CuPy come from ``array-api-compat``
(the extra ``minigrad[array]``), imported only when such an array appears.

The lowest room of the package: it imports nothing from minigrad's other rooms.  Beside this
module, :mod:`minigrad.backend._array` is where arrays are made from input, drawn and checked for NaN/inf.

Example:
    >>> import numpy as np
    >>> library_of(np.zeros(2)), library_of([1.0, 2.0])
    ('numpy', None)
    >>> namespace(np) is np, library_name(np)
    (True, 'numpy')
"""

from __future__ import annotations

import importlib
import math
import sys
from typing import Any

import numpy as np

#: Top-level modules whose array types are arrays of an array library even when
#: the type has no ``__array_namespace__`` (a torch.Tensor has none).
_ARRAY_LIBRARIES = frozenset(
    {"numpy", "torch", "cupy", "jax", "dask", "array_api_strict", "mlx", "tensorflow", "sparse", "ndonnx"}
)

#: Libraries whose standard namespace comes from array-api-compat.
_COMPAT_LIBRARIES = frozenset({"torch", "cupy"})

#: Standard namespace per array type, filled on first sight of each type.
_NAMESPACE_BY_TYPE: dict[type, Any] = {np.ndarray: np}

#: Standard namespace per library name, filled by :func:`namespace`.
_NAMESPACE_BY_NAME: dict[str, Any] = {"numpy": np}


def library_of(x: object) -> str | None:
    """The name of the array library *x* belongs to, or None for plain data.

    ``"numpy"`` for NumPy arrays and scalars (``np.memmap`` included),
    ``"torch"``, ``"cupy"``, ``"array_api_strict"``, ``"dask"``, ... for their
    arrays (the top-level module of the array's type; JAX's ``jaxlib`` arrays
    are ``"jax"``).  None for what is data to convert rather than an array of
    a library: lists, tuples, Python numbers, pandas objects.  It costs one
    type lookup: use it per call where needed.

    Example:
        >>> import numpy as np
        >>> library_of(np.float64(1.0)), library_of((1, 2)), library_of(2.5)
        ('numpy', None, None)
    """
    if isinstance(x, (np.ndarray, np.generic)):
        return "numpy"
    top = type(x).__module__.partition(".")[0]
    if top == "jaxlib":
        top = "jax"
    if (top in _ARRAY_LIBRARIES or hasattr(x, "__array_namespace__")) and hasattr(x, "shape") and hasattr(x, "dtype"):
        return top  # (a torch.device or a dtype is of the library, but no array)
    return None


def namespace(library: Any) -> Any:
    """The Array API standard namespace of *library*, the module itself or its name.

    ``numpy`` gives ``numpy`` itself; ``torch`` and ``cupy`` give
    ``array_api_compat.torch`` and ``array_api_compat.cupy`` (installed with
    ``pip install minigrad[array]``); a module that already is a standard
    namespace (``array_api_strict``, ``array_api_compat.torch``) is returned as
    it is.  The result is cached: call it once per model, not per operation.

    Raises:
        TypeError: *library* is not an array library module (or name), or is
            Dask (Dask arrays are trained with the model on NumPy: pass them to fit).
        ImportError: array-api-compat is needed and missing.

    Example:
        >>> import numpy as np
        >>> namespace(np) is np, namespace("numpy") is np
        (True, True)
        >>> namespace(42)
        Traceback (most recent call last):
        ...
        TypeError: to() takes an array library module such as numpy, torch, cupy or array_api_strict, got int
    """
    name = library if isinstance(library, str) else getattr(library, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(
            "to() takes an array library module such as numpy, torch, cupy or array_api_strict, "
            f"got {type(library).__name__}"
        )
    name = name.removeprefix("array_api_compat.")
    found = _NAMESPACE_BY_NAME.get(name)
    if found is not None:
        return found
    if name.partition(".")[0] == "dask":
        raise TypeError(
            "a model is not moved to Dask: keep it on NumPy and pass the Dask arrays to fit, "
            "which trains block by block on the cluster"
        )
    if name in _COMPAT_LIBRARIES:
        try:
            found = importlib.import_module(f"array_api_compat.{name}")
        except ImportError as exc:
            raise ImportError(
                f"minigrad needs array-api-compat to compute on {name} arrays: pip install 'minigrad[array]'"
            ) from exc
    else:
        module = library if not isinstance(library, str) else sys.modules.get(name)
        if not hasattr(module, "__array_api_version__"):
            raise TypeError(
                f"{name} is not an array library that follows the Python Array API standard; "
                "use numpy, torch, cupy or array_api_strict"
            )
        found = module
    _NAMESPACE_BY_NAME[name] = found
    return found


def namespace_of(x: Any) -> Any:
    """The standard namespace of the array *x* (cached per array type: about 0.1 µs after the first call).

    Raises TypeError for data that is not an array of a library (a list).

    Example:
        >>> import numpy as np
        >>> namespace_of(np.ones(2)) is np
        True
    """
    found = _NAMESPACE_BY_TYPE.get(type(x))
    if found is not None:
        return found
    lib = library_of(x)
    if lib is None:
        raise TypeError(f"expected an array of an array library, got {type(x).__name__}")
    found = namespace(lib)
    _NAMESPACE_BY_TYPE[type(x)] = found
    return found


def library_name(xp: Any) -> str:
    """The library a standard namespace computes on: ``"numpy"``, ``"torch"``, ``"array_api_strict"``, ...

    Example:
        >>> import numpy as np
        >>> library_name(np)
        'numpy'
    """
    if xp is np:
        return "numpy"
    name: str = xp.__name__
    return name.removeprefix("array_api_compat.")


def device_of(x: Any) -> Any:
    """The device of the array *x* (``"cpu"`` for NumPy).

    Example:
        >>> import numpy as np
        >>> device_of(np.zeros(2))
        'cpu'
    """
    if isinstance(x, np.ndarray):
        return "cpu"
    from array_api_compat import device  # installed wherever a non-NumPy array reached here

    return device(x)


def dtype_name(dtype: Any) -> str:
    """``"float32"``, ``"float64"``, ... for a dtype of any library (``torch.float64`` gives ``"float64"``).

    Example:
        >>> import numpy as np
        >>> dtype_name(np.dtype(np.float32)), dtype_name(np.float64)
        ('float32', 'float64')
    """
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        return np.dtype(dtype).name
    return str(dtype).rpartition(".")[2]


def to_numpy(x: Any) -> np.ndarray[Any, Any]:
    """The values of the array *x* as a NumPy array (copied from the device when needed).

    A NumPy array is returned as it is; a CPU tensor may share its memory with
    the result, so copy it before writing.  Used on the way out (``save``,
    metrics, reports), never to compute a model's step.

    Example:
        >>> import numpy as np
        >>> to_numpy(np.arange(3))
        array([0, 1, 2])
    """
    if isinstance(x, np.ndarray):
        return x
    lib = library_of(x)
    if lib == "torch":
        return np.asarray(x.detach().cpu().numpy())
    if lib == "cupy":
        return np.asarray(x.get())
    if lib is None:
        return np.asarray(x)
    return np.from_dlpack(x)


def move(x: Any, xp: Any, device: Any = None) -> Any:
    """The array *x* (of any library) as an array of the namespace *xp* on *device*.

    An array already there is returned as it is; anything else is copied
    (through host memory when the libraries differ), so the result never
    shares memory with *x*.  *device* None means the library's default device.

    Example:
        >>> import numpy as np
        >>> a = np.ones(2)
        >>> move(a, np) is a
        True
    """
    name = library_name(xp)
    if library_of(x) == name and (device is None or _same_device(device_of(x), device)):
        return x
    host = to_numpy(x)
    if xp is np:
        return np.array(host, copy=True)
    return xp.asarray(host, copy=True, device=device)


def _same_device(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


def copy(x: Any, xp: Any) -> Any:
    """An independent copy of the array *x* of namespace *xp*, same dtype and device.

    Example:
        >>> import numpy as np
        >>> a = np.zeros(2); b = copy(a, np); b[0] = 1.0; a
        array([0., 0.])
    """
    if xp is np:
        return np.array(x, copy=True)
    return xp.asarray(x, copy=True)


def as_float(x: Any, xp: Any, dtype: Any, device: Any, name: str) -> Any:
    """*x* as a float array of the namespace *xp* (not NumPy) with *dtype*, or TypeError.

    The general path's input check, the twin of
    :func:`minigrad.backend._array.as_float_array` for NumPy.  An array of *xp*'s
    library with *dtype* is returned as it is; one of another real dtype is
    cast (integers, booleans, the other float width); lists, tuples and
    numbers are converted into *xp* on *device*, through NumPy (so a list of
    Python floats becomes float64, not torch's default float32).  *dtype*
    None keeps a float32 or float64 array's dtype and makes anything else
    float64.

    Raises:
        TypeError: *x* is an array of another library than *xp*'s (the
            message names both and the fix), a torch tensor that requires
            grad (detach it), or holds no real numbers.

    Example:
        >>> import numpy as np
        >>> as_float([[1, 2]], np, np.float64, None, "X")
        array([[1., 2.]])
    """
    lib = library_of(x)
    if lib is None:
        host = np.asarray(x)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold real numbers, got dtype {host.dtype}")
        target = dtype if dtype is not None else (xp.float32 if host.dtype == np.float32 else xp.float64)
        return xp.asarray(host.astype(dtype_name(target), copy=False), device=device)
    own = library_name(xp)
    if lib != own:
        raise TypeError(foreign_message(name, lib, own))
    if getattr(x, "requires_grad", False):
        raise TypeError(
            f"{name} is a torch tensor that requires grad; minigrad computes its own gradients, pass {name}.detach()"
        )
    if dtype is None:
        if x.dtype == xp.float32 or x.dtype == xp.float64:
            return x
        dtype = xp.float64
    elif x.dtype == dtype:
        return x
    if not xp.isdtype(x.dtype, ("bool", "integral", "real floating")):
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}")
    return xp.astype(x, dtype)


def foreign_message(name: str, lib: str, own: str) -> str:
    """The TypeError message for data of library *lib* given to a model computing on *own*.

    Example:
        >>> foreign_message("X", "torch", "numpy")  # doctest: +ELLIPSIS
        'X is a torch array but the model computes on numpy arrays: call model.to(torch) ...'
    """
    if lib == "dask":
        return (
            f"{name} is a dask array: fit takes Dask arrays for a model on NumPy and trains block by block; "
            f"elsewhere compute it first ({name}.compute())"
        )
    return (
        f"{name} is a {lib} array but the model computes on {own} arrays: call model.to({lib}) to train "
        f"and predict on {lib}, or convert {name} to {own}; minigrad never converts arrays between libraries silently"
    )


def check_finite(a: Any, xp: Any, name: str) -> None:
    """Raise ValueError if the array *a* of namespace *xp* holds NaN or inf, naming the first bad row.

    The general path's check (one boolean temporary the size of *a*); NumPy
    data takes :func:`minigrad.backend._array.check_finite`, which works in blocks.

    Example:
        >>> import numpy as np
        >>> check_finite(np.array([[1.0], [np.inf]]), np, "X")
        Traceback (most recent call last):
        ...
        ValueError: X contains NaN or infinity (first at row 1); remove or impute those values before training
    """
    if math.prod(a.shape) == 0:
        return
    finite = xp.isfinite(a)
    if bool(xp.all(finite)):
        return
    bad = xp.logical_not(finite)
    rows = xp.any(xp.reshape(bad, (a.shape[0], -1)), axis=1) if a.ndim > 1 else bad
    row = int(xp.argmax(xp.astype(rows, xp.int8)))
    raise ValueError(
        f"{name} contains NaN or infinity (first at row {row}); remove or impute those values before training"
    )


def all_finite(arrays: list[Any], xp: Any) -> bool:
    """True if every array in *arrays* (of namespace *xp*, not NumPy) is free of NaN and inf.

    The per-array answers are combined on the arrays' device and read back
    once: on a GPU, one synchronisation instead of one per array.

    Example:
        >>> import numpy as np
        >>> all_finite([np.ones(2), np.array([np.nan])], np), all_finite([], np)
        (False, True)
    """
    if not arrays:
        return True
    finite = xp.all(xp.isfinite(arrays[0]))
    for a in arrays[1:]:
        finite = finite & xp.all(xp.isfinite(a))
    return bool(finite)
