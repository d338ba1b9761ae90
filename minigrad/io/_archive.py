"""Reading a ``.npz`` archive (a zip of ``.npy`` members) with every read bounded in advance.

``np.load`` trusts the file: it decompresses whatever a member holds and
allocates whatever shape a ``.npy`` header declares, so a crafted file can
cost any amount of time and memory.  :class:`Archive` is for a reader that
knows what it expects.  It reads the zip's central directory (refusing one
larger than the caller allows), lets the caller look at each member's name
and declared size, and reads a member only against a limit given by the
caller: the ``.npy`` header is read and shown to the caller before any of the
data, and the data is read with reads of exactly the size the header (already
accepted) gives.  A file object wrapped around the real one refuses any read
beyond the caller's allowance, so no path through :mod:`zipfile` can read
more either.

Every problem with the file's contents raises :class:`ArchiveError`, a
ValueError, whatever part of the standard library or NumPy found it.
"""

from __future__ import annotations

import errno
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

#: Bytes read from the end of the file to find the end of the central
#: directory: the record (22 bytes), a zip comment of up to 64 KiB before
#: it and the zip64 locator and record (20 + 56 bytes), as :mod:`zipfile` reads them.
TAIL_BYTES = 22 + (1 << 16) + 22 + 20 + 56

#: Bytes read at a time into an array (NumPy's own buffer size for reading from a zip).
READ_CHUNK = 1 << 18

#: The largest ``.npy`` header accepted (NumPy's own default limit).
NPY_HEADER_MAX = 10_000

#: Bytes a member's local header may take before its data: 30 fixed bytes,
#: then a name and an extra field of up to 64 KiB each.
LOCAL_HEADER_MAX = 30 + 2 * 0xFFFF

#: Central directory bytes for one entry beyond its name: 46 fixed bytes and
#: room for the extra field (zip64 sizes, time stamps) and a short comment.
ENTRY_OVERHEAD = 46 + 512

_STORED_OR_DEFLATED = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

#: What the standard library and NumPy raise on malformed zip or .npy bytes.
_MALFORMED = (
    ValueError,
    TypeError,
    KeyError,
    EOFError,
    SyntaxError,
    RecursionError,
    OverflowError,
    NotImplementedError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
)


class ArchiveError(ValueError):
    """The file is not the archive the caller expects; the message says why."""


class _BoundedFile:
    """A read-only file that refuses, before reading, any read beyond its allowance."""

    def __init__(self, f: IO[bytes], size: int) -> None:
        self._f = f
        self._size = size
        self.allowance = 0

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            n = max(0, self._size - self._f.tell())
        if n > self.allowance:
            raise ArchiveError(f"it asks for a read of {n} bytes where at most {self.allowance} are expected")
        data = self._f.read(n)
        self.allowance -= len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence != 2 and (offset if whence == 0 else self._f.tell() + offset) < 0:
            raise ArchiveError("it points before the start of the file")
        return self._f.seek(offset, whence)  # (a negative end-relative seek raises OSError, which zipfile expects)

    def tell(self) -> int:
        return self._f.tell()

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()


