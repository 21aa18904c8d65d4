"""The model browser: the library's models with badges, their vocoder and embedder in columns,
a search field, broken ones greyed with their reason."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRect, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme

ModelRole = Qt.ItemDataRole.UserRole + 1
SearchRole = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("Model", "Vocoder", "Embedder")  # the columns' headers; 1 and 2 show these attributes
COLUMN_ATTRS = {1: "vocoder", 2: "embedder"}


def rate_label(sample_rate: Any) -> str:
    try:
        rate = int(sample_rate)
    except (TypeError, ValueError):
        return str(sample_rate or "?")
    return f"{rate // 1000}k" if rate % 1000 == 0 else f"{rate / 1000:.1f}k"


def badges(model: Any) -> list[str]:
    out = []
    if getattr(model, "version", None):
        out.append(str(model.version))
    if getattr(model, "sample_rate", None):
        out.append(rate_label(model.sample_rate))
    out.append("f0" if getattr(model, "f0", True) else "no f0")
    if getattr(model, "index_path", None):
        out.append("index")
    return out


def tooltip(model: Any) -> str:
    problems = list(getattr(model, "problems", []) or [])
    lines = [f"<b>{model.name}</b>"]
    if problems and not model.ok:
        lines.append("<span>Cannot be used: " + "; ".join(problems) + "</span>")
    elif problems:
        lines.append("Note: " + "; ".join(problems))
    details = []
    for label, attr in (
        ("Epochs", "epochs"),
        ("Author", "author"),
        ("Vocoder", "vocoder"),
        ("Embedder", "embedder"),
        ("Info", "info"),
    ):
        value = getattr(model, attr, None)
        if value not in (None, "", 0):
            details.append(f"{label}: {value}")
    if getattr(model, "speakers", 1) and getattr(model, "speakers", 1) > 1:
        details.append(f"Speakers: {model.speakers}")
    details.append("Index: " + ("yes" if getattr(model, "index_path", None) else "none (index rate has no effect)"))
    source = "Replay" if getattr(model, "source", "") == "replay" else "your folder"
    details.append(f"From {source}: {getattr(model, 'root', '')}")
    return "<br>".join(lines + details)


_NO_PARENT = QModelIndex()  # Qt's "no parent": the default of the models' row and column counts


class ModelListModel(QAbstractTableModel):
    """One row per model: its name and badges (drawn by :class:`ModelDelegate`), its vocoder,
    its embedder."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.models: list[Any] = []

    def set_models(self, models: list[Any]) -> None:
        self.beginResetModel()
        self.models = list(models)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = _NO_PARENT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(self.models)

    def columnCount(self, parent: QModelIndex = _NO_PARENT) -> int:  # noqa: N802 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        model = self.models[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() in COLUMN_ATTRS:
                return str(getattr(model, COLUMN_ATTRS[index.column()], "") or "—")
            return model.name
        if role == ModelRole:
            return model
        if role == SearchRole:
            return " ".join(
                str(x)
                for x in (
                    model.name,
                    model.id,
                    getattr(model, "author", "") or "",
                    getattr(model, "info", "") or "",
                    getattr(model, "vocoder", "") or "",
                    getattr(model, "embedder", "") or "",
                    *badges(model),
                )
            )
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(model)
        return None

    def flags(self, index: QModelIndex):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if not self.models[index.row()].ok:
            return Qt.ItemFlag.NoItemFlags  # greyed, not selectable; the tooltip says why
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable


