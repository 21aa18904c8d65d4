"""Previews of a region of a file: whole (:func:`preview_region`) or streamed window by window
(:func:`stream_region`), so that playback can start long before the region is done; and the
background analysis (:func:`analyse`) that leaves a preview or a conversion only synthesis to do.

Both share the region's cached analysis (:func:`region_analysis`: decoded, embedded and pitched
once per region, method and embedder); a new pitch, index rate or protect re-runs only the index
blend and the synthesis. The streamed windows carry the same samples as the whole preview
before its peak normalisation (a stream's consumer limits the level as it plays).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.pipeline import steps
from inference.pipeline.cache import Analysis
from inference.pipeline.chunking import Piece
from inference.pipeline.job import PreparedJob
from inference.pipeline.params import ConversionParams
from inference.pipeline.progress import StageProgress

FIRST_WINDOW_S = 0.5  # the first streamed window: short, so the first sound comes soon
# The streamed windows after it, at most (frames): playback can start only at a window's end, so
# short windows let it start sooner. MLX's batch window (10 s on the CPU) would leave a 10 s
# preview's rest in one piece, with nothing to play between; 3 s costs it nothing measurable on
# the CPU (1.30x against 1.35x realtime, within the noise). Torch cuts a window's context away
# after the lowest rate (decode's ``keep``), so 1 s windows run as fast as 2 s ones (5.42 s
# against 5.38 s on 5 s of v2 48k, best of 4).
STREAM_WINDOW = {"mlx": 300, "torch": 100}


@dataclass
class PreviewChunk:
    """One streamed stretch of a preview: ``audio`` (float32 mono, not yet limited) at
    ``sample_rate``, starting at ``start_s`` on the input's time axis. ``f0_in`` and
    ``f0_target`` are the whole region's pitch curves (Hz, 100 frames/s from ``region_start_s``;
    None for models without pitch), the same in every chunk. ``last`` ends the stream.
    ``work_s``: the seconds the engine spent making this chunk's audio, one-off work (loading,
    analysis, the region's encoding) left out: a player's measure of how fast the rest will come."""

    audio: np.ndarray
    sample_rate: int
    start_s: float
    region_start_s: float
    region_end_s: float
    f0_in: np.ndarray | None
    f0_target: np.ndarray | None
    last: bool = False
    work_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.start_s + self.audio.shape[0] / self.sample_rate


def region_analysis(
    conv,
    input_path: os.PathLike | str,
    model: Any,
    params: ConversionParams | Mapping[str, Any],
    start_s: float,
    end_s: float,
    report: StageProgress,
    cancel,
) -> tuple[PreparedJob, Piece, Analysis, Callable[[], np.ndarray]]:
    """``(job, piece, analysis, audio)`` of the region: the model loaded, the analysis from the
    cache or made now (and cached), and a getter for the region's 16 kHz audio (RMS mix needs it)."""
    from inference.pipeline.io import region_input

    job = conv._prepare(model, params, report)
    with job.clock("decode"):
        piece, source, get_segment = region_input(
            Path(input_path).expanduser(), start_s, end_s, conv.chunk, conv.analyses.root, cancel, job.params
        )
    analysis, _body = conv._analyse(job, piece, get_segment, source, True, True, report, cancel)

    def audio() -> np.ndarray:
        return analysis.audio if analysis.audio is not None else get_segment()

    return job, piece, analysis, audio


def _curves(piece: Piece, analysis: Analysis, f0_target: np.ndarray | None) -> tuple:
    core = slice(piece.pad_frames, piece.pad_frames + piece.core_frames)
    f0_in = None if analysis.f0 is None else analysis.f0[core].copy()
    return f0_in, None if f0_target is None else f0_target[core].copy()


