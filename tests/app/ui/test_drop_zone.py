"""Dropping files on a widget; the message naming files that were not added."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QWidget

from app.ui.drop_zone import DropZone, FileDropFilter, rejected_message


def drop(widget: QWidget, urls: list[QUrl]) -> QDropEvent:
    """Deliver a drop to the widget's drop filter, as Qt does during a real drag (Qt only
    dispatches drop events while its drag manager runs a drag, which a test cannot start)."""
    mime = QMimeData()
    mime.setUrls(urls)
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    event.setAccepted(False)
    for child in widget.children():
        if isinstance(child, FileDropFilter):
            child.eventFilter(widget, event)
    return event


def test_local_files_dropped_anywhere_on_the_widget_are_reported(qtbot, tmp_path) -> None:
    target = QWidget()
    qtbot.addWidget(target)
    handler = FileDropFilter(target)
    assert target.acceptDrops()
    with qtbot.waitSignal(handler.dropped) as blocker:
        event = drop(
            target,
            [
                QUrl.fromLocalFile(str(tmp_path / "a.wav")),
                QUrl("https://example.com/b.wav"),
                QUrl.fromLocalFile(str(tmp_path)),
            ],
        )
    assert blocker.args[0] == [str(tmp_path / "a.wav"), str(tmp_path)]
    assert event.isAccepted()


def test_a_drop_without_local_files_is_ignored(qtbot) -> None:
    target = QWidget()
    qtbot.addWidget(target)
    handler = FileDropFilter(target)
    seen = []
    handler.dropped.connect(seen.append)
    drop(target, [QUrl("https://example.com/b.wav")])
    assert seen == []


def test_rejected_message_names_the_files() -> None:
    assert rejected_message([]) == ""
    assert rejected_message(["/x/cover.jpg"]) == ("Not added (file RVC Studio cannot read as audio): cover.jpg")
    text = rejected_message([f"/x/{i}.pdf" for i in range(5)])
    assert "0.pdf, 1.pdf, 2.pdf and 2 more" in text


def test_drop_zone_click_and_hover(qtbot) -> None:
    zone = DropZone()
    qtbot.addWidget(zone)
    zone.resize(400, 160)
    zone.show()
    with qtbot.waitSignal(zone.clicked):
        qtbot.mouseClick(zone, Qt.MouseButton.LeftButton)
    zone.set_hover(True)
    zone.set_message("Not added: x.pdf")
    image = zone.grab().toImage()  # paints without error, in both states
    assert image.width() == 400
