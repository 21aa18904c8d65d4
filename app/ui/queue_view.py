"""The batch queue table: file, model, pitch, status, progress, output; and its actions."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QProcess, QRect, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QDesktopServices, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import theme
from app.ui.display import home_as_tilde
from app.workers.batch import BatchQueue
from app.workers.jobs import Job, JobStatus
from inference.audio.naming import format_pitch

COLUMNS = ("File", "Model", "Pitch", "Status", "Progress", "Output")
FILE, MODEL, PITCH, STATUS, PROGRESS, OUTPUT = range(len(COLUMNS))
JobRole = Qt.ItemDataRole.UserRole + 1


def reveal_in_finder(path: str) -> None:
    """Show ``path`` selected in Finder (macOS), or open its folder elsewhere."""
    if sys.platform == "darwin":
        QProcess.startDetached("open", ["-R", path])
    else:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(path).parent)))


_NO_PARENT = QModelIndex()  # Qt's "no parent": the default of the models' row and column counts


class QueueModel(QAbstractTableModel):
    def __init__(self, queue: BatchQueue, parent=None) -> None:
        super().__init__(parent)
        self.queue = queue
        queue.changed.connect(self._reset)
        queue.job_changed.connect(self._job_changed)

    def _reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def _job_changed(self, job_id: str) -> None:
        row = self.queue.row_of(job_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = _NO_PARENT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.queue.jobs)

    def columnCount(self, parent: QModelIndex = _NO_PARENT) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.queue.jobs):
            return None
        job = self.queue.jobs[index.row()]
        col = index.column()
        if role == JobRole:
            return job
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(job, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col in (STATUS, OUTPUT) and job.error:
                return home_as_tilde(job.error)
            if col == FILE:
                return job.input_path
            if col == OUTPUT and job.output_path:
                return job.output_path + "\n(double-click to show it in Finder)"
            return self._text(job, col)
        if role == Qt.ItemDataRole.ForegroundRole and col in (STATUS, OUTPUT):
            c = theme.colors()
            if job.status == JobStatus.FAILED:
                return c.error
            return c.ok if job.status == JobStatus.DONE and col == STATUS else None
        if role == Qt.ItemDataRole.TextAlignmentRole and col == PITCH:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _text(job: Job, col: int) -> str:
        if col == FILE:
            return job.name
        if col == MODEL:
            return job.model_name
        if col == PITCH:
            return format_pitch(job.params.get("pitch", 0.0))
        if col == STATUS:
            if job.status == JobStatus.FAILED:
                return "Failed"
            if job.status == JobStatus.RUNNING:
                return job.stage or "Converting"
            if job.status == JobStatus.DONE and job.seconds:
                return f"Done in {job.seconds:.1f} s"
            return job.status.label
        if col == PROGRESS:
            shown = job.status in (JobStatus.RUNNING, JobStatus.DONE)
            return f"{int(round(job.progress * 100))}%" if shown else ""
        if col == OUTPUT:
            if job.status == JobStatus.FAILED:
                return (
                    home_as_tilde(job.error) if job.error else "unknown error"
                )  # the widest column: the whole message fits
            return Path(job.output_path).name if job.output_path else ""
        return ""


class ProgressDelegate(QStyledItemDelegate):
    """A slim rounded bar with the percentage beside it (running and finished jobs)."""

    def paint(self, painter, option, index) -> None:
        job = index.data(JobRole)
        if job is None or job.status not in (JobStatus.RUNNING, JobStatus.DONE):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)
        c = theme.colors(option.palette)
        text = f"{int(round(job.progress * 100))}%"
        metrics = option.fontMetrics
        text_w = metrics.horizontalAdvance("100%") + 6
        rect = option.rect.adjusted(6, 0, -14 - text_w, 0)
        bar = QRectF(rect.left(), rect.center().y() - 3, max(0, rect.width()), 6)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        on_highlight = option.palette.color(QPalette.ColorRole.HighlightedText)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        track = QColor(on_highlight if selected else c.muted)
        track.setAlpha(70 if selected else 60)
        painter.setBrush(track)
        painter.drawRoundedRect(bar, 3, 3)
        # the accent is the selection's own colour: on a selected row a running bar is drawn light
        painter.setBrush(c.ok if job.status == JobStatus.DONE else on_highlight if selected else c.accent)
        painter.drawRoundedRect(QRectF(bar.left(), bar.top(), bar.width() * job.progress, bar.height()), 3, 3)
        painter.setPen(
            option.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        )
        painter.drawText(
            QRect(rect.right() + 6, option.rect.top(), text_w, option.rect.height()),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            text,
        )
        painter.restore()


class QueueTable(QTableView):
    """The table, with a hint painted in it while it is empty."""

    EMPTY_TEXT = "Songs you drop on the window wait here and are converted one at a time."

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0:
            painter = QPainter(self.viewport())
            painter.setPen(theme.colors(self.palette()).muted)
            painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, self.EMPTY_TEXT)
            painter.end()


class QueueView(QWidget):
    """The table and its toolbar. Adding files is the window's job (it knows the model)."""

    add_files_requested = Signal()
    add_list_requested = Signal()
    job_activated = Signal(object)  # Job: show it in the workbench

    def __init__(self, queue: BatchQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self.model = QueueModel(queue, self)
        self.table = QueueTable()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in ((FILE, 220), (MODEL, 220), (PITCH, 50), (STATUS, 140), (PROGRESS, 140)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        queue.changed.connect(self._update_actions)
        queue.job_changed.connect(self._update_actions)

        self.actions: dict[str, QAction] = {}
        specs = (
            ("add", "Add Files…", "Add audio files to the queue", self.add_files_requested.emit, None),
            ("add_list", "Add List…", "Add the files named in a .txt or .m3u list", self.add_list_requested.emit, None),
            ("up", "Move Up", "Run the selected jobs earlier", lambda: self._move(-1), None),
            ("down", "Move Down", "Run the selected jobs later", lambda: self._move(1), None),
            ("remove", "Remove", "Remove the selected jobs", self._remove, QKeySequence.StandardKey.Delete),
            ("cancel", "Cancel", "Stop the selected jobs", self._cancel, None),
            ("retry", "Retry Failed", "Run every failed job again", self.queue.retry_failed, None),
            (
                "clear",
                "Clear Finished",
                "Remove the jobs that are done, failed or cancelled",
                self.queue.clear_finished,
                None,
            ),
            ("reveal", "Show in Finder", "Show the selected output file", self._reveal, None),
        )
        toolbar = QHBoxLayout()
        toolbar.setSpacing(4)
        title = QLabel("Queue", objectName="sectionTitle")
        toolbar.addWidget(title)
        toolbar.addSpacing(8)
        for key, text, tip, slot, shortcut in specs:
            action = QAction(text, self)
            action.setToolTip(tip)
            action.triggered.connect(slot)
            if shortcut is not None:
                action.setShortcut(shortcut)
                action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
                self.table.addAction(action)
            self.actions[key] = action
            button = QToolButton()
            button.setDefaultAction(action)
            toolbar.addWidget(button)
            if key in ("add_list", "down", "cancel", "clear"):
                toolbar.addSpacing(8)
        toolbar.addStretch(1)
        self.summary = QLabel("", objectName="hint")
        toolbar.addWidget(self.summary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.setSpacing(4)
        layout.addLayout(toolbar)
        layout.addWidget(self.table, 1)
        self._update_actions()

    def selected_jobs(self) -> list[Job]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.queue.jobs[r] for r in rows if r < len(self.queue.jobs)]

    def select_job(self, job_id: str) -> None:
        row = self.queue.row_of(job_id)
        if row >= 0:
            self.table.selectRow(row)

    def _move(self, delta: int) -> None:
        jobs = self.selected_jobs()
        ordered = jobs if delta < 0 else list(reversed(jobs))
        for job in ordered:
            self.queue.move(job.id, delta)
        selection = self.table.selectionModel()
        for job in jobs:
            row = self.queue.row_of(job.id)
            selection.select(self.model.index(row, 0), selection.SelectionFlag.Select | selection.SelectionFlag.Rows)

    def _remove(self) -> None:
        self.queue.remove([j.id for j in self.selected_jobs()])

    def _cancel(self) -> None:
        self.queue.cancel([j.id for j in self.selected_jobs()])

    def _reveal(self) -> None:
        for job in self.selected_jobs():
            if job.output_path:
                reveal_in_finder(job.output_path)
                return

    def _double_clicked(self, index: QModelIndex) -> None:
        job = index.data(JobRole)
        if job is None:
            return
        if index.column() == OUTPUT and job.output_path:
            reveal_in_finder(job.output_path)
        else:
            self.job_activated.emit(job)

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        for key in ("reveal", "cancel", "remove", "up", "down", "retry", "clear"):
            menu.addAction(self.actions[key])
        menu.exec(self.table.viewport().mapToGlobal(pos))

    def _update_actions(self, *_args) -> None:
        jobs = self.selected_jobs()
        a = self.actions
        a["up"].setEnabled(bool(jobs))
        a["down"].setEnabled(bool(jobs))
        a["remove"].setEnabled(bool(jobs))
        a["cancel"].setEnabled(any(j.status in (JobStatus.QUEUED, JobStatus.RUNNING) for j in jobs))
        a["reveal"].setEnabled(any(j.output_path for j in jobs))
        all_jobs = self.queue.jobs
        a["retry"].setEnabled(any(j.status == JobStatus.FAILED for j in all_jobs))
        a["clear"].setEnabled(any(j.status.finished for j in all_jobs))
        counts = {s: sum(1 for j in all_jobs if j.status == s) for s in JobStatus}
        parts = []
        if counts[JobStatus.RUNNING] or counts[JobStatus.QUEUED]:
            parts.append(f"{counts[JobStatus.RUNNING] + counts[JobStatus.QUEUED]} to do")
        if counts[JobStatus.DONE]:
            parts.append(f"{counts[JobStatus.DONE]} done")
        if counts[JobStatus.FAILED]:
            parts.append(f"{counts[JobStatus.FAILED]} failed")
        self.summary.setText(" · ".join(parts) if parts else "Drop songs on the window to convert them")
