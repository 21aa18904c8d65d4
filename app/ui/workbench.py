"""The middle of the window: the current song, its plots, the player and the preview.

It asks workers for everything slow (decoding for the plots, previews) and draws what they
send back; replies about a file or a preview that is no longer current are dropped.

Work starts before the click: when a song and a model are chosen, the preview worker loads the
model and analyses the preview region in the background (then the whole song). A preview streams:
its audio plays as soon as the rest will be ready before the playback needs it, and the plots fill
in as it arrives. A new pitch while the preview plays restarts it from the playhead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QVBoxLayout, QWidget

from app.ui.display import home_as_tilde, short_path
from app.ui.drop_zone import DropZone
from app.ui.player import OUTPUT, Player
from app.ui.plots import PlotsPanel
from app.ui.preview_panel import PreviewPanel
from app.ui.stream_player import AudioStream, should_start
from app.workers.files_worker import FilesWorker
from app.workers.jobs import Job, JobStatus
from app.workers.preview_worker import PreviewRequest, PreviewResult, PreviewWorker
from app.workers.waveform import Waveform, envelope, pitch_curves

log = logging.getLogger(__name__)

RESYNTH_DELAY_MS = 150  # a dragged pitch slider settles before re-synthesis starts


class Workbench(QWidget):
    convert_requested = Signal()  # the whole current file, with the current model and params
    open_requested = Signal()  # the drop zone was clicked
    first_sound = Signal(float)  # seconds from a preview's request to the start of its playback
    analysis_ready = Signal()  # the background analysis of the current region is done

    def __init__(self, files: FilesWorker, preview: PreviewWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.files = files
        self.preview_worker = preview
        self.path: str | None = None
        self.model: Any = None
        self.params: dict = {}
        self.cover: dict | None = None  # the cover's settings while the switch is on
        self.before_cover: Callable[[], bool] = lambda: True  # False: a cover's model is missing (offered)
        self.tracked_job: str | None = None  # the queue job whose result the plots show
        self._latest_serial = 0
        self._busy_text = ""
        self._last_preview: PreviewRequest | None = None
        self._output_path: str | None = None
        self._vocal_path: str | None = None  # a finished cover's separated vocal stem, being drawn
        self._stream: AudioStream | None = None  # the preview being streamed, and its request
        self._stream_serial = 0
        self._stream_started = False
        self._requested_at = 0.0
        self._chunk_times: list[tuple[float, float]] = []  # (wall time, seconds of audio made)
        self._chunk_work: list[tuple[float, float]] = []  # (seconds made, the engine's own work) per window
        self._analysed: PreviewRequest | None = None
        self._prefetched: PreviewRequest | None = None
        self._rates: dict[tuple, float] = {}  # (model, backend) -> seconds of audio made per second

        self.title = QLabel("No song yet", objectName="fileTitle")
        self.subtitle = QLabel("", objectName="hint")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice = QLabel("", objectName="notice", wordWrap=True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.hide()
        self.drop_zone = DropZone()
        self.drop_zone.clicked.connect(self.open_requested)
        self.plots = PlotsPanel()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.drop_zone)
        self.stack.addWidget(self.plots)
        self.player = Player()
        self.preview_panel = PreviewPanel()

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.subtitle, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 4)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.notice)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.player)
        layout.addWidget(self.preview_panel)

        self._resynth = QTimer(self, singleShot=True, interval=RESYNTH_DELAY_MS)
        self._resynth.timeout.connect(self._resynthesise)
        self.plots.region_changed.connect(self._region_changed)
        self.plots.seek_requested.connect(self.player.seek)
        self.player.position_changed.connect(self.plots.set_playhead)
        self.preview_panel.preview_requested.connect(self.request_preview)
        self.preview_panel.convert_requested.connect(self.convert_requested)
        files.loaded.connect(self._loaded)
        files.load_failed.connect(self._load_failed)
        preview.finished.connect(self._preview_finished)
        preview.chunk.connect(self._preview_chunk)
        preview.analysed.connect(self._analysed_region)
        preview.failed.connect(self._preview_failed)
        preview.progress.connect(self._preview_progress)
        self._update_ready()

    # -- what is shown ------------------------------------------------------------------------
    def set_file(self, path: str | None) -> None:
        """Show ``path`` (decoded on the files worker; the plots fill in when it arrives)."""
        if path == self.path:
            return
        self.path = path
        self.tracked_job = None
        self._last_preview = None
        self._output_path = None
        self._analysed = self._prefetched = None
        self._stream, self._stream_serial = None, 0
        self.set_notice("")
        self.plots.clear()
        self.player.set_input(path)
        if path:
            self.title.setText(Path(path).name)
            self.subtitle.setText(short_path(Path(path).parent))
            self.stack.setCurrentWidget(self.plots)
            self.plots.set_output_hint("Loading…")
            self.files.request_load.emit(path, "input", 0.0)
        else:
            self.title.setText("No song yet")
            self.subtitle.setText("")
            self.stack.setCurrentWidget(self.drop_zone)
        self._update_ready()

    def set_model(self, model: Any) -> None:
        changed = getattr(model, "id", None) != getattr(self.model, "id", None)
        if changed:
            self._last_preview = None
            if self.path and self.tracked_job is None:
                self.plots.clear_output("Press Preview, or convert the whole song")
        self.model = model
        self._update_ready()
        if changed:
            self._prefetch()

    def set_params(self, values: dict) -> None:
        """New parameter values; re-synthesises the last preview if there is one."""
        changed = values != self.params
        method_changed = values.get("f0_method") != self.params.get("f0_method")
        self.params = dict(values)
        if changed and self._last_preview is not None:
            self._resynth.start()
        elif method_changed:
            self._prefetch()  # another pitch method: another analysis

    def set_cover(self, cover: dict | None) -> None:
        """The cover switch (``None``: off) and its settings; the next preview follows them."""
        changed = cover != self.cover
        self.cover = dict(cover) if cover is not None else None
        if changed and self._last_preview is not None:
            self._resynth.start()

    def track_job(self, job: Job) -> None:
        """Show this job's progress and result for the current file."""
        if job.input_path != self.path:
            self.set_file(job.input_path)
        self.tracked_job = job.id
        self.update_job(job)

    def set_notice(self, text: str) -> None:
        """A message above the plots (a failed job's reason, in full); empty hides it."""
        self.notice.setText(f"⚠ {home_as_tilde(text)}" if text else "")
        self.notice.setVisible(bool(text))

    def update_job(self, job: Job) -> None:
        if job.id != self.tracked_job:
            return
        if job.status != JobStatus.FAILED:
            self.set_notice("")
        if job.status == JobStatus.RUNNING:
            self.plots.set_progress(job.progress)
        elif job.status == JobStatus.QUEUED:
            self.plots.set_progress(None)
            self.plots.set_output_hint("Waiting in the queue…")
        elif job.status == JobStatus.DONE and job.output_path:
            if job.output_path != self._output_path:
                self._output_path = job.output_path
                self.plots.set_output_hint("Loading the result…")
                self.files.request_load.emit(job.output_path, "output", 0.0)
                # a cover with its stems: the separated vocal drawn, the converted one playable alone
                self.player.set_vocal(job.stems.get("converted vocal"))
                self._vocal_path = job.stems.get("vocal")
                if self._vocal_path:
                    self.files.request_load.emit(self._vocal_path, "vocal", 0.0)
        elif job.status == JobStatus.FAILED:
            self.plots.set_progress(None)
            self.plots.set_output_hint("The conversion failed (see the message above)")
            self.set_notice(job.error or "The conversion failed")
        elif job.status == JobStatus.CANCELLED:
            self.plots.set_progress(None)
            self.plots.set_output_hint("Cancelled")

    # -- preview ----------------------------------------------------------------------------
    def can_preview(self) -> bool:
        return bool(self.path and self.model is not None and getattr(self.model, "ok", True))

    def request_preview(self, resynth: bool = False) -> PreviewRequest | None:
        if not self.can_preview() or (self.cover is not None and not self.before_cover()):
            return None
        start, end = self.plots.region()
        play_from = None
        if resynth and self.player.side == OUTPUT and self.player.is_playing():
            position = self.player.position()  # a new pitch while it plays: go on from the playhead
            play_from = position if start <= position < end - 0.2 else None
        req = PreviewRequest(
            self.path, self.model, dict(self.params), start, end, play_from=play_from, cover=self.cover
        )
        same = req.same_analysis(self._last_preview)
        self._requested_at = time.perf_counter()
        req = self.preview_worker.request(req)
        self._latest_serial = req.serial
        self._last_preview = req
        if self.cover is not None:  # not streamed: separated, converted and mixed, then played
            self._busy_text = "Remixing the cover…" if (resynth and same) else "Making a cover of the region…"
        else:
            self._busy_text = "Re-synthesising…" if (resynth and same) else "Converting the region…"
        self.preview_panel.set_busy(self._busy_text)
        return req

    def _preview_progress(self, req: PreviewRequest, fraction: float, stage: str) -> None:
        if req.serial != self._latest_serial or req.input_path != self.path:
            return
        text = f"{self._busy_text} {int(round(fraction * 100))}%"
        self.preview_panel.set_busy(f"{text} · {stage}" if stage else text)
        if self.plots.output_hint.isVisible():  # nothing converted shown yet: say so where it will be
            self.plots.set_output_hint(text)

    def _resynthesise(self) -> None:
        if self._last_preview is not None:
            self.request_preview(resynth=True)

    def _region_changed(self, start: float, end: float) -> None:
        self.preview_panel.set_region(start, end)
        self._prefetch()

    # -- work before the click, and streaming -------------------------------------------------
    def _prefetch(self) -> None:
        """Ask for the model to be loaded and the region analysed in the background."""
        if self.model is None or not getattr(self.model, "ok", True) or self.cover is not None:
            return  # a cover's analysis is of its separated vocal: made by the preview itself
        if self.path and self.plots.duration <= 0:
            return  # the region is known once the song is loaded
        start, end = self.plots.region() if self.path else (0.0, 0.0)
        req = PreviewRequest(self.path, self.model, dict(self.params), start, end)
        if self._prefetched is not None and req.same_analysis(self._prefetched):
            return  # asked for already
        self._prefetched = self.preview_worker.analyse(req)

    def _analysed_region(self, req: PreviewRequest) -> None:
        start, end = self.plots.region()
        current = PreviewRequest(self.path, self.model, dict(self.params), start, end)
        if req.input_path and current.same_analysis(req):
            self._analysed = req
            if not self.preview_panel.busy and self._last_preview is None:  # not over a preview's report
                self.preview_panel.set_analysed()
            self.analysis_ready.emit()

    def _synthesis_rate(self, req: PreviewRequest) -> float:
        """Seconds of audio made per second, for the start rule.

        The engine says how long each window's own work took (``work_s``: the region's one-off
        loading, analysis and encoding left out), so the first window already tells the rate;
        from the second on, the windows after the first tell it (the first is half as long and
        carries what each window costs once, and on a new shape oneDNN's kernel building, so it
        runs slower than the rest: 0.77 s for 0.5 s against 1 s for 1 s). From the third window
        on, the wall-clock rate over the windows after the first counts too (other work on the
        machine shows there), and the slower of the two is used. Without
        the engine's figures (older engines), the rate this model ran at last time stands in for
        the first window's, whose wall time includes the one-off work.
        """
        key = (getattr(req.model, "id", req.model), req.params.get("backend"))
        times = self._chunk_times
        windows = self._chunk_work[1:] or self._chunk_work
        made, work = sum(m for m, _ in windows), sum(w for _, w in windows)
        engine = made / work if work > 0 else 0.0
        wall = 0.0
        if len(times) >= 3:
            (t0, s0), (t1, s1) = times[1], times[-1]
            wall = (s1 - s0) / max(1e-6, t1 - t0)
        if engine and wall:
            rate = min(engine, wall)
        elif engine or wall:
            rate = engine or wall
        else:
            (t0, s0), (t1, s1) = times[0], times[-1]
            return max((s1 - s0) / max(1e-6, t1 - t0), self._rates.get(key, 0.0))
        self._rates[key] = rate
        return rate

    def _preview_chunk(self, req: PreviewRequest, chunk: Any) -> None:
        if req.serial != self._latest_serial or req.input_path != self.path:
            return
        now = time.perf_counter()
        if req.serial != self._stream_serial:  # the first window of a new preview
            self._stream_serial, self._stream_started = req.serial, False
            self._stream = AudioStream(chunk.sample_rate, self)
            self._stream_offset = chunk.start_s
            self._chunk_times = [(self._requested_at, 0.0)]
            self._chunk_work = []
            self.player.set_output_stream(self._stream, offset=chunk.start_s)
            if chunk.f0_in is not None:
                self.plots.set_pitch(pitch_curves(chunk.f0_in, chunk.f0_target, offset=req.start_s))
        stream = self._stream
        stream.append(chunk.audio, chunk.last)
        self._chunk_times.append((now, stream.made_s))
        work_s = float(getattr(chunk, "work_s", 0.0) or 0.0)
        if work_s > 0:
            self._chunk_work.append((chunk.end_s - chunk.start_s, work_s))
        self.plots.set_output(envelope(stream.audio(), chunk.sample_rate, offset=self._stream_offset))
        rate = self._synthesis_rate(req)  # measured on every window: the next preview starts sooner
        if not self._stream_started:
            to_make = 0.0 if chunk.last else max(0.0, chunk.region_end_s - chunk.end_s)
            if should_start(stream.made_s, to_make, rate):
                self._stream_started = True
                self.player.play_from(self._stream_offset, OUTPUT)
                self.first_sound.emit(now - self._requested_at)

    def _preview_finished(self, result: PreviewResult) -> None:
        req = result.request
        if req.serial != self._latest_serial or req.input_path != self.path:
            return  # a newer preview is on its way
        previous = getattr(self, "_shown_preview", None)
        resynth = req.same_analysis(previous)
        self._shown_preview = req
        self.tracked_job = None
        self._output_path = result.wav_path
        self.set_notice("")
        self.plots.set_output(result.wave)
        self.plots.set_vocal(result.vocal_wave)  # a cover: its separated vocal over the song
        self.player.set_vocal(result.vocal_path, offset=result.start_s)
        if result.f0 is not None:
            self.plots.set_pitch(result.f0)
        if not (result.streamed and self._stream_serial == req.serial and self._stream is not None):
            self.player.set_output(result.wav_path, offset=result.start_s)
            self.player.play_from(result.start_s, OUTPUT)
            self.first_sound.emit(time.perf_counter() - self._requested_at)
        elif not self._stream_started:  # done before the start rule fired (a very short region)
            self._stream_started = True
            self.player.play_from(result.start_s, OUTPUT)
            self.first_sound.emit(time.perf_counter() - self._requested_at)
        self.preview_panel.set_done(result.seconds, req.end_s - result.start_s, resynth)

    def _preview_failed(self, req: PreviewRequest, message: str) -> None:
        if req.serial == self._latest_serial:
            self._last_preview = None
            self.preview_panel.set_failed("Preview failed")
            self.set_notice(message)

    # -- loaded audio -------------------------------------------------------------------------
    def _loaded(self, purpose: str, wave: Waveform) -> None:
        if purpose == "input" and wave.path == self.path:
            self.plots.set_input(wave)
            self.player.set_duration(wave.duration)
            self._prefetch()
        elif purpose == "output" and wave.path == self._output_path:
            self.plots.set_output(wave)
            self.player.set_output(wave.path, offset=wave.offset)
        elif purpose == "vocal" and wave.path == self._vocal_path:
            self.plots.set_vocal(wave)

    def _load_failed(self, purpose: str, path: str, message: str) -> None:
        if purpose == "input" and path == self.path:
            self.plots.set_output_hint(f"Cannot read this file: {message}")
        elif purpose == "output" and path == self._output_path:
            self.plots.set_output_hint(f"Cannot read the result: {message}")

    def _update_ready(self) -> None:
        if not self.path:
            reason = "Drop a song to preview it"
        elif self.model is None:
            reason = "Choose a voice model on the left"
        else:
            reason = ""
        self.preview_panel.set_ready(self.can_preview(), reason)
        if self.can_preview() and not self.preview_panel.busy and self._last_preview is None:
            self.preview_panel.time_label.setText("Drag the blue region to choose what to preview")
