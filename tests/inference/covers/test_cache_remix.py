"""The stem cache (hits, invalidation, corruption, bound, clearing) and the remix (alignment,
length, channels, gains, the ceiling, transposition)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.covers.cache import StemCache, song_key
from inference.covers.remix import CEILING_DBTP, align_vocal, db_to_gain, remix, transpose, true_peak
from inference.covers.separator import Stems
from tests.support.separation import noise_song


def stems_of(song: np.ndarray, rate: int = 44100) -> Stems:
    return Stems(0.5 * song, 0.5 * song, rate)


def test_the_cache_hits_and_a_changed_song_misses(tmp_path):
    cache = StemCache(tmp_path / "stems")
    song = noise_song(1.0)
    key = song_key(song, 44100, "model-a")
    assert cache.get(key) is None
    cache.put(key, stems_of(song))
    got = cache.get(key)
    np.testing.assert_array_equal(got.vocal, 0.5 * song)
    assert got.rate == 44100 and (cache.hits, cache.misses) == (1, 1)
    edited = song.copy()
    edited[1000, 0] += 1e-3  # one sample: another song
    assert song_key(edited, 44100, "model-a") != key
    assert cache.get(song_key(edited, 44100, "model-a")) is None
    assert song_key(song, 48000, "model-a") != key  # another rate
    assert song_key(song, 44100, "model-b") != key  # another model or settings
    assert song_key(song, 44100, "model-a", "dereverb") != key


def test_a_corrupt_entry_reads_as_missing(tmp_path):
    cache = StemCache(tmp_path)
    song = noise_song(0.5)
    key = song_key(song, 44100, "m")
    cache.put(key, stems_of(song))
    data = next(tmp_path.glob("*.safetensors"))
    raw = bytearray(data.read_bytes())
    raw[-100] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert cache.get(key) is None


def test_the_cache_is_bounded_least_recently_used_first_and_clearable(tmp_path):
    import os
    import time

    one = noise_song(0.5)
    entry_bytes = 2 * one.nbytes
    cache = StemCache(tmp_path, max_bytes=int(2.5 * entry_bytes))
    keys = [song_key(one, 44100, str(i)) for i in range(3)]
    for i, key in enumerate(keys[:2]):
        cache.put(key, stems_of(one))
        for path in tmp_path.glob(f"{key}*"):
            os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    assert cache.get(keys[0]) is not None  # used: now the most recent
    cache.put(keys[2], stems_of(one))
    assert cache.get(keys[1]) is None  # the least recently used went
    assert cache.get(keys[0]) is not None and cache.get(keys[2]) is not None
    assert cache.size_bytes() <= cache.max_bytes
    assert cache.clear() > 0
    assert cache.get(keys[0]) is None and list(tmp_path.iterdir()) == []
    StemCache(tmp_path, max_bytes=0).put(keys[0], stems_of(one))
    assert list(tmp_path.iterdir()) == []


def test_the_vocal_is_aligned_to_the_sample_at_the_songs_rate_and_length():
    rate, frames = 44100, 44100 + 17
    t = np.arange(frames) / rate
    truth = (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    from inference.audio import resample

    at_model_rate = resample(truth, rate, 40000)[:-5]  # a converter's output runs a few samples short
    vocal = align_vocal(at_model_rate, 40000, rate, frames)
    assert vocal.shape == (frames,)
    core = slice(200, frames - 400)
    np.testing.assert_allclose(vocal[core], truth[core], atol=2e-3)  # no delay: sample i at time i/rate
    lag = np.argmax(np.correlate(vocal[1000:3000], truth[1000:3000], mode="full")) - 1999
    assert lag == 0


def test_the_mix_keeps_stereo_applies_the_gains_and_stays_under_the_ceiling():
    rate = 44100
    band = noise_song(1.0, rate, 2, seed=1) * 0.2
    vocal = noise_song(1.0, rate, 1, seed=2)[:, 0] * 0.2
    quiet = remix(vocal, rate, band, rate, vocal_gain_db=-6.0, accompaniment_gain_db=3.0)
    expected = vocal[:, None] * db_to_gain(-6.0) + band * db_to_gain(3.0)
    assert quiet.scale == 1.0
    np.testing.assert_allclose(quiet.audio, expected, atol=1e-6)
    assert quiet.audio.shape == band.shape
    loud = remix(vocal * 8, rate, band * 8, rate)
    assert loud.scale < 1.0 and loud.peak > 1.0
    np.testing.assert_allclose(loud.audio, loud.scale * (8 * vocal[:, None] + 8 * band), atol=1e-5)
    assert true_peak(loud.audio, rate) <= db_to_gain(CEILING_DBTP) * 1.001


def test_true_peak_sees_between_the_samples():
    rate = 8000
    t = np.arange(8000) / rate
    wave = np.sin(2 * np.pi * 2000 * t + np.pi / 4).astype(np.float32)  # samples at +-0.707 only
    assert float(np.abs(wave).max()) == pytest.approx(0.7071, abs=1e-3)
    assert true_peak(wave, rate) == pytest.approx(1.0, abs=0.02)


def test_transposing_the_band_shifts_its_pitch_and_keeps_its_length():
    rate = 22050
    t = np.arange(int(0.8 * rate)) / rate
    tone = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)], axis=1).astype(np.float32)
    up = transpose(tone, rate, 12.0)
    assert up.shape == tone.shape
    spectrum = np.abs(np.fft.rfft(up[3000:-3000, 0]))
    peak_hz = np.argmax(spectrum) * rate / (up.shape[0] - 6000)
    assert peak_hz == pytest.approx(880, rel=0.02)
    assert transpose(tone, rate, 0.0) is tone
