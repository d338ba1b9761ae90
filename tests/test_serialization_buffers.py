"""save/load carry a model's buffers (BatchNorm1d's running statistics), all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg


def trained_bn_model() -> mg.Sequential:
    model = mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4), mg.ReLU(), mg.Linear(4, 1, rng=1))
    for seed in range(3):
        model(np.random.default_rng(seed).normal(size=(8, 3)))
    return model


def test_buffers_round_trip(tmp_path: Path) -> None:
    model = trained_bn_model()
    path = mg.save(model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert {"buffer:1.running_mean", "buffer:1.running_var", "buffer:1.num_batches_tracked"} <= set(npz.files)
    other = mg.Sequential(mg.Linear(3, 4, rng=5), mg.BatchNorm1d(4), mg.ReLU(), mg.Linear(4, 1, rng=6))
    mg.load(other, path)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[name], value)
    x = np.random.default_rng(9).normal(size=(5, 3))
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    assert int(other[1].num_batches_tracked) == 3 and other[1].num_batches_tracked.dtype == np.int64


def test_a_file_without_the_models_buffers_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    plain = mg.Sequential(mg.Linear(3, 4, rng=0), mg.BatchNorm1d(4, track_running_stats=False))
    path = mg.save(plain, tmp_path / "plain.npz")
    model = trained_bn_model()[:2]
    before = model.state_dict()
    with pytest.raises(ValueError, match="buffers"):
        mg.load(model, path)
    back = mg.save(model, tmp_path / "with.npz")
    with pytest.raises(ValueError, match="buffers"):
        mg.load(plain, back)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


def damaged(tmp_path: Path, src: Path, **changes: object) -> Path:
    with np.load(src, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        key = key.replace("__", ":").replace("_dot_", ".")
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value  # type: ignore[assignment]
    out = tmp_path / "damaged.npz"
    np.savez(out, **arrays)  # type: ignore[arg-type]
    return out


def test_damaged_buffers_are_refused(tmp_path: Path) -> None:
    model = trained_bn_model()
    path = mg.save(model, tmp_path / "m.npz")
    meta = json.loads(str(np.load(path)["minigrad.meta"]))
    cases = {
        "missing": {"buffer__1_dot_running_var": None},
        "shape": {"buffer__1_dot_running_var": np.ones(5)},
        "nan": {"buffer__1_dot_running_var": np.full(4, np.nan)},
        "negative count": {"buffer__1_dot_num_batches_tracked": np.array(-2, dtype=np.int64)},
        "stray": {"buffer__9_dot_x": np.ones(1)},
        "meta": {"minigrad_dot_meta": np.array(json.dumps({**meta, "buffers": [["x", "y"]]}))},
    }
    fresh = trained_bn_model()
    before = fresh.state_dict()
    for case, change in cases.items():
        with pytest.raises(ValueError):
            mg.load(fresh, damaged(tmp_path, path, **change))  # type: ignore[arg-type]
        for name, value in fresh.state_dict().items():
            np.testing.assert_array_equal(value, before[name], err_msg=case)
