"""Converts a short region for preview, on its own thread, keeping the engine's cached analysis.

The worker owns one Converter for its whole life, so the analysis of the input (features and
pitch) made by the first preview is reused when only the pitch or the mix settings change:
that re-synthesis is what makes dragging the pitch feel immediate. Requests coalesce: while one
runs, only the newest waiting request is kept.
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

    def same_analysis(self, other: PreviewRequest | None) -> bool:
        """True when ``other`` needs the same analysis (only synthesis settings differ)."""
        return (
            other is not None
            and other.input_path == self.input_path
            and getattr(other.model, "id", other.model) == getattr(self.model, "id", self.model)
            and (other.start_s, other.end_s) == (self.start_s, self.end_s)
            and all(other.params.get(k) == self.params.get(k) for k in ANALYSIS_PARAMS)
        )


@dataclass
class PreviewResult:
    request: PreviewRequest
    audio: np.ndarray
    sample_rate: int
    wave: Waveform  # offset = the region's start, so it lines up with the input
    f0: PitchCurves | None
    wav_path: str  # what the player plays
    seconds: float  # wall time of this preview


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
    stopped = Signal()

    def __init__(self, engine: Engine, out_dir: Path) -> None:
        super().__init__()
        self._engine = engine
        self._out_dir = Path(out_dir)
        self._inbox: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self._pending: PreviewRequest | None = None
        self._running: PreviewRequest | None = None
        self._cancel = threading.Event()
        self._serials = itertools.count(1)
        self._files = itertools.count(1)

    def request(self, req: PreviewRequest) -> PreviewRequest:
        """Queue ``req`` (any thread). A running preview of something else is cancelled."""
        with self._lock:
            req.serial = next(self._serials)
            self._pending = req
            if self._running is not None and not req.same_analysis(self._running):
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
                    continue
                self._running = req
                self._cancel = threading.Event()
                cancel = self._cancel
            try:
                self._preview(req, cancel)
            finally:
                with self._lock:
                    self._running = None
        self.stopped.emit()
        # End the thread's event loop from inside it (a queued quit would wait for the GUI).
        QThread.currentThread().quit()

    def _preview(self, req: PreviewRequest, cancel: threading.Event) -> None:
        from inference.core.errors import Cancelled, RVCError, without_file

        self.started.emit(req)
        clock = time.perf_counter()
        try:
            converter = self._engine.converter()
            params = self._engine.make_params(req.params)
            result = converter.preview(
                req.input_path, req.model, params, req.start_s, req.end_s, progress=self._reporter(req), cancel=cancel
            )
            audio, sr, f0_in, f0_target = _unpack(result)
            seconds = time.perf_counter() - clock
            wav_path = self._write(audio, sr)
            wave = envelope(audio, sr, offset=req.start_s, path=wav_path)
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
        self.finished.emit(PreviewResult(req, audio, sr, wave, curves, wav_path, seconds))

    def _reporter(self, req: PreviewRequest):
        """The converter's progress callback: a signal per new percent or stage (not per call)."""
        last: list = [None]

        def report(fraction: float, stage: str) -> None:
            key = (int(fraction * 100), stage)
            if key != last[0]:
                last[0] = key
                self.progress.emit(req, float(fraction), str(stage))

        return report

    def _write(self, audio: np.ndarray, sr: int) -> str:
        import soundfile as sf

        self._out_dir.mkdir(parents=True, exist_ok=True)
        # Alternate between a few names: the player may still hold the previous file open.
        path = self._out_dir / f"preview-{next(self._files) % 4}.wav"
        data = np.asarray(audio, dtype=np.float32)
        sf.write(str(path), np.clip(data, -1.0, 1.0), sr, subtype="PCM_16")
        return str(path)
