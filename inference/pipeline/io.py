"""The pipeline's input and output plumbing: decoding with checks, streaming the result to disk.

- :func:`decode_input`: a whole file at 16 kHz mono, refused when silent, with its content digest.
- :func:`region_input`: only a region (plus context) of a file, for previews.
- :func:`stream_output`: pieces of output (model rate) -> optional streaming resample -> a raw
  float32 temporary file, tracking the peak, so the whole output is never held in memory.
- :func:`write_scaled`: the temporary file -> the final file (wav, flac, mp3, m4a, ogg), scaled,
  through :func:`~inference.audio.write.open_writer` (temporary name, atomic publish, never
  overwriting).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

from inference.core.errors import check_cancel
from inference.pipeline.chunking import SAMPLE_RATE, ChunkSettings, Piece, region_piece, segment

BYTES_PER_SAMPLE = {"PCM_16": 2, "PCM_24": 3, "FLOAT": 4}
SILENCE = 1e-4  # peak below which an input counts as silent (-80 dBFS)
FILTER_MARGIN = SAMPLE_RATE  # real audio filtered beyond a segment, so filter edges stay outside it


def check_sound(audio16: np.ndarray, name: str) -> None:
    """Refuse an input with no samples, with NaN or infinite samples (an array handed in; the decoder
    refuses files holding them), or nothing above -80 dBFS."""
    from inference.audio import AudioError

    if audio16.shape[0] == 0:
        raise AudioError(f"{name}: contains no audio samples")
    finite = np.isfinite(audio16)
    if not finite.all():
        bad = int(audio16.shape[0] - np.count_nonzero(finite))
        raise AudioError(f"{name}: holds invalid samples ({bad} NaN or infinite values); the file is damaged")
    if not np.any(np.abs(audio16) > SILENCE):
        raise AudioError(f"{name}: is silent (nothing to convert)")


def filtered_segment(audio16: np.ndarray, lo: int, hi: int, margin: int = FILTER_MARGIN) -> np.ndarray:
    """The high-passed segment ``[lo, hi)`` of ``audio16`` padded by reflection at its ends.

    Equals filtering the whole input and then reflect-padding it (RVC's order) to float
    precision: the filter runs over the segment plus ``margin`` samples of real audio each side
    (its edge effects decay long before), and reflection happens only at the input's own ends.
    """
    from inference.pipeline.steps import highpass

    n = audio16.shape[0]
    first, last = max(0, min(lo, n - 1) - margin), min(n, max(hi, 1) + margin)
    local = highpass(audio16[first:last])
    return segment(local, lo - first, hi - first)


def shape_input(audio16: np.ndarray, params: Any, cancel) -> np.ndarray:
    """The 16 kHz input as the analysis sees it: formant-shifted when ``params`` ask for it."""
    from inference.audio.formant import formant_shift, is_active

    if not is_active(params.formant_timbre):
        return audio16
    return formant_shift(audio16, params.formant_timbre, params.formant_quefrency, cancel)


def decode_input(path: Path, cache_root: Path | None, cancel, params: Any = None) -> tuple[np.ndarray, Any]:
    """``(audio at 16 kHz mono float32, source key)`` of an input file (formant-shifted as
    ``params`` ask: the analysis cache's key says so, see ``PreparedJob.analysis_key``)."""
    from inference.audio import load_audio
    from inference.pipeline.cache import file_digest

    audio16 = load_audio(path, sr=SAMPLE_RATE, mono=True, cancel=cancel)
    check_sound(audio16, str(path))
    check_cancel(cancel)
    if params is not None:
        audio16 = shape_input(audio16, params, cancel)
    return audio16, ("file", file_digest(path, cache_root))


def region_input(
    path: Path, start_s: float, end_s: float, chunk: ChunkSettings, cache_root: Path | None, cancel, params: Any = None
) -> tuple[Piece, Any, Callable[[], np.ndarray]]:
    """``(piece, source key, segment getter)`` for a preview of ``[start_s, end_s)``.

    Only the region and its padding are decoded (and only when the analysis is not cached:
    the getter decodes on first call). The segment equals what a whole-file decode would give
    for that piece: real neighbouring audio as context, reflection at the file's own ends.
    """
    from inference.audio import AudioError, audio_info, load_audio_segment
    from inference.pipeline.cache import file_digest

    duration, _rate, _channels = audio_info(path)
    n16 = int(round(duration * SAMPLE_RATE))
    if n16 <= 0:
        raise AudioError(f"{path}: contains no audio samples")
    if not end_s > start_s:
        raise AudioError(f"{path}: empty preview region {start_s:.2f}-{end_s:.2f} s")
    piece = region_piece(start_s, end_s, n16, chunk)
    source = ("region", file_digest(path, cache_root), n16)
    held: dict[str, np.ndarray] = {}

    def get_segment() -> np.ndarray:
        if "segment" not in held:
            check_cancel(cancel)
            first = max(0, piece.lo - FILTER_MARGIN)
            last = max(piece.hi + FILTER_MARGIN, first + 1)
            local = load_audio_segment(path, SAMPLE_RATE, first / SAMPLE_RATE, last / SAMPLE_RATE)
            if params is not None:  # its edges are shifted against silence: they lie in the margin
                local = shape_input(local, params, cancel)
            # local[0] is the file's first sample when first == 0, and local[-1] its last when
            # the region reaches the end, so reflection there is what a whole decode would give.
            held["segment"] = filtered_segment(local, piece.lo - first, piece.hi - first)
        return held["segment"]

    return piece, source, get_segment


def release_memory() -> None:
    """Hand memory freed by the last piece back to the OS (glibc's ``malloc_trim``; Linux only).

    glibc keeps freed blocks in its arenas, so after many pieces of varying sizes the resident
    size creeps up by ~100 MB without any leak; trimming between pieces keeps it flat. Other
    platforms' allocators return memory themselves: nothing to do there.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl, say): nothing to trim
        pass


def stream_output(
    pieces: Iterable[np.ndarray], total: int, sr_in: int, sr_out: int, raw: IO[bytes], clock
) -> tuple[int, float]:
    """Write the pieces (cut to ``total`` samples at ``sr_in``) to ``raw`` at ``sr_out``.

    Returns ``(samples written, peak)``.
    """
    from inference.audio.decode import StreamResampler

    resampler = StreamResampler(sr_in, sr_out)
    taken = written = 0
    peak = 0.0

    def put(out: np.ndarray) -> None:
        nonlocal written, peak
        if out.size:
            raw.write(np.ascontiguousarray(out, dtype=np.float32).tobytes())
            written += out.shape[0]
            peak = max(peak, float(np.abs(out).max()))

    for block in pieces:
        with clock("write"):
            block = block[: max(0, total - taken)]
            taken += block.shape[0]
            put(resampler.push(block))
    with clock("write"):
        put(resampler.push(np.zeros(0, np.float32), last=True))
    return written, peak


def write_scaled(
    raw: IO[bytes],
    n_samples: int,
    target: Path,
    sr: int,
    fmt: str,
    subtype: str,
    scale: float,
    block: int,
    cancel,
    progress: Callable[[float], None] | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    bitrate: int = 192,
) -> tuple[Path, int]:
    """Copy ``n_samples`` float32 samples from ``raw`` into a new audio file, times ``scale``;
    returns ``(path, the file's sample rate)`` (mp3, m4a and ogg may need another rate than ``sr``).

    Published under ``target``'s name, or ``target (2)``... when another run took it meanwhile.
    """
    from inference.audio import open_writer

    raw.seek(0)
    done = 0
    with open_writer(target, sr, fmt, subtype, unique=True, tags=tags, bitrate=bitrate) as writer:
        while done < n_samples:
            check_cancel(cancel)
            count = min(block, n_samples - done)
            data = np.frombuffer(raw.read(count * 4), dtype=np.float32)
            if data.shape[0] != count:
                raise OSError(f"temporary output ended early ({done + data.shape[0]} of {n_samples} samples)")
            writer.write(data * np.float32(scale) if scale != 1.0 else data)
            done += count
            if progress is not None:
                progress(done / max(1, n_samples))
    return writer.path, int(writer.sample_rate)


def output_bytes_per_second(params: Any, sr: int) -> float:
    """About how many bytes a second of output takes in ``params``' format (for the space check)."""
    from inference.audio.encode import ENCODED_FORMATS

    if params.output_format in ENCODED_FORMATS:
        return params.bitrate * 1000 / 8
    return sr * BYTES_PER_SAMPLE[params.sample_format]
