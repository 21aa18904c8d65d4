"""Formant shift against the library's own call (stftpitchshift, as Applio calls it).

- block by block (many joins) against one ``StftPitchShift(1024, 32, 16000).shiftpitch`` call on
  the same input framed with 1024 zeros each side: within 1e-6 absolute (float32 output of a
  float64 computation; the outputs peak near 0.9);
- inside the input (all but 1024 samples at each end) against the plain call on the unpadded
  input: within 1e-6 too; at the ends the plain call fades the signal in and out, ours does not.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from stftpitchshift import StftPitchShift

from inference.audio.formant import FRAME, HOP, formant_shift, is_active
from inference.core.errors import Cancelled
from tests.support.pipeline import voice


@pytest.fixture(scope="module")
def sung() -> np.ndarray:
    return voice(3.0)[: 3 * 16000 - 77]  # not a multiple of the hop


def library(audio: np.ndarray, timbre: float, quefrency_ms: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):  # its zero-padded frames: masked inside
        return StftPitchShift(1024, 32, 16000).shiftpitch(
            audio, factors=1, quefrency=quefrency_ms * 1e-3, distortion=timbre
        )


@pytest.mark.parametrize("timbre,quefrency", [(1.2, 1.0), (0.8, 1.0), (1.5, 3.0)])
def test_blocks_equal_one_call_of_the_library(sung, timbre, quefrency) -> None:
    n = sung.shape[0]
    ours = formant_shift(sung, timbre, quefrency, block=HOP * 300)  # ~0.6 s blocks: five joins
    padded = np.pad(sung, (FRAME, FRAME + (-n) % HOP))
    reference = library(padded, timbre, quefrency)[FRAME : FRAME + n]
    assert ours.shape == sung.shape and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-6
    plain = library(sung, timbre, quefrency)
    assert np.abs(ours - plain)[FRAME:-FRAME].max() < 1e-6
    assert np.abs(ours - plain)[:FRAME].max() > 1e-3  # the plain call's fade-in, which we avoid


def vowel(f0: float = 150.0, formant: float = 900.0, seconds: float = 1.0) -> np.ndarray:
    """Harmonics of ``f0`` under one formant peak (a Gaussian envelope at ``formant`` Hz)."""
    t = np.arange(int(seconds * 16000)) / 16000
    harmonics = np.arange(1, int(7000 / f0))
    amplitude = np.exp(-(((harmonics * f0 - formant) / 350.0) ** 2)) + 0.01
    return (0.1 * (amplitude[:, None] * np.sin(2 * np.pi * f0 * harmonics[:, None] * t)).sum(0)).astype(np.float32)


def formant_peak(audio: np.ndarray, f0: float = 150.0) -> float:
    """The frequency of the loudest harmonic: where the envelope peaks."""
    middle = audio[4000:-4000]
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(middle.shape[0])))
    freqs = np.fft.rfftfreq(middle.shape[0], 1 / 16000)
    return float(freqs[np.argmax(spectrum)])


def test_timbre_moves_the_formants_and_keeps_the_pitch() -> None:
    x = vowel()
    assert formant_peak(x) == pytest.approx(900, abs=5)
    up, down = formant_shift(x, 1.33, 1.0), formant_shift(x, 0.75, 1.0)
    assert formant_peak(up) == pytest.approx(1200, abs=80)  # 900 x 1.33, the nearest harmonics
    assert formant_peak(down) == pytest.approx(675, abs=80)
    for shifted in (up, down):  # the harmonics stay where they were: the pitch is unchanged
        middle = shifted[4000:-4000]
        spectrum = np.abs(np.fft.rfft(middle * np.hanning(middle.shape[0])))
        freqs = np.fft.rfftfreq(middle.shape[0], 1 / 16000)
        peaks = freqs[spectrum > 0.3 * spectrum.max()]
        assert np.all(np.abs(peaks / 150.0 - np.round(peaks / 150.0)) < 0.02)


def test_a_timbre_of_one_is_no_shift(sung) -> None:
    assert not is_active(1.0) and is_active(1.05)
    same = formant_shift(sung, 1.0, 4.0)
    assert np.array_equal(same, sung) and same is not sung


def test_cancel_is_honoured_between_blocks(sung) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        formant_shift(sung, 1.2, 1.0, cancel=cancel)


def test_silence_and_bad_shapes() -> None:
    silent = np.zeros(8000, np.float32)
    assert np.array_equal(formant_shift(silent, 1.3, 1.0), silent)  # masked frames, no NaN
    with pytest.raises(ValueError, match="mono"):
        formant_shift(np.zeros((10, 2), np.float32), 1.2, 1.0)
    with pytest.raises(ValueError, match="multiple of 32"):
        formant_shift(silent, 1.2, 1.0, block=100)
