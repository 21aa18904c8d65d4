"""Whole flows through the real window, its workers and threads (engine faked for speed):
drop files, the queue runs, outputs appear, plots fill in, preview re-synthesis after a pitch
change, the queue restored after a restart, quitting during a job."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.ui.player import OUTPUT
from app.workers.jobs import JobStatus
from tests.support.gui import drop_on, open_window, write_tone


def test_drop_files_queue_runs_outputs_appear_and_plots_fill_in(qtbot, make_services, tmp_path, fake_home) -> None:
    services = make_services()
    window = open_window(qtbot, services)
    window.params.pitch_spin.setValue(5)
    songs = [write_tone(tmp_path / "in" / f"take {i}.wav", 1.5) for i in range(2)]
    (tmp_path / "in" / "lyrics.txt").write_text("not a list of files\n", encoding="utf-8")
    drop_on(window, [tmp_path / "in"])  # a folder: its audio files are added, the rest named
    queue = services.queue
    qtbot.waitUntil(lambda: len(queue.jobs) == 2, timeout=5000)
    assert [j.input_path for j in queue.jobs] == [str(s) for s in songs]
    assert all(j.model_id.startswith("Alice") and j.params["pitch"] == 5.0 for j in queue.jobs)
    assert "lyrics.txt" in window.workbench.drop_zone.message
    qtbot.waitUntil(lambda: all(j.status == JobStatus.DONE for j in queue.jobs), timeout=10000)
    outputs = sorted(p.name for p in (fake_home / "out").iterdir())
    assert outputs == ["take 0 (Alice (RVC v2) 300 Epochs).wav", "take 1 (Alice (RVC v2) 300 Epochs).wav"]
    # The first dropped file is on the workbench: its input, then its converted output, drawn.
    plots = window.workbench.plots
    assert window.workbench.path == str(songs[0])
    qtbot.waitUntil(
        lambda: (
            plots.output_curve.getOriginalDataset()[0] is not None
            and len(plots.output_curve.getOriginalDataset()[0]) > 0
        ),
        timeout=5000,
    )
    x_in, _ = plots.input_curve.getOriginalDataset()
    assert abs(x_in[-1] - 1.5) < 0.01
    assert window.workbench.player.b_button.isEnabled()
    assert window.queue_view.model.rowCount() == 2


def test_preview_then_pitch_change_resynthesises_from_the_cached_analysis(
    qtbot, make_services, song, fake_converter
) -> None:
    services = make_services()
    window = open_window(qtbot, services)
    bench = window.workbench
    bench.set_file(str(song))
    qtbot.waitUntil(lambda: bench.plots.duration > 0, timeout=5000)
    assert bench.plots.region() == (0.0, 3.0)  # a 3 s song: the whole of it
    # The click comes before any background analysis of the new region (on a loaded machine
    # that one could finish first, and the preview then had nothing left to analyse).
    bench._prefetch = lambda: None
    bench.plots.set_region(0.5, 2.5)
    fake_converter.slow = {song.stem: 0.6}  # each step long enough to watch on a loaded machine
    with qtbot.waitSignal(services.preview.finished, timeout=10000):
        bench.preview_panel.preview_button.click()
        # progress shows beside the button and where the converted audio will appear
        qtbot.waitUntil(
            lambda: bench.preview_panel.time_label.text() == "Converting the region… 32% · Embedding", timeout=3000
        )
        assert bench.plots.output_hint.textItem.toPlainText() == "Converting the region… 32%"
    fake_converter.slow = {}
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Converted 2.0 s of audio in"))
    x, y = bench.plots.f0_target_curve.getOriginalDataset()
    assert abs(x[0] - 0.5) < 1e-9 and np.nanmax(y) == 57.0  # A3, no shift
    assert bench.player.side == OUTPUT
    # Dragging the pitch to +12 re-synthesises (no new analysis) and plays again.
    with qtbot.waitSignal(services.preview.finished, timeout=5000) as blocker:
        window.params.pitch_slider.setValue(12)
    assert blocker.args[0].request.params["pitch"] == 12.0
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Re-synthesised"), timeout=5000)
    _, y = bench.plots.f0_target_curve.getOriginalDataset()
    assert np.nanmax(y) == 69.0  # A4: the target curve moved up an octave
    converter = fake_converter.instances[-1]
    analysed_regions = {key[2:] for key in converter.analysed}
    assert (0.5, 2.5) in analysed_regions and converter.analyses == len(analysed_regions)  # each region once
    assert [c[3] for c in converter.calls if c[0] == "stream"] == [0.0, 12.0]
    assert bench.player.side == OUTPUT


def test_queue_restored_after_a_restart_and_quitting_mid_job_is_quick(
    qtbot, make_services, tmp_path, fake_home, fake_converter
) -> None:
    fake_converter.slow = {"long": 1.0}  # 5 s unless cancelled
    services = make_services()
    window = open_window(qtbot, services)
    songs = [write_tone(tmp_path / name, 0.5) for name in ("long.wav", "short.wav")]
    window.add_files([str(s) for s in songs])
    queue = services.queue
    qtbot.waitUntil(lambda: bool(queue.jobs) and queue.jobs[0].status == JobStatus.RUNNING, timeout=5000)
    # The window keeps processing events during the job.
    ticks = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.wait(300)
    timer.stop()
    assert len(ticks) >= 10
    started = time.perf_counter()
    window.close()  # what Cmd+Q / Cmd+W do: cancel, stop the threads, save
    assert time.perf_counter() - started < 2.0
    assert not services.queue.thread.isRunning() and not services.preview_thread.isRunning()
    assert not any(p.name.startswith(".rvc-studio-partial") for p in (fake_home / "out").glob(".*"))

    fake_converter.slow = {}
    again = make_services()
    restored = open_window(qtbot, again)
    assert [Path(j.input_path).name for j in again.queue.jobs] == ["long.wav", "short.wav"]
    assert restored.queue_view.model.rowCount() == 2
    qtbot.waitUntil(lambda: all(j.status == JobStatus.DONE for j in again.queue.jobs), timeout=10000)
    assert len(list((fake_home / "out").glob("*.wav"))) == 2


def test_a_missing_weight_fails_the_job_with_where_to_put_it(qtbot, make_services, song, fake_converter) -> None:
    message = "hubert_base.pt not found: put it in /Replay/weights or choose a weights folder in Settings"
    fake_converter.fail_with = message
    services = make_services()
    window = open_window(qtbot, services)
    window.add_files([str(song)])
    qtbot.waitUntil(
        lambda: bool(services.queue.jobs) and services.queue.jobs[0].status == JobStatus.FAILED, timeout=5000
    )
    assert window.queue_view.model.index(0, 3).data() == "Failed"
    assert window.queue_view.model.index(0, 5).data() == message
    assert window.workbench.notice.text() == f"⚠ {message}" and window.workbench.notice.isVisibleTo(window)


DOCK_PROBE = r"""
import json, sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFileOpenEvent
from app.application import StudioApplication, build_main_window, build_services, create_application
from tests.support.gui import FakeConverter, FakeModel, fake_decoder, library_factory
app, _ = create_application([])
assert isinstance(app, StudioApplication)
services = build_services(converter_factory=FakeConverter, params_factory=dict,
                          library_factory=library_factory([FakeModel("Alice")]), decoder=fake_decoder)
window = build_main_window(app, services=services)
window.show()
songs = sys.argv[1:]
def drop_on_dock():
    for song in songs:  # Finder sends one event per file
        app.sendEvent(app, QFileOpenEvent(song))
def check():
    if len(services.queue.jobs) == len(songs) or check.tries > 200:
        print(json.dumps({"jobs": [j.input_path for j in services.queue.jobs],
                          "bench": window.workbench.path}))
        window.close()
        app.quit()
    else:
        check.tries += 1
        QTimer.singleShot(20, check)
check.tries = 0
QTimer.singleShot(300, drop_on_dock)
QTimer.singleShot(400, check)
app.exec()
"""


def test_files_dropped_on_the_dock_icon_are_added_together(tmp_path, fake_home) -> None:
    import json
    import os
    import subprocess
    import sys

    songs = [str(write_tone(tmp_path / f"dock {i}.wav", 0.3)) for i in range(3)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", DOCK_PROBE, *songs], cwd=repo, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["jobs"] == songs
    assert result["bench"] == songs[0]  # one drop: the first file is shown, all are queued


def test_a_preview_plays_while_it_is_made_and_a_new_pitch_restarts_at_the_playhead(
    qtbot, make_services, song, fake_converter
) -> None:
    services = make_services()
    window = open_window(qtbot, services)
    bench = window.workbench
    bench.set_file(str(song))
    qtbot.waitUntil(lambda: bench.plots.duration > 0, timeout=5000)
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("● Ready"), timeout=5000)
    fake_converter.window_s, fake_converter.step_s = 0.25, 0.12  # 12 windows, each faster than it plays
    sounds: list[float] = []
    bench.first_sound.connect(sounds.append)
    lengths: list[int] = []
    show = bench.plots.set_output
    bench.plots.set_output = lambda wave: (lengths.append(len(wave.t)), show(wave))
    with qtbot.waitSignal(services.preview.finished, timeout=10000):
        bench.preview_panel.preview_button.click()
        qtbot.waitUntil(lambda: bool(sounds), timeout=5000)
        assert bench.player.is_playing() and bench.player.side == OUTPUT  # before the preview is done
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Converted 3.0 s"), timeout=5000)
    assert sounds[0] < 1.0  # the first window's wall time, not the region's
    assert lengths == sorted(lengths) and len(set(lengths)) > 3  # the output plot filled in as it came
    qtbot.waitUntil(lambda: bench.player.position() > 0.6, timeout=5000)
    fake_converter.step_s = 0.01
    with qtbot.waitSignal(services.preview.finished, timeout=10000) as blocker:
        window.params.pitch_slider.setValue(5)  # while it plays
    play_from = blocker.args[0].request.play_from
    assert play_from is not None and 0.6 < play_from < 3.0
    assert blocker.args[0].start_s == pytest.approx(play_from, abs=0.01)
    # A/B keeps the position with a streamed B too
    qtbot.waitUntil(lambda: bench.player.is_playing(), timeout=5000)
    before = bench.player.position()
    bench.player.set_side("input")
    assert abs(bench.player.position() - before) < 0.2
    bench.player.set_side(OUTPUT)
    assert abs(bench.player.position() - before) < 0.3


def _first_sound(qtbot, make_services, song) -> tuple[list[float], int]:
    """Preview the song in a new window: the first-sound delays, and how many windows had come."""
    services = make_services()
    window = open_window(qtbot, services)
    bench = window.workbench
    bench.set_file(str(song))
    qtbot.waitUntil(lambda: bench.plots.duration > 0, timeout=5000)
    chunks: list[float] = []
    services.preview.chunk.connect(lambda req, chunk: chunks.append(chunk.start_s))
    sounds: list[float] = []
    bench.first_sound.connect(sounds.append)
    with qtbot.waitSignal(services.preview.finished, timeout=10000):
        bench.preview_panel.preview_button.click()
        qtbot.waitUntil(lambda: bool(sounds), timeout=5000)
        heard_after = len(chunks)
    return sounds, heard_after


def test_the_engines_own_timing_starts_playback_after_the_first_window(
    qtbot, make_services, song, fake_converter, monkeypatch
) -> None:
    # One second of one-off work before the first window, then windows of 0.25 s made in 0.05 s
    # each: from the wall clock alone the first window looks slow (0.25 s of audio in 1.05 s) and
    # playback would wait; the engine's own figure (work_s) shows the rest will come in time.
    monkeypatch.setattr(fake_converter, "first_extra_s", 1.0)
    monkeypatch.setattr(fake_converter, "report_work", True)
    fake_converter.step_s = 0.05
    sounds, heard_after = _first_sound(qtbot, make_services, song)
    assert heard_after == 1  # playing from the first window on
    assert 1.0 <= sounds[0] < 1.6


def test_a_slow_first_window_does_not_hold_playback_back(qtbot, make_services, song, fake_converter, monkeypatch):
    # The first window costs what every window costs once (and, on a new shape, oneDNN's kernel
    # building): 0.25 s of audio in 0.5 s. The rest come in 0.05 s each. Counting the first in,
    # the rate after two windows is 0.5 s in 0.55 s, and 2.5 s more would not come in time: the
    # rate of the windows after the first says they will.
    monkeypatch.setattr(fake_converter, "report_work", True)
    monkeypatch.setattr(fake_converter, "first_work_s", 0.5)
    fake_converter.step_s = 0.05
    _, heard_after = _first_sound(qtbot, make_services, song)
    assert heard_after == 2


def test_the_output_format_and_bit_rate_of_settings_reach_the_conversion(
    qtbot, make_services, song, fake_converter, fake_home
) -> None:
    services = make_services()
    services.settings.output_format, services.settings.output_bitrate = "m4a", 256
    services.settings.naming_pattern = "{model} - {name}"
    window = open_window(qtbot, services)
    window.params.autotune.spin.setValue(0.5)
    drop_on(window, [song])
    qtbot.waitUntil(
        lambda: bool(services.queue.jobs) and services.queue.jobs[0].status == JobStatus.DONE, timeout=10000
    )
    params = next(c for c in fake_converter.instances[-1].calls if c[0] == "convert")[3]
    assert (params["output_format"], params["bitrate"], params["autotune"]) == ("m4a", 256, 0.5)
    assert (fake_home / "out" / "Alice (RVC v2) 300 Epochs - My Song.m4a").exists()