def stream_region(
    conv,
    input_path: os.PathLike | str,
    model: Any,
    params: ConversionParams | Mapping[str, Any],
    start_s: float,
    end_s: float,
    *,
    play_from: float | None = None,
    first_s: float = FIRST_WINDOW_S,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
) -> Iterator[PreviewChunk]:
    """The preview of ``[start_s, end_s)`` window by window, from ``play_from`` (default: the
    region's start; a pitch change during playback restarts where the playhead is).

    With RMS mix below 1 the loudness envelope needs the whole output: then one chunk comes,
    when all is done.
    """
    from inference.audio.decode import StreamResampler

    report = StageProgress(progress, write_share=0.0)
    job, piece, analysis, audio16 = region_analysis(conv, input_path, model, params, start_s, end_s, report, cancel)
    p, gen = job.params, job.generator
    sr, hop = gen.sample_rate, gen.hop
    out_sr = int(p.output_sample_rate or sr)
    start_s = max(0.0, float(start_s))
    # The region in the piece's (untrimmed) output, in samples at the model's rate.
    region0 = piece.pad_frames * hop + int(round((start_s - piece.start / 16000) * sr))
    region_len = max(1, int(round((end_s - start_s) * sr)))
    begin = 0 if play_from is None else min(region_len, max(0, int(round((play_from - start_s) * sr))))
    resampler = StreamResampler(sr, out_sr)

    def chunk(audio: np.ndarray, at: int, last: bool, f0_target, work_s: float = 0.0) -> PreviewChunk:
        f0_in, f0_out = _curves(piece, analysis, f0_target)
        data = resampler.push(audio, last=last)
        end = start_s + region_len / sr
        return PreviewChunk(data, out_sr, start_s + at / sr, start_s, end, f0_in, f0_out, last, work_s)

    if p.rms_mix_rate < 1.0:
        out, f0_target = conv._synthesise(job, piece, 0, analysis, audio16, report, cancel)
        window = out[max(0, region0 - piece.pad_frames * hop) :][:region_len][begin:]
        yield chunk(window, begin, True, f0_target)
        return
    features, f0_target = conv._blend(job, piece, analysis, report, cancel)
    report.stage("Synthesising")
    first_frame = (region0 + begin) // hop
    timings: list[float] = []
    windows = gen.stream(
        features,
        f0_target,
        p.speaker_id,
        seed=steps.piece_seed(p.seed, 0),
        noise="zero" if p.deterministic else "random",
        cancel=cancel,
        first=max(1, int(first_s * 100)),
        start=first_frame,
        stop=-(-(region0 + region_len) // hop),  # the piece's padding after the region: context only
        window=min(gen.window, STREAM_WINDOW.get(gen.backend, gen.window)),
        timings=timings,
    )
    emitted = begin
    total = piece.n_frames * hop
    for frame, audio in windows:
        lo = frame * hop - region0  # this window's first sample, relative to the region
        part = audio[max(0, emitted - lo) : max(0, region_len - lo)]
        done = lo + audio.shape[0] >= region_len or frame * hop + audio.shape[0] >= total
        report.stage("Synthesising", min(1.0, (lo + audio.shape[0] - begin) / max(1, region_len - begin)))
        if part.size or done:
            yield chunk(part, emitted, done, f0_target, sum(timings))
            timings.clear()
            emitted += part.shape[0]
        if done:
            break
    conv.stats["synth"] += 1


def preview_region(
    conv,
    input_path: os.PathLike | str,
    model: Any,
    params: ConversionParams | Mapping[str, Any],
    start_s: float,
    end_s: float,
    progress: Callable[[float, str], None] | None = None,
    cancel=None,
) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]:
    """``(audio, sr, f0_in, f0_target)`` of the whole region, peak-normalised (see Converter.preview)."""
    report = StageProgress(progress, write_share=0.0)
    job, piece, analysis, audio16 = region_analysis(conv, input_path, model, params, start_s, end_s, report, cancel)
    out, f0_target = conv._synthesise(job, piece, 0, analysis, audio16, report, cancel)
    gen_sr = job.generator.sample_rate
    first = int(round((max(0.0, start_s) - piece.start / 16000) * gen_sr))
    length = int(round((end_s - max(0.0, start_s)) * gen_sr))
    out = out[max(0, first) : max(0, first) + max(1, length)]
    out_sr = int(job.params.output_sample_rate or gen_sr)
    if out_sr != gen_sr:
        from inference.audio import resample

        out = resample(out, gen_sr, out_sr)
    peak = float(np.abs(out).max()) if out.size else 0.0
    out = (out * np.float32(steps.peak_scale(peak))).astype(np.float32)
    f0_in, f0_out = _curves(piece, analysis, f0_target)
    report.emit(1.0, "Synthesising")
    return out, out_sr, f0_in, f0_out


def analyse(
    conv,
    input_path: os.PathLike | str,
    model: Any,
    params: ConversionParams | Mapping[str, Any],
    region: tuple[float, float] | None,
    cancel,
) -> None:
    """Analyse ``region`` (kept in memory and on disk, for previews) or every piece of the whole
    file (on disk, for the conversion), loading the model first; nothing is synthesised. With no
    file, what a preview will need is loaded: the generator (its converted weights), the index,
    the embedder and the pitch model, so that their loading (and their libraries' imports, which
    can hold Python's lock for a moment) is over before the first song arrives."""
    import functools

    from inference.pipeline.chunking import plan_pieces
    from inference.pipeline.io import decode_input, filtered_segment, release_memory

    report = StageProgress(None)
    if input_path is None:  # a model chosen, no file yet: load everything a preview will need
        job = conv._prepare(model, params, report)
        conv._load_embedder(job.embedder_path)
        if job.method is not None:
            conv.estimators.load(job.method)
        return
    if region is not None:
        region_analysis(conv, input_path, model, params, region[0], region[1], report, cancel)
        return
    job = conv._prepare(model, params, report)
    audio16, source = decode_input(Path(input_path).expanduser(), conv.analyses.root, cancel, job.params)
    for piece in plan_pieces(audio16, conv.chunk, steps.highpass):
        get = functools.partial(filtered_segment, audio16, piece.lo, piece.hi)
        conv._analyse(job, piece, get, source, False, False, report, cancel)
        release_memory()
