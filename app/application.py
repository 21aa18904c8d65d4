"""Builds the Qt application and its main window, and runs the event loop."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from app.logging_setup import ExceptionReporter, setup_logging
from inference.core import paths

log = logging.getLogger(__name__)

APP_DISPLAY_NAME = "RVC Studio"
ORGANIZATION = "RVC Studio"
BUNDLE_ID = "com.rvcstudio.RVCStudio"
# How long a thread may keep Python's lock while another waits for it (Python's default: 5 ms).
# The GUI thread takes and gives back the lock around each Qt call, so one paint can wait for it
# dozens of times behind a worker busy in Python: 5 ms each time added up to 140-170 ms stalls
# while a batch loaded its generator; at 1 ms, 60 ms (benchmarks.preview, MLX).
SWITCH_INTERVAL_S = 0.001


class StudioApplication(QApplication):
    """A QApplication that turns macOS "open file" events (Dock drops, Finder's Open With)
    into the ``files_opened`` signal. Finder sends one event per file; the files of one drop
    arrive together in one signal."""

    files_opened = Signal(list)
    COALESCE_MS = 100

    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self._opened: list[str] = []

    def event(self, event):
        from PySide6.QtCore import QEvent, QTimer

        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                if not self._opened:
                    QTimer.singleShot(self.COALESCE_MS, self._emit_opened)
                self._opened.append(path)
            return True
        return super().event(event)

    def _emit_opened(self) -> None:
        paths, self._opened = self._opened, []
        if paths:
            self.files_opened.emit(paths)


class _ErrorBridge(QObject):
    """Carries an uncaught exception's summary to the GUI thread and shows one dialog."""

    report = Signal(str)

    def __init__(self, log_path: Path) -> None:
        super().__init__()
        self.log_path = log_path
        self.report.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def _show(self, summary: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, APP_DISPLAY_NAME, "Something went wrong.")
        box.setInformativeText(f"{summary}\n\nDetails were written to the log:\n{self.log_path}")
        box.exec()


_NONE_LEAK = {"compensate": False}


def _qt_message_handler(mode: QtMsgType, context, message: str) -> None:
    if _NONE_LEAK["compensate"]:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, message)


def _install_message_handler() -> None:
    """Send Qt's messages to the log.

    PySide6 6.12 on Python 3.11 drops one reference to ``None`` each time it calls a Python
    message handler; after enough messages None is freed and the process aborts
    ("none_dealloc"). One probe message measures that, and the handler then gives the
    reference back on every call (nothing to do where None is immortal, Python 3.12+).
    """
    from PySide6.QtCore import qDebug

    _NONE_LEAK["compensate"] = False
    qInstallMessageHandler(_qt_message_handler)
    before = sys.getrefcount(None)
    qDebug("message handler probe")
    _NONE_LEAK["compensate"] = sys.getrefcount(None) < before
    if _NONE_LEAK["compensate"]:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))


