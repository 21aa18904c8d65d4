"""The window's empty state: no voice model was found, and where models are looked for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.ui.display import short_path


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
        self.body = QLabel()
        self.body.setObjectName("emptyBody")
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_folders(folders)
        self.add_button = QPushButton("Add a Models Folder…")
        self.add_button.setObjectName("primary")
        self.rescan_button = QPushButton("Look Again")
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.rescan_button)
        buttons.addStretch(1)
        layout.addWidget(title)
        layout.addSpacing(8)
        layout.addWidget(self.body)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(1)

    def set_folders(self, folders: list[Path]) -> None:
        places = "\n".join(short_path(f) for f in folders)
        self.body.setText(
            "RVC Studio looks for RVC voice models (.pth with an optional .index) in:\n\n"
            f"{places}\n\nAdd a folder of models in Settings, or install models with Replay."
        )
