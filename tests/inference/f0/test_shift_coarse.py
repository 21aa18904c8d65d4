"""shift_f0, coarse_f0 and median_filter_f0 against RVC's formulas (RVC_REFERENCE.md §5).

Expected values are computed by hand from the formulas written out in each test, not by calling
the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import medfilt

from inference.core.errors import RVCError
from inference.f0 import F0_METHODS, F0Error, coarse_f0, median_filter_f0, shift_f0


def _mel(hz: float) -> float:
    return 1127.0 * math.log(1.0 + hz / 700.0)


def _coarse_by_hand(hz: float) -> int:
    """Reference §5 written out: mel, linear map [mel(50), mel(1100)] -> [1, 255], clip, round."""
    if hz <= 0:
        return 1
    value = (_mel(hz) - _mel(50.0)) * 254.0 / (_mel(1100.0) - _mel(50.0)) + 1.0
    return int(np.rint(min(max(value, 1.0), 255.0)))


def test_methods_and_error_type():
    assert F0_METHODS == ("rmvpe", "fcpe", "harvest")
    assert issubclass(F0Error, RVCError)


def test_coarse_ends_of_range_and_unvoiced():
    out = coarse_f0(np.array([0.0, 50.0, 1100.0], dtype=np.float32))
    assert out.dtype == np.int64
    assert out.tolist() == [1, 1, 255]


def test_coarse_hand_computed_values():
    # 440 Hz: mel = 1127 ln(1 + 440/700) = 549.64; mel(50) = 77.755, mel(1100) = 1064.41;
    # (549.64 - 77.755) * 254 / 986.66 + 1 = 122.48 -> 122.
    assert coarse_f0(np.array([440.0]))[0] == 122
    # 220 Hz: mel = 1127 ln(1 + 220/700) = 308.04 -> (308.04 - 77.755) * 0.257434 + 1 = 60.28 -> 60.
    assert coarse_f0(np.array([220.0]))[0] == 60
    hz = np.array([55.0, 82.4, 130.8, 196.0, 261.6, 523.3, 800.0, 1046.5])
    assert coarse_f0(hz).tolist() == [_coarse_by_hand(h) for h in hz]


def test_coarse_clips_outside_range():
    # Voiced but below 50 Hz maps under 1 -> 1; above 1100 Hz maps over 255 -> 255.
    out = coarse_f0(np.array([1.0, 20.0, 49.9, 1100.1, 3000.0, 20000.0]))
    assert out.tolist() == [1, 1, 1, 255, 255, 255]
    assert out.min() >= 1 and out.max() <= 255


def test_coarse_is_monotonic_over_range():
    hz = np.linspace(50.0, 1100.0, 2000)
    out = coarse_f0(hz)
    assert np.all(np.diff(out) >= 0)
    assert set(np.unique(out)) == set(range(1, 256))


def test_coarse_negative_and_nan_free():
    out = coarse_f0(np.array([-5.0, 0.0]))
    assert out.tolist() == [1, 1]


def test_shift_octave_and_fractional():
    f0 = np.array([0.0, 100.0, 440.0], dtype=np.float32)
    up = shift_f0(f0, 12)
    np.testing.assert_allclose(up, [0.0, 200.0, 880.0], rtol=1e-6)
    down = shift_f0(f0, -12)
    np.testing.assert_allclose(down, [0.0, 50.0, 220.0], rtol=1e-6)
    # +0.5 semitone = 2**(1/24) = 1.0293022366.
    half = shift_f0(f0, 0.5)
    np.testing.assert_allclose(half, [0.0, 102.93022366, 452.8929841], rtol=1e-6)
    assert half.dtype == np.float32
    assert half[0] == 0.0


def test_shift_zero_is_identity_and_does_not_mutate():
    f0 = np.array([0.0, 123.4], dtype=np.float32)
    out = shift_f0(f0, 0)
    np.testing.assert_array_equal(out, f0)
    out[1] = 1.0
    assert f0[1] == np.float32(123.4)


def test_median_filter_small_radius_is_identity():
    f0 = np.array([100.0, 0.0, 300.0, 110.0, 0.0], dtype=np.float32)
    for radius in (0, 1, 2):
        np.testing.assert_array_equal(median_filter_f0(f0, radius), f0)


@pytest.mark.parametrize("radius", [3, 5, 7])
def test_median_filter_is_rvc_medfilt3(radius):
    # RVC: `if filter_radius > 2: f0 = signal.medfilt(f0, 3)` (kernel 3 whatever the radius).
    rng = np.random.default_rng(radius)
    f0 = (rng.random(257) * 400 + 80).astype(np.float32)
    f0[rng.random(257) < 0.2] = 0.0
    np.testing.assert_array_equal(median_filter_f0(f0, radius), medfilt(f0, 3).astype(np.float32))


def test_median_filter_hand_values():
    f0 = np.array([100.0, 500.0, 110.0, 0.0, 120.0], dtype=np.float32)
    # Windows (zero-padded ends): [0,100,500] [100,500,110] [500,110,0] [110,0,120] [0,120,0]
    assert median_filter_f0(f0, 3).tolist() == [100.0, 110.0, 110.0, 110.0, 0.0]
    assert median_filter_f0(np.zeros(0, dtype=np.float32), 3).shape == (0,)
