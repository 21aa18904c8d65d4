"""RMVPE's decoder on constructed saliences with answers worked out from RVC's rule (§5).

Rule: arg-max bin c; weighted mean of cents over bins c-4..c+4 (bins outside 0..359 weigh 0);
cents(i) = 20 i + 1997.3794084376191; f0 = 10 * 2**(cents/1200); peak <= 0.03 -> 0 Hz.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from inference.f0 import F0Error
from inference.f0.rmvpe import decode_salience


def _cents(i: float) -> float:
    return 20.0 * i + 1997.3794084376191


def _hz(cents: float) -> float:
    return 10.0 * 2.0 ** (cents / 1200.0)


def _frames(*rows: dict[int, float]) -> np.ndarray:
    sal = np.zeros((len(rows), 360), dtype=np.float32)
    for t, row in enumerate(rows):
        for i, v in row.items():
            sal[t, i] = v
    return sal


def test_single_peak_is_bin_centre():
    f0 = decode_salience(_frames({100: 0.9}, {0: 0.5}, {359: 0.5}))
    assert f0.dtype == np.float32
    np.testing.assert_allclose(f0, [_hz(_cents(100)), _hz(_cents(0)), _hz(_cents(359))], rtol=1e-6)
    # Bin 0 is ~31.7 Hz; bin 359 ~2005.5 Hz.
    assert 31.6 < f0[1] < 31.8 and 2005 < f0[2] < 2006


def test_symmetric_neighbours_keep_the_centre_and_asymmetric_ones_pull():
    sym = decode_salience(_frames({200: 0.8, 199: 0.4, 201: 0.4}))
    np.testing.assert_allclose(sym, [_hz(_cents(200))], rtol=1e-6)
    # 0.6 at 150 and 0.3 at 151: mean cents = (0.6 c150 + 0.3 c151) / 0.9 = c150 + 20/3.
    pulled = decode_salience(_frames({150: 0.6, 151: 0.3}))
    np.testing.assert_allclose(pulled, [_hz(_cents(150) + 20.0 / 3.0)], rtol=1e-6)


def test_only_nine_bins_count():
    # Bin 205 is 5 away from the peak at 200: outside the window, ignored.
    f0 = decode_salience(_frames({200: 0.8, 204: 0.2, 205: 0.7}))
    expected = (0.8 * _cents(200) + 0.2 * _cents(204)) / 1.0
    np.testing.assert_allclose(f0, [_hz(expected)], rtol=1e-6)


def test_peaks_at_the_edges_use_a_truncated_window():
    # Peak at 0: window is bins -4..4, only 0..4 exist. Peak at 359: only 355..359 exist.
    low = decode_salience(_frames({0: 0.5, 2: 0.25, 5: 0.45}))
    np.testing.assert_allclose(low, [_hz((0.5 * _cents(0) + 0.25 * _cents(2)) / 0.75)], rtol=1e-6)
    high = decode_salience(_frames({359: 0.6, 355: 0.5, 354: 0.55}))
    np.testing.assert_allclose(high, [_hz((0.6 * _cents(359) + 0.5 * _cents(355)) / 1.1)], rtol=1e-6)


def test_threshold_is_strict():
    f0 = decode_salience(_frames({100: 0.03, 101: 0.02}, {100: 0.0301}, {}))
    assert f0[0] == 0.0
    assert f0[1] == pytest.approx(_hz(_cents(100)), rel=1e-6)
    assert f0[2] == 0.0
    assert decode_salience(_frames({100: 0.2}), threshold=0.5)[0] == 0.0


def test_all_below_threshold_gives_zero_without_warnings():
    sal = np.full((7, 360), 0.01, dtype=np.float32)
    sal[3] = 0.0  # all-zero frame: 0/0 must not leak a NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f0 = decode_salience(sal)
    assert f0.tolist() == [0.0] * 7


def test_ties_take_the_first_bin_and_plateau_averages():
    # Equal values at 100 and 300: arg-max is 100 (the first); 300 is far outside the window.
    f0 = decode_salience(_frames({100: 0.5, 300: 0.5}))
    np.testing.assert_allclose(f0, [_hz(_cents(100))], rtol=1e-6)


def test_shapes():
    assert decode_salience(np.zeros((0, 360))).shape == (0,)
    with pytest.raises(F0Error, match="360"):
        decode_salience(np.zeros((4, 128)))
