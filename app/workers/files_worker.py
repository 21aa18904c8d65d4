"""Disk work the window needs, off the GUI thread: sorting dropped paths into audio files and
unsupported ones (folders and list files included), and decoding audio for the plots."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.logging_setup import summarize
from app.workers.waveform import envelope

log = logging.getLogger(__name__)

PLOT_RATE = 16000  # the plots show 16 kHz audio: plenty for an envelope


def _default_decoder(path: str, sr: int) -> np.ndarray:
    from inference.audio import load_audio

    return load_audio(path, sr=sr)


class FilesWorker(QObject):
    """Requests come in as signals (queued onto this worker's thread); results go out as signals."""

    expanded = Signal(list, list, str)  # audio paths, rejected paths, the request's purpose
    loaded = Signal(str, object)  # purpose ("input" / "output"), Waveform
    load_failed = Signal(str, str, str)  # purpose, path, one-line message

    request_expand = Signal(list, str)
    request_load = Signal(str, str, float)  # path, purpose, offset seconds
    request_stop = Signal()

    def __init__(self, decoder: Callable[[str, int], np.ndarray] | None = None) -> None:
        super().__init__()
        self._decoder = decoder or _default_decoder
        self.request_expand.connect(self.expand)
        self.request_load.connect(self.load)
        self.request_stop.connect(self._stop)

    @Slot(list, str)
    def expand(self, items: list, purpose: str) -> None:
        from inference.audio.files import expand_inputs

        audio, problems = expand_inputs(items, name_skipped=True)
        for label, reason in problems:
            log.info("Not added: %s (%s)", label, reason)
        self.expanded.emit([str(p) for p in audio], [label for label, _ in problems], purpose)

    @Slot(str, str, float)
    def load(self, path: str, purpose: str, offset: float) -> None:
        try:
            audio = self._decoder(path, PLOT_RATE)
            wave = envelope(audio, PLOT_RATE, offset=offset, path=path)
        except Exception as exc:  # noqa: BLE001 - shown as a message, never raised
            log.warning("Could not load %s for the plots: %s", path, exc)
            self.load_failed.emit(purpose, path, summarize(exc))
            return
        self.loaded.emit(purpose, wave)

    @Slot()
    def _stop(self) -> None:
        QThread.currentThread().quit()


def start_worker_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a new started thread named ``name`` (with an event loop)."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread
