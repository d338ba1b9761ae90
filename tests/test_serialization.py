"""save and load: round trips, no pickles, atomic writes, and clear errors that leave the model untouched."""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import minigrad as mg
from minigrad import serialization
from minigrad.optim import Adam

Array = NDArray[np.float64]


def mlp(seed: int = 0, hidden: int = 4, dtype: Any = np.float64) -> mg.Sequential:
    return mg.Sequential(
        mg.Linear(3, hidden, rng=seed, dtype=dtype), mg.ReLU(), mg.Linear(hidden, 2, rng=seed + 1, dtype=dtype)
    )


def assert_same(a: mg.Module, b: mg.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)
        assert sa[name].dtype == sb[name].dtype


def unchanged_after(model: mg.Module, action: Any) -> Any:
    """Run *action*, expecting ValueError, and check the model is exactly as before."""
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        action()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    return info


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_round_trip_restores_every_parameter_bit_for_bit(tmp_path: Path, dtype: Any) -> None:
    model, other = mlp(0, dtype=dtype), mlp(10, dtype=dtype)
    path = mg.save(model, tmp_path / "model.npz")
    assert path == tmp_path / "model.npz"
    mg.load(other, path)
    assert_same(model, other)


def test_file_is_a_plain_npz_without_pickles(tmp_path: Path) -> None:
    model = mlp()
    mg.save(model, tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        files = {k: npz[k] for k in npz.files}
    assert str(files["minigrad.format"]) == "minigrad.params"
    assert int(files["minigrad.version"]) == 1
    meta = json.loads(str(files["minigrad.meta"]))
    assert meta["parameters"] == [
        ["0.weight", [4, 3], "float64"],
        ["0.bias", [4], "float64"],
        ["2.weight", [2, 4], "float64"],
        ["2.bias", [2], "float64"],
    ]
    np.testing.assert_array_equal(files["param:2.weight"], model[2].weight.data)  # type: ignore[attr-defined]
    assert all(a.dtype != object for a in files.values())


def test_save_uses_the_path_as_given_and_accepts_str(tmp_path: Path) -> None:
    mg.save(mlp(), str(tmp_path / "weights.bin"))
    assert (tmp_path / "weights.bin").exists() and not (tmp_path / "weights.bin.npz").exists()


def test_save_replaces_atomically_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: Any) -> None:
    target = tmp_path / "m.npz"
    old, new = mlp(0), mlp(5)
    mg.save(old, target)
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def replace(a: Any, b: Any) -> None:
        calls.append(f"replace {Path(a).parent == Path(b).parent}")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    mg.save(new, target)
    assert calls[:2] == ["fsync", "replace True"]  # data on disk before the rename, in the same directory
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    loaded = mlp(9)
    mg.load(loaded, target)
    assert_same(loaded, new)


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path, monkeypatch: Any) -> None:
    target = tmp_path / "m.npz"
    old = mlp(0)
    mg.save(old, target)

    def broken_savez(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        mg.save(mlp(5), target)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    loaded = mlp(9)
    mg.load(loaded, target)
    assert_same(loaded, old)


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (lambda: mlp(hidden=5), r"'0.weight': file \(4, 3\) float64, model \(5, 3\) float64"),
        (lambda: mlp(dtype=np.float32), "float32"),
        (lambda: mg.Linear(3, 2, rng=0), "missing in the file"),
        (
            lambda: mg.Sequential(mg.Linear(3, 4, rng=0), mg.ReLU(), mg.Linear(4, 2, bias=False, rng=1)),
            "not in the model",
        ),
    ],
)
def test_wrong_architecture_raises_and_leaves_the_model_untouched(tmp_path: Path, other: Any, message: str) -> None:
    mg.save(mlp(), tmp_path / "m.npz")
    model = other()
    info: Any = unchanged_after(model, lambda: mg.load(model, tmp_path / "m.npz"))
    assert "different architecture" in str(info.value)
    assert info.match(message)


