"""save and load: round trips, no pickles, atomic writes, and clear errors that leave the model untouched."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

import minigrad as mg
from minigrad.backend import _array as mg_array
from minigrad.io import serialization
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
        (lambda f: f.update({"minigrad.version": np.array(3)}), "version 3"),
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


# -- buffers ---------------------------------------------------------------------------------------


class RunningMean(mg.Module):
    """Scales its input and keeps, untrained, the mean of every input it saw (buffers beside a parameter)."""

    _buffer_names = ("running_mean", "count", "unused")

    def __init__(self, n: int) -> None:
        self.scale = mg.Parameter(np.ones(n))
        self.running_mean = np.zeros(n)
        self.count = np.zeros((), dtype=np.int64)
        self.unused: Array | None = None  # a buffer slot holding nothing: not saved

    def forward(self, x: Any) -> Array:
        self.x = np.asarray(x, dtype=float)
        self.count += 1
        self.running_mean += (self.x.mean(axis=0) - self.running_mean) / self.count
        return self.x * self.scale.data

    def backward(self, grad_output: Array, *, need_input_grad: bool = False) -> Array | None:
        self.scale.grad += (grad_output * self.x).sum(axis=0)
        return grad_output * self.scale.data if need_input_grad else None


def with_buffers(seed: int = 0) -> mg.Sequential:
    return mg.Sequential(mg.Linear(3, 2, rng=seed), RunningMean(2))


def trained_with_buffers() -> tuple[mg.Sequential, mg.Optimizer]:
    model = with_buffers()
    opt = Adam(model.parameters(), lr=0.01)
    train_buffers(model, opt)
    return model, opt


def train_buffers(model: mg.Module, opt: mg.Optimizer) -> None:
    rng = np.random.default_rng(0)
    mg.fit(model, rng.normal(size=(10, 3)), rng.normal(size=(10, 2)), loss=mg.MSELoss(), optimizer=opt, epochs=3)


def buffers_of(model: mg.Module) -> dict[str, Any]:
    return {name: np.array(b) for name, b in model.named_buffers()}


def test_buffers_are_saved_beside_the_parameters_and_restored_in_place(tmp_path: Path) -> None:
    model, opt = trained_with_buffers()
    assert int(model[1].count) == 3  # type: ignore[attr-defined]
    mg.save(model, tmp_path / "b.npz", optimizer=opt)
    with np.load(tmp_path / "b.npz", allow_pickle=False) as npz:
        files = {k: npz[k] for k in npz.files}
    assert int(files["minigrad.version"]) == 2
    assert json.loads(str(files["minigrad.meta"]))["buffers"] == [
        ["1.running_mean", [2], "float64"],
        ["1.count", [], "int64"],
    ]
    np.testing.assert_array_equal(files["buffer:1.running_mean"], model[1].running_mean)  # type: ignore[attr-defined]

    other = with_buffers(5)
    opt2 = Adam(other.parameters())
    arrays_before = [b for _, b in other.named_buffers()]
    mg.load(other, tmp_path / "b.npz", optimizer=opt2)
    assert_same(model, other)
    for (name, b), (_, expected) in zip(other.named_buffers(), model.named_buffers(), strict=True):
        np.testing.assert_array_equal(b, expected, err_msg=name)
        assert b.dtype == expected.dtype
    assert all(a is b for a, (_, b) in zip(arrays_before, other.named_buffers(), strict=True))  # in place
    # and training resumes exactly, buffers included
    train_buffers(model, opt)
    train_buffers(other, opt2)
    assert_same(model, other)
    assert int(other[1].count) == 6  # type: ignore[attr-defined]


def test_a_model_without_buffers_still_writes_version_1(tmp_path: Path) -> None:
    mg.save(mlp(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert int(npz["minigrad.version"]) == 1
        assert "buffers" not in json.loads(str(npz["minigrad.meta"]))


def test_a_reader_of_version_1_refuses_a_file_with_buffers(tmp_path: Path, monkeypatch: Any) -> None:
    model, _ = trained_with_buffers()
    mg.save(model, tmp_path / "b.npz")
    monkeypatch.setattr(serialization, "VERSION", 1)
    other = with_buffers(5)
    info: Any = unchanged_after(other, lambda: mg.load(other, tmp_path / "b.npz"))
    assert info.match("format version 2; this minigrad reads up to version 1")


def buffer_state(model: mg.Module) -> dict[str, Any]:
    return {**model.state_dict(), **{f"buffer {k}": v for k, v in buffers_of(model).items()}}


def refused_with_buffers(model: mg.Module, path: Path, optimizer: mg.Optimizer | None = None) -> str:
    before = buffer_state(model)
    with pytest.raises(ValueError) as info:
        mg.load(model, path, optimizer=optimizer)
    after = buffer_state(model)
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    return str(info.value)


def test_buffers_are_part_of_the_architecture(tmp_path: Path) -> None:
    model, _ = trained_with_buffers()
    mg.save(model, tmp_path / "b.npz")
    mg.save(mg.Sequential(mg.Linear(3, 2, rng=0), mg.Linear(2, 2, rng=1)), tmp_path / "plain.npz")

    plain = mg.Sequential(mg.Linear(3, 2, rng=0), mg.Linear(2, 2, rng=1))
    assert "buffers not in the model: ['1.running_mean', '1.count']" in refused_with_buffers(plain, tmp_path / "b.npz")

    other = with_buffers(3)
    message = refused_with_buffers(other, tmp_path / "plain.npz")  # a version 1 file has no buffers
    assert "buffers missing in the file: ['1.running_mean', '1.count']" in message

    wider = mg.Sequential(mg.Linear(3, 2, rng=0), RunningMean(2))
    wider[1].running_mean = np.zeros(3)  # type: ignore[attr-defined]
    assert "'1.running_mean': file (2,) float64, model (3,) float64" in refused_with_buffers(wider, tmp_path / "b.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda f: f.update({"buffer:1.running_mean": np.array([0.0, np.inf])}),
            "buffer '1.running_mean' contains NaN",
        ),
        (lambda f: f.pop("buffer:1.count"), r"no member for \['buffer:1.count'\]"),
        (lambda f: f.update({"buffer:1.extra": np.zeros(2)}), "not in its signature"),
        (lambda f: f.update({"buffer:1.count": np.array(3.0)}), r"buffer '1.count' should be \(\) int64"),
    ],
)
def test_damaged_buffers_are_refused_and_nothing_changes(tmp_path: Path, change: Any, message: str) -> None:
    model, opt = trained_with_buffers()
    mg.save(model, tmp_path / "b.npz", optimizer=opt)
    rewrite(tmp_path / "b.npz", change)
    other = with_buffers(4)
    text = refused_with_buffers(other, tmp_path / "b.npz", Adam(other.parameters()))
    assert "not a valid minigrad file" in text and re.search(message, text)


def test_bad_optimizer_state_leaves_the_buffers_untouched(tmp_path: Path) -> None:
    model, opt = trained_with_buffers()
    mg.save(model, tmp_path / "b.npz", optimizer=opt)
    rewrite(tmp_path / "b.npz", lambda f: f.update({"optim:2:exp_avg_sq": -np.ones(2)}))
    other = with_buffers(4)
    assert "exp_avg_sq" in refused_with_buffers(other, tmp_path / "b.npz", Adam(other.parameters()))


def test_a_buffer_that_is_not_an_array_cannot_be_saved(tmp_path: Path) -> None:
    model = with_buffers()
    model[1].count = 3  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"buffer '1\.count' must be a writable NumPy array"):
        mg.save(model, tmp_path / "b.npz")
    assert not list(tmp_path.iterdir())


def test_a_file_written_before_buffers_existed_still_loads_and_resumes_exactly() -> None:
    """tests/data/version1_mlp_adam.npz: written by the save of format version 1 alone, after 3 epochs of Adam."""

    def net() -> mg.Sequential:
        return mg.Sequential(mg.Linear(2, 3, rng=0), mg.Tanh(), mg.Linear(3, 1, rng=1))

    def fit(model: mg.Module, opt: mg.Optimizer, epochs: int) -> None:
        mg.fit(model, np.arange(8.0).reshape(4, 2), np.ones((4, 1)), loss=mg.MSELoss(), optimizer=opt, epochs=epochs)

    straight = net()
    fit(straight, Adam(straight.parameters(), lr=0.01), 5)
    resumed = net()
    opt = Adam(resumed.parameters(), lr=0.5)
    mg.load(resumed, Path(__file__).parent / "data" / "version1_mlp_adam.npz", optimizer=opt)
    assert opt.lr == 0.01 and opt.state[0]["step"] == 3
    fit(resumed, opt, 2)
    assert_same(straight, resumed)


@pytest.mark.parametrize(
    "where", ["between two parameters", "between the buffers", "in the optimizer", "without an optimizer"]
)
def test_an_interrupt_while_load_installs_the_values_undoes_them(tmp_path: Path, monkeypatch: Any, where: str) -> None:
    model, opt = trained_with_buffers()
    mg.save(model, tmp_path / "b.npz", optimizer=opt)
    target = with_buffers(4)
    target_opt = Adam(target.parameters(), lr=0.5)
    train_buffers(target, target_opt)
    before, opt_before = buffer_state(target), target_opt.state_dict()
    calls = {"n": 0}
    real_copy_into, real_set = mg_array.copy_into, mg.Optimizer._set_checked
    fail_at = {"between the buffers": 5, "in the optimizer": None}.get(where, 2)  # 3 parameters, then 2 buffers

    def copy_into(dst: Any, src: Any) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise KeyboardInterrupt
        real_copy_into(dst, src)

    def set_checked(self: Any, checked: Any) -> None:
        self.lr = 123.0  # half set
        monkeypatch.setattr(mg.Optimizer, "_set_checked", real_set)
        raise KeyboardInterrupt

    monkeypatch.setattr(mg_array, "copy_into", copy_into)
    if where == "in the optimizer":
        monkeypatch.setattr(mg.Optimizer, "_set_checked", set_checked)
    with pytest.raises(KeyboardInterrupt):
        mg.load(target, tmp_path / "b.npz", optimizer=None if where == "without an optimizer" else target_opt)
    monkeypatch.undo()
    after = buffer_state(target)
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
    assert target_opt.lr == 0.5
    for s_after, s_before in zip(target_opt.state_dict()["state"], opt_before["state"], strict=True):
        for k in s_before:
            np.testing.assert_array_equal(s_after[k], s_before[k])
