"""The preview worker: converts a region on its thread, reuses the analysis, coalesces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QThread

from app.workers.engine import Engine
from app.workers.preview_worker import PreviewRequest, PreviewWorker
from tests.support.gui import FakeModel, write_tone

MODEL = FakeModel("Alice")


@pytest.fixture
def worker(tmp_path: Path, fake_converter, qapp):
    engine = Engine(lambda: [], tmp_path / "cache", factory=fake_converter, params_factory=dict)
    w = PreviewWorker(engine, tmp_path / "previews")
    thread = QThread()
    w.moveToThread(thread)
    thread.started.connect(w.run)
    thread.start()
    yield w
    w.stop()
    assert thread.wait(2000)


def _request(song: Path, pitch: float, start: float = 0.5, end: float = 1.5) -> PreviewRequest:
    return PreviewRequest(str(song), MODEL, {"pitch": pitch, "f0_method": "rmvpe"}, start, end)


def test_preview_converts_the_region_and_writes_what_the_player_plays(qtbot, worker, tmp_path, fake_converter) -> None:
    song = write_tone(tmp_path / "song.wav", 2.0)
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.request(_request(song, 12))
    result = blocker.args[0]
    assert result.request.start_s == 0.5 and result.sample_rate == 16000
    assert result.wave.offset == 0.5 and abs(result.wave.t[0] - 0.5) < 1e-9  # lined up with the input
    audio, sr = sf.read(result.wav_path)
    assert sr == 16000 and len(audio) == len(result.audio) == 16000
    assert result.f0 is not None and result.f0.t[0] == 0.5
    voiced = result.f0.f0_in > 0
    np.testing.assert_allclose(result.f0.f0_target[voiced], 2 * result.f0.f0_in[voiced])  # +12 st
    assert result.seconds > 0


def test_a_pitch_change_resynthesises_from_the_cached_analysis(qtbot, worker, tmp_path, fake_converter) -> None:
    song = write_tone(tmp_path / "song.wav", 2.0)
    with qtbot.waitSignal(worker.finished, timeout=5000):
        worker.request(_request(song, 0))
    with qtbot.waitSignal(worker.finished, timeout=5000) as blocker:
        worker.request(_request(song, 5))
    converter = fake_converter.instances[0]
    assert len(fake_converter.instances) == 1  # one converter kept for the worker's life
    assert converter.analyses == 1  # the second preview only re-synthesised
    assert [c[3] for c in converter.calls] == [0.0, 5.0]
    assert blocker.args[0].request.params["pitch"] == 5


def test_requests_coalesce_to_the_newest(qtbot, worker, tmp_path, fake_converter) -> None:
    fake_converter.step_s = 0.05
    song = write_tone(tmp_path / "song.wav", 2.0)
    results = []
    worker.finished.connect(lambda r: results.append(r.request.params["pitch"]))
    for pitch in range(8):
        last = worker.request(_request(song, pitch))
    qtbot.waitUntil(lambda: bool(results) and results[-1] == 7, timeout=5000)
    qtbot.wait(100)
    assert last.serial == 8
    assert len(results) < 8 and results[-1] == 7


def test_failures_are_one_line_messages(qtbot, worker, tmp_path, fake_converter) -> None:
    fake_converter.fail_with = "rmvpe.pt not found: put it in the weights folder"
    song = write_tone(tmp_path / "song.wav", 2.0)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.request(_request(song, 0))
    assert blocker.args[1] == fake_converter.fail_with
    fake_converter.fail_with = f"{song}: is silent (nothing to convert)"
    # another region: the worker analyses before failing. (pytest-qt's blocker is called on the
    # worker's thread; a failure sent before the blocker's loop runs can leave it waiting.)
    with qtbot.waitSignal(worker.failed, timeout=5000) as blocker:
        worker.request(_request(song, 1, start=0.2, end=1.2))
    assert blocker.args[1] == "is silent (nothing to convert)"  # the song's title names the file
