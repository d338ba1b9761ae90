"""save and load: a model's parameters and buffers (and optionally its optimizer's state) in a ``.npz`` file.

The file is an ordinary NumPy ``.npz`` archive with no pickled objects, so
``np.load(path, allow_pickle=False)`` reads it, and loading a file never runs
code.  It holds:

- ``"minigrad.format"``: the marker ``"minigrad.params"``;
- ``"minigrad.version"``: the format version, an integer: 1 for a model
  without buffers, 2 for one with buffers (version 2 adds them and nothing
  else, so a reader of version 1 only refuses the files whose buffers it
  would drop);
- ``"minigrad.meta"``: a JSON text with the architecture signature
  (``"parameters"``: each parameter's name, shape and dtype, in
  ``named_parameters`` order; ``"buffers"``: the same for ``named_buffers``,
  in version 2 only) and, when saved, the optimizer's class,
  hyper-parameters and scalar state;
- ``"param:<name>"``: each parameter array (``"param:0.weight"``, ...);
- ``"buffer:<name>"``: each buffer array (version 2);
- ``"optim:<i>:<key>"``: each array of the optimizer's state (momentum
  buffers, moment estimates) for the optimizer's i-th parameter.

**Writing** is atomic: the archive goes to a temporary file named
``.minigrad-<8 hex digits>.tmp`` in the target's directory (short, so any
target name the file system allows works), is flushed and ``fsync``-ed, then
renamed over the target with ``os.replace``, so a crash leaves either the old
file or the new one, never half a file.  The temporary is removed on any
error or interrupt; only a process killed outright (SIGKILL, power loss)
leaves one behind, which can then be deleted.  A file being replaced keeps its
permission bits; a new file gets the default ones (``0o666`` less the umask).
A symbolic link is written through: the file it points to is replaced and the
link stays.  A FIFO or a device is never replaced (ValueError).  As with every
write-and-rename, the directory must be writable, other hard links to the old
file keep the old contents, and the new file belongs to the user who saves.

**Reading** trusts nothing in the file beyond what the model (and optimizer)
lead it to expect, so its cost is bounded by the model whatever the file
holds: the zip directory is read first and refused when larger than the
model's members need, members the format does not know are refused, each
member's declared size and ``.npy`` header (dtype, shape) are checked before
its data is read, and reads are never larger than those sizes.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from minigrad import backend
from minigrad.backend import _array
from minigrad.io._archive import Archive, ArchiveError
from minigrad.nn.module import Module, check_buffer_value, nonnegative_buffers
from minigrad.optim.optimizer import Optimizer, StateValue

FORMAT = "minigrad.params"
VERSION = 2  #: the newest format version, the one written for a model with buffers (1 for one without)

_FORMAT_KEY = "minigrad.format"
_VERSION_KEY = "minigrad.version"
_META_KEY = "minigrad.meta"
_FIXED = (_FORMAT_KEY, _VERSION_KEY, _META_KEY)
_PARAM = "param:"
_BUFFER = "buffer:"
_OPTIM = "optim:"
_OPTIM_KEY = re.compile(r"optim:(\d{1,9}):(.+)", re.DOTALL)

#: State arrays per parameter that a file may hold (an optimizer's ``_state_spec`` lists at most a few).
MAX_STATE_ARRAYS = 16
#: Characters of metadata allowed beyond the per-parameter share (optimizer class and hyper-parameters).
_META_BASE_CHARS = 1 << 16

PathLike = str | os.PathLike[str]
Signature = list[tuple[str, tuple[int, ...], str]]


def signature(model: Module) -> Signature:
    """The architecture signature: ``(name, shape, dtype)`` of each parameter, in order.

    Example:
        >>> import minigrad as mg
        >>> signature(mg.Linear(3, 2))
        [('weight', (2, 3), 'float64'), ('bias', (2,), 'float64')]
    """
    return [(name, tuple(p.data.shape), backend.dtype_name(p.data.dtype)) for name, p in model.named_parameters()]


def _buffers(model: Module) -> list[tuple[str, NDArray[Any]]]:
    """The model's buffers: writable NumPy arrays (or arrays of the model's library) of numbers or bools."""
    buffers = list(model.named_buffers())
    own = backend.library_name(model.xp)
    for name, b in buffers:
        if own != "numpy" and backend.library_of(b) == own:
            if np.dtype(backend.dtype_name(b.dtype)).kind not in "biuf":
                raise TypeError(f"buffer {name!r} must hold numbers or bools to save or load, got dtype {b.dtype}")
            continue
        if not isinstance(b, np.ndarray) or b.dtype.kind not in "biuf" or not b.flags.writeable:
            got = f"dtype {b.dtype}" if isinstance(b, np.ndarray) else type(b).__name__
            raise TypeError(
                f"buffer {name!r} must be a writable NumPy array of numbers or bools to save or load, got {got}"
            )
    return buffers


def save(model: Module, path: PathLike, *, optimizer: Optimizer | None = None) -> Path:
    """Write *model*'s parameters and buffers (and *optimizer*'s state) to the ``.npz`` file *path*, atomically.

    The file is the same whatever library the model computes on (``model.to``):
    its arrays are copied to NumPy on the way out.

    The path is used exactly as given (no ``.npz`` is appended).  An existing
    file is replaced only once the new one is complete and on disk, and keeps
    its permission bits; through a symbolic link, the file it points to is
    replaced.  The module docstring describes the file and the temporary.

    Args:
        model: the module whose ``named_parameters`` and ``named_buffers`` are saved.
        path: the file to write.
        optimizer: also save its hyper-parameters and per-parameter state, so
            ``load(model, path, optimizer=...)`` can resume training exactly.

    Returns:
        The path written, as a :class:`pathlib.Path`.

    Raises:
        ValueError: the optimizer's state cannot be stored without pickling
            (a value that is not an array, a number, a bool or None), or
            *path* exists and is neither a regular file nor a directory (a
            FIFO, a device such as ``/dev/null``: never replaced).
        TypeError: a buffer is not a NumPy array of numbers.
        OSError: the file cannot be written (the target is left as it was);
            the error names *path*.

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
    buffers = _buffers(model)
    arrays: dict[str, NDArray[Any]] = {
        _FORMAT_KEY: np.array(FORMAT),
        _VERSION_KEY: np.array(2 if buffers else 1, dtype=np.int64),
    }
    meta: dict[str, Any] = {"parameters": [[n, list(s), d] for n, s, d in signature(model)]}
    for name, p in model.named_parameters():
        arrays[_PARAM + name] = backend.to_numpy(p.data)  # the same .npz whatever the model's library
    if buffers:
        meta["buffers"] = [[name, list(b.shape), backend.dtype_name(b.dtype)] for name, b in buffers]
        for name, b in buffers:
            arrays[_BUFFER + name] = backend.to_numpy(b)
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
            if backend.library_of(value) is not None and not isinstance(value, np.generic):
                arrays[f"{_OPTIM}{i}:{key}"] = backend.to_numpy(value)
            elif value is None or isinstance(value, (bool, int, float, np.integer, np.floating)):
                plain[key] = value.item() if isinstance(value, np.generic) else value
            else:
                raise ValueError(f"cannot save optimizer state {key!r} of type {type(value).__name__} without pickling")
        scalars.append(plain)
    return {"class": type(optimizer).__name__, "hyperparameters": hyper, "scalars": scalars}


