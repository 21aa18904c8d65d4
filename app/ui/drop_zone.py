"""Dropping files: an event filter that makes any widget (the whole window) a drop target, and
the drop zone drawn where the song will be, which also opens the file dialog when clicked."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from app.ui import theme


def local_paths(mime) -> list[str]:
    """Local file paths from a drag's data (URLs that are not local files are left out)."""
    if mime is None or not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]


class FileDropFilter(QObject):
    """Install on a widget to accept file drops on it; ``dropped`` carries the local paths.
    ``hovering`` says when a drag with files enters or leaves (the drop zone lights up)."""

    dropped = Signal(list)
    hovering = Signal(bool)

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if local_paths(event.mimeData()):
                event.acceptProposedAction()
                if kind == QEvent.Type.DragEnter:
                    self.hovering.emit(True)
                return True
            return False
        if kind == QEvent.Type.DragLeave:
            self.hovering.emit(False)
            return False
        if kind == QEvent.Type.Drop:
            self.hovering.emit(False)
            paths = local_paths(event.mimeData())
            if paths:
                event.acceptProposedAction()
                self.dropped.emit(paths)
                return True
        return False


class DropZone(QWidget):
    """A dashed rounded area: "Drop songs here". Clicking it asks for files."""

    clicked = Signal()

    def __init__(
        self,
        title: str = "Drop songs or folders here",
        subtitle: str = "or click to choose files · WAV, FLAC, MP3, M4A, OGG, AIFF…",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.subtitle = subtitle
        self.message = ""  # e.g. the files that were not added, shown under the subtitle
        self._hover = False
        self.setMinimumHeight(120)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAccessibleName("Drop zone")
        self.setAccessibleDescription(f"{title}, {subtitle}")

    def set_hover(self, on: bool) -> None:
        self._hover = bool(on)
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit()

    def paintEvent(self, _event) -> None:  # noqa: N802
        c = theme.colors(self.palette())
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        color = QColor(c.accent if self._hover else c.muted)
        fill = QColor(c.accent)
        fill.setAlpha(28 if self._hover else 0)
        pen = QPen(color, 2 if self._hover else 1.5, Qt.PenStyle.DashLine)
        pen.setDashPattern([5, 4])
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, 12, 12)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(c.text)
        metrics = painter.fontMetrics()
        lines = 2 + (1 if self.message else 0)
        top = rect.center().y() - (lines * metrics.height()) / 2
        painter.drawText(
            QRectF(rect.left(), top, rect.width(), metrics.height()), Qt.AlignmentFlag.AlignCenter, "♪  " + self.title
        )
        small = self.font()
        painter.setFont(small)
        painter.setPen(c.muted)
        y = top + metrics.height() + 4
        h = painter.fontMetrics().height()
        painter.drawText(QRectF(rect.left() + 8, y, rect.width() - 16, h), Qt.AlignmentFlag.AlignCenter, self.subtitle)
        if self.message:
            painter.setPen(c.warn)
            text = painter.fontMetrics().elidedText(self.message, Qt.TextElideMode.ElideMiddle, int(rect.width() - 24))
            painter.drawText(
                QRectF(rect.left() + 8, y + h + 4, rect.width() - 16, h), Qt.AlignmentFlag.AlignCenter, text
            )
        painter.end()


def rejected_message(rejected: list[str], limit: int = 3) -> str:
    """A one-line message naming the files that were not added."""
    from pathlib import Path

    if not rejected:
        return ""
    names = [Path(p).name or str(p) for p in rejected[:limit]]
    more = f" and {len(rejected) - limit} more" if len(rejected) > limit else ""
    noun = "file" if len(rejected) == 1 else "files"
    return f"Not added ({noun} RVC Studio cannot read as audio): {', '.join(names)}{more}"
