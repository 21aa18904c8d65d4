"""The pipeline's numeric steps (RVC_REFERENCE.md §6), as plain functions on numpy arrays.

- :func:`highpass`: Butterworth order 5 at 48 Hz, forward and backward (``filtfilt``).
- :func:`to_frame_rate`: 50 frames/s features repeated x2 to the 100 frames/s pitch grid.
- :func:`protect_unvoiced`: in unvoiced frames mix back the features before the index blend.
- :func:`rms_mix`: RVC's loudness envelope transfer (``rms_mix_rate`` < 1).
- :func:`peak_scale`: the factor that brings a clipping output's peak to 0.99.
- :func:`piece_seed`: one seed per piece of a long input, reproducible from the user's seed.

scipy and librosa load on first use.
"""

from __future__ import annotations

import numpy as np

HIGHPASS_HZ = 48.0
HIGHPASS_ORDER = 5
PEAK = 0.99
RMS_FLOOR = 1e-6


def highpass(audio_16k: np.ndarray) -> np.ndarray:
    """RVC's high-pass: ``butter(5, 48, "high", fs=16000)`` applied with ``filtfilt``; float32."""
    from scipy import signal

    b, a = _butter()
    audio = np.asarray(audio_16k, dtype=np.float64)
    if audio.shape[0] <= 3 * max(len(a), len(b)):  # filtfilt's default edge padding needs more
        return audio.astype(np.float32)
    return signal.filtfilt(b, a, audio).astype(np.float32)


def _butter() -> tuple[np.ndarray, np.ndarray]:
    from scipy import signal

    return signal.butter(N=HIGHPASS_ORDER, Wn=HIGHPASS_HZ, btype="high", fs=16000)


def to_frame_rate(features_50: np.ndarray, n_frames: int) -> np.ndarray:
    """Repeat each 50 frames/s frame twice (RVC's nearest x2 interpolation), ``n_frames`` kept."""
    out = np.repeat(np.asarray(features_50, dtype=np.float32), 2, axis=0)[:n_frames]
    if out.shape[0] < n_frames:
        raise ValueError(f"features cover {out.shape[0]} frames, {n_frames} needed")
    return np.ascontiguousarray(out)


def protect_unvoiced(features: np.ndarray, features_raw: np.ndarray, f0_hz: np.ndarray, protect: float) -> np.ndarray:
    """``feats * w + raw * (1 - w)``, w = 1 in voiced frames (f0 > 0) and ``protect`` elsewhere.

    RVC applies this only when ``protect < 0.5`` and the model uses pitch; callers check that.
    Frames with ``0 < f0 < 1`` count as unvoiced, as in RVC.
    """
    weight = np.where(np.asarray(f0_hz) >= 1.0, 1.0, float(protect)).astype(np.float32)[:, None]
    return (features * weight + features_raw * (np.float32(1.0) - weight)).astype(np.float32)


def _rms(audio: np.ndarray, sr: int) -> np.ndarray:
    from inference.core.runtime import import_library

    feature = import_library("librosa.feature")  # numba comes with it: see long_lived
    # RVC: frame_length = sr // 2 * 2 (one second), hop = sr // 2, centred with zero padding.
    return feature.rms(y=np.asarray(audio, dtype=np.float32), frame_length=sr // 2 * 2, hop_length=sr // 2)[0]


def _stretch(values: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation to ``length`` points, as torch's ``interpolate(mode="linear")``.

    (``align_corners=False``: sample i reads position ``(i + 0.5) * n / length - 0.5``, clamped.)
    """
    n = values.shape[0]
    pos = (np.arange(length, dtype=np.float64) + 0.5) * (n / length) - 0.5
    return np.interp(pos, np.arange(n, dtype=np.float64), values.astype(np.float64))


def rms_mix(input_16k: np.ndarray, output: np.ndarray, sr: int, rate: float) -> np.ndarray:
    """RVC's ``change_rms``: ``out * rms_in^(1-rate) * max(rms_out, 1e-6)^(rate-1)``.

    Both envelopes are RMS over one-second frames every half second, stretched to the output's
    length. ``rate`` 1 returns ``output`` unchanged.
    """
    if float(rate) >= 1.0 or output.shape[0] == 0:
        return output
    rms_in = _stretch(_rms(input_16k, 16000), output.shape[0])
    rms_out = np.maximum(_stretch(_rms(output, sr), output.shape[0]), RMS_FLOOR)
    gain = np.power(rms_in, 1.0 - rate) * np.power(rms_out, rate - 1.0)
    return (output * gain).astype(np.float32)


def peak_scale(peak: float) -> float:
    """1.0, or ``0.99 / peak`` when the peak exceeds 0.99 (RVC's normalisation before int16)."""
    return PEAK / peak if peak > PEAK else 1.0


def piece_seed(seed: int | None, index: int) -> int | None:
    """The seed for piece ``index``: the user's own for the first (a short input reproduces
    ``Generator.infer(seed=seed)``), an independent stream derived from it for the others."""
    if seed is None or index == 0:
        return seed
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)[0])
