"""The offer to download a missing separation model: its name, its size and where it will be
stored, and nothing fetched until the user clicks Download. Then the progress, Cancel (the part
fetched is kept) and Try Again (which resumes). :class:`SeparationOffer` decides when the window
shows it: when the cover switch is turned on (or is on at launch) and the model is missing, and
again when a cover is asked for while it still is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.display import home_as_tilde


def format_size(size: int) -> str:
    mb = size / 1e6
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f} MB"


class DownloadDialog(QDialog):
    """Shows ``offer`` (an :class:`app.workers.separation_worker.DownloadOffer`)."""

    download_requested = Signal(str)  # the model's name
    cancel_requested = Signal()

    def __init__(self, offer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.offer = offer
        what = "de-reverb model" if offer.purpose == "dereverb" else "separation model"
        self.setWindowTitle(f"Download the {what}?")
        intro = QLabel(
            f"A cover separates the song's vocal from its band first, and the {what} it needs was not "
            "found where Replay, Ultimate Vocal Remover or the RVC WebUI keep theirs. RVC Studio can "
            "download it now (once; every cover then uses it).",
            wordWrap=True,
        )
        self.name_label = QLabel(f"<b>{offer.name}</b> ({offer.file_name})<br>{offer.description}", wordWrap=True)
        self.size_label = QLabel(format_size(offer.size))
        self.folder_label = QLabel(home_as_tilde(offer.folder), wordWrap=True)
        self.folder_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label.setToolTip(offer.folder)
        credit = QLabel(offer.licence, objectName="hint", wordWrap=True)
        form = QFormLayout()
        form.addRow("Model", self.name_label)
        form.addRow("Size", self.size_label)
        form.addRow("Stored in", self.folder_label)
        form.addRow("Credit", credit)
        self.progress = QProgressBar()
        self.progress.setRange(0, max(1, offer.size))
        self.progress.hide()
        self.status = QLabel("", wordWrap=True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox()
        self.download_button = QPushButton("Download")
        self.download_button.setObjectName("primary")
        self.download_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel Download")
        self.cancel_button.hide()
        self.close_button = QPushButton("Not Now")
        self.buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.download_button.clicked.connect(self._download)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)

    def _download(self) -> None:
        self.download_button.hide()
        self.cancel_button.show()
        self.close_button.setEnabled(False)
        self.progress.show()
        self.status.setText("Downloading…")
        self.download_requested.emit(self.offer.name)

    def set_progress(self, done: int, total: int | None) -> None:
        total = int(total or self.offer.size)
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(min(int(done), total))
        self.status.setText(f"Downloading… {format_size(int(done))} of {format_size(total)}")

    def _stopped(self, text: str, again: str) -> None:
        self.cancel_button.hide()
        self.close_button.setEnabled(True)
        self.download_button.setText(again)
        self.download_button.show()
        self.status.setText(text)

    def set_failed(self, message: str) -> None:
        self._stopped(f"⚠ {home_as_tilde(message)}", "Try Again")

    def set_cancelled(self) -> None:
        self._stopped("Cancelled. What was fetched is kept: Download goes on from there.", "Download")

    def set_done(self, path: str) -> None:
        self.status.setText(f"Downloaded to {home_as_tilde(path)}")
        self.accept()

    def reject(self) -> None:
        if self.cancel_button.isVisible():  # closing while it downloads stops the download
            self.cancel_requested.emit()
        super().reject()


class SeparationOffer(QObject):
    """Asks ``separation`` (:class:`app.workers.separation_worker.SeparationModels`) whether the
    cover's models are there, and shows the :class:`DownloadDialog` when one can be downloaded;
    ``status`` shows a line when a named model is missing that we cannot download."""

    def __init__(
        self,
        separation: Any,
        cover_settings: Callable[[], dict | None],
        window: QWidget,
        status: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.separation = separation
        self.cover_settings = cover_settings
        self.window = window
        self.status = status
        self.dialog: DownloadDialog | None = None
        self.missing = None  # the last check's DownloadOffer (None: found, or not checked yet)
        if separation is not None:
            separation.missing.connect(self._missing)
            separation.found.connect(lambda: setattr(self, "missing", None))
            separation.progress.connect(lambda done, total: self._to_dialog("set_progress", done, total))
            separation.downloaded.connect(self._downloaded)
            separation.download_failed.connect(lambda message: self._to_dialog("set_failed", message))
            separation.download_cancelled.connect(lambda: self._to_dialog("set_cancelled"))

    def check(self) -> None:
        """With the cover switch on, look for the models (on a worker thread)."""
        cover = self.cover_settings()
        if cover is not None and self.separation is not None:
            self.separation.check(cover)

    def ready(self) -> bool:
        """False (and the offer shown again) while a cover's model is known to be missing."""
        if self.cover_settings() is not None and self.missing is not None:
            self.show(self.missing)
            return False
        return True

    def show(self, offer: Any) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            return
        dialog = DownloadDialog(offer, self.window)
        dialog.download_requested.connect(self.separation.download)
        dialog.cancel_requested.connect(self.separation.cancel)
        dialog.finished.connect(lambda _result: setattr(self, "dialog", None))
        self.dialog = dialog
        dialog.open()

    def _missing(self, offer: Any, message: str) -> None:
        self.missing = offer
        if self.cover_settings() is None:
            return  # switched off meanwhile
        if offer is None:
            self.status(message)
        else:
            self.show(offer)

    def _to_dialog(self, method: str, *args) -> None:
        if self.dialog is not None:
            getattr(self.dialog, method)(*args)

    def _downloaded(self, path: str) -> None:
        self.missing = None
        self._to_dialog("set_done", path)
        self.status(f"Downloaded {Path(path).name}: covers can be made now")