def create_application(argv: list[str] | None = None):
    """Create (or reuse) the application object, logging and the exception hook.

    Returns ``(app, reporter)``. Tests call this with pytest-qt's ``qapp`` already present.
    """
    app = QApplication.instance() or StudioApplication([APP_DISPLAY_NAME, *(argv or [])])
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app.setApplicationName(APP_DISPLAY_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain("rvcstudio.app")
    log_path = setup_logging(paths.log_dir())
    _install_message_handler()
    bridge = _ErrorBridge(log_path)
    app._error_bridge = bridge  # keep alive for the app's lifetime
    reporter = ExceptionReporter(show=bridge.report.emit, log_path=log_path)
    reporter.install()
    log.info("RVC Studio starting; log at %s", log_path)
    return app, reporter


class Services:
    """Everything the window uses that is not a widget: settings, the library, the queue and
    the workers with their threads. Built in :func:`build_services`, passed to the window."""

    def __init__(
        self,
        settings,
        library,
        queue,
        preview,
        preview_thread,
        files,
        files_thread,
        engines,
        presets=None,
        separation=None,
    ) -> None:
        self.settings = settings
        self.presets = presets  # inference.pipeline.presets.PresetStore: the saved parameter sets
        self.library = library
        self.queue = queue
        self.preview = preview
        self.preview_thread = preview_thread
        self.files = files
        self.files_thread = files_thread
        self.engines = engines
        self.separation = separation  # app.workers.separation_worker.SeparationModels: covers' models
        self.shut_down = False
        self.shut_down_ok = True

    def weights_changed(self) -> None:
        """The weights folder changed: the next conversion builds new converters, and the
        library looks for the models' own embedders again."""
        for engine in self.engines:
            engine.reset()
        self.library.weights_changed()

    def shutdown(self, timeout_s: float = 1.8) -> bool:
        """Cancel what runs, stop every thread; returns True if all ended within ``timeout_s``."""
        if self.shut_down:  # the window's close did it already: the same answer again
            return self.shut_down_ok
        self.shut_down = True
        import time

        deadline = time.monotonic() + timeout_s
        self.preview.stop()
        if self.separation is not None:
            self.separation.cancel()  # a download's part is kept: the next one resumes it
        self.files.request_stop.emit()
        ok = self.queue.shutdown(timeout_s=max(0.1, deadline - time.monotonic()))
        ok &= self.library.shutdown(timeout_s=max(0.05, deadline - time.monotonic()))
        ok &= self.preview_thread.wait(int(max(0.05, deadline - time.monotonic()) * 1000))
        ok &= self.files_thread.wait(int(max(0.05, deadline - time.monotonic()) * 1000))
        self.settings.sync()
        self.shut_down_ok = bool(ok)
        return self.shut_down_ok


def build_services(
    settings=None,
    converter_factory=None,
    params_factory=None,
    library_factory=None,
    decoder=None,
    poll_interval_ms: int | None = None,
    stage_factory=None,
) -> Services:
    """Build and start the app's workers. The factories replace the engine in tests."""
    from PySide6.QtCore import QThread

    from app.settings import Settings
    from app.workers.batch import BatchQueue
    from app.workers.engine import Engine
    from app.workers.files_worker import FilesWorker, start_worker_thread
    from app.workers.jobs import QueueStore
    from app.workers.library_worker import POLL_INTERVAL_MS, LibraryService
    from app.workers.preview_worker import PreviewWorker
    from app.workers.separation_worker import SeparationModels

    settings = settings or Settings()

    def weights_dirs() -> list[Path]:
        dirs = [paths.replay_weights_dir()]
        if settings.weights_folder:
            dirs.append(settings.weights_folder)
        return dirs

    def engine() -> Engine:
        return Engine(
            weights_dirs,
            paths.cache_dir(),
            factory=converter_factory,
            params_factory=params_factory,
            stage_factory=stage_factory,
            stem_cache_bytes=lambda: settings.stem_cache_gb * 1024**3,
        )

    # The queue and the preview each keep their own converter (and its cached analysis), so a
    # preview never waits for a long batch job.
    queue_engine, preview_engine = engine(), engine()
    library = LibraryService(
        settings.model_folders,
        paths.cache_dir() / "library.json",
        library_factory,
        poll_interval_ms or POLL_INTERVAL_MS,
        weights_dirs=weights_dirs,
    )
    queue = BatchQueue(queue_engine, QueueStore(paths.data_dir()))
    preview = PreviewWorker(preview_engine, paths.cache_dir() / "previews")
    preview_thread = QThread()
    preview_thread.setObjectName("preview")
    preview.moveToThread(preview_thread)
    preview_thread.started.connect(preview.run)
    preview_thread.start()
    files = FilesWorker(decoder)
    files_thread = start_worker_thread(files, "files")
    library.models_changed.connect(queue.set_models)
    library.start()
    from inference.pipeline.presets import PresetStore

    return Services(
        settings,
        library,
        queue,
        preview,
        preview_thread,
        files,
        files_thread,
        [queue_engine, preview_engine],
        PresetStore(paths.data_dir()),
        SeparationModels(queue_engine.stage),
    )


def build_main_window(app, files: list[str] | None = None, services: Services | None = None):
    """The main window, wired to its workers. Kept separate so tests can build it."""
    from app.ui.main_window import MainWindow

    services = services or build_services()
    window = MainWindow(model_folders=[paths.replay_models_dir()], services=services)
    if hasattr(app, "files_opened"):
        app.files_opened.connect(window.add_files)
    if files:
        window.add_files(files)
    return window


def _quit_on_signals(app) -> dict:
    """SIGINT (Ctrl-C in the terminal that started the app) and SIGTERM close the app as its
    Quit does: jobs are cancelled, partial files removed. Python runs signal handlers only
    between bytecodes, so a timer wakes the interpreter while Qt waits for events."""
    import signal

    from PySide6.QtCore import QTimer

    received: dict = {}

    def on_signal(signum, frame) -> None:
        received["signum"] = signum
        app.quit()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return received


def run_gui(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("-")]
    app, _reporter = create_application(argv)
    from app.instance import SingleInstance

    instance = SingleInstance(paths.data_dir())
    if not instance.acquire():
        # Another RVC Studio owns the queue: give it our files and leave (no second queue runs).
        handed = instance.send(files)
        log.info(
            "Another instance (pid %s) is running; handed it %d file(s): %s", instance.owner_pid(), len(files), handed
        )
        if not handed:
            print("RVC Studio is already running, but it did not answer; try again in a moment.", file=sys.stderr)
            return 1
        return 0
    window = build_main_window(app, files)
    instance.files_received.connect(window.add_files)
    instance.activate.connect(lambda: (window.showNormal(), window.raise_(), window.activateWindow()))
    received = _quit_on_signals(app)
    gc.freeze()  # what start-up built lives as long as the app: no full collection walks it again
    window.show()
    code = app.exec()
    if "signum" in received:
        code = 128 + int(received["signum"])
    if not window.services.shutdown():
        # A conversion step that cannot be interrupted is still running: leave now rather than
        # keep the user waiting (its partial output is removed at the next launch).
        log.warning("Exiting with a worker still busy")
        instance.release()
        logging.shutdown()
        os._exit(code)
    instance.release()
    return code
