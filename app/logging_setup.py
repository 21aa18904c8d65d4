"""Rotating log file and the last-resort exception hook.

Every uncaught exception, on the GUI thread or any other, is logged with its traceback and
reported to the user once, as a short message with the log's location; never as a raw
traceback, and never as a cascade of dialogs.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

log = logging.getLogger("rvc_studio")

LOG_FILE_NAME = "rvc-studio.log"


def setup_logging(log_dir: Path, level: int = logging.INFO, *, console: bool = False) -> Path:
    """Send all logging to ``log_dir/rvc-studio.log`` (1 MB x 5 files). Returns the file path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_rvc_studio", False):
            root.removeHandler(handler)
            handler.close()
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    handler._rvc_studio = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream._rvc_studio = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    root.setLevel(level)
    return path


def summarize(exc: BaseException) -> str:
    """One line for a person: the message of an expected error, else type and message."""
    from inference.core.errors import RVCError

    if isinstance(exc, RVCError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ExceptionReporter:
    """Logs every uncaught exception and shows at most one report at a time.

    ``show`` is called with a one-line summary on the thread that owns the UI; the GUI passes
    a function that posts a dialog to the event loop. While a report is on screen, further
    exceptions are only logged.
    """

    def __init__(self, show: Callable[[str], None] | None, log_path: Path | None) -> None:
        self._show = show
        self.log_path = log_path
        self._showing = threading.Lock()
        self.reported: list[str] = []

    def __call__(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("Uncaught exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        summary = summarize(exc)
        self.reported.append(summary)
        if self._show is None or not self._showing.acquire(blocking=False):
            return
        try:
            self._show(summary)
        finally:
            self._showing.release()

    def install(self) -> None:
        sys.excepthook = self
        threading.excepthook = lambda args: self(args.exc_type, args.exc_value, args.exc_traceback)