def corrupt_files(raw: bytes) -> dict[str, bytes]:
    npy, foreign = io.BytesIO(), io.BytesIO()
    np.save(npy, np.ones(3))
    np.savez(foreign, weight=np.ones((2, 3)))
    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF
    return {
        "truncated": raw[: len(raw) // 2],
        "truncated near the end": raw[:-10],
        "empty": b"",
        "text": b"weights: 1 2 3\n",
        "pickle": pickle.dumps({"0.weight": np.ones((4, 3))}),
        "npy": npy.getvalue(),
        "foreign npz": foreign.getvalue(),
        "flipped byte": bytes(flipped),
    }


@pytest.mark.parametrize("case", list(corrupt_files(b"x" * 64)))
def test_truncated_corrupt_or_foreign_file_raises_value_error(tmp_path: Path, case: str) -> None:
    model = mlp()
    mg.save(model, tmp_path / "good.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(corrupt_files((tmp_path / "good.npz").read_bytes())[case])
    target = mlp(7)
    unchanged_after(target, lambda: mg.load(target, bad))


def rewrite(path: Path, change: Any) -> None:
    """Rewrite the archive at *path* with ``change(dict_of_arrays)`` applied."""
    with np.load(path, allow_pickle=False) as npz:
        files = {k: npz[k] for k in npz.files}
    change(files)
    with open(path, "wb") as f:
        np.savez(f, **files)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.update({"minigrad.version": np.array(2)}), "version 2"),
        (lambda f: f.pop("minigrad.version"), "version"),
        (lambda f: f.update({"minigrad.format": np.array("other")}), "not a minigrad parameter file"),
        (lambda f: f.update({"minigrad.meta": np.array("{not json")}), "damaged"),
        (lambda f: f.update({"param:0.bias": np.ones(5)}), "damaged"),
        (lambda f: f.pop("param:0.bias"), "damaged"),
        (lambda f: f.update({"param:0.bias": np.array([1.0, np.nan, 0.0, 0.0])}), "NaN"),
        (lambda f: f.update({"param:extra": np.ones(2)}), "not in its signature"),
    ],
)
def test_damaged_contents_raise_and_leave_the_model_untouched(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "m.npz"
    mg.save(mlp(), path)
    rewrite(path, change)
    model = mlp(3)
    info: Any = unchanged_after(model, lambda: mg.load(model, path))
    assert info.match(message)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        mg.load(mlp(), tmp_path / "nope.npz")


def train(model: mg.Module, opt: mg.Optimizer, epochs: int) -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    mg.fit(model, X, y, loss=mg.MSELoss(), optimizer=opt, epochs=epochs)


@pytest.mark.parametrize("make_opt", [lambda p: Adam(p, lr=0.01), lambda p: mg.SGD(p, lr=0.05, momentum=0.9)])
def test_saving_the_optimizer_resumes_training_bit_for_bit(tmp_path: Path, make_opt: Any) -> None:
    straight = mlp()
    train(straight, make_opt(straight.parameters()), 6)

    first = mlp()
    opt = make_opt(first.parameters())
    train(first, opt, 3)
    mg.save(first, tmp_path / "ckpt.npz", optimizer=opt)
    resumed = mlp(20)
    opt2 = make_opt(resumed.parameters())
    mg.load(resumed, tmp_path / "ckpt.npz", optimizer=opt2)
    train(resumed, opt2, 3)
    assert_same(straight, resumed)


def test_optimizer_state_problems_leave_model_and_optimizer_untouched(tmp_path: Path) -> None:
    model = mlp()
    opt = Adam(model.parameters(), lr=0.01)
    train(model, opt, 2)
    mg.save(model, tmp_path / "no_opt.npz")
    mg.save(model, tmp_path / "adam.npz", optimizer=opt)
    target = mlp(4)
    sgd = mg.SGD(target.parameters(), lr=0.1, momentum=0.5)
    info: Any = unchanged_after(target, lambda: mg.load(target, tmp_path / "no_opt.npz", optimizer=sgd))
    assert info.match("no optimizer state")
    info = unchanged_after(target, lambda: mg.load(target, tmp_path / "adam.npz", optimizer=sgd))
    assert info.match("Adam, not of a SGD")
    assert sgd.state == [{} for _ in sgd.params]
    # A later failure (a state array of the wrong shape) also rolls back the parameters.
    rewrite(tmp_path / "adam.npz", lambda f: f.update({"optim:0:exp_avg": np.ones((1, 1))}))
    adam = Adam(target.parameters(), lr=0.5)
    unchanged_after(target, lambda: mg.load(target, tmp_path / "adam.npz", optimizer=adam))
    assert adam.lr == 0.5 and adam.state == [{} for _ in adam.params]


def test_load_without_optimizer_ignores_saved_optimizer_state(tmp_path: Path) -> None:
    model = mlp()
    opt = mg.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train(model, opt, 2)
    mg.save(model, tmp_path / "m.npz", optimizer=opt)
    other = mlp(3)
    mg.load(other, tmp_path / "m.npz")
    assert_same(model, other)


def test_the_archive_is_a_zip_with_npy_members(tmp_path: Path) -> None:
    mg.save(mlp(), tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as z:
        assert "param:0.weight.npy" in z.namelist()


def test_signature_lists_names_shapes_and_dtypes() -> None:
    assert serialization.signature(mg.Linear(2, 3, dtype=np.float32, rng=0)) == [
        ("weight", (3, 2), "float32"),
        ("bias", (3,), "float32"),
    ]


def test_optimizer_state_that_needs_pickling_is_refused(tmp_path: Path) -> None:
    model = mlp()
    opt = mg.SGD(model.parameters(), lr=0.1)
    opt.state[0]["note"] = "text"  # type: ignore[assignment]
    with pytest.raises(ValueError, match="without pickling"):
        mg.save(model, tmp_path / "m.npz", optimizer=opt)
    assert not list(tmp_path.iterdir())


def reordered(files: dict[str, Any]) -> None:
    meta = json.loads(str(files["minigrad.meta"]))
    meta["parameters"][0], meta["parameters"][1] = meta["parameters"][1], meta["parameters"][0]
    files["minigrad.meta"] = np.array(json.dumps(meta))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.pop("minigrad.meta"), "damaged 'minigrad.meta'"),
        (lambda f: f.update({"minigrad.meta": np.array("[]")}), "damaged 'minigrad.meta'"),
        (lambda f: f.update({"minigrad.meta": np.array('{"parameters": [[1]]}')}), "damaged architecture"),
        (reordered, "different order"),
    ],
)
def test_damaged_metadata_is_named(tmp_path: Path, change: Any, message: str) -> None:
    path = tmp_path / "m.npz"
    mg.save(mlp(), path)
    rewrite(path, change)
    model = mlp(3)
    info: Any = unchanged_after(model, lambda: mg.load(model, path))
    assert info.match(message)


def set_meta_optimizer(key: str, value: Any) -> Any:
    def change(files: dict[str, Any]) -> None:
        meta = json.loads(str(files["minigrad.meta"]))
        meta["optimizer"][key] = value
        files["minigrad.meta"] = np.array(json.dumps(meta))

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (set_meta_optimizer("scalars", [{}]), "state for 1 parameters"),
        (set_meta_optimizer("hyperparameters", 3), "damaged optimizer state"),
        (lambda f: f.update({"optim:9:exp_avg": np.ones(2)}), "stray optimizer array"),
        (lambda f: f.update({"optim:0:exp_avg": np.full((4, 3), np.nan)}), "not finite"),
    ],
)
def test_damaged_optimizer_state_is_named(tmp_path: Path, change: Any, message: str) -> None:
    model = mlp()
    opt = Adam(model.parameters(), lr=0.01)
    train(model, opt, 1)
    path = tmp_path / "m.npz"
    mg.save(model, path, optimizer=opt)
    rewrite(path, change)
    target = mlp(3)
    adam = Adam(target.parameters(), lr=0.01)
    info: Any = unchanged_after(target, lambda: mg.load(target, path, optimizer=adam))
    assert info.match(message)
    assert adam.state == [{} for _ in adam.params]
