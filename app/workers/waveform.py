"""What the plots are given: a min/max envelope of a waveform and pitch curves. Qt-free numpy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Beyond this many samples, a waveform is reduced to a min/max pair per bin. 2 x 200k points
# keeps a 10-minute song sharp when zoomed to a few seconds and cheap to draw.
MAX_ENVELOPE_BINS = 200_000
F0_FRAME_RATE = 100.0  # pitch frames per second (hop 160 at 16 kHz)


@dataclass
class Waveform:
    """A waveform ready to draw: ``t`` (seconds) and ``y``; for long audio the samples
    alternate min and max of consecutive bins, so a line through them is the envelope."""

    path: str
    duration: float
    t: np.ndarray
    y: np.ndarray
    sample_rate: int
    offset: float = 0.0  # where t=0 of this audio sits on the input's time axis


@dataclass
class PitchCurves:
    """Input F0 and the shifted target F0 in Hz (0 = unvoiced) on one frame grid."""

    t: np.ndarray
    f0_in: np.ndarray
    f0_target: np.ndarray
    extra: dict = field(default_factory=dict)


def envelope(
    audio: np.ndarray, sample_rate: int, max_bins: int = MAX_ENVELOPE_BINS, offset: float = 0.0, path: str = ""
) -> Waveform:
    """A drawable waveform of ``audio`` (mono, any length)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    n = audio.shape[0]
    duration = n / float(sample_rate) if sample_rate else 0.0
    if n <= 2 * max_bins:
        t = np.arange(n, dtype=np.float64) / sample_rate + offset
        return Waveform(path, duration, t, audio.copy(), sample_rate, offset)
    size = int(np.ceil(n / max_bins))
    bins = n // size
    body = audio[: bins * size].reshape(bins, size)
    pairs = np.empty((bins, 2), dtype=np.float32)
    pairs[:, 0] = body.min(axis=1)
    pairs[:, 1] = body.max(axis=1)
    starts = np.arange(bins, dtype=np.float64) * size / sample_rate + offset
    t = np.repeat(starts, 2)
    t[1::2] += (size / 2) / sample_rate
    return Waveform(path, duration, t, pairs.reshape(-1), sample_rate, offset)


def pitch_curves(
    f0_in: np.ndarray, f0_target: np.ndarray | None, offset: float = 0.0, frame_rate: float = F0_FRAME_RATE
) -> PitchCurves:
    f0_in = np.asarray(f0_in, dtype=np.float64).reshape(-1)
    target = f0_in if f0_target is None else np.asarray(f0_target, dtype=np.float64).reshape(-1)
    n = min(f0_in.shape[0], target.shape[0])
    t = np.arange(n, dtype=np.float64) / frame_rate + offset
    return PitchCurves(t, f0_in[:n], target[:n])


def hz_to_midi(f0: np.ndarray) -> np.ndarray:
    """MIDI note numbers (69 = A4 = 440 Hz); unvoiced (<= 0) frames become NaN, which the
    plots draw as gaps."""
    f0 = np.asarray(f0, dtype=np.float64)
    out = np.full(f0.shape, np.nan)
    voiced = f0 > 0
    out[voiced] = 69.0 + 12.0 * np.log2(f0[voiced] / 440.0)
    return out


def midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


NOTE_NAMES = ("C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B")


def note_name(midi: float) -> str:
    m = int(round(midi))
    return f"{NOTE_NAMES[m % 12]}{m // 12 - 1}"
