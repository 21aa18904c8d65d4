"""Pitch (F0) for RVC: estimators and the small transforms the pipeline applies to a pitch track.

A pitch track is a float array in Hz at 100 frames/s (hop 160 samples at 16 kHz); 0 marks an
unvoiced frame. This module imports only numpy so the GUI can import it at start-up; the
estimators (torch, pyworld) load on first use.

- :func:`shift_f0` transposes by semitones (fractional allowed).
- :func:`autotune_f0` pulls voiced frames toward the nearest semitone.
- :func:`coarse_f0` maps Hz to the 1..255 integer pitch the synthesizer's text encoder embeds.
- :func:`median_filter_f0` is RVC's ``filter_radius`` smoothing.
- :func:`estimate_f0` / :class:`F0Estimators` run RMVPE, FCPE or Harvest.
"""

from __future__ import annotations

import numpy as np

from inference.core.errors import RVCError

F0_METHODS = ("rmvpe", "fcpe", "harvest")

# RVC's pitch range (Hz) and its mel-scale ends, used by the coarse mapping.
F0_MIN = 50.0
F0_MAX = 1100.0
F0_MEL_MIN = 1127.0 * np.log(1.0 + F0_MIN / 700.0)
F0_MEL_MAX = 1127.0 * np.log(1.0 + F0_MAX / 700.0)


class F0Error(RVCError):
    """A pitch estimate could not be made (unknown method, bad audio, unreadable model)."""


def shift_f0(f0_hz: np.ndarray, semitones: float) -> np.ndarray:
    """Transpose ``f0_hz`` by ``semitones`` (``f0 * 2**(semitones/12)``); unvoiced 0 stays 0."""
    f0 = np.asarray(f0_hz, dtype=np.float32)
    return (f0 * np.float32(2.0 ** (float(semitones) / 12.0))).astype(np.float32)


def autotune_f0(f0_hz: np.ndarray, strength: float) -> np.ndarray:
    """Move each voiced frame of ``f0_hz`` toward the nearest semitone of 12-tone equal temperament
    (A4 = 440 Hz) by ``strength`` (0: unchanged, 1: on the note); unvoiced frames (0) stay 0.

    Nearness and the blend are in semitones (log frequency): with strength s a frame ``d``
    semitones off its note ends ``(1 - s) d`` off it, whatever the octave. Applied after the
    pitch shift, so the output lands on the grid whatever the shift. (Applio blends in Hz,
    which pulls low notes harder than high ones, and snaps unvoiced frames to 49 Hz, which turns
    breaths and consonants into a hum; neither happens here.)
    """
    f0 = np.asarray(f0_hz, dtype=np.float32)
    strength = float(strength)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"autotune strength must be between 0 and 1, got {strength}")
    voiced = f0 > 0
    if strength == 0.0 or not voiced.any():
        return f0.copy()
    midi = 69.0 + 12.0 * np.log2(f0[voiced].astype(np.float64) / 440.0)
    midi += strength * (np.round(midi) - midi)
    out = f0.copy()
    out[voiced] = (440.0 * 2.0 ** ((midi - 69.0) / 12.0)).astype(np.float32)
    return out


def coarse_f0(f0_hz: np.ndarray) -> np.ndarray:
    """RVC's coarse pitch: mel(f0) mapped linearly from [mel(50), mel(1100)] to [1, 255].

    ``mel = 1127 ln(1 + f0/700)``; voiced frames (mel > 0) become
    ``(mel - mel_min) * 254 / (mel_max - mel_min) + 1``; everything is clipped to 1..255 and
    rounded half to even (``np.rint``), as RVC does. Unvoiced frames are 1. Returns int64.
    """
    f0 = np.asarray(f0_hz, dtype=np.float64)
    mel = 1127.0 * np.log(1.0 + np.maximum(f0, 0.0) / 700.0)
    voiced = mel > 0
    mel[voiced] = (mel[voiced] - F0_MEL_MIN) * 254.0 / (F0_MEL_MAX - F0_MEL_MIN) + 1.0
    mel = np.clip(mel, 1.0, 255.0)
    return np.rint(mel).astype(np.int64)


def median_filter_f0(f0_hz: np.ndarray, radius: int) -> np.ndarray:
    """RVC's ``filter_radius``: when ``radius > 2`` a 3-point median filter, else unchanged.

    RVC's pipeline runs ``scipy.signal.medfilt(f0, 3)`` whenever ``filter_radius > 2``; the
    kernel stays 3 whatever the radius, so larger values do not smooth more. The ends are
    filtered against zero padding, as ``medfilt`` does.
    """
    f0 = np.asarray(f0_hz, dtype=np.float32)
    if int(radius) <= 2 or f0.size == 0:
        return f0.copy()
    # A 3-point median with zero padding, in numpy (same result as scipy's medfilt(f0, 3)).
    padded = np.concatenate(([0.0], f0, [0.0])).astype(np.float32)
    stacked = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    return np.median(stacked, axis=0).astype(np.float32)


# The estimators' entry points; estimate.py imports only numpy at module level.
from inference.f0.estimate import F0Estimators, estimate_f0  # noqa: E402

__all__ = [
    "F0_METHODS",
    "F0_MAX",
    "F0_MIN",
    "F0Error",
    "F0Estimators",
    "autotune_f0",
    "coarse_f0",
    "estimate_f0",
    "median_filter_f0",
    "shift_f0",
]
