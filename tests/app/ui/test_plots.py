"""Plots: time-aligned waveforms, pitch in notes or Hz, the preview region, the playhead."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from app.ui.plots import DEFAULT_REGION_S, PlotsPanel, format_time
from app.workers.waveform import envelope, pitch_curves


def _panel(qtbot) -> PlotsPanel:
    panel = PlotsPanel()
    qtbot.addWidget(panel)
    panel.resize(800, 500)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_input_sets_the_time_axis_and_the_default_region(qtbot) -> None:
    panel = _panel(qtbot)
    regions = []
    panel.region_changed.connect(lambda a, b: regions.append((a, b)))
    audio = np.sin(np.arange(16000 * 30) / 20).astype(np.float32)
    panel.set_input(envelope(audio, 16000, max_bins=5000, path="x.wav"))
    x, y = panel.input_curve.getOriginalDataset()
    assert len(x) == 10000 and x[-1] <= 30.0
    assert panel.region() == (0.0, DEFAULT_REGION_S) and regions[-1] == (0.0, DEFAULT_REGION_S)
    # A short file: the region is the whole file.
    panel.set_input(envelope(audio[: 16000 * 4], 16000))
    assert panel.region() == (0.0, 4.0)


def test_output_lines_up_with_the_input_at_the_preview_offset(qtbot) -> None:
    panel = _panel(qtbot)
    panel.set_input(envelope(np.zeros(16000 * 20, np.float32), 16000))
    panel.set_output(envelope(np.ones(16000 * 2, np.float32), 16000, offset=5.0))
    x, _ = panel.output_curve.getOriginalDataset()
    assert x[0] == 5.0 and abs(x[-1] - 7.0) < 1e-3
    # The three plots share one time axis.
    panel.input_plot.setXRange(2, 4, padding=0)
    for plot in (panel.output_plot, panel.pitch_plot):
        low, high = plot.viewRange()[0]
        assert abs(low - 2) < 1e-6 and abs(high - 4) < 1e-6


def test_pitch_curves_in_note_names_or_hz_with_gaps_where_unvoiced(qtbot) -> None:
    panel = _panel(qtbot)
    panel.set_input(envelope(np.zeros(16000 * 3, np.float32), 16000))
    f0 = np.array([0, 0, 220, 220, 0, 440], dtype=float)
    panel.set_pitch(pitch_curves(f0, f0 * 2, offset=1.0))
    x, y = panel.f0_in_curve.getOriginalDataset()
    assert x[0] == 1.0 and np.isnan(y[0]) and y[2] == 57.0  # A3 as a MIDI number
    _, target = panel.f0_target_curve.getOriginalDataset()
    assert target[2] == 69.0  # one octave up: A4
    assert panel.pitch_axis.tickStrings([57, 60], 1, 12) == ["A3", "C4"]
    panel.units_button.click()  # to Hz
    assert not panel.pitch_axis.note_names
    assert panel.pitch_axis.tickStrings([57, 69], 1, 12) == ["220", "440"]


def test_dragging_one_region_moves_them_all_and_clamps_to_the_file(qtbot) -> None:
    panel = _panel(qtbot)
    panel.set_input(envelope(np.zeros(16000 * 20, np.float32), 16000))
    with qtbot.waitSignal(panel.region_changed) as blocker:
        panel.regions[2].setRegion((15.0, 25.0))  # as if dragged on the pitch plot
        panel.regions[2].sigRegionChangeFinished.emit(panel.regions[2])
    assert blocker.args == [15.0, 20.0]
    assert all(r.getRegion() == (15.0, 20.0) for r in panel.regions)


def test_progress_playhead_and_click_to_seek(qtbot) -> None:
    panel = _panel(qtbot)
    panel.set_input(envelope(np.zeros(16000 * 10, np.float32), 16000))
    panel.set_progress(0.25)
    assert panel.progress_region.isVisible() and panel.progress_region.getRegion() == (0.0, 2.5)
    assert panel.output_hint.textItem.toPlainText() == "Converting… 25%"
    panel.set_playhead(3.5)
    assert panel.playhead() == 3.5 and all(line.isVisible() for line in panel.playheads)
    panel.fit()
    vb = panel.pitch_plot.vb
    scene_pos = vb.mapViewToScene(QPointF(6.0, 60.0))
    view_pos = panel.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(panel.seek_requested) as blocker:
        qtbot.mouseClick(panel.graphics.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert abs(blocker.args[0] - 6.0) < 0.2


def test_format_time() -> None:
    assert [format_time(s) for s in (0, 9, 65, 61.5)] == ["0:00", "0:09", "1:05", "1:01.5"]


def test_a_moving_playhead_does_not_redraw_the_curves_until_their_data_changes(qtbot, monkeypatch) -> None:
    """The playhead moves every 30 ms while a preview plays; the curves under it come from a
    cached pixmap (drawing them was the GUI thread's largest cost), but new data is drawn."""
    import pyqtgraph as pg

    panel = _panel(qtbot)
    audio = np.sin(np.arange(16000 * 20) / 20).astype(np.float32)
    panel.set_input(envelope(audio, 16000))
    panel.set_output(envelope(audio[: 16000 * 5], 16000, offset=2.0))
    panel.set_pitch(pitch_curves(np.full(500, 220.0), np.full(500, 330.0), offset=2.0))
    drawn = []
    original = pg.PlotCurveItem.paint
    monkeypatch.setattr(pg.PlotCurveItem, "paint", lambda item, *a: (drawn.append(item), original(item, *a))[1])
    qtbot.wait(50)  # the first paint fills the caches
    drawn.clear()
    for step in range(10):
        panel.set_playhead(2.0 + 0.3 * step)
        qtbot.wait(20)
    assert panel.playheads[0].isVisible() and not drawn
    panel.set_output(envelope(audio[: 16000 * 6], 16000, offset=2.0))
    qtbot.waitUntil(lambda: panel.output_curve.curve in drawn, timeout=2000)
