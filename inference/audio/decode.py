"""Decoding audio files to float32 arrays at any rate.

- Decoding: ``soundfile`` (libsndfile) first, which reads WAV/FLAC/AIFF/OGG quickly and can seek;
  anything it cannot open (MP3 on old libsndfile, M4A/AAC, video containers) goes through PyAV
  (FFmpeg). Samples come back as float32 in [-1, 1], whatever the file stored.
- Resampling uses soxr (the library librosa's ``soxr_hq`` calls), never hand-rolled filters.

Every failure a user can cause is an :class:`AudioError` whose one-line message names the file.
Only numpy is imported at module level; soundfile, av and soxr load on first use.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from inference.audio.files import PYAV_ONLY as _PYAV_ONLY
from inference.audio.files import not_a_file_reason
from inference.core.errors import RVCError, check_cancel

log = logging.getLogger(__name__)


_PREROLL_S = 0.25
BLOCK_SECONDS = 10.0  # decode this much audio at a time
SILENCE = 1e-4  # peak below which a file counts as silent (-80 dBFS)


class AudioError(RVCError):
    """An audio file could not be read or written; the message names the file."""


# ---------------------------------------------------------------------------------------------
# decoding: blocks of [n, C] float32 at the file's rate, downmixed and resampled as they arrive,
# so only the result at the requested rate is ever held in memory (a 10-minute 44.1 kHz stereo
# file never exists as one 200 MB array).


def _check_readable(path: Path) -> None:
    reason = not_a_file_reason(path)
    if reason == "is a folder":
        raise AudioError(f"{path}: is a folder, not an audio file")
    if reason is not None:
        raise AudioError(f"{path}: {reason}")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")


def _sf_blocks(path: Path, start_s: float, end_s: float | None) -> tuple[int, int, Iterator[np.ndarray]] | None:
    """``(rate, channels, blocks)`` via libsndfile, or None if it does not recognise the file."""
    import soundfile as sf

    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    rate, channels = int(handle.samplerate), int(handle.channels)
    if rate <= 0:
        handle.close()
        return None

    def blocks() -> Iterator[np.ndarray]:
        with handle:
            start = int(round(start_s * rate))
            left = None if end_s is None else max(0, int(round(end_s * rate)) - start)
            if start:
                handle.seek(min(start, handle.frames))
            size = int(rate * BLOCK_SECONDS)
            while left is None or left > 0:
                want = size if left is None else min(size, left)
                try:
                    block = handle.read(frames=want, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as error:  # e.g. a FLAC cut short: lost sync
                    detail = " ".join(str(error).replace("Error :", "").split()).rstrip(".")
                    raise AudioError(
                        f"{path}: cannot be decoded past {handle.tell() / rate:.1f} s: the file is "
                        f"damaged or cut short ({detail})"
                    ) from None
                if block.shape[0] == 0:
                    return
                if left is not None:
                    left -= block.shape[0]
                yield block

    return rate, channels, blocks()


def _open_av(path: Path):
    import av

    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as error:
        raise AudioError(f"{path}: not an audio file (or an unsupported format)") from error
    stream = next((s for s in container.streams if s.type == "audio"), None)
    if stream is None:
        container.close()
        raise AudioError(f"{path}: has no audio stream")
    return container, stream


def _av_blocks(path: Path, start_s: float, end_s: float | None) -> tuple[int, int, Iterator[np.ndarray]]:
    """``(rate, channels, blocks)`` via PyAV, optionally only ``[start_s, end_s)`` (seeks first)."""
    import av

    container, stream = _open_av(path)
    ctx = stream.codec_context
    rate = int(ctx.sample_rate or 0)
    channels = int(ctx.channels or 0)
    if rate <= 0 or channels <= 0:
        container.close()
        raise AudioError(f"{path}: audio stream has no sample rate or channels")

    def blocks() -> Iterator[np.ndarray]:
        # Planar float at the stream's own rate and layout; resampling happens with soxr.
        resampler = av.AudioResampler(format="fltp", rate=rate)
        try:
            if start_s > 0 and stream.time_base:
                # Seek a little early: lossy decoders (AAC, MP3) need a frame or two of
                # pre-roll before their output is exact. Samples before start_s are dropped.
                target = max(0.0, start_s - _PREROLL_S)
                container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
            position: float | None = None  # seconds at the next sample, once known
            for frame in container.decode(stream):
                if position is None:
                    position = float(frame.time) if frame.time is not None else 0.0
                for out in resampler.resample(frame):
                    data = out.to_ndarray()  # [C, n]
                    first = position
                    position += data.shape[1] / rate
                    lo = max(0, int(round((start_s - first) * rate)))
                    hi = data.shape[1] if end_s is None else min(data.shape[1], int(round((end_s - first) * rate)))
                    if hi > lo:
                        yield data[:, lo:hi].T
                if end_s is not None and position >= end_s:
                    return
            for out in resampler.resample(None):
                yield out.to_ndarray().T
        except av.FFmpegError as error:
            raise AudioError(f"{path}: cannot be decoded ({error.__class__.__name__})") from error
        finally:
            container.close()

    return rate, channels, blocks()


def _blocks(path: Path, start_s: float = 0.0, end_s: float | None = None) -> tuple[int, int, Iterator[np.ndarray]]:
    if path.suffix.lower() not in _PYAV_ONLY:
        got = _sf_blocks(path, start_s, end_s)
        if got is not None:
            return got
    return _av_blocks(path, start_s, end_s)


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``audio`` ([N] or [N, C]) from ``orig_sr`` to ``target_sr`` with soxr (HQ)."""
    if orig_sr == target_sr or audio.shape[0] == 0:
        return np.asarray(audio, dtype=np.float32)
    import soxr

    return np.asarray(soxr.resample(audio, orig_sr, target_sr, quality="HQ"), dtype=np.float32)


