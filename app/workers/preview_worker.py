"""Converts a short region for preview, on its own thread, keeping the engine's cached analysis.

The worker owns one Converter for its whole life, so the analysis of the input (features and
pitch) made by the first preview is reused when only the pitch or the mix settings change:
that re-synthesis is what makes dragging the pitch feel immediate. Requests coalesce: while one
runs, only the newest waiting request is kept.

Previews stream: each decoder window's audio goes out (``chunk``) as soon as it is made, so the
window can start playing long before the region is done. Before any click, the window asks for
``analyse`` requests (a file or a model chosen): the model is loaded and the preview region
analysed, then the whole file, at the back of the line: any preview request goes first, and one
about something else cancels the background work.

A cover's preview (``PreviewRequest.cover`` set) is not streamed: the region of the song is
separated first (the stage's stem cache keeps it for the next pitch), its vocal previewed by the
converter (whose analysis cache then keeps that too), and mixed back with the band. It also
returns the separated vocal (the input plots draw it) and the converted vocal alone (the
player's third choice).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.logging_setup import summarize
from app.workers.engine import Engine
from app.workers.waveform import PitchCurves, Waveform, envelope, pitch_curves

log = logging.getLogger(__name__)

# The parameters the analysis depends on (the pitch method; the formant shift changes the input).
ANALYSIS_PARAMS = ("f0_method", "formant_timbre", "formant_quefrency")


@dataclass
class PreviewRequest:
    input_path: str
    model: Any
    params: dict
    start_s: float
    end_s: float
    serial: int = 0
    play_from: float | None = None  # a restart at the playhead (a new pitch while playing)
    kind: str = "preview"  # or "analyse": background work, nothing synthesised
    cover: dict | None = None  # a cover's settings (inference.covers.params): separate, convert, mix

    def same_analysis(self, other: PreviewRequest | None) -> bool:
        """True when ``other`` needs the same analysis (only synthesis settings differ)."""
        return (
            other is not None
            and other.input_path == self.input_path
            and getattr(other.model, "id", other.model) == getattr(self.model, "id", self.model)
            and (other.start_s, other.end_s) == (self.start_s, self.end_s)
            and all(other.params.get(k) == self.params.get(k) for k in ANALYSIS_PARAMS)
            and _separation(other.cover) == _separation(self.cover)
        )


def _separation(cover: dict | None) -> tuple | None:
    """What a cover's separated vocal depends on (None: not a cover)."""
    if cover is None:
        return None
    return tuple(cover.get(k) for k in ("separator_model", "dereverb", "dereverb_model", "overlap", "denoise"))


@dataclass
class PreviewResult:
    request: PreviewRequest
    audio: np.ndarray
    sample_rate: int
    wave: Waveform  # offset = the region's start, so it lines up with the input
    f0: PitchCurves | None
    wav_path: str  # what the player plays
    seconds: float  # wall time of this preview
    start_s: float = 0.0  # where the audio starts on the input's axis (the playhead, for a restart)
    streamed: bool = False  # its audio went out in chunks first
    vocal_wave: Waveform | None = None  # a cover: the separated vocal of the region (the input plots)
    vocal_path: str | None = None  # a cover: the converted vocal alone (the player's third choice)


def _unpack(result: Any) -> tuple[np.ndarray, int, Any, Any]:
    """(audio, sample_rate, f0_in, f0_target) from what ``Converter.preview`` returned."""
    if isinstance(result, tuple):
        audio, sr, f0_in, f0_target = (list(result) + [None, None])[:4]
        return np.asarray(audio), int(sr), f0_in, f0_target
    audio = getattr(result, "audio", None)
    if audio is None:
        audio = result.audio_out
    sr = getattr(result, "sample_rate", None) or result.sr
    return np.asarray(audio), int(sr), getattr(result, "f0_in", None), getattr(result, "f0_target", None)


