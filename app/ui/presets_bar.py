"""The presets row of the parameter panel: choose, save, rename, delete, import Applio's.

The widget holds only the names and asks the user; the window does the storing (``chosen``,
``save_requested``, ... signals) and hands the names back with :meth:`PresetsBar.set_names`.
The question dialogs are injectable, so tests answer them without a modal loop.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QMenu,
    QMessageBox,
    QToolButton,
    QWidget,
)

PLACEHOLDER = "Presets…"


def _ask_text(parent: QWidget, title: str, label: str, text: str) -> str | None:
    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value if ok else None


def _ask_file(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import an Applio preset", "", "Applio presets (*.json)")
    return path or None


def _confirm(parent: QWidget, text: str) -> bool:
    answer = QMessageBox.question(parent, "Delete Preset", text)
    return answer == QMessageBox.StandardButton.Yes


class PresetsBar(QWidget):
    """A combo of the saved presets, a Save button and a menu (rename, delete, import)."""

    chosen = Signal(str)
    save_requested = Signal(str)
    rename_requested = Signal(str, str)
    delete_requested = Signal(str)
    import_requested = Signal(str)

    def __init__(
        self,
        parent: QWidget | None = None,
        ask_text: Callable[..., str | None] = _ask_text,
        ask_file: Callable[..., str | None] = _ask_file,
        confirm: Callable[..., bool] = _confirm,
    ) -> None:
        super().__init__(parent)
        self._ask_text, self._ask_file, self._confirm = ask_text, ask_file, confirm
        self.combo = QComboBox()
        self.combo.setToolTip("Apply a saved set of parameters")
        self.combo.activated.connect(self._activated)
        self.save_button = QToolButton(text="Save…")
        self.save_button.setToolTip("Save the parameters below as a preset")
        self.save_button.clicked.connect(self.ask_save)
        self.more = QToolButton(text="⋯")
        self.more.setToolTip("Rename, delete or import presets")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.more)
        self.rename_action = QAction("Rename Preset…", self, triggered=self.ask_rename)
        self.delete_action = QAction("Delete Preset…", self, triggered=self.ask_delete)
        self.import_action = QAction("Import Applio Preset…", self, triggered=self.ask_import)
        for action in (self.rename_action, self.delete_action, self.import_action):
            menu.addAction(action)
        self.more.setMenu(menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.save_button)
        layout.addWidget(self.more)
        self.set_names([])

    def names(self) -> list[str]:
        return [self.combo.itemData(i) for i in range(1, self.combo.count())]

    def current(self) -> str:
        """The preset last chosen or saved ("" when none is)."""
        return self.combo.currentData() or ""

    def set_names(self, names: list[str], current: str = "") -> None:
        """Show ``names``; ``current`` is selected when it is one of them."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(PLACEHOLDER if names else "No presets yet", "")
        for name in names:
            self.combo.addItem(name, name)
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)) if current else 0)
        self.combo.blockSignals(False)
        has = bool(self.current())
        self.rename_action.setEnabled(has)
        self.delete_action.setEnabled(has)

    def clear_current(self) -> None:
        """The parameters changed by hand: no preset is current any more."""
        self.set_names(self.names())

    def _activated(self, index: int) -> None:
        name = self.combo.itemData(index) or ""
        self.rename_action.setEnabled(bool(name))
        self.delete_action.setEnabled(bool(name))
        if name:
            self.chosen.emit(name)

    def ask_save(self) -> None:
        name = self._ask_text(self, "Save Preset", "Name of the preset:", self.current())
        if name and name.strip():
            self.save_requested.emit(name.strip())

    def ask_rename(self) -> None:
        old = self.current()
        if not old:
            return
        new = self._ask_text(self, "Rename Preset", f"New name for “{old}”:", old)
        if new and new.strip() and new.strip() != old:
            self.rename_requested.emit(old, new.strip())

    def ask_delete(self) -> None:
        name = self.current()
        if name and self._confirm(self, f"Delete the preset “{name}”?"):
            self.delete_requested.emit(name)

    def ask_import(self) -> None:
        path = self._ask_file(self)
        if path:
            self.import_requested.emit(path)