class Archive:
    """An open ``.npz`` file, its central directory read within a limit.

    ``members`` maps each member's name without the ``.npy`` suffix (as
    ``np.load(...).files`` names it) to its :class:`zipfile.ZipInfo`.

    Args:
        path: the file.
        max_entries: refuse a central directory listing more members.
        directory_bytes: refuse a central directory larger than this.

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: as ``open``.
        ArchiveError: not a zip archive, a damaged or oversized central
            directory, duplicate or non-``.npy`` member names.
    """

    def __init__(self, path: Path, *, max_entries: int, directory_bytes: int) -> None:
        f = open(path, "rb")  # noqa: SIM115 - closed by close(), or below on failure
        try:
            self._file = _BoundedFile(f, os.fstat(f.fileno()).st_size)
            self._file.allowance = TAIL_BYTES + directory_bytes
            try:
                self._zip = zipfile.ZipFile(self._file)  # reads only the directory
                infos = self._zip.infolist()
            except _MALFORMED as exc:
                raise ArchiveError(_reason(exc, "its zip directory is unreadable")) from None
            if len(infos) > max_entries:
                raise ArchiveError(f"it has {len(infos)} members, at most {max_entries} are expected")
            self.members: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                name = info.filename
                if not name.endswith(".npy"):
                    raise ArchiveError(f"member {name!r} is not a .npy array")
                if name[:-4] in self.members:
                    raise ArchiveError(f"member {name!r} appears twice")
                self.members[name[:-4]] = info
        except BaseException:
            f.close()
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def check_size(self, key: str, max_data_bytes: int) -> None:
        """Refuse member *key* unless it is stored or deflated, unencrypted, with at most *max_data_bytes* of data.

        Looks only at the central directory: nothing of the member is read.
        """
        info = self.members[key]
        if info.flag_bits & 0x1:
            raise ArchiveError(f"member {key!r} is encrypted")
        if info.compress_type not in _STORED_OR_DEFLATED:
            raise ArchiveError(f"member {key!r} uses zip compression method {info.compress_type}")
        if info.file_size > NPY_HEADER_MAX + max_data_bytes:
            raise ArchiveError(
                f"member {key!r} declares {info.file_size} bytes, at most {NPY_HEADER_MAX + max_data_bytes} "
                "are expected"
            )
        stored_max = info.file_size if info.compress_type == zipfile.ZIP_STORED else _deflate_bound(info.file_size)
        if info.compress_size > stored_max:
            raise ArchiveError(f"member {key!r} takes {info.compress_size} bytes for {info.file_size} of data")

    def read_array(
        self, key: str, max_data_bytes: int, accept: Callable[[np.dtype[Any], tuple[int, ...]], None]
    ) -> NDArray[Any]:
        """Read member *key*: its ``.npy`` header, shown to *accept*, then its data.

        *accept(dtype, shape)* raises :class:`ArchiveError` for a header the
        caller does not expect; the data is read only after it returns, into
        a new array, in chunks of :data:`READ_CHUNK` bytes.
        """
        self.check_size(key, max_data_bytes)
        info = self.members[key]
        self._file.allowance = LOCAL_HEADER_MAX + info.compress_size + 2 * 4096  # (zipfile reads ahead 4 KiB)
        try:
            with self._zip.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp, max_header_size=NPY_HEADER_MAX)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp, max_header_size=NPY_HEADER_MAX)
                else:
                    raise ArchiveError(f"member {key!r} has .npy format version {version}, not 1.0 or 2.0")
                if dtype.hasobject:
                    raise ArchiveError(f"member {key!r} holds Python objects")
                accept(dtype, shape)
                nbytes = math.prod(shape) * dtype.itemsize
                if nbytes > max_data_bytes or fp.tell() + nbytes != info.file_size:
                    raise ArchiveError(
                        f"member {key!r} holds {info.file_size} bytes, its .npy header says {fp.tell()} + {nbytes}"
                    )
                array = np.empty(math.prod(shape), dtype=dtype)
                flat = array.view(np.uint8)
                for start in range(0, nbytes, READ_CHUNK):  # chunks that stay in cache, as np.load reads
                    chunk = fp.read(min(READ_CHUNK, nbytes - start))
                    if not chunk:
                        raise ArchiveError(f"member {key!r} is truncated")
                    flat[start : start + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                if fp.read(1):  # (reading to the end also checks the CRC)
                    raise ArchiveError(f"member {key!r} holds more than its header says")
        except ArchiveError:
            raise
        except _MALFORMED as exc:
            raise ArchiveError(_reason(exc, f"member {key!r} is unreadable")) from None
        except OSError as exc:
            if exc.errno not in (None, errno.EINVAL):
                raise  # a real input/output error, not the file's contents
            raise ArchiveError(_reason(exc, f"member {key!r} is unreadable")) from None
        return array.reshape(shape, order="F" if fortran else "C")


def _deflate_bound(n: int) -> int:
    """The most bytes deflate needs for *n* bytes of data (zlib's deflateBound, with room to spare)."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 1024


def _reason(exc: BaseException, what: str) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{what} ({type(exc).__name__}{': ' + detail if detail else ''})"
