"""The bundled examples reach their targets, are reproducible from a seed, and explain a missing extra."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from minigrad.examples import _common, sine
from minigrad.plot import MissingExtraError


def test_sine_fits_closely_and_reports_with_progress(capsys: pytest.CaptureFixture[str]) -> None:
    results = sine.main(rng=0, verbose=1)
    assert set(results) == {"test_mse", "max_abs_error", "test_r2"}
    assert all(type(v) is float for v in results.values())
    assert results["test_mse"] < 1e-3 and results["max_abs_error"] < 0.05 and results["test_r2"] > 0.999
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == sine.EPOCHS + 2  # captured output is no terminal: a progress line per epoch, then the report
    assert lines[sine.EPOCHS - 1].startswith("epoch 1000/1000") and "val_loss" in lines[0]
    assert lines[-2].startswith("sine: 256 points") and "largest error" in lines[-1]


def test_sine_is_reproducible_quiet_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sine.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match=r"minigrad\[plot\]"):
            sine.main(quiet=True, rng=3, plot=path)
        first = sine.main(quiet=True, rng=3)
    else:
        first = sine.main(quiet=True, rng=3, plot=path)
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert first == sine.main(quiet=True, rng=3)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["diabetes", "digits", "regularization"])
def test_missing_scikit_learn_names_the_data_extra(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import sklearn` fail as if it were not installed.
    for module in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    example = importlib.import_module(f"minigrad.examples.{name}")  # importing needs no scikit-learn
    with pytest.raises(MissingExtraError, match=r"needs scikit-learn.*pip install 'minigrad\[data\]'") as info:
        example.main(quiet=True)
    assert info.value.extra == "data"


def test_diabetes_matches_least_squares(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    from minigrad.examples import diabetes

    results = diabetes.main(rng=0)
    assert results["r2_gap"] <= 0.02
    assert results["r2_gap"] == abs(results["test_r2"] - results["ols_test_r2"])
    assert results["test_r2"] > 0.3  # a real fit, not a constant
    assert "least squares" in capsys.readouterr().out


def test_diabetes_gap_is_small_for_other_splits() -> None:
    pytest.importorskip("sklearn")
    from minigrad.examples import diabetes

    for seed in (1, 2):
        assert diabetes.main(quiet=True, rng=seed)["r2_gap"] <= 0.02


def test_digits_reaches_95_percent_and_is_reproducible(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("sklearn")
    from minigrad.examples import digits

    first = digits.main(rng=0)
    assert first["test_accuracy"] >= 0.95
    assert 1 <= first["epochs"] < digits.MAX_EPOCHS  # early stopping ended it
    assert "test accuracy" in capsys.readouterr().out
    assert digits.main(quiet=True, rng=0) == first


def test_split_and_standardize() -> None:
    import numpy as np

    parts = _common.split(10, (0.2, 0.3), np.random.default_rng(0))
    assert [len(p) for p in parts] == [2, 3, 5]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    z_train, z_other = _common.standardize(train, np.array([[2.0, 6.0]]))
    np.testing.assert_array_equal(z_train, [[-1.0, 0.0], [1.0, 0.0]])  # the constant column is only centred
    np.testing.assert_array_equal(z_other, [[0.0, 1.0]])


def test_regularization_generalises_where_the_plain_mlp_memorises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The promise of the regularization example: the plain MLP learns every noisy training label and its
    validation loss climbs after its best epoch; the regularised one cannot learn the wrong labels and
    is clearly better on the test set; the same seed gives the same numbers."""
    pytest.importorskip("sklearn")
    from minigrad.examples import regularization

    results = regularization.main(rng=0)
    assert results["plain_train_accuracy"] == 1.0 and results["plain_val_loss_rise"] > 1.3
    assert results["plain_best_epoch"] < regularization.EPOCHS / 2
    assert results["regularized_train_accuracy"] < 0.9  # about the 70% of right labels (plus chance)
    assert results["regularized_test_accuracy"] > results["plain_test_accuracy"] + 0.08
    assert results["regularized_test_accuracy"] > 0.9
    out = capsys.readouterr().out
    assert "test accuracy" in out and "Dropout(0.5)" in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert regularization.main(quiet=True, rng=0) == results
    else:
        path = tmp_path / "curves.png"
        assert regularization.main(quiet=True, rng=0, plot=path) == results
        assert path.read_bytes()[:4] == b"\x89PNG"
