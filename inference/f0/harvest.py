"""Harvest pitch through pyworld, as RVC runs it (needs no weights).

RVC: ``pyworld.harvest(x, fs=16000, f0_ceil=1100, f0_floor=50, frame_period=10)``, refined by
``pyworld.stonemask``, then ``medfilt(f0, 3)`` when ``filter_radius > 2``.
"""

from __future__ import annotations

import warnings

import numpy as np

from inference.f0 import F0_MAX, F0_MIN, median_filter_f0

SAMPLE_RATE = 16000
FRAME_PERIOD_MS = 10.0


def import_pyworld():
    """``pyworld``, imported without its pkg_resources deprecation warning (not ours to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        import pyworld
    return pyworld


def harvest_f0(audio_16k: np.ndarray, filter_radius: int = 3) -> np.ndarray:
    """F0 in Hz ``[len // 160 + 1]`` float32 (0 = unvoiced) of mono 16 kHz audio."""
    pyworld = import_pyworld()
    x = np.ascontiguousarray(np.asarray(audio_16k, dtype=np.float64).reshape(-1))
    f0, times = pyworld.harvest(x, fs=SAMPLE_RATE, f0_floor=F0_MIN, f0_ceil=F0_MAX, frame_period=FRAME_PERIOD_MS)
    f0 = pyworld.stonemask(x, f0, times, SAMPLE_RATE)
    return median_filter_f0(f0.astype(np.float32), filter_radius)