class StreamResampler:
    """Resampling block by block (soxr keeps its state between blocks: exact across them).

    ``push(block)`` returns what is ready; ``push(empty, last=True)`` flushes the tail. Blocks
    are ``[n]`` (mono) or ``[n, channels]``. Equal rates pass blocks through unchanged.
    """

    def __init__(self, sr_in: int, sr_out: int, channels: int = 1) -> None:
        self.stream = None
        if int(sr_in) != int(sr_out):
            import soxr

            self.stream = soxr.ResampleStream(int(sr_in), int(sr_out), channels, dtype="float32", quality="HQ")

    def push(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self.stream is None:
            return block
        return self.stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)


def _decode(
    path: Path, sr: int | None, mono: bool, start_s: float = 0.0, end_s: float | None = None, cancel=None
) -> np.ndarray:
    """Decode, downmix and resample block by block; returns [N] or [N, C] float32 at ``sr``."""
    rate, channels, blocks = _blocks(path, start_s, end_s)
    width = 1 if mono else channels
    stream = StreamResampler(rate, int(sr), width) if sr is not None and int(sr) != rate else None
    parts: list[np.ndarray] = []
    got = 0
    for block in blocks:
        check_cancel(cancel)
        got += block.shape[0]
        block = np.asarray(block, dtype=np.float32)
        if block.shape[1] != channels:  # a stream that changes layout midway: keep going in mono
            block = np.repeat(block.mean(axis=1, keepdims=True), channels, axis=1)
        if mono:
            block = block.mean(axis=1, keepdims=True, dtype=np.float32)
        if stream is not None:
            block = stream.push(block)
        if block.shape[0]:
            parts.append(np.ascontiguousarray(block))
    if got == 0:
        raise AudioError(f"{path}: contains no audio samples")
    if stream is not None:
        tail = stream.push(np.zeros((0, width), np.float32), last=True)
        if tail.shape[0]:
            parts.append(tail)
    data = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
    finite = np.isfinite(data)
    if not finite.all():  # only float files can hold them; converting them would give noise or silence
        bad = int(finite.size - np.count_nonzero(finite))
        raise AudioError(f"{path}: holds invalid samples ({bad} NaN or infinite values); the file is damaged")
    return np.ascontiguousarray(data[:, 0] if mono else data, dtype=np.float32)


def load_audio(
    path: os.PathLike | str, sr: int | None = 16000, mono: bool = True, require_sound: bool = False, cancel=None
) -> np.ndarray:
    """Decode a whole file to float32: ``[N]`` when ``mono`` (channels averaged) else ``[N, C]``,
    at rate ``sr`` (``None`` keeps the file's own rate).

    ``require_sound`` rejects an all-silent file; ``cancel`` (a ``threading.Event``) is checked
    between blocks. Raises :class:`AudioError` (naming the file) for a missing, empty, non-audio
    or zero-length file.
    """
    path = Path(path).expanduser()
    _check_readable(path)
    data = _decode(path, sr, mono, cancel=cancel)
    if require_sound and not np.any(np.abs(data) > SILENCE):
        raise AudioError(f"{path}: is silent")
    return data


def load_audio_segment(
    path: os.PathLike | str, sr: int | None, start_s: float, end_s: float, mono: bool = True
) -> np.ndarray:
    """Decode only ``[start_s, end_s)`` of a file (seeking: cheap for long files), like :func:`load_audio`."""
    path = Path(path).expanduser()
    if end_s <= start_s:
        raise AudioError(f"{path}: empty segment {start_s:.2f}-{end_s:.2f} s")
    _check_readable(path)
    return _decode(path, sr, mono, max(0.0, float(start_s)), float(end_s))


def audio_info(path: os.PathLike | str) -> tuple[float, int, int]:
    """``(duration_s, sample_rate, channels)`` read from the header, without decoding the file."""
    path = Path(path).expanduser()
    _check_readable(path)
    if path.suffix.lower() not in _PYAV_ONLY:
        import soundfile as sf

        try:
            info = sf.info(str(path))
            if info.samplerate > 0:
                return info.frames / info.samplerate, int(info.samplerate), int(info.channels)
        except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
            pass
    container, stream = _open_av(path)
    try:
        ctx = stream.codec_context
        rate = int(ctx.sample_rate or 0)
        channels = int(ctx.channels or (ctx.layout.nb_channels if ctx.layout else 0) or 0)
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000  # AV_TIME_BASE
        else:
            duration = 0.0
    finally:
        container.close()
    if rate <= 0 or channels <= 0:
        raise AudioError(f"{path}: audio stream has no sample rate or channels")
    return duration, rate, channels