def _write_atomically(target: Path, arrays: Mapping[str, NDArray[Any]]) -> None:
    """Write *arrays* as a ``.npz`` to a temporary file beside *target*'s file, then rename it over that file."""
    try:
        final = Path(os.path.realpath(target))  # through symbolic links: the file they point to is replaced
        if final.is_symlink():
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fspath(target))
        try:
            st_mode = os.stat(final).st_mode
        except FileNotFoundError:
            mode = None  # a new file: the mode os.open gives, 0o666 less the umask
        else:
            if stat.S_ISDIR(st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(target))
            if not stat.S_ISREG(st_mode):  # a FIFO or a device (/dev/null): never replaced by a file
                raise ValueError(f"cannot save to {target}: it exists and is not a regular file")
            mode = stat.S_IMODE(st_mode)
        fd, tmp, taken = -1, final.parent, 0
        try:
            while fd == -1:
                tmp = final.parent / f".minigrad-{secrets.token_hex(4)}.tmp"
                try:
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                except FileExistsError:  # a name already taken (by another save, most likely): draw another
                    taken += 1
                    if taken == 100:
                        raise
            with os.fdopen(fd, "wb") as f:
                if mode is not None and hasattr(os, "fchmod"):
                    os.fchmod(f.fileno(), mode)
                payload: dict[str, Any] = dict(arrays)  # every value a numeric or unicode array: nothing to pickle
                np.savez(f, **payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException as exc:
            if fd != -1 or not isinstance(exc, FileExistsError):  # (the name was taken: not ours to remove)
                tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        # Name the user's path, not the temporary one or the resolved link.
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, os.fspath(target)) from None
    _fsync_directory(final.parent)


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
    """Load what :func:`save` wrote into *model* (and *optimizer*), all or nothing.

    Everything is read and checked before anything is written: the file must
    be a minigrad ``.npz`` of a version this minigrad reads (1 or 2), with
    exactly the model's architecture signature (the same parameter and
    buffer names in the same order, with the same shapes and dtypes) and
    finite values.  The values go into the model's current library and
    device (``model.to``), whatever library the file was saved from.  With
    *optimizer*, the file must hold state for an
    optimizer of the same class over as many parameters, and every
    hyper-parameter and state value must pass the optimizer's own checks
    (:meth:`~minigrad.Optimizer.load_state_dict`).  If any check fails the
    model and the optimizer are left exactly as they were; an interrupt
    (Ctrl-C) while the checked values are being installed undoes them, at
    the cost of a copy of the parameters and buffers during the call.
    Optimizer state in the file is ignored when *optimizer* is None.

    The cost of a call is bounded by the model, not by the file: a file
    holding more or larger members than the model needs is refused before
    they are read (the module docstring says how).

    Raises:
        FileNotFoundError: *path* does not exist.
        ValueError: a file that is not a valid minigrad file (truncated,
            corrupt, crafted or foreign; a directory, a FIFO, a device: the
            message says so and why), a newer format version, a different
            architecture, NaN/inf values, a buffer value the model cannot take
            (a negative count or variance: :func:`~minigrad.nn.module.check_buffer_value`),
            or optimizer state that is missing or does not fit.
        TypeError: a buffer of the model is not a writable NumPy array.

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
    params = list(model.named_parameters())
    buffers = _buffers(model)
    n_optim = len(optimizer.params) if optimizer is not None else len(params)
    if not stat.S_ISREG(os.stat(p).st_mode):  # (a FIFO or a device would block or never end)
        raise ValueError(f"{p} is not a valid minigrad file: it is not a regular file")
    with open(p, "rb") as f:
        head = f.read(6)
    if head == b"\x93NUMPY":
        raise ValueError(f"{p} is not a valid minigrad file: it is a single .npy array, not a .npz archive")
    if head[:4] != b"PK\x03\x04":
        raise ValueError(f"{p} is not a valid minigrad file: it is not a .npz (zip) archive")
    names = [_PARAM + n for n, _ in params] + [_BUFFER + n for n, _ in buffers]
    optim_name_chars = len(f"{_OPTIM}{n_optim}:") + 255
    try:
        with Archive(
            p,
            max_entries=len(_FIXED) + len(names) + n_optim * MAX_STATE_ARRAYS,
            directory_bytes=sum(_entry_bytes(len(n)) for n in [*_FIXED, *names])
            + n_optim * MAX_STATE_ARRAYS * _entry_bytes(optim_name_chars),
        ) as archive:
            staged = _read(p, archive, model, [(n, _host_like(q.data)) for n, q in params], buffers, optimizer)
    except ArchiveError as exc:
        raise ValueError(f"{p} is not a valid minigrad file: {exc}") from None
    # Everything is checked: only an interrupt (Ctrl-C) can stop what follows, and then it is undone.
    targets = [param.data for _, param in params] + [buffer for _, buffer in buffers]
    backup = [backend.copy(target, backend.namespace_of(target)) for target in targets]
    optimizer_backup = None
    if optimizer is not None:
        hyper = {k: getattr(optimizer, k) for k in optimizer._hyperparameters}
        optimizer_backup = (optimizer, (hyper, optimizer.state))
    try:
        for target, value in zip(targets, staged.params + staged.buffers, strict=True):
            if isinstance(target, np.ndarray):
                _array.copy_into(target, value)
            else:  # a model moved by to(): the values go into its library and onto its device
                target[...] = backend.move(value, backend.namespace_of(target), backend.device_of(target))
        if optimizer is not None and staged.optimizer is not None:
            optimizer._set_checked(staged.optimizer)
    except BaseException:
        for target, old in zip(targets, backup, strict=True):
            if isinstance(target, np.ndarray):
                np.copyto(target, old)
            else:
                target[...] = old
        if optimizer_backup is not None:
            optimizer_backup[0]._set_checked(optimizer_backup[1])
        raise


def _host_like(a: Any) -> NDArray[Any]:
    """*a* if a NumPy array, else an empty NumPy array of its shape and dtype: what the file is checked against."""
    if isinstance(a, np.ndarray):
        return a
    return np.empty(tuple(a.shape), dtype=backend.dtype_name(a.dtype))


def _entry_bytes(name_chars: int) -> int:
    """Central directory bytes for one member named with *name_chars* characters (UTF-8: up to 4 bytes each)."""
    return 46 + 512 + 4 * (name_chars + len(".npy"))


class _Staged:
    """What :func:`load` will install once everything is checked."""

    def __init__(
        self,
        params: list[NDArray[Any]],
        buffers: list[NDArray[Any]],
        optimizer: tuple[dict[str, Any], list[dict[str, StateValue]]] | None,
    ) -> None:
        self.params = params
        self.buffers = buffers
        self.optimizer = optimizer


def _read(
    path: Path,
    archive: Archive,
    model: Module,
    params: list[tuple[str, NDArray[Any]]],
    buffers: list[tuple[str, NDArray[Any]]],
    optimizer: Optimizer | None,
) -> _Staged:
    """Check and read everything :func:`load` needs; raise ArchiveError for a damaged file.

    *params* are ``(name, array)`` with NumPy arrays of the parameters' shapes and dtypes.
    """
    buffers = [(n, _host_like(b)) for n, b in buffers]
    members = archive.members
    meta_chars = _META_BASE_CHARS + sum(12 * len(name) + 64 + 24 * a.ndim for name, a in [*params, *buffers])
    if optimizer is not None:
        meta_chars += 1024 * len(optimizer.params)
    expected_bytes: dict[str, int] = {_FORMAT_KEY: 4 * 64, _VERSION_KEY: 8, _META_KEY: 4 * meta_chars}
    expected_bytes.update({_PARAM + n: a.nbytes for n, a in params})
    expected_bytes.update({_BUFFER + n: b.nbytes for n, b in buffers})
    optim_members: dict[str, tuple[int, str]] = {}
    # 1. The directory alone: known kinds of member, declared sizes within what the model needs.
    for key in members:
        if key.startswith(_OPTIM):
            match = _OPTIM_KEY.fullmatch(key)
            if match is None:
                raise ArchiveError(f"member {key!r} is not a known kind of member (a stray optimizer array)")
            index = int(match.group(1))
            optim_members[key] = (index, match.group(2))
            if optimizer is not None and index < len(optimizer.params):
                archive.check_size(key, math.prod(optimizer.params[index].shape) * 16)
        elif key in expected_bytes:
            archive.check_size(key, expected_bytes[key])
        elif not key.startswith((_PARAM, _BUFFER)):
            raise ArchiveError(f"member {key!r} is not a known kind of member")
    for key in (_FORMAT_KEY, _VERSION_KEY):
        if key not in members:
            raise ArchiveError(f"it has no {key!r} member (not a minigrad parameter file)")
    if _META_KEY not in members:
        raise ArchiveError(f"damaged {_META_KEY!r} entry: missing")
    # 2. The header members.
    marker = archive.read_array(_FORMAT_KEY, 4 * 64, _scalar_of("US", _FORMAT_KEY))
    if str(marker[()]) != FORMAT:
        raise ArchiveError(f"its {_FORMAT_KEY!r} is not {FORMAT!r} (not a minigrad parameter file)")
    version = int(archive.read_array(_VERSION_KEY, 8, _scalar_of("iu", "format version"))[()])
    if version < 1:
        raise ArchiveError(f"it has no valid format version ({version})")
    if version > VERSION:
        raise ValueError(
            f"{path} has format version {version}; this minigrad reads up to version {VERSION} (upgrade minigrad)"
        )
    raw_meta = archive.read_array(_META_KEY, expected_bytes[_META_KEY], _scalar_of("U", _META_KEY))
    try:
        meta = json.loads(str(raw_meta[()]))
    except (ValueError, RecursionError) as exc:
        raise ArchiveError(f"damaged {_META_KEY!r} entry: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("parameters"), list):
        raise ArchiveError(f"damaged {_META_KEY!r} entry: no parameter list")
    # 3. The architecture, against the model.
    saved_params = _parse_signature(meta["parameters"], "parameters")
    saved_buffers = _parse_signature(meta.get("buffers", []), "buffers")
    own_buffers = [(n, tuple(b.shape), str(b.dtype)) for n, b in buffers]
    problems = _differences(saved_params, signature(model), "", "parameters")
    problems += _differences(saved_buffers, own_buffers, "buffers ", "buffers")
    if problems:
        raise ValueError(
            f"{path} holds a different architecture from the {type(model).__name__}: " + "; ".join(problems)
        )
    for prefix, own in ((_PARAM, signature(model)), (_BUFFER, own_buffers)):
        listed = {prefix + n for n, _, _ in own}
        missing = sorted(k for k in listed if k not in members)
        extra = sorted(k for k in members if k.startswith(prefix) and k not in listed)
        if missing:
            raise ArchiveError(f"damaged: no member for {missing}")
        if extra:
            raise ArchiveError(f"damaged: members {extra} are not in its signature")
    # 4. The optimizer's metadata, then the arrays.
    saved_optimizer = meta.get("optimizer")
    scalars = saved_optimizer.get("scalars") if isinstance(saved_optimizer, dict) else None
    n_saved = len(scalars) if isinstance(scalars, list) else 0
    optimizer_state = None if optimizer is None else _optimizer_meta_state(path, optimizer, saved_optimizer)
    stray = sorted(k for k, (i, _) in optim_members.items() if i >= n_saved)
    if stray:
        raise ArchiveError(f"damaged optimizer state: a stray optimizer array {stray[0]!r}")
    param_values = [_read_exact(archive, _PARAM + n, a, "parameter") for n, a in params]
    buffer_values = [_read_exact(archive, _BUFFER + n, b, "buffer") for n, b in buffers]
    nonnegative = nonnegative_buffers(model)
    for (name, _), value in zip(buffers, buffer_values, strict=True):
        try:  # the rule Module.load_state_dict applies too: counts and variances >= 0
            check_buffer_value(f"buffer {name!r}", value, nonnegative=name in nonnegative)
        except ValueError as exc:
            raise ValueError(f"{path} holds a buffer value the {type(model).__name__} cannot take: {exc}") from None
    checked = None
    if optimizer is not None and optimizer_state is not None:
        checked = _read_optimizer(archive, optimizer, *optimizer_state, optim_members)
    return _Staged(param_values, buffer_values, checked)


def _scalar_of(kinds: str, what: str) -> Any:
    """A header check for a one-element entry (the format marker, the version, the metadata)."""

    def accept(dtype: np.dtype[Any], shape: tuple[int, ...]) -> None:
        if shape != () or dtype.kind not in kinds:
            raise ArchiveError(f"damaged {what!r} entry: {dtype} of shape {shape}")

    return accept


def _parse_signature(entries: Any, what: str) -> Signature:
    """The ``[[name, shape, dtype], ...]`` list of the metadata, checked entry by entry."""
    if not isinstance(entries, list):
        raise ArchiveError(f"damaged architecture signature: {what} is {_short(entries)}, not a list")
    parsed: Signature = []
    for entry in entries:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], str)
            and isinstance(entry[1], list)
            and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**63 for d in entry[1])
            and isinstance(entry[2], str)
        ):
            raise ArchiveError(f"damaged architecture signature: {what} entry {_short(entry)}")
        parsed.append((entry[0], tuple(entry[1]), entry[2]))
    return parsed


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _differences(saved: Signature, own: Signature, label: str, what: str) -> list[str]:
    """How the signature in the file differs from the model's, in words ([] when equal)."""
    if saved == own:
        return []
    problems: list[str] = []
    saved_by_name = {n: (s, t) for n, s, t in saved}
    own_by_name = {n: (s, t) for n, s, t in own}
    missing = [n for n in own_by_name if n not in saved_by_name]
    unexpected = [n for n in saved_by_name if n not in own_by_name]
    if missing:
        problems.append(f"{label}missing in the file: {missing}")
    if unexpected:
        problems.append(f"{label}not in the model: {unexpected}")
    for name, (shape, dtype) in own_by_name.items():
        if name in saved_by_name and saved_by_name[name] != (shape, dtype):
            fs, fd = saved_by_name[name]
            problems.append(f"{name!r}: file {fs} {fd}, model {shape} {dtype}")
    if not problems:
        problems.append(f"the {what} are in a different order: file {[n for n, _, _ in saved]}")
    return problems


