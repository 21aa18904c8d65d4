"""Autotune: voiced frames pulled toward the nearest semitone, unvoiced frames left alone.

The reference is librosa's note arithmetic (``hz_to_midi`` / ``midi_to_hz``, A4 = 440 Hz):
a frame's target is ``midi_to_hz(m + s (round(m) - m))``; tolerance 1e-4 relative (float32).
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from inference.f0 import autotune_f0, shift_f0


@pytest.fixture
def track() -> np.ndarray:
    rng = np.random.default_rng(3)
    f0 = 80.0 * 2.0 ** rng.uniform(0, 4, 400)  # 80 Hz to 1.3 kHz, every octave
    f0[rng.random(400) < 0.25] = 0.0  # a quarter unvoiced
    return f0.astype(np.float32)


@pytest.mark.parametrize("strength", [0.0, 0.3, 0.5, 1.0])
def test_matches_the_note_arithmetic_and_keeps_unvoiced_frames(track, strength) -> None:
    out = autotune_f0(track, strength)
    voiced = track > 0
    midi = librosa.hz_to_midi(track[voiced].astype(np.float64))
    expected = librosa.midi_to_hz(midi + strength * (np.round(midi) - midi))
    np.testing.assert_allclose(out[voiced], expected, rtol=1e-4)
    assert np.all(out[~voiced] == 0.0), "an unvoiced frame must stay unvoiced (Applio snaps it to 49 Hz)"
    assert out.dtype == np.float32 and out.shape == track.shape


def test_full_strength_lands_on_the_grid_whatever_the_octave(track) -> None:
    out = autotune_f0(track, 1.0)
    midi = librosa.hz_to_midi(out[out > 0].astype(np.float64))
    assert np.abs(midi - np.round(midi)).max() < 1e-4
    # the same pull in cents at every octave (Applio's blend in Hz pulls low notes harder)
    low, high = np.float32([110.0 * 2 ** (0.3 / 12)]), np.float32([880.0 * 2 ** (0.3 / 12)])
    cents = [1200 * np.log2(autotune_f0(x, 0.5)[0] / x[0]) for x in (low, high)]
    assert cents[0] == pytest.approx(-15.0, abs=0.01) and cents[1] == pytest.approx(-15.0, abs=0.01)


def test_applied_after_a_fractional_shift_the_output_is_on_the_grid() -> None:
    sung = np.float32([220.0, 0.0, 246.94, 261.63])  # A3, a breath, B3, C4
    target = autotune_f0(shift_f0(sung, 0.5), 1.0)  # a quarter-tone shift lands between notes
    midi = librosa.hz_to_midi(target[[0, 2, 3]].astype(np.float64))
    assert np.abs(midi - np.round(midi)).max() < 1e-4 and target[1] == 0.0


def test_strength_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        autotune_f0(np.float32([220.0]), 1.5)