class PreviewWorker(QObject):
    started = Signal(object)  # PreviewRequest
    finished = Signal(object)  # PreviewResult
    failed = Signal(object, str)  # PreviewRequest, one-line message
    progress = Signal(object, float, str)  # PreviewRequest, fraction done (0..1), stage
    chunk = Signal(object, object)  # PreviewRequest, inference.pipeline.preview.PreviewChunk
    analysed = Signal(object)  # an "analyse" PreviewRequest: its region is ready to synthesise
    stopped = Signal()

    def __init__(self, engine: Engine, out_dir: Path) -> None:
        super().__init__()
        self._engine = engine
        self._out_dir = Path(out_dir)
        self._inbox: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._pending: PreviewRequest | None = None
        self._background: PreviewRequest | None = None  # the newest analyse request, not yet run
        self._running: PreviewRequest | None = None
        self._cancel = threading.Event()
        self._serials = itertools.count(1)
        self._files = itertools.count(1)
        self._vocal_in: tuple[tuple, str] | None = None  # (what it was separated from, the file)

    def request(self, req: PreviewRequest) -> PreviewRequest:
        """Queue ``req`` (any thread). A running preview is cancelled (its audio is out of date),
        and so is background work, unless it is this preview's own analysis."""
        with self._lock:
            req.serial = next(self._serials)
            self._pending = req
            running = self._running
            if running is not None and (running.kind == "preview" or not req.same_analysis(running)):
                self._cancel.set()
        self._inbox.put(True)
        return req

    def analyse(self, req: PreviewRequest) -> PreviewRequest:
        """Queue background work (any thread): load ``req.model`` and, with a file, analyse its
        region and then the whole file. Replaces background work not yet started; cancels running
        background work about something else."""
        req.kind = "analyse"
        with self._lock:
            req.serial = next(self._serials)
            self._background = req
            running = self._running
            if running is not None and running.kind == "analyse" and not req.same_analysis(running):
                self._cancel.set()
        self._inbox.put(True)
        return req

    def stop(self) -> None:
        self._cancel.set()
        self._inbox.put(None)

    @Slot()
    def run(self) -> None:
        while True:
            token = self._inbox.get()
            if token is None:
                break
            with self._lock:
                req, self._pending = self._pending, None
                if req is None:
                    req, self._background = self._background, None
                if req is None:
                    continue
                self._running = req
                self._cancel = threading.Event()
                cancel = self._cancel
            try:
                if req.kind == "analyse":
                    self._analyse(req, cancel)
                else:
                    self._preview(req, cancel)
            finally:
                with self._lock:
                    self._running = None
        self.stopped.emit()
        # End the thread's event loop from inside it (a queued quit would wait for the GUI).
        QThread.currentThread().quit()

    def _analyse(self, req: PreviewRequest, cancel: threading.Event) -> None:
        """Background work: the model, the region's analysis, then the whole file's. Failures are
        only logged: the preview the user asks for says what is wrong."""
        from inference.core.errors import Cancelled

        clock = time.perf_counter()
        try:
            converter = self._engine.converter()
            analyse = getattr(converter, "analyse", None)
            if analyse is None:
                return
            params = self._engine.make_params(req.params)
            analyse(req.input_path, req.model, params, (req.start_s, req.end_s) if req.input_path else None, cancel)
            log.info(
                "Background analysis of %s ready in %.2f s", req.input_path or "the model", time.perf_counter() - clock
            )
            self.analysed.emit(req)
            with self._lock:
                idle = self._pending is None and self._background is None
            if idle and req.input_path:  # the whole file, for the conversion; cancelled by any request
                analyse(req.input_path, req.model, params, None, cancel)
                log.info("Background analysis of the whole of %s done", req.input_path)
        except Cancelled:
            log.info("Background analysis %d cancelled", req.serial)
        except Exception as exc:  # noqa: BLE001 - background work: the user's next action reports it
            log.info("Background analysis of %s failed: %s", req.input_path, summarize(exc))

    def _preview(self, req: PreviewRequest, cancel: threading.Event) -> None:
        from inference.core.errors import Cancelled, RVCError, without_file

        self.started.emit(req)
        clock = time.perf_counter()
        try:
            converter = self._engine.converter()
            params = self._engine.make_params(req.params)
            start_s, streamed = req.start_s, hasattr(converter, "preview_stream") and req.cover is None
            vocal_wave = vocal_path = None
            if req.cover is not None:
                audio, sr, f0_in, f0_target, vocal_in, vocal = self._cover(converter, req, params, cancel)
                vocal_wave = envelope(vocal_in.mean(axis=1), sr, offset=start_s)
                vocal_path = self._write(vocal, sr, "preview-vocal")
            elif streamed:
                audio, sr, f0_in, f0_target, start_s = self._stream(converter, req, params, cancel)
            else:
                result = converter.preview(
                    req.input_path,
                    req.model,
                    params,
                    req.start_s,
                    req.end_s,
                    progress=self._reporter(req),
                    cancel=cancel,
                )
                audio, sr, f0_in, f0_target = _unpack(result)
            seconds = time.perf_counter() - clock
            wav_path = self._write(audio, sr)
            mono = audio.mean(axis=1) if audio.ndim == 2 else audio
            wave = envelope(mono, sr, offset=start_s, path=wav_path)
            curves = pitch_curves(f0_in, f0_target, offset=req.start_s) if f0_in is not None else None
        except Cancelled:
            log.info("Preview %d cancelled", req.serial)
            return
        except RVCError as exc:
            self.failed.emit(req, without_file(str(exc), req.input_path))  # the song's title names it
            return
        except Exception as exc:
            log.exception("Preview failed")
            self.failed.emit(req, summarize(exc))
            return
        self.finished.emit(
            PreviewResult(req, audio, sr, wave, curves, wav_path, seconds, start_s, streamed, vocal_wave, vocal_path)
        )

    def _cover(self, converter, req: PreviewRequest, params, cancel) -> tuple:
        """A cover of the region: ``(mix, rate, f0_in, f0_target, separated vocal, converted vocal)``,
        all at the song's rate; progress goes Separating, Converting, Mixing."""
        from inference.audio import audio_info, load_audio_segment
        from inference.core.errors import check_cancel
        from inference.covers.params import CoverParams
        from inference.covers.remix import remix_cover

        cover = CoverParams.coerce(req.cover)
        report = self._reporter(req)
        report(0.0, "Separating")
        rate = int(audio_info(req.input_path)[1])
        song = load_audio_segment(req.input_path, None, req.start_s, req.end_s, mono=False)
        song = np.ascontiguousarray(song[:, None] if song.ndim == 1 else song, dtype=np.float32)
        stems, _cached = self._engine.stage().stems(
            song, rate, cover, lambda f, _stage: report(0.5 * f, "Separating"), cancel
        )
        check_cancel(cancel)
        # The converter previews the vocal as a file: rewritten only when the separation changed,
        # so its analysis cache serves a new pitch.
        key = (req.input_path, req.start_s, req.end_s, _separation(req.cover))
        if self._vocal_in is None or self._vocal_in[0] != key:
            self._vocal_in = (key, self._write(stems.vocal.mean(axis=1), rate, "cover-vocal-in"))
        vocal_file = self._vocal_in[1]
        result = converter.preview(
            vocal_file,
            req.model,
            params,
            0.0,
            song.shape[0] / rate,
            progress=lambda f, _stage: report(0.5 + 0.45 * f, "Converting"),
            cancel=cancel,
        )
        converted, converted_rate, f0_in, f0_target = _unpack(result)
        check_cancel(cancel)
        report(0.95, "Mixing")
        pitch = float(params["pitch"] if isinstance(params, dict) else params.pitch)
        mixed = remix_cover(converted, converted_rate, stems, cover, pitch)
        return mixed.audio, rate, f0_in, f0_target, stems.vocal, mixed.vocal

    def _stream(self, converter, req: PreviewRequest, params, cancel) -> tuple:
        """Stream the preview out chunk by chunk; returns the whole of it, peak-normalised as a
        whole preview is, with its pitch curves and where it starts."""
        parts, first = [], None
        for chunk in converter.preview_stream(
            req.input_path,
            req.model,
            params,
            req.start_s,
            req.end_s,
            play_from=req.play_from,
            progress=self._reporter(req),
            cancel=cancel,
        ):
            self.chunk.emit(req, chunk)
            parts.append(chunk.audio)
            first = first or chunk
        if first is None:
            raise RuntimeError("the preview stream gave no audio")
        audio = np.concatenate(parts)
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        if peak > 0.99:
            audio = (audio * np.float32(0.99 / peak)).astype(np.float32)
        return audio, first.sample_rate, first.f0_in, first.f0_target, first.start_s

    def _reporter(self, req: PreviewRequest):
        """The converter's progress callback: a signal per new percent or stage (not per call)."""
        last: list = [None]

        def report(fraction: float, stage: str) -> None:
            key = (int(fraction * 100), stage)
            if key != last[0]:
                last[0] = key
                self.progress.emit(req, float(fraction), str(stage))

        return report

    def _write(self, audio: np.ndarray, sr: int, prefix: str = "preview") -> str:
        import soundfile as sf

        self._out_dir.mkdir(parents=True, exist_ok=True)
        # Alternate between a few names: the player may still hold the previous file open.
        path = self._out_dir / f"{prefix}-{next(self._files) % 4}.wav"
        data = np.asarray(audio, dtype=np.float32)
        sf.write(str(path), np.clip(data, -1.0, 1.0), sr, subtype="PCM_16")
        return str(path)
