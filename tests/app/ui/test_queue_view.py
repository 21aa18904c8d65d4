"""The queue table: rows follow the jobs, failures show their message, actions do their job."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.queue_view import FILE, OUTPUT, PITCH, PROGRESS, STATUS, QueueView
from app.workers.batch import BatchQueue
from app.workers.engine import Engine
from app.workers.jobs import Job, JobStatus, QueueStore
from tests.support.gui import FakeModel, write_tone

MODEL = FakeModel("Alice")


@pytest.fixture
def queue(tmp_path: Path, fake_converter, qapp):
    engine = Engine(lambda: [], tmp_path / "cache", factory=fake_converter, params_factory=dict)
    q = BatchQueue(engine, QueueStore(tmp_path / "data"))
    yield q
    q.shutdown()


def _add(queue, tmp_path, n=3):
    jobs = []
    for i in range(n):
        song = write_tone(tmp_path / f"song{i}.wav", 0.2)
        jobs.append(Job(str(song), MODEL.id, MODEL.name, {"pitch": 12.0 * (i % 2)}, str(tmp_path / "out")))
    return queue.add(jobs)


def _text(view, row, col):
    return view.model.index(row, col).data()


def test_rows_show_file_model_pitch_status_progress_and_output(qtbot, queue, tmp_path, fake_converter) -> None:
    fake_converter.fail_with = None
    view = QueueView(queue)
    qtbot.addWidget(view)
    jobs = _add(queue, tmp_path, 2)
    assert view.model.rowCount() == 2
    assert [_text(view, 0, c) for c in (FILE, PITCH, STATUS, PROGRESS)] == ["song0.wav", "0", "Waiting", ""]
    assert _text(view, 1, PITCH) == "+12"
    assert view.summary.text() == "2 to do"
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: all(j.status.finished for j in jobs), timeout=5000)
    assert _text(view, 0, STATUS).startswith("Done in") and _text(view, 0, PROGRESS) == "100%"
    assert _text(view, 0, OUTPUT) == Path(jobs[0].output_path).name
    assert view.summary.text() == "2 done"


def test_a_failed_job_shows_its_message_and_can_be_retried(qtbot, queue, tmp_path, fake_converter) -> None:
    fake_converter.fail_with = f"hubert_base.pt not found: put it in {Path.home()}/weights"
    view = QueueView(queue)
    qtbot.addWidget(view)
    job = _add(queue, tmp_path, 1)[0]
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: job.status == JobStatus.FAILED, timeout=5000)
    assert _text(view, 0, STATUS) == "Failed"
    message = "hubert_base.pt not found: put it in ~/weights"  # the home folder read as ~
    assert _text(view, 0, OUTPUT) == message  # the widest column
    assert view.model.index(0, STATUS).data(Qt.ItemDataRole.ToolTipRole) == message
    assert view.actions["retry"].isEnabled() and view.summary.text() == "1 failed"
    fake_converter.fail_with = None
    view.actions["retry"].trigger()
    qtbot.waitUntil(lambda: job.status == JobStatus.DONE, timeout=5000)


def test_move_remove_cancel_and_clear_act_on_the_selection(qtbot, queue, tmp_path) -> None:
    view = QueueView(queue)
    qtbot.addWidget(view)
    a, b, c = _add(queue, tmp_path, 3)  # no models yet: nothing runs
    assert not view.actions["remove"].isEnabled()
    view.table.selectRow(2)
    assert view.actions["remove"].isEnabled() and view.actions["cancel"].isEnabled()
    view.actions["up"].trigger()
    assert [j.id for j in queue.jobs] == [a.id, c.id, b.id]
    assert [j.id for j in view.selected_jobs()] == [c.id]  # the selection follows the job
    view.actions["cancel"].trigger()
    assert c.status == JobStatus.CANCELLED and view.actions["clear"].isEnabled()
    view.table.selectRow(0)
    view.actions["remove"].trigger()
    assert [j.id for j in queue.jobs] == [c.id, b.id]
    view.actions["clear"].trigger()
    assert [j.id for j in queue.jobs] == [b.id] and view.model.rowCount() == 1


def test_reveal_is_enabled_only_with_an_output(qtbot, queue, tmp_path, monkeypatch) -> None:
    import app.ui.queue_view as qv

    shown = []
    monkeypatch.setattr(qv, "reveal_in_finder", shown.append)
    view = QueueView(queue)
    qtbot.addWidget(view)
    job = _add(queue, tmp_path, 1)[0]
    view.table.selectRow(0)
    assert not view.actions["reveal"].isEnabled()
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: job.status == JobStatus.DONE, timeout=5000)
    view.table.selectRow(0)
    assert view.actions["reveal"].isEnabled()
    view.actions["reveal"].trigger()
    assert shown == [job.output_path]


@pytest.mark.parametrize("selected", [False, True], ids=["plain", "selected"])
def test_a_running_bar_shows_on_a_selected_row_too(qapp, selected) -> None:
    """The bar's fill stands out from the row behind it (the accent is also the selection colour)."""
    from PySide6.QtGui import QImage, QPainter, QPalette, QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

    from app.ui.queue_view import JobRole, ProgressDelegate

    job = Job("/x/song.wav", MODEL.id, MODEL.name, {}, "/x/out", status=JobStatus.RUNNING, progress=0.5)
    model = QStandardItemModel(1, 1)
    item = QStandardItem()
    item.setData(job, JobRole)
    model.setItem(0, 0, item)
    image = QImage(300, 24, QImage.Format.Format_RGB32)
    palette = qapp.palette()
    row = palette.color(QPalette.ColorRole.Highlight if selected else QPalette.ColorRole.Base)
    image.fill(row)
    option = QStyleOptionViewItem()
    option.rect, option.palette = image.rect(), palette
    option.state = QStyle.StateFlag.State_Enabled | (
        QStyle.StateFlag.State_Selected if selected else QStyle.StateFlag.State_None
    )
    painter = QPainter(image)
    ProgressDelegate().paint(painter, option, model.index(0, 0))
    painter.end()
    fill = image.pixelColor(40, 12)  # inside the first half of the bar

    def distance(a, b) -> int:
        return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())

    assert distance(fill, row) > 150, (fill.name(), row.name())