def _same_dtype(a: np.dtype[Any], b: np.dtype[Any]) -> bool:
    """Equal dtypes up to byte order (a file written on a big-endian machine reads the same)."""
    return a.newbyteorder("=") == b.newbyteorder("=")


def _read_exact(archive: Archive, key: str, like: NDArray[Any], what: str) -> NDArray[Any]:
    """Member *key*, which must have *like*'s shape and dtype and finite values."""
    name = key.partition(":")[2]

    def accept(dtype: np.dtype[Any], shape: tuple[int, ...]) -> None:
        if shape != like.shape or not _same_dtype(dtype, like.dtype):
            raise ArchiveError(
                f"damaged: {what} {name!r} should be {like.shape} {like.dtype}, the file holds {shape} {dtype}"
            )

    value = archive.read_array(key, like.nbytes, accept)
    if value.dtype.kind == "f" and not _array.is_finite(value):
        raise ArchiveError(f"{what} {name!r} contains NaN or infinity")
    return value


def _optimizer_meta_state(path: Path, optimizer: Optimizer, saved: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The hyper-parameters and the scalar state of the optimizer's metadata, after a first look."""
    name = type(optimizer).__name__
    if not isinstance(saved, dict):
        raise ValueError(f"{path} holds no optimizer state (save it with save(model, path, optimizer=...))")
    saved_class = saved.get("class")
    if saved_class != name:
        saved_name = saved_class if isinstance(saved_class, str) and len(saved_class) <= 80 else _short(saved_class)
        raise ValueError(f"{path} holds the state of a {saved_name}, not of a {name}")
    hyper, scalars = saved.get("hyperparameters"), saved.get("scalars")
    if not isinstance(hyper, dict) or not isinstance(scalars, list) or not all(isinstance(s, dict) for s in scalars):
        raise ArchiveError("damaged optimizer state: no hyper-parameter dict and list of per-parameter dicts")
    if len(scalars) != len(optimizer.params):
        raise ArchiveError(
            f"damaged optimizer state: state for {len(scalars)} parameters, the optimizer has {len(optimizer.params)}"
        )
    return {k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()}, [dict(s) for s in scalars]


def _read_optimizer(
    archive: Archive,
    optimizer: Optimizer,
    hyper: dict[str, Any],
    states: list[dict[str, Any]],
    optim_members: Mapping[str, tuple[int, str]],
) -> tuple[dict[str, Any], list[dict[str, StateValue]]]:
    """The optimizer's state arrays added to *states*, all checked by the optimizer (nothing is changed)."""
    name = type(optimizer).__name__
    array_keys = {k for k, kind in optimizer._state_spec.items() if kind == "array"}
    for key, (index, state_key) in sorted(optim_members.items()):
        if state_key not in array_keys:
            raise ArchiveError(
                f"damaged optimizer state: a stray optimizer array {key!r} ({name} keeps no array {state_key!r})"
            )
        if state_key in states[index]:
            raise ArchiveError(f"damaged optimizer state: {key!r} is both a number and an array")
        like = _host_like(optimizer.params[index].data)

        def accept(dtype: np.dtype[Any], shape: tuple[int, ...], key: str = key, like: NDArray[Any] = like) -> None:
            if shape != like.shape or dtype.kind != "f":
                raise ArchiveError(
                    f"damaged optimizer state: {key!r} should be a float array of shape {like.shape}, "
                    f"the file holds {shape} {dtype}"
                )

        states[index][state_key] = archive.read_array(key, like.size * 16, accept)
    try:
        return optimizer._check_state_dict({"hyperparameters": hyper, "state": states})
    except (KeyError, TypeError, ValueError) as exc:
        raise ArchiveError(f"damaged optimizer state: {exc.args[0] if exc.args else exc}") from None
