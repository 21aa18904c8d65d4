"""The main window. (Foundation version: the empty state; panels arrive with issue #7.)"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QVBoxLayout, QWidget


class EmptyState(QWidget):
    """Shown when no voice model was found: says where models are looked for."""

    def __init__(self, folders: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        title = QLabel("No voice models yet")
        title.setObjectName("emptyTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        places = "\n".join(str(f) for f in folders)
        self.body = QLabel(
            "RVC Studio looks for RVC voice models (.pth with an optional .index) in:\n\n"
            f"{places}\n\nAdd a folder of models in Settings, or install models with Replay."
        )
        self.body.setObjectName("emptyBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(title)
        layout.addWidget(self.body)
        layout.addStretch(1)


class MainWindow(QMainWindow):
    def __init__(self, model_folders: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("RVC Studio")
        self.resize(1100, 720)
        self.empty_state = EmptyState(model_folders)
        self.setCentralWidget(self.empty_state)
