"""Builds the Qt application and its main window, and runs the event loop."""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from app.logging_setup import ExceptionReporter, setup_logging
from inference import paths

log = logging.getLogger(__name__)

APP_DISPLAY_NAME = "RVC Studio"
ORGANIZATION = "RVC Studio"
BUNDLE_ID = "com.rvcstudio.RVCStudio"


class StudioApplication(QApplication):
    """A QApplication that turns macOS "open file" events (Dock drops, Finder's Open With)
    into the ``files_opened`` signal."""

    files_opened = Signal(list)

    def event(self, event):  # noqa: D401 - Qt override
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                self.files_opened.emit([path])
            return True
        return super().event(event)


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


def _qt_message_handler(mode: QtMsgType, context, message: str) -> None:
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, message)


def create_application(argv: list[str] | None = None):
    """Create (or reuse) the application object, logging and the exception hook.

    Returns ``(app, reporter)``. Tests call this with pytest-qt's ``qapp`` already present.
    """
    app = QApplication.instance() or StudioApplication([APP_DISPLAY_NAME, *(argv or [])])
    app.setApplicationName(APP_DISPLAY_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setOrganizationDomain("rvcstudio.app")
    log_path = setup_logging(paths.log_dir())
    qInstallMessageHandler(_qt_message_handler)
    bridge = _ErrorBridge(log_path)
    app._error_bridge = bridge  # keep alive for the app's lifetime
    reporter = ExceptionReporter(show=bridge.report.emit, log_path=log_path)
    reporter.install()
    log.info("RVC Studio starting; log at %s", log_path)
    return app, reporter


def build_main_window(app, files: list[str] | None = None):
    """The main window, wired to its workers. Kept separate so tests can build it."""
    from app.ui.main_window import MainWindow

    window = MainWindow(model_folders=[paths.replay_models_dir()])
    if hasattr(app, "files_opened") and hasattr(window, "add_files"):
        app.files_opened.connect(window.add_files)
    if files and hasattr(window, "add_files"):
        window.add_files(files)
    return window


def run_gui(argv: list[str]) -> int:
    app, _reporter = create_application(argv)
    window = build_main_window(app, [a for a in argv if not a.startswith("-")])
    window.show()
    return app.exec()
