"""Envelopes and pitch helpers the plots are fed with."""

from __future__ import annotations

import numpy as np

from app.workers.waveform import envelope, hz_to_midi, midi_to_hz, note_name, pitch_curves


def test_short_audio_is_drawn_sample_by_sample() -> None:
    audio = np.linspace(-1, 1, 1000, dtype=np.float32)
    wave = envelope(audio, 1000, max_bins=600, offset=2.0)
    np.testing.assert_array_equal(wave.y, audio)
    assert wave.t[0] == 2.0 and abs(wave.t[-1] - (2.0 + 999 / 1000)) < 1e-12
    assert wave.duration == 1.0


def test_long_audio_becomes_a_min_max_envelope_that_keeps_every_peak() -> None:
    rng = np.random.default_rng(0)
    audio = rng.uniform(-0.5, 0.5, 100_000).astype(np.float32)
    audio[12_345] = 0.99  # one click must survive the reduction
    audio[77_777] = -0.97
    wave = envelope(audio, 16000, max_bins=1000)
    assert wave.y.shape[0] == 2000 and wave.t.shape == wave.y.shape
    assert wave.y.max() == np.float32(0.99) and wave.y.min() == np.float32(-0.97)
    assert np.all(np.diff(wave.t) >= 0) and wave.t[-1] <= 100_000 / 16000
    # Each pair is the min then the max of its bin.
    body = audio[: 1000 * 100].reshape(1000, 100)
    np.testing.assert_array_equal(wave.y[0::2], body.min(axis=1))
    np.testing.assert_array_equal(wave.y[1::2], body.max(axis=1))


def test_pitch_helpers() -> None:
    midi = hz_to_midi(np.array([440.0, 0.0, 261.6256, 880.0]))
    assert midi[0] == 69.0 and np.isnan(midi[1]) and abs(midi[2] - 60) < 1e-4 and midi[3] == 81.0
    assert abs(midi_to_hz(57) - 220.0) < 1e-9
    assert [note_name(m) for m in (60, 69, 61, 47.6)] == ["C4", "A4", "C♯4", "C3"]
    curves = pitch_curves(np.ones(50), np.ones(40) * 2, offset=1.0)
    assert curves.t.shape == (40,) and curves.t[0] == 1.0 and abs(curves.t[1] - 1.01) < 1e-12
