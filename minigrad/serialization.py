"""save and load: a model's parameters (and optionally its optimizer's state) in a ``.npz`` file.

The file is an ordinary NumPy ``.npz`` archive with no pickled objects, so
``np.load(path, allow_pickle=False)`` reads it, and loading a file never runs
code.  It holds:

- ``"minigrad.format"``: the marker ``"minigrad.params"``;
- ``"minigrad.version"``: the format version (an integer, now 1);
- ``"minigrad.meta"``: a JSON text with the architecture signature (each
  parameter's name, shape and dtype, in ``named_parameters`` order) and, when
  saved, the optimizer's class, hyper-parameters and scalar state;
- ``"param:<name>"``: each parameter array (``"param:0.weight"``, ...);
- ``"optim:<i>:<key>"``: each array of the optimizer's state (momentum
  buffers, moment estimates) for the i-th parameter.

Writing is atomic: the archive goes to a temporary file in the target's
directory, is flushed and ``fsync``-ed, then renamed over the target with
``os.replace``, so a crash leaves either the old file or the new one, never
half a file.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad.module import Module
from minigrad.optim.optimizer import Optimizer

FORMAT = "minigrad.params"
VERSION = 1

_FORMAT_KEY = "minigrad.format"
_VERSION_KEY = "minigrad.version"
_META_KEY = "minigrad.meta"
_PARAM = "param:"
_OPTIM = "optim:"

PathLike = str | os.PathLike[str]


def signature(model: Module) -> list[tuple[str, tuple[int, ...], str]]:
    """The architecture signature: ``(name, shape, dtype)`` of each parameter, in order.

    Example:
        >>> import minigrad as mg
        >>> signature(mg.Linear(3, 2))
        [('weight', (2, 3), 'float64'), ('bias', (2,), 'float64')]
    """
    return [(name, tuple(p.data.shape), str(p.data.dtype)) for name, p in model.named_parameters()]


def save(model: Module, path: PathLike, *, optimizer: Optimizer | None = None) -> Path:
    """Write *model*'s parameters (and *optimizer*'s state) to the ``.npz`` file *path*, atomically.

    The path is used exactly as given (no ``.npz`` is appended).  An existing
    file is replaced only once the new one is complete and on disk.

    Args:
        model: the module whose ``named_parameters`` are saved.
        path: the file to write.
        optimizer: also save its hyper-parameters and per-parameter state, so
            ``load(model, path, optimizer=...)`` can resume training exactly.

    Returns:
        The path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: the optimizer's state cannot be stored without pickling
            (a value that is not an array, a number, a bool or None).
        OSError: the file cannot be written (the target is left as it was).

    Example:
        >>> import os, tempfile, numpy as np, minigrad as mg
        >>> model = mg.Linear(2, 1, rng=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> _ = save(model, path)
        >>> sorted(np.load(path, allow_pickle=False).files)
        ['minigrad.format', 'minigrad.meta', 'minigrad.version', 'param:bias', 'param:weight']
        >>> other = mg.Linear(2, 1, rng=1)
        >>> load(other, path)
        >>> bool(np.array_equal(other.weight.data, model.weight.data))
        True
    """
    arrays: dict[str, NDArray[Any]] = {
        _FORMAT_KEY: np.array(FORMAT),
        _VERSION_KEY: np.array(VERSION, dtype=np.int64),
    }
    meta: dict[str, Any] = {"parameters": [[n, list(s), d] for n, s, d in signature(model)]}
    for name, p in model.named_parameters():
        arrays[_PARAM + name] = p.data
    if optimizer is not None:
        meta["optimizer"] = _optimizer_meta(optimizer, arrays)
    arrays[_META_KEY] = np.array(json.dumps(meta, allow_nan=True))
    target = Path(path)
    _write_atomically(target, arrays)
    return target


def _optimizer_meta(optimizer: Optimizer, arrays: dict[str, NDArray[Any]]) -> dict[str, Any]:
    """JSON-ready description of the optimizer; its state arrays go into *arrays*."""
    sd = optimizer.state_dict()
    hyper = {k: list(v) if isinstance(v, tuple) else v for k, v in sd["hyperparameters"].items()}
    scalars: list[dict[str, Any]] = []
    for i, state in enumerate(sd["state"]):
        plain: dict[str, Any] = {}
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                arrays[f"{_OPTIM}{i}:{key}"] = value
            elif value is None or isinstance(value, (bool, int, float, np.integer, np.floating)):
                plain[key] = value.item() if isinstance(value, np.generic) else value
            else:
                raise ValueError(f"cannot save optimizer state {key!r} of type {type(value).__name__} without pickling")
        scalars.append(plain)
    return {"class": type(optimizer).__name__, "hyperparameters": hyper, "scalars": scalars}


def _write_atomically(target: Path, arrays: Mapping[str, NDArray[Any]]) -> None:
    directory = target.parent
    tmp = directory / f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            payload: dict[str, Any] = dict(arrays)  # every value a numeric or unicode array: nothing to pickle
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - file systems without directory fsync
        pass
    finally:
        os.close(fd)


def load(model: Module, path: PathLike, *, optimizer: Optimizer | None = None) -> None:
    """Load parameters saved by :func:`save` into *model* (and *optimizer*), all or nothing.

    Everything is read and checked before anything is written: the file must
    be a minigrad ``.npz`` of a version this minigrad reads, with exactly the
    model's architecture signature (the same parameter names in the same
    order, with the same shapes and dtypes) and finite values.  With
    *optimizer*, the file must hold state for an optimizer of the same class
    over as many parameters.  If any check fails the model and the optimizer
    are left exactly as they were.

    Raises:
        FileNotFoundError: *path* does not exist.
        ValueError: a truncated, corrupt or foreign file, a newer format
            version, a different architecture, NaN/inf values, or optimizer
            state that is missing or does not fit; the message says which.

    Example:
        >>> import os, tempfile, minigrad as mg
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> _ = save(mg.Linear(2, 1), path)
        >>> load(mg.Linear(3, 1), path)
        Traceback (most recent call last):
        ...
        ValueError: ... architecture ... 'weight': file (1, 2) float64, model (1, 3) float64
    """
    p = Path(path)
    contents = _read(p)
    meta = _check_header(p, contents)
    _check_signature(p, model, meta, contents)
    params = {name: contents[_PARAM + name] for name, _, _ in signature(model)}
    optim_state = _optimizer_state(p, optimizer, meta, contents) if optimizer is not None else None
    before = model.state_dict()
    try:
        model.load_state_dict(params)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{p}: {exc.args[0] if exc.args else exc}") from None
    if optimizer is not None and optim_state is not None:
        try:
            optimizer.load_state_dict(optim_state)
        except (KeyError, ValueError, TypeError) as exc:
            model.load_state_dict(before)
            raise ValueError(f"{p}: the optimizer state does not fit: {exc}") from None


def _read(path: Path) -> dict[str, NDArray[Any]]:
    """Every array in the archive, read fully (so truncation shows here, not later)."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        raise ValueError(f"{path} is a single .npy array, not a minigrad .npz file")
    if head[:4] != b"PK\x03\x04":
        raise ValueError(f"{path} is not a minigrad file: it is not a .npz (zip) archive")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # pragma: no cover - the header was checked
            raise ValueError("not a .npz archive")
        with loaded as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable minigrad file (truncated, corrupt or foreign): {exc}") from None


