"""load of a crafted, damaged or hostile file: one ValueError, nothing changed, a cost bounded by the model.

Every file here is built byte by byte (a zip of .npy members, as ``np.savez``
writes them), so a test can put in it what a hostile user would: members
without a .npy header, headers declaring absurd shapes, a deflated gigabyte,
a deeply nested or huge metadata text, broken optimizer state.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad.io import _archive

GiB = 1 << 30


@dataclass
class Member:
    """One zip member: *payload* as stored in the archive, with the sizes and checksum its headers declare."""

    name: str
    payload: bytes
    file_size: int
    crc: int
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    compress_size: int | None = None  # the size the headers declare; len(payload) unless a test lies


def stored(name: str, data: bytes) -> Member:
    return Member(name, data, len(data), zlib.crc32(data))


def deflated(name: str, data: bytes) -> Member:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return Member(name, c.compress(data) + c.flush(), len(data), zlib.crc32(data), zipfile.ZIP_DEFLATED)


def build_zip(members: list[Member]) -> bytes:
    """A zip archive of *members*, with local headers, a central directory and its end record."""
    out, directory = io.BytesIO(), io.BytesIO()
    for m in members:
        name = m.name.encode()
        size = len(m.payload) if m.compress_size is None else m.compress_size
        fields = (20, m.flags, m.method, 0, 0x21, m.crc, size, m.file_size, len(name))
        offset = out.tell()
        out.write(struct.pack("<4s5HL2L2H", b"PK\x03\x04", *fields, 0) + name + m.payload)
        directory.write(struct.pack("<4s6HL2L5H2L", b"PK\x01\x02", 20, *fields, 0, 0, 0, 0, 0, offset) + name)
    cd = directory.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), out.tell(), 0)
    return out.getvalue() + cd + end


def npy(array: Any) -> bytes:
    f = io.BytesIO()
    np.save(f, np.asarray(array), allow_pickle=False)
    return f.getvalue()


def npy_with_header(header: str, data: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    """A .npy member with any header text (padded to 64 bytes, as NumPy writes it)."""
    text = header.encode("latin1")
    pad = -(10 + len(text) + 1) % 64
    return b"\x93NUMPY" + version + struct.pack("<H", len(text) + pad + 1) + text + b" " * pad + b"\n" + data


def members_of(path: Path) -> dict[str, bytes]:
    """The uncompressed bytes of every member of a file that save wrote, by name (with .npy)."""
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def tiny() -> mg.Linear:
    return mg.Linear(2, 1, rng=0)


@pytest.fixture
def saved(tmp_path: Path) -> dict[str, bytes]:
    """The members of a file holding a trained Linear(2, 1) and its Adam state."""
    model = tiny()
    opt = mg.Adam(model.parameters(), lr=0.01)
    model.weight.grad[...] = 1.0
    model.bias.grad[...] = 1.0
    opt.step()
    mg.save(model, tmp_path / "good.npz", optimizer=opt)
    return members_of(tmp_path / "good.npz")


def with_meta(members: dict[str, bytes], change: Callable[[dict[str, Any]], None]) -> dict[str, bytes]:
    meta = json.loads(str(np.load(io.BytesIO(members["minigrad.meta.npy"]))))
    change(meta)
    return {**members, "minigrad.meta.npy": npy(np.array(json.dumps(meta)))}


def write(path: Path, members: dict[str, bytes] | list[Member]) -> Path:
    listed = [stored(n, d) for n, d in members.items()] if isinstance(members, dict) else members
    path.write_bytes(build_zip(listed))
    return path


def refused(path: Path, *, optimizer: bool = True) -> str:
    """Load *path* into a fresh model (and Adam); expect one ValueError; check that nothing changed."""
    model = mg.Linear(2, 1, rng=5)
    opt = mg.Adam(model.parameters(), lr=0.5)
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        mg.load(model, path, optimizer=opt if optimizer else None)
    assert type(info.value) is ValueError  # not a subclass escaping from zipfile or NumPy
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert opt.lr == 0.5 and opt.state == [{}, {}]
    return str(info.value)


def test_the_builder_writes_what_save_writes(tmp_path: Path, saved: dict[str, bytes]) -> None:
    model = mg.Linear(2, 1, rng=5)
    opt = mg.Adam(model.parameters())
    mg.load(model, write(tmp_path / "rebuilt.npz", saved), optimizer=opt)
    np.testing.assert_array_equal(model.weight.data, np.load(io.BytesIO(saved["param:weight.npy"])))
    assert opt.lr == 0.01 and opt.state[0]["step"] == 1


# -- malformed structure ---------------------------------------------------------------------------


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


CRAFTED: dict[str, Callable[[dict[str, bytes]], dict[str, bytes] | list[Member]]] = {
    "meta nested 100,000 deep": lambda m: {**m, "minigrad.meta.npy": npy(np.array(deep(100_000)))},
    "meta nested 20,000 deep (within the size allowed)": lambda m: {
        **m,
        "minigrad.meta.npy": npy(np.array('{"parameters": ' + deep(20_000) + "}")),
    },
    "shape entry 1e400 in the metadata": lambda m: with_meta(
        m, lambda meta: meta["parameters"][0].__setitem__(1, [float("inf"), 2])
    ),
    "shape entry 1e400 in a .npy header": lambda m: {
        **m,
        "param:bias.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1e400,), }"),
    },
    "member without a .npy header": lambda m: {**m, "param:bias.npy": b"not an array at all"},
    "member declaring shape (10**15,)": lambda m: {
        **m,
        "param:bias.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000,), }"),
    },
    "extra member declaring shape (10**15,)": lambda m: {
        **m,
        "junk.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000,), }"),
    },
    "member with the right shape and too little data": lambda m: {
        **m,
        "param:bias.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", b"1234"),
    },
    "member with the right shape and too much data": lambda m: {
        **m,
        "param:bias.npy": npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", bytes(16)),
    },
    "object array header": lambda m: {
        **m,
        "param:bias.npy": npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", bytes(8)),
    },
    ".npy format version 9": lambda m: {
        **m,
        "param:bias.npy": m["param:bias.npy"][:6] + b"\x09\x00" + m["param:bias.npy"][8:],
    },
    "unknown member": lambda m: {**m, "notes.npy": npy(np.ones(3))},
    "member that is not .npy": lambda m: {**m, "README.txt": b"hello"},
    "duplicate member": lambda m: [
        *(stored(n, d) for n, d in m.items()),
        stored("param:bias.npy", m["param:bias.npy"]),
    ],
    "encrypted member": lambda m: [
        Member(n, d, len(d), zlib.crc32(d), flags=1 if n == "param:bias.npy" else 0) for n, d in m.items()
    ],
    "bzip2 member": lambda m: [
        Member(n, d, len(d), zlib.crc32(d), method=zipfile.ZIP_BZIP2 if n == "param:bias.npy" else 0)
        for n, d in m.items()
    ],
    "stored member whose sizes disagree": lambda m: [
        Member(n, d, len(d), zlib.crc32(d), compress_size=len(d) + 100 if n == "param:bias.npy" else None)
        for n, d in m.items()
    ],
    "wrong checksum": lambda m: [Member(n, d, len(d), zlib.crc32(d) ^ 1) for n, d in m.items()],
    "no format marker": lambda m: {k: v for k, v in m.items() if k != "minigrad.format.npy"},
    "format marker is a number": lambda m: {**m, "minigrad.format.npy": npy(np.array(1.0))},
    "format version 0": lambda m: {**m, "minigrad.version.npy": npy(np.array(0))},
    "format version a string": lambda m: {**m, "minigrad.version.npy": npy(np.array("1"))},
    "meta is not JSON": lambda m: {**m, "minigrad.meta.npy": npy(np.array("{"))},
    "meta with an integer of 5000 digits": lambda m: {**m, "minigrad.meta.npy": npy(np.array("[" + "9" * 5000 + "]"))},
    "buffer list is not a list": lambda m: with_meta(m, lambda meta: meta.__setitem__("buffers", 7)),
    "signature entry is a bool shape": lambda m: with_meta(
        m, lambda meta: meta["parameters"][1].__setitem__(1, [True])
    ),
    "parameter array is an int array": lambda m: {**m, "param:bias.npy": npy(np.array([1]))},
    "parameter is infinite": lambda m: {**m, "param:bias.npy": npy(np.array([np.inf]))},
    "optimizer array index beyond the state": lambda m: {**m, "optim:7:exp_avg.npy": npy(np.zeros(1))},
    "optimizer array with a malformed name": lambda m: {**m, "optim:x:exp_avg.npy": npy(np.zeros(1))},
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_file_gives_one_value_error_and_changes_nothing(
    tmp_path: Path, saved: dict[str, bytes], case: str
) -> None:
    message = refused(write(tmp_path / "crafted.npz", CRAFTED[case](saved)))
    assert "not a valid minigrad file" in message


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_file_is_refused_without_an_optimizer_too(tmp_path: Path, saved: dict[str, bytes], case: str) -> None:
    message = refused(write(tmp_path / "crafted.npz", CRAFTED[case](saved)), optimizer=False)
    assert "not a valid minigrad file" in message


def positions(n: int) -> list[int]:
    """Every 17th byte position, and all of the last 100 (the end of the zip directory and its end record)."""
    return sorted({*range(0, n, 17), *range(max(0, n - 100), n)})


def test_truncated_files_give_a_value_error(tmp_path: Path, saved: dict[str, bytes]) -> None:
    raw = build_zip([stored(n, d) for n, d in saved.items()])
    path = tmp_path / "cut.npz"
    for length in positions(len(raw)):
        path.write_bytes(raw[:length])
        refused(path)


def test_flipped_bytes_give_a_value_error_or_the_saved_values(tmp_path: Path, saved: dict[str, bytes]) -> None:
    raw = build_zip([stored(n, d) for n, d in saved.items()])
    path = tmp_path / "flipped.npz"
    expected = np.load(io.BytesIO(saved["param:weight.npy"]))
    rng = np.random.default_rng(0)
    for position in positions(len(raw)):
        damaged = bytearray(raw)
        damaged[position] ^= int(rng.integers(1, 256))
        path.write_bytes(bytes(damaged))
        model = mg.Linear(2, 1, rng=5)
        try:
            mg.load(model, path, optimizer=mg.Adam(model.parameters()))
        except ValueError as exc:
            assert type(exc) is ValueError, position
        else:  # a byte nothing reads (a time stamp, an attribute): the values are the saved ones
            np.testing.assert_array_equal(model.weight.data, expected, err_msg=str(position))


# -- bounded cost ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gibibyte_of_zeros() -> tuple[bytes, int, int]:
    """A raw deflate stream of 1 GiB of zeros (about 1 MiB), the CRC-32 of that gibibyte, the length of a block.

    One fully flushed block of 1 MiB of zeros, repeated: each block starts
    from an empty dictionary, so copies of it concatenate into a valid stream.
    """
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(GiB // len(mib)):
        crc = zlib.crc32(mib, crc)
    return block * (GiB // len(mib)) + b"\x03\x00", crc, len(block)  # (03 00: an empty final block)


class CountingOpen:
    """``open`` for minigrad.io._archive that counts the bytes read through the files it opens."""

    def __init__(self) -> None:
        self.bytes_read = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        f = builtins.open(*args, **kwargs)  # noqa: SIM115 - the caller closes it
        counter = self
        real_read = f.read

        class Counted:
            def __getattr__(self, name: str) -> Any:
                return getattr(f, name)

            def read(self, n: int = -1) -> bytes:
                data = real_read(n)
                counter.bytes_read += len(data)
                return data

        return Counted()


@contextlib.contextmanager
def measured(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CountingOpen, list[int]]]:
    """Count the bytes load reads and its peak of traced memory (the peak goes into the list on exit)."""
    counting = CountingOpen()
    monkeypatch.setattr(_archive, "open", counting, raising=False)
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield counting, peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        monkeypatch.undo()


def bomb(name: str, stream: tuple[bytes, int, int], *, declared: int = GiB) -> Member:
    data, crc, _ = stream
    return Member(name, data, declared, crc, zipfile.ZIP_DEFLATED)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda m, z: [*(stored(n, d) for n, d in m.items()), bomb("junk.npy", z)], id="extra member"),
        pytest.param(
            lambda m, z: [
                *(stored(n, d) for n, d in m.items() if n != "param:weight.npy"),
                bomb("param:weight.npy", z),
            ],
            id="parameter declaring 1 GiB",
        ),
        pytest.param(
            lambda m, z: [
                *(stored(n, d) for n, d in m.items() if n != "param:weight.npy"),
                bomb("param:weight.npy", z, declared=len(m["param:weight.npy"])),
            ],
            id="parameter declaring its size and inflating to 1 GiB",
        ),
        pytest.param(
            lambda m, z: [
                *(stored(n, d) for n, d in m.items() if n != "param:weight.npy"),
                bomb("param:weight.npy", (z[0][: z[2]] + b"\x03\x00", 0, 0), declared=len(m["param:weight.npy"])),
            ],
            id="parameter declaring its size, inflating to 1 MiB, compressed within the bound for its size",
        ),
        pytest.param(
            lambda m, z: [
                *(stored(n, d) for n, d in m.items() if n != "minigrad.meta.npy"),
                bomb("minigrad.meta.npy", z),
            ],
            id="metadata of 1 GiB",
        ),
    ],
)
def test_a_zip_bomb_is_refused_with_bounded_memory_and_reads(
    tmp_path: Path, saved: dict[str, bytes], gibibyte_of_zeros: tuple[bytes, int, int], make: Any, monkeypatch: Any
) -> None:
    path = write(tmp_path / "bomb.npz", make(saved, gibibyte_of_zeros))
    with measured(monkeypatch) as (counting, peak):
        refused(path)
    assert peak[0] < 1 << 20  # a gibibyte decompressed would show here (it did: the whole member was read)
    assert counting.bytes_read < 8192  # the end record, the directory, the header members


def test_a_huge_directory_is_refused_before_it_is_parsed(
    tmp_path: Path, saved: dict[str, bytes], monkeypatch: Any
) -> None:
    members = [stored(n, d) for n, d in saved.items()]
    members += [stored(f"pad{i}.npy", b"") for i in range(20_000)]
    path = write(tmp_path / "many.npz", members)
    with measured(monkeypatch) as (counting, peak):
        message = refused(path)
    assert "at most" in message
    assert counting.bytes_read < 8192 and peak[0] < 1 << 20


def test_more_members_than_the_model_needs_are_refused(tmp_path: Path, saved: dict[str, bytes]) -> None:
    members = [stored(n, d) for n, d in saved.items()] + [stored(f"p{i}.npy", b"") for i in range(300)]
    assert "members, at most" in refused(write(tmp_path / "many.npz", members))


def test_a_huge_metadata_text_is_refused_before_it_is_read(
    tmp_path: Path, saved: dict[str, bytes], monkeypatch: Any
) -> None:
    meta = json.loads(str(np.load(io.BytesIO(saved["minigrad.meta.npy"]))))
    meta["padding"] = "x" * 2_000_000
    path = write(tmp_path / "fat.npz", {**saved, "minigrad.meta.npy": npy(np.array(json.dumps(meta)))})
    with measured(monkeypatch) as (counting, peak):
        message = refused(path)
    assert "'minigrad.meta'" in message and "at most" in message
    assert counting.bytes_read < 8192 and peak[0] < 1 << 20


def test_the_bound_grows_with_the_model_so_large_models_load(tmp_path: Path) -> None:
    model = mg.Sequential(mg.Linear(300, 400, rng=0), mg.ReLU(), mg.Linear(400, 3, rng=1))
    opt = mg.Adam(model.parameters())
    mg.fit(model, np.ones((4, 300)), np.ones((4, 3)), loss=mg.MSELoss(), optimizer=opt, epochs=1)
    mg.save(model, tmp_path / "big.npz", optimizer=opt)
    other = mg.Sequential(mg.Linear(300, 400, rng=3), mg.ReLU(), mg.Linear(400, 3, rng=4))
    opt2 = mg.Adam(other.parameters())
    mg.load(other, tmp_path / "big.npz", optimizer=opt2)
    np.testing.assert_array_equal(other[0].weight.data, model[0].weight.data)  # type: ignore[attr-defined]
    np.testing.assert_array_equal(opt2.state[0]["exp_avg"], opt.state[0]["exp_avg"])  # type: ignore[arg-type]


# -- files other writers may produce, which load reads ----------------------------------------------


def test_fortran_order_big_endian_npy_2_and_deflated_members_load(tmp_path: Path, saved: dict[str, bytes]) -> None:
    weight = np.load(io.BytesIO(saved["param:weight.npy"]))
    version_2 = io.BytesIO()
    np.lib.format.write_array(version_2, np.load(io.BytesIO(saved["param:bias.npy"])), version=(2, 0))
    members = {
        **saved,
        "param:weight.npy": npy(np.asfortranarray(weight.astype(">f8"))),
        "param:bias.npy": version_2.getvalue(),  # .npy format 2.0, as NumPy writes for headers over 64 KiB
    }
    path = write(tmp_path / "other.npz", [deflated(n, d) for n, d in members.items()])
    model = mg.Linear(2, 1, rng=5)
    mg.load(model, path)
    np.testing.assert_array_equal(model.weight.data, weight)
    assert model.weight.data.dtype == np.float64


def test_np_savez_compressed_of_the_same_arrays_loads(tmp_path: Path, saved: dict[str, bytes]) -> None:
    arrays = {n[: -len(".npy")]: np.load(io.BytesIO(d)) for n, d in saved.items()}
    np.savez_compressed(tmp_path / "c.npz", **arrays)  # type: ignore[arg-type]
    model = mg.Linear(2, 1, rng=5)
    opt = mg.Adam(model.parameters())
    mg.load(model, tmp_path / "c.npz", optimizer=opt)
    assert opt.state[0]["step"] == 1


# -- optimizer state in the file -------------------------------------------------------------------


def set_state(key: str, value: Any, index: int = 0) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda m: with_meta(m, lambda meta: meta["optimizer"]["scalars"][index].__setitem__(key, value))


def set_hyper(key: str, value: Any) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    return lambda m: with_meta(m, lambda meta: meta["optimizer"]["hyperparameters"].__setitem__(key, value))


BAD_STATE: dict[str, Callable[[dict[str, bytes]], dict[str, bytes]]] = {
    "step 'x'": set_state("step", "x"),
    "step 1.5": set_state("step", 1.5),
    "step 1.0": set_state("step", 1.0),
    "step true": set_state("step", True),
    "step -1": set_state("step", -1),
    "step 0": set_state("step", 0),
    "step null": set_state("step", None),
    "step 10**400": set_state("step", 10**400),
    "step missing": lambda m: with_meta(m, lambda meta: meta["optimizer"]["scalars"][0].pop("step")),
    "exp_avg missing": lambda m: {k: v for k, v in m.items() if k != "optim:0:exp_avg.npy"},
    "exp_avg_sq a number": lambda m: set_state("exp_avg_sq", 0.0)(
        {k: v for k, v in m.items() if k != "optim:0:exp_avg_sq.npy"}
    ),
    "exp_avg_sq both a number and an array": set_state("exp_avg_sq", 0.0),
    "step an array": lambda m: with_meta(
        {**m, "optim:0:step.npy": npy(np.array([[1.0, 1.0]]))}, lambda meta: meta["optimizer"]["scalars"][0].pop("step")
    ),
    "unknown scalar key": set_state("amsgrad_max", 1),
    "unknown array key": lambda m: {**m, "optim:0:max_exp_avg_sq.npy": npy(np.zeros((1, 2)))},
    "exp_avg of another shape": lambda m: {**m, "optim:0:exp_avg.npy": npy(np.zeros((2, 1)))},
    "exp_avg of ints": lambda m: {**m, "optim:0:exp_avg.npy": npy(np.zeros((1, 2), dtype=np.int64))},
    "exp_avg with NaN": lambda m: {**m, "optim:0:exp_avg.npy": npy(np.array([[0.0, np.nan]]))},
    "exp_avg_sq negative": lambda m: {**m, "optim:0:exp_avg_sq.npy": npy(np.array([[0.0, -1.0]]))},
    "lr 10**400": set_hyper("lr", 10**400),
    "lr 1e400 (inf)": set_hyper("lr", float("inf")),
    "lr a string": set_hyper("lr", "0.1"),
    "betas with 10**400": set_hyper("betas", [0.9, 10**400]),
    "betas of length 3": set_hyper("betas", [0.9, 0.99, 0.5]),
    "betas a string": set_hyper("betas", "ab"),
    "betas of strings": set_hyper("betas", ["a", "b"]),
    "beta2 of 1": set_hyper("betas", [0.9, 1.0]),
    "hyper-parameter missing": lambda m: with_meta(m, lambda meta: meta["optimizer"]["hyperparameters"].pop("eps")),
    "hyper-parameter unknown": set_hyper("amsgrad", False),
    "state list too short": lambda m: with_meta(
        {k: v for k, v in m.items() if not k.startswith("optim:1:")},
        lambda meta: meta["optimizer"].__setitem__("scalars", meta["optimizer"]["scalars"][:1]),
    ),
    "scalars not a list": lambda m: with_meta(m, lambda meta: meta["optimizer"].__setitem__("scalars", {})),
}


@pytest.mark.parametrize("case", list(BAD_STATE))
def test_damaged_optimizer_state_is_refused_before_anything_changes(
    tmp_path: Path, saved: dict[str, bytes], case: str
) -> None:
    message = refused(write(tmp_path / "state.npz", BAD_STATE[case](saved)))
    assert "not a valid minigrad file" in message and "optimizer" in message


def test_after_a_refused_state_training_goes_on_normally(tmp_path: Path, saved: dict[str, bytes]) -> None:
    model = mg.Linear(2, 1, rng=5)
    opt = mg.Adam(model.parameters(), lr=0.5)
    with pytest.raises(ValueError):
        mg.load(model, write(tmp_path / "s.npz", BAD_STATE["step 1.5"](saved)), optimizer=opt)
    mg.fit(model, np.ones((3, 2)), np.ones((3, 1)), loss=mg.MSELoss(), optimizer=opt, epochs=2)
    assert opt.state[0]["step"] == 2 and opt.state[1]["step"] == 2


def test_float32_state_in_the_file_is_cast_to_the_parameter_dtype(tmp_path: Path, saved: dict[str, bytes]) -> None:
    members = {**saved, "optim:0:exp_avg.npy": npy(np.array([[0.5, 0.25]], dtype=np.float32))}
    model = mg.Linear(2, 1, rng=5)
    opt = mg.Adam(model.parameters())
    mg.load(model, write(tmp_path / "f32.npz", members), optimizer=opt)
    exp_avg = opt.state[0]["exp_avg"]
    assert isinstance(exp_avg, np.ndarray) and exp_avg.dtype == np.float64 and exp_avg.flags.writeable
    np.testing.assert_array_equal(exp_avg, [[0.5, 0.25]])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_fifo_or_a_directory_is_refused_without_reading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.npz")  # opening it to read would wait for a writer forever
    assert "not a regular file" in refused(tmp_path / "pipe.npz")
    (tmp_path / "dir.npz").mkdir()
    assert "not a regular file" in refused(tmp_path / "dir.npz")
