"""The preview controls: the region, the Preview button, how long the last preview took, and
Convert (the whole song, into the queue)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.display import home_as_tilde
from app.ui.plots import format_time


class PreviewPanel(QWidget):
    preview_requested = Signal()
    convert_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setObjectName("primary")
        self.preview_button.setToolTip(
            "Convert only the highlighted region and play it (⌘P). Drag the region on the plots to choose another part."
        )
        self.preview_button.clicked.connect(self.preview_requested)
        self.convert_button = QPushButton("Convert Song")
        self.convert_button.setToolTip("Convert the whole file with these settings (added to the queue)")
        self.convert_button.clicked.connect(self.convert_requested)
        self.region_label = QLabel("", objectName="hint")
        self.time_label = QLabel("", objectName="previewTime")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.preview_button)
        layout.addWidget(self.region_label)
        layout.addWidget(self.time_label, 1)
        layout.addWidget(self.convert_button)
        self.busy = False
        self.set_ready(False, "")

    def set_region(self, start: float, end: float) -> None:
        self.region_label.setText(f"{format_time(start)} – {format_time(end)}")

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Enable the buttons when a file and a model are chosen; ``reason`` says what is missing."""
        self.preview_button.setEnabled(ready)
        self.convert_button.setEnabled(ready)
        if not ready and reason:
            self.time_label.setText(reason)

    def set_analysed(self) -> None:
        """The region is analysed in the background: a preview only synthesises (a quiet hint)."""
        self.time_label.setText("● Ready: the preview starts at once")
        self.time_label.setToolTip("The song and the model are loaded and this region is analysed")

    def set_busy(self, text: str = "Converting the region…") -> None:
        self.busy = True
        self.time_label.setText(text)

    def set_done(self, seconds: float, region_seconds: float, resynth: bool) -> None:
        self.busy = False
        what = "Re-synthesised" if resynth else "Converted"
        self.time_label.setText(f"{what} {region_seconds:.1f} s of audio in {seconds:.2f} s")

    def set_failed(self, message: str) -> None:
        self.busy = False
        message = home_as_tilde(message)
        self.time_label.setText(f"⚠ {message}")
        self.time_label.setToolTip(message)
