"""estimate_f0 / F0Estimators: method names, lengths, reuse, weights lookup, cancel, light import."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import Cancelled, RVCError
from inference.f0 import F0Error, F0Estimators, estimate_f0


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * 16000)) / 16000
    return sum(0.2 / k * np.sin(2 * np.pi * 196.0 * k * t) for k in range(1, 8)).astype(np.float32)


def test_unknown_method_names_the_choices():
    with pytest.raises(F0Error, match=r"'crepe'.*rmvpe, fcpe, harvest"):
        estimate_f0(np.zeros(1600, np.float32), "crepe")
    assert estimate_f0(_tone(0.3), " Harvest ").shape == (30,)  # case and spaces forgiven


@pytest.mark.parametrize("method", ["harvest", "fcpe", "rmvpe"])
def test_lengths(method, estimators):
    audio = _tone(0.75)  # 12000 samples: estimators give 76 frames, RVC keeps 75
    default = estimate_f0(audio, method, estimators=estimators)
    assert default.shape == (75,) and default.dtype == np.float32
    for n in (0, 10, 75, 76, 98):
        f0 = estimate_f0(audio, method, n_frames=n, estimators=estimators)
        assert f0.shape == (n,) and f0.dtype == np.float32
    longer = estimate_f0(audio, method, n_frames=98, estimators=estimators)
    np.testing.assert_array_equal(longer[:75], default)
    assert np.all(longer[76:] == 0)  # padded frames are unvoiced


def test_voiced_tone_is_found_by_harvest_and_fcpe(estimators):
    for method in ("harvest", "fcpe"):
        f0 = estimate_f0(_tone(0.6), method, estimators=estimators)
        voiced = f0[10:-10]
        assert np.all(voiced > 0), method
        assert abs(1200 * np.log2(np.median(voiced) / 196.0)) < 20, method


def test_models_load_once_and_are_reused(estimators):
    first = estimators.load("fcpe")
    estimators.estimate(_tone(0.2), "fcpe")
    assert estimators.load("fcpe") is first and estimators.is_loaded("fcpe")
    assert estimators.load("harvest") is None and estimators.is_loaded("harvest")


def test_rmvpe_found_in_weights_dirs(rmvpe_path):
    est = F0Estimators(weights_dirs=(rmvpe_path.parent,))
    assert not est.is_loaded("rmvpe")
    f0 = est.estimate(_tone(0.3), "rmvpe")
    assert f0.shape == (30,) and est.is_loaded("rmvpe")
    assert est.load("rmvpe").source == rmvpe_path


def test_missing_rmvpe_lists_the_places(tmp_path):
    from inference.models.weights import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="rmvpe.pt") as info:
        estimate_f0(_tone(0.2), "rmvpe", weights_dirs=(tmp_path,))
    assert str(tmp_path) in str(info.value)
    assert isinstance(info.value, RVCError)


def test_bad_audio():
    with pytest.raises(F0Error, match="mono"):
        estimate_f0(np.zeros((2, 1600), np.float32), "harvest")
    bad = _tone(0.2)
    bad[5] = np.nan
    with pytest.raises(F0Error, match="NaN"):
        estimate_f0(bad, "harvest")
    with pytest.raises(F0Error, match="n_frames"):
        estimate_f0(_tone(0.2), "harvest", n_frames=-1)
    assert estimate_f0(np.zeros(0, np.float32), "rmvpe", n_frames=4).tolist() == [0.0] * 4


def test_filter_radius_reaches_harvest(estimators):
    from inference.f0 import median_filter_f0
    from inference.f0.harvest import harvest_f0

    audio = _tone(0.5)
    raw = harvest_f0(audio, filter_radius=0)
    assert np.array_equal(estimate_f0(audio, "harvest", filter_radius=0), raw[:50])
    assert np.array_equal(estimate_f0(audio, "harvest"), median_filter_f0(raw, 3)[:50])


def test_cancel_before_work(estimators):
    cancel = threading.Event()
    cancel.set()
    for method in ("harvest", "fcpe", "rmvpe"):
        with pytest.raises(Cancelled):
            estimate_f0(_tone(0.2), method, estimators=estimators, cancel=cancel)


def test_import_is_light():
    code = (
        "import sys, inference.f0; "
        "print(sorted(m for m in ('torch', 'pyworld', 'torchfcpe', 'librosa', 'scipy') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
