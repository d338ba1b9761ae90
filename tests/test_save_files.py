"""save and the file system: long names, permissions, symbolic links, interrupts and the temporary file."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import minigrad as mg

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and symbolic links")
TEMPORARY = re.compile(r"\.minigrad-[0-9a-f]{8}\.tmp")


def model(seed: int = 0) -> mg.Linear:
    return mg.Linear(3, 2, rng=seed)


def loaded(path: Path) -> mg.Linear:
    m = model(99)
    mg.load(m, path)
    return m


def same(a: mg.Module, b: mg.Module) -> bool:
    return all(np.array_equal(x.data, y.data) for x, y in zip(a.parameters(), b.parameters(), strict=True))


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # pragma: no cover - platforms without pathconf
        return 255


def test_a_name_as_long_as_the_file_system_allows_works(tmp_path: Path) -> None:
    target = tmp_path / ("m" * (name_max(tmp_path) - 4) + ".npz")
    mg.save(model(), target)
    assert same(loaded(target), model())
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_name_too_long_is_an_error_naming_the_users_path(tmp_path: Path) -> None:
    target = tmp_path / ("m" * (name_max(tmp_path) + 1))
    with pytest.raises(OSError) as info:
        mg.save(model(), target)
    assert info.value.errno == errno.ENAMETOOLONG
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_directory_is_an_error_naming_the_users_path(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "dir" / "m.npz"
    with pytest.raises(FileNotFoundError) as info:
        mg.save(model(), target)
    assert info.value.filename == str(target)


def test_the_temporary_is_short_hidden_recognisable_and_beside_the_target(tmp_path: Path, monkeypatch: Any) -> None:
    names: list[Path] = []
    real_replace = os.replace

    def replace(a: Any, b: Any) -> None:
        names.append(Path(a))
        real_replace(a, b)

    monkeypatch.setattr(os, "replace", replace)
    mg.save(model(), tmp_path / "m.npz")
    (tmp,) = names
    assert tmp.parent == tmp_path and TEMPORARY.fullmatch(tmp.name)


@posix_only
def test_replacing_a_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "secret.npz"
    mg.save(model(0), target)
    os.chmod(target, 0o600)
    mg.save(model(1), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert same(loaded(target), model(1))
    os.chmod(target, 0o640)
    mg.save(model(2), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@posix_only
def test_a_new_file_gets_the_default_mode_from_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        mg.save(model(), tmp_path / "new.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.npz").stat().st_mode) == 0o640


@posix_only
def test_saving_through_a_symbolic_link_replaces_the_file_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "weights.npz"
    mg.save(model(0), target)
    os.chmod(target, 0o600)
    link = tmp_path / "current.npz"
    link.symlink_to(Path("real") / "weights.npz")  # a relative link, as `ln -s` makes
    mg.save(model(1), link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "weights.npz")
    assert same(loaded(target), model(1)) and same(loaded(link), model(1))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["weights.npz"]


@posix_only
def test_saving_through_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "made.npz")
    mg.save(model(), link)
    assert link.is_symlink() and same(loaded(tmp_path / "made.npz"), model())


@posix_only
def test_a_symbolic_link_loop_is_an_error_naming_the_users_path(tmp_path: Path) -> None:
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError) as info:
        mg.save(model(), a)
    assert info.value.errno == errno.ELOOP and info.value.filename == str(a)
    assert a.is_symlink() and b.is_symlink()


class Interrupt(BaseException):
    """Stands for a KeyboardInterrupt without stopping pytest if one escaped."""


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, Interrupt])
@pytest.mark.parametrize("where", ["midway through the archive", "at fsync", "at the rename"])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: Any, error: type[BaseException], where: str
) -> None:
    target = tmp_path / "m.npz"
    mg.save(model(0), target)
    real_savez = np.savez

    def savez_then_fail(f: Any, **arrays: Any) -> None:
        real_savez(f, **{k: arrays[k] for k in list(arrays)[:2]})  # some bytes are on disk
        f.flush()
        raise error()

    def fail(*args: Any) -> None:
        raise error()

    if where == "midway through the archive":
        monkeypatch.setattr(np, "savez", savez_then_fail)
    elif where == "at fsync":
        monkeypatch.setattr(os, "fsync", fail)
    else:
        monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(error):
        mg.save(model(1), target)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]
    assert same(loaded(target), model(0))


def test_a_temporary_name_already_taken_is_left_alone_and_another_drawn(tmp_path: Path, monkeypatch: Any) -> None:
    theirs = tmp_path / ".minigrad-00000000.tmp"
    theirs.write_bytes(b"someone else's")
    draws = iter(["00000000", "00000000", "11111111"])
    monkeypatch.setattr("secrets.token_hex", lambda n: next(draws))
    mg.save(model(), tmp_path / "m.npz")
    assert theirs.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".minigrad-00000000.tmp", "m.npz"]


def test_after_a_hundred_taken_names_save_gives_up_and_removes_nothing(tmp_path: Path, monkeypatch: Any) -> None:
    theirs = tmp_path / ".minigrad-00000000.tmp"
    theirs.write_bytes(b"someone else's")
    monkeypatch.setattr("secrets.token_hex", lambda n: "00000000")
    with pytest.raises(FileExistsError) as info:
        mg.save(model(), tmp_path / "m.npz")
    assert info.value.filename == str(tmp_path / "m.npz")
    assert theirs.read_bytes() == b"someone else's"


@posix_only
def test_a_fifo_is_never_replaced_by_a_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ValueError, match="is not a regular file"):
        mg.save(model(), tmp_path / "pipe")
    assert stat.S_ISFIFO(os.lstat(tmp_path / "pipe").st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]
    # (A device takes the same path: no test points save at one, lest a regression replace it.)


def test_a_directory_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        mg.save(model(), tmp_path / "d.npz")
    assert info.value.filename == str(tmp_path / "d.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]