class ModelDelegate(QStyledItemDelegate):
    """Two lines: the name, then small rounded badges (version, rate, f0, index) or the problem."""

    ROW_HEIGHT = 46

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(200, self.ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        model = index.data(ModelRole)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget)
        c = theme.colors(opt.palette)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        enabled = bool(model.ok)
        text_color = opt.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        if not enabled:
            text_color = c.muted
        rect = opt.rect.adjusted(10, 4, -8, -4)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        name_font = QFont(opt.font)
        name_font.setWeight(QFont.Weight.DemiBold if enabled else QFont.Weight.Normal)
        painter.setFont(name_font)
        painter.setPen(text_color)
        name_rect = QRect(rect.left(), rect.top(), rect.width(), rect.height() // 2)
        metrics = painter.fontMetrics()
        painter.drawText(
            name_rect,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            metrics.elidedText(model.name, Qt.TextElideMode.ElideRight, name_rect.width()),
        )
        small = QFont(opt.font)
        small.setPointSizeF(max(7.0, opt.font.pointSizeF() * 0.8))
        painter.setFont(small)
        metrics = painter.fontMetrics()
        x = rect.left()
        y = rect.top() + rect.height() // 2 + 2
        h = metrics.height() + 2
        if not enabled:
            problem = "; ".join(getattr(model, "problems", []) or ["cannot be used"])
            painter.setPen(c.error if not selected else text_color)
            painter.drawText(
                QRect(x, y, rect.width(), h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                metrics.elidedText("⚠ " + problem, Qt.TextElideMode.ElideRight, rect.width()),
            )
        else:
            for label in badges(model):
                w = metrics.horizontalAdvance(label) + 10
                if x + w > rect.right():
                    break
                painter.setPen(Qt.PenStyle.NoPen)
                bg = QColor(text_color) if selected else QColor(c.badge_bg)
                if selected:
                    bg.setAlpha(50)
                painter.setBrush(bg)
                painter.drawRoundedRect(QRect(x, y, w, h), 4, 4)
                painter.setPen(c.badge_text if not selected else text_color)
                painter.drawText(QRect(x, y, w, h), Qt.AlignmentFlag.AlignCenter, label)
                x += w + 4
        painter.restore()


class ModelBrowser(QWidget):
    """Search field over a list of models. ``model_selected`` carries the model, or None."""

    model_selected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list_model = ModelListModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.list_model)
        self.proxy.setFilterRole(SearchRole)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search = QLineEdit(placeholderText="Search models")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTreeView(objectName="modelList")
        self.view.setModel(self.proxy)
        self.view.setItemDelegateForColumn(0, ModelDelegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setMouseTracking(True)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in COLUMN_ATTRS:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        self.count_label = QLabel("Looking for models…", objectName="countLabel")
        title = QLabel("Voice Models", objectName="sectionTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setSpacing(6)
        layout.addWidget(title)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.count_label)
        self._current_id = ""

    def set_models(self, models: list[Any]) -> None:
        """Show ``models`` (a live update keeps the current selection if it still exists)."""
        keep = self._current_id
        self.view.selectionModel().blockSignals(True)
        self.list_model.set_models(models)
        self.view.selectionModel().blockSignals(False)
        usable = sum(1 for m in models if m.ok)
        broken = len(models) - usable
        text = f"{usable} model{'s' if usable != 1 else ''}"
        self.count_label.setText(text + (f", {broken} cannot be used" if broken else ""))
        if keep and self.select_model(keep, emit=False):
            return
        if keep:
            self._current_id = ""
            self.model_selected.emit(None)

    def select_model(self, model_id: str, emit: bool = True) -> bool:
        for row, model in enumerate(self.list_model.models):
            if model.id == model_id and model.ok:
                index = self.proxy.mapFromSource(self.list_model.index(row, 0))
                if not index.isValid():
                    self.search.clear()
                    index = self.proxy.mapFromSource(self.list_model.index(row, 0))
                sm = self.view.selectionModel()
                sm.blockSignals(not emit)
                self.view.setCurrentIndex(index)
                sm.blockSignals(False)
                self._current_id = model_id
                self.view.scrollTo(index)
                return True
        return False

    def current_model(self) -> Any:
        return next((m for m in self.list_model.models if m.id == self._current_id), None)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        model = current.data(ModelRole) if current.isValid() else None
        if model is None or not model.ok:
            return
        self._current_id = model.id
        self.model_selected.emit(model)
