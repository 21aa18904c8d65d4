"""Harvest runs exactly RVC's recipe: pyworld harvest (50-1100 Hz, 10 ms) + stonemask + medfilt(3)."""

from __future__ import annotations

import numpy as np
from scipy.signal import medfilt

from inference.f0.harvest import harvest_f0, import_pyworld


def _rvc_harvest(audio: np.ndarray, filter_radius: int) -> np.ndarray:
    pyworld = import_pyworld()
    x = audio.astype(np.double)
    f0, t = pyworld.harvest(x, fs=16000, f0_ceil=1100, f0_floor=50, frame_period=10)
    f0 = pyworld.stonemask(x, f0, t, 16000)
    if filter_radius > 2:
        f0 = medfilt(f0, 3)
    return f0


def test_matches_rvc_recipe(sung):
    audio = sung[0][: 16000 * 2]
    for radius in (0, 3):
        ours = harvest_f0(audio, filter_radius=radius)
        ref = _rvc_harvest(audio, radius)
        assert ours.shape == ref.shape == (audio.shape[0] // 160 + 1,)
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, ref.astype(np.float32), rtol=0, atol=0)


def test_filter_changes_something(sung):
    audio = sung[0][: 16000 * 2]
    assert not np.array_equal(harvest_f0(audio, 0), harvest_f0(audio, 3))
