"""Per-file progress on the terminal: one line redrawn in place on a terminal, plain lines (one
per stage) otherwise, every line made printable (control characters in names escaped)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import TextIO

from inference.cli.main import printable


class TerminalProgress:
    """Per-file progress on ``stream``: one line redrawn in place on a terminal, plain lines
    (one per stage) otherwise. Thread-safe: the converter reports from its worker thread."""

    def __init__(self, stream: TextIO, total: int, tty: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.tty = stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._label = ""
        self._stage: str | None = None
        self._last_draw = 0.0

    def start(self, index: int, path: Path) -> None:
        with self._lock:
            self._label = f"[{index}/{self.total}] {printable(path.name)}"
            self._stage = None
            self._last_draw = 0.0
            if self.tty:
                self._draw("starting", 0.0)
            else:
                self._line(f"{self._label}: starting")

    def update(self, fraction: float, stage: str) -> None:
        with self._lock:
            fraction = min(1.0, max(0.0, float(fraction)))
            if self.tty:
                now = time.monotonic()
                if stage != self._stage or now - self._last_draw > 0.1:
                    self._draw(stage, fraction)
                    self._last_draw = now
            elif stage != self._stage:
                self._line(f"{self._label}: {stage}")
            self._stage = stage

    def finish(self, text: str) -> None:
        """End the file's line with ``text`` (``done ...`` or ``FAILED: ...``)."""
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K")
            self._line(f"{self._label}: {text}")

    def note(self, text: str) -> None:
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K")
            self._line(text)

    def _draw(self, stage: str, fraction: float) -> None:
        width = shutil.get_terminal_size((80, 20)).columns
        bar_width = 20
        filled = int(round(fraction * bar_width))
        tail = f" {stage:<9} [{'#' * filled}{'-' * (bar_width - filled)}] {fraction * 100:3.0f}%"
        label = self._label
        room = max(10, width - len(tail) - 1)
        if len(label) > room:
            label = label[: room - 1] + "…"
        self.stream.write("\r\033[K" + label + tail)
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(printable(text) + "\n")
        self.stream.flush()
