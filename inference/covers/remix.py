"""The remix: the converted vocal back on the band, at the song's rate, length and channels.

- The converted vocal (mono, at the model's rate) is resampled to the song's rate with soxr,
  whose whole-array resampling has no delay, so sample ``i`` stays at time ``i / rate``; it is
  then cut or zero-padded at its end to exactly the song's length. It sits in the centre of the
  stereo image (the same samples in every channel).
- Gains in dB for the vocal and the accompaniment; the accompaniment keeps its channels.
- Optionally the accompaniment is transposed by the voice's semitones, with librosa's
  ``effects.pitch_shift`` (ISC licence; already a dependency): a phase vocoder time stretch then a
  soxr resample, length kept. stftpitchshift (MIT) would work too but adds a package for the
  same job.
- No clipping: when the mix's true peak (estimated on a 4x oversampled signal, as ITU-R BS.1770
  does) is above the ceiling, :data:`CEILING_DBTP` = -1 dBTP, the whole mix is scaled down to
  it. One gain for the whole song: no pumping, and the mix stays exactly
  ``scale * (vocal * g_v + accompaniment * g_a)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inference.covers.separator import fit_length

CEILING_DBTP = -1.0
OVERSAMPLE = 4
_BLOCK = 1 << 17


def db_to_gain(db: float) -> float:
    return float(10.0 ** (float(db) / 20.0))


def align_vocal(converted: np.ndarray, converted_rate: int, rate: int, frames: int) -> np.ndarray:
    """The converted vocal at ``rate``, exactly ``frames`` long, mono ``[frames]`` float32."""
    from inference.audio import resample

    vocal = np.asarray(converted, dtype=np.float32)
    if vocal.ndim == 2:
        vocal = vocal.mean(axis=1, dtype=np.float32)
    if int(converted_rate) != int(rate):
        vocal = resample(vocal, int(converted_rate), int(rate))
    return fit_length(np.ascontiguousarray(vocal, dtype=np.float32), frames)


def transpose(audio: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """``audio`` (``[frames, channels]``) shifted by ``semitones``, same length and channels."""
    if not semitones:
        return audio
    from inference.core.runtime import import_library

    effects = import_library("librosa.effects")  # numba comes with it: see long_lived
    channels = [
        effects.pitch_shift(np.ascontiguousarray(audio[:, c]), sr=int(rate), n_steps=float(semitones))
        for c in range(audio.shape[1])
    ]
    return fit_length(np.stack(channels, axis=1).astype(np.float32), audio.shape[0])


def true_peak(audio: np.ndarray, rate: int) -> float:
    """The largest of the sample peak and the peak of the signal oversampled 4x (block by block)."""
    import soxr

    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape[0] == 0:
        return 0.0
    peak = float(np.abs(data).max())
    stream = soxr.ResampleStream(int(rate), int(rate) * OVERSAMPLE, data.shape[1], dtype="float32", quality="HQ")
    for start in range(0, data.shape[0], _BLOCK):
        block = stream.resample_chunk(np.ascontiguousarray(data[start : start + _BLOCK]), last=False)
        if block.size:
            peak = max(peak, float(np.abs(block).max()))
    tail = stream.resample_chunk(np.zeros((0, data.shape[1]), np.float32), last=True)
    if tail.size:
        peak = max(peak, float(np.abs(tail).max()))
    return peak


@dataclass
class Remix:
    """The mixed cover ``[frames, channels]`` and how it was made."""

    audio: np.ndarray
    vocal: np.ndarray  # the converted vocal as mixed in: [frames] at the song's rate, before gains
    accompaniment: np.ndarray  # the accompaniment as mixed in (transposed or not), before gains
    scale: float  # the ceiling's gain (1.0: the mix was below it)
    peak: float  # the true peak before that gain


def remix(
    converted: np.ndarray,
    converted_rate: int,
    accompaniment: np.ndarray,
    rate: int,
    vocal_gain_db: float = 0.0,
    accompaniment_gain_db: float = 0.0,
    transpose_semitones: float = 0.0,
    ceiling_db: float = CEILING_DBTP,
) -> Remix:
    """Mix the converted vocal over ``accompaniment`` (``[frames, channels]`` at ``rate``)."""
    band = np.asarray(accompaniment, dtype=np.float32)
    if band.ndim == 1:
        band = band[:, None]
    frames = band.shape[0]
    vocal = align_vocal(converted, converted_rate, rate, frames)
    band = transpose(band, rate, transpose_semitones)
    mix = vocal[:, None] * np.float32(db_to_gain(vocal_gain_db)) + band * np.float32(db_to_gain(accompaniment_gain_db))
    peak = true_peak(mix, rate)
    ceiling = db_to_gain(ceiling_db)
    scale = ceiling / peak if peak > ceiling else 1.0
    if scale != 1.0:
        mix *= np.float32(scale)
    return Remix(mix.astype(np.float32, copy=False), vocal, band, float(scale), float(peak))


def remix_cover(converted: np.ndarray, converted_rate: int, stems, cover, pitch: float) -> Remix:
    """:func:`remix` with a cover's settings (``CoverParams``): its gains, and the band shifted by
    ``pitch`` semitones when ``cover.transpose_accompaniment`` asks (the cover job and the
    window's cover preview mix the same way)."""
    return remix(
        converted,
        converted_rate,
        stems.accompaniment,
        stems.rate,
        cover.vocal_gain_db,
        cover.accompaniment_gain_db,
        float(pitch) if cover.transpose_accompaniment else 0.0,
    )
