"""Scans the model folders off the GUI thread and keeps the list live.

A ``QFileSystemWatcher`` on the folders (and each model's folder) notices most changes at
once; a slow poll catches what it misses (folders that did not exist yet, network volumes).
Both end in ``ModelLibrary.refresh()``, which only re-reads what changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)

WATCH_DEBOUNCE_MS = 400
POLL_INTERVAL_MS = 10_000
MAX_WATCHED = 2000  # file descriptors are finite; the poll covers the rest


class LibraryWorker(QObject):
    """Lives on its own thread. Emits the full model list whenever it changes."""

    models_changed = Signal(list)  # list[VoiceModel], sorted by name
    scanning = Signal(bool)
    scan_failed = Signal(str)
    # Requests from other threads (queued onto this worker's thread).
    request_scan = Signal()
    request_folders = Signal(list)
    request_weights = Signal()
    request_stop = Signal()

    def __init__(
        self,
        folders: list[Path],
        cache_path: Path | None,
        library_factory: Callable[..., Any] | None = None,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        weights_dirs: Callable[[], list[Path]] | None = None,
    ) -> None:
        super().__init__()
        self._folders = [Path(f) for f in folders]
        self._weights_dirs = weights_dirs or list
        self._cache_path = cache_path
        self._factory = library_factory
        self._poll_interval_ms = poll_interval_ms
        self._library: Any = None
        self._watcher: QFileSystemWatcher | None = None
        self._debounce: QTimer | None = None
        self._poll: QTimer | None = None
        self.request_scan.connect(self.rescan)
        self.request_folders.connect(self.set_folders)
        self.request_weights.connect(self.weights_changed)
        self.request_stop.connect(self.stop)

    @Slot()
    def start(self) -> None:
        """Build the library and scan (runs on the worker thread when it starts)."""
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule)
        self._debounce = QTimer(self, singleShot=True, interval=WATCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.refresh)
        self._poll = QTimer(self, interval=self._poll_interval_ms)
        self._poll.timeout.connect(self.refresh)
        self._poll.start()
        self.rescan()

    def _make_library(self) -> Any:
        factory = self._factory
        if factory is None:
            from inference.models.library import ModelLibrary

            factory = ModelLibrary
        return factory(
            folders=list(self._folders),
            include_replay=True,
            cache_path=self._cache_path,
            weights_dirs=self._weights_dirs(),  # where models' own embedders are looked for
        )

    @Slot()
    def rescan(self) -> None:
        self.scanning.emit(True)
        try:
            if self._library is None:
                self._library = self._make_library()
            models = self._library.scan()
        except Exception as exc:
            log.exception("Model scan failed")
            self.scan_failed.emit(f"Could not read the model folders: {exc}")
            models = []
        finally:
            self.scanning.emit(False)
        self._emit(models)

    @Slot(list)
    def set_folders(self, folders: list) -> None:
        """Replace the user's folders (Replay's is always included) and rescan."""
        self._folders = [Path(f) for f in folders]
        if self._library is not None:
            current = {Path(f) for f in self._library.folders}
            wanted = set(self._folders)
            for folder in current - wanted:
                self._library.remove_folder(folder)
            for folder in self._folders:
                if folder not in current:
                    self._library.add_folder(folder)
        self.rescan()

    @Slot()
    def weights_changed(self) -> None:
        """The weights folder changed: a model's embedder may be found (or lost) now."""
        if self._library is not None:
            self._library.weights_dirs = [Path(d) for d in self._weights_dirs()]
        self.rescan()

    @Slot()
    def refresh(self) -> None:
        if self._library is None:
            return
        try:
            changes = self._library.refresh()
        except Exception:
            log.exception("Model refresh failed")
            return
        if any(getattr(changes, name, None) for name in ("added", "removed", "changed")):
            self._emit(self._library.scan())

    def _schedule(self, _path: str = "") -> None:
        if self._debounce is not None:
            self._debounce.start()

    def _emit(self, models: list) -> None:
        models = sorted(models, key=lambda m: (str(m.name).lower(), str(m.id)))
        self._watch(models)
        self.models_changed.emit(models)

    def _watch(self, models: list) -> None:
        if self._watcher is None:
            return
        wanted: list[str] = []
        # The library names its roots (Replay's models folder included, so a model unzipped
        # there shows at once); a stand-in without that method gives its user folders.
        watched_folders = getattr(self._library, "watched_folders", None)
        roots = [
            Path(f)
            for f in (
                watched_folders() if callable(watched_folders) else getattr(self._library, "folders", self._folders)
            )
        ]
        for root in roots:
            if root.is_dir():
                wanted.append(str(root))
        for model in models:
            root = getattr(model, "root", None)
            if root and Path(root).is_dir():
                wanted.append(str(root))
        wanted = list(dict.fromkeys(wanted))[:MAX_WATCHED]
        watched = set(self._watcher.directories())
        stale = [p for p in watched if p not in wanted]
        if stale:
            self._watcher.removePaths(stale)
        new = [p for p in wanted if p not in watched]
        if new:
            self._watcher.addPaths(new)

    @Slot()
    def stop(self) -> None:
        """Stop the timers and the watcher on their own thread, then end the thread."""
        for timer in (self._poll, self._debounce):
            if timer is not None:
                timer.stop()
        if self._watcher is not None:
            paths = self._watcher.directories()
            if paths:
                self._watcher.removePaths(paths)
        QThread.currentThread().quit()


class LibraryService(QObject):
    """Owns the library worker and its thread; the window talks to this on the GUI thread."""

    models_changed = Signal(list)
    scanning = Signal(bool)
    scan_failed = Signal(str)

    def __init__(
        self,
        folders: list[Path],
        cache_path: Path | None,
        library_factory=None,
        poll_interval_ms: int = POLL_INTERVAL_MS,
        parent: QObject | None = None,
        weights_dirs: Callable[[], list[Path]] | None = None,
    ) -> None:
        super().__init__(parent)
        self.models: list = []
        self.loaded = False
        self.worker = LibraryWorker(folders, cache_path, library_factory, poll_interval_ms, weights_dirs)
        self.thread = QThread()
        self.thread.setObjectName("library")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.start)
        self.worker.models_changed.connect(self._on_models)
        self.worker.scanning.connect(self.scanning)
        self.worker.scan_failed.connect(self.scan_failed)

    def start(self) -> None:
        self.thread.start()

    def _on_models(self, models: list) -> None:
        self.models = models
        self.loaded = True
        self.models_changed.emit(models)

    def rescan(self) -> None:
        self.worker.request_scan.emit()

    def set_folders(self, folders: list[Path]) -> None:
        self.worker.request_folders.emit([str(f) for f in folders])

    def weights_changed(self) -> None:
        self.worker.request_weights.emit()

    def find(self, model_id: str):
        return next((m for m in self.models if m.id == model_id), None)

    def shutdown(self, timeout_s: float = 1.0) -> bool:
        if not self.thread.isRunning():
            return True
        self.worker.request_stop.emit()
        return self.thread.wait(int(timeout_s * 1000))