def _check_header(path: Path, contents: Mapping[str, NDArray[Any]]) -> dict[str, Any]:
    marker = contents.get(_FORMAT_KEY)
    if marker is None or marker.shape != () or marker.dtype.kind != "U" or str(marker) != FORMAT:
        raise ValueError(f"{path} is not a minigrad parameter file (no {_FORMAT_KEY!r} = {FORMAT!r} entry)")
    version = contents.get(_VERSION_KEY)
    if version is None or version.shape != () or version.dtype.kind not in "iu":
        raise ValueError(f"{path} has no valid format version")
    if int(version) > VERSION:
        raise ValueError(
            f"{path} has format version {int(version)}; this minigrad reads up to version {VERSION} (upgrade minigrad)"
        )
    raw = contents.get(_META_KEY)
    try:
        if raw is None or raw.shape != () or raw.dtype.kind != "U":
            raise ValueError("missing")
        meta = json.loads(str(raw))
        if not isinstance(meta, dict) or not isinstance(meta.get("parameters"), list):
            raise ValueError("no parameter list")
    except ValueError as exc:
        raise ValueError(f"{path} has a damaged {_META_KEY!r} entry: {exc}") from None
    return meta


def _check_signature(path: Path, model: Module, meta: Mapping[str, Any], contents: Mapping[str, NDArray[Any]]) -> None:
    try:
        saved = [(str(n), tuple(int(d) for d in s), str(t)) for n, s, t in meta["parameters"]]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path} has a damaged architecture signature: {exc}") from None
    own = signature(model)
    if saved != own:
        problems: list[str] = []
        saved_by_name = {n: (s, t) for n, s, t in saved}
        own_by_name = {n: (s, t) for n, s, t in own}
        missing = [n for n in own_by_name if n not in saved_by_name]
        unexpected = [n for n in saved_by_name if n not in own_by_name]
        if missing:
            problems.append(f"missing in the file: {missing}")
        if unexpected:
            problems.append(f"not in the model: {unexpected}")
        for name, (shape, dtype) in own_by_name.items():
            if name in saved_by_name and saved_by_name[name] != (shape, dtype):
                fs, fd = saved_by_name[name]
                problems.append(f"{name!r}: file {fs} {fd}, model {shape} {dtype}")
        if not problems:
            problems.append(f"the parameters are in a different order: file {[n for n, _, _ in saved]}")
        raise ValueError(
            f"{path} holds a different architecture from the {type(model).__name__}: " + "; ".join(problems)
        )
    for name, shape, dtype in own:
        array = contents.get(_PARAM + name)
        if array is None or array.shape != shape or str(array.dtype) != dtype:
            got = "nothing" if array is None else f"{array.shape} {array.dtype}"
            raise ValueError(f"{path} is damaged: parameter {name!r} should be {shape} {dtype}, the file holds {got}")
    extra = [k for k in contents if k.startswith(_PARAM) and k[len(_PARAM) :] not in {n for n, _, _ in own}]
    if extra:
        raise ValueError(f"{path} is damaged: arrays {extra} are not in its signature")


def _optimizer_state(
    path: Path, optimizer: Optimizer, meta: Mapping[str, Any], contents: Mapping[str, NDArray[Any]]
) -> dict[str, Any]:
    saved = meta.get("optimizer")
    if not isinstance(saved, dict):
        raise ValueError(f"{path} holds no optimizer state (save it with save(model, path, optimizer=...))")
    if saved.get("class") != type(optimizer).__name__:
        raise ValueError(f"{path} holds the state of a {saved.get('class')}, not of a {type(optimizer).__name__}")
    try:
        hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(saved["hyperparameters"]).items()}
        scalars = list(saved["scalars"])
        if len(scalars) != len(optimizer.params):
            raise ValueError(f"state for {len(scalars)} parameters, the optimizer has {len(optimizer.params)}")
        states: list[dict[str, Any]] = [dict(s) for s in scalars]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} has damaged optimizer state: {exc}") from None
    for key, value in contents.items():
        if not key.startswith(_OPTIM):
            continue
        index, _, name = key[len(_OPTIM) :].partition(":")
        if not index.isdigit() or int(index) >= len(states) or not name:
            raise ValueError(f"{path} has a stray optimizer array {key!r}")
        if value.dtype.kind not in "fiu" or not np.isfinite(value).all():
            raise ValueError(f"{path}: optimizer state {key!r} is not finite numbers")
        states[int(index)][name] = value
    return {"hyperparameters": hyper, "state": states}
