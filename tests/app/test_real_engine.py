"""The window with the real engine: the real model library, Converter, embedder, pitch and
synthesizer, on random-weight files in the real formats in a temporary HOME's Replay folder.

The other GUI tests fake the engine for speed; this one proves the wiring: a dropped song is
converted by the queue into a playable file at the model's rate, and a preview returns audio
and pitch curves, then re-synthesises after a pitch change.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from app.workers.jobs import JobStatus
from tests.support.gui import drop_on, open_window
from tests.support.pipeline import build_replay, voice

RATE = 32000


@pytest.fixture
def real_services(fake_home, qapp, monkeypatch):
    from app.application import build_services
    from app.settings import Settings

    replay = build_replay(fake_home, models={"Singer (v2)": ("v2", RATE, True)})
    monkeypatch.setenv("RVC_STUDIO_REPLAY_DIR", str(replay))
    settings = Settings()
    settings.output_folder = fake_home / "out"
    services = build_services(settings=settings)
    yield services
    services.shutdown()


def test_a_dropped_song_is_converted_and_previewed_by_the_real_engine(qtbot, real_services, fake_home, tmp_path):
    services = real_services
    window = open_window(qtbot, services)
    assert [m.name for m in services.library.models] == ["Singer (v2)"]
    assert services.library.models[0].ok and services.library.models[0].index_path
    window.params.f0_method.setCurrentIndex(window.params.f0_method.findData("fcpe"))
    window.params.backend.setCurrentIndex(window.params.backend.findData("torch"))
    song = tmp_path / "take.wav"
    sf.write(str(song), voice(2.0), 16000)

    drop_on(window, [song])
    queue = services.queue
    qtbot.waitUntil(lambda: len(queue.jobs) == 1, timeout=5000)
    qtbot.waitUntil(lambda: queue.jobs[0].status in (JobStatus.DONE, JobStatus.FAILED), timeout=120_000)
    job = queue.jobs[0]
    assert job.status == JobStatus.DONE, job.error
    audio, sr = sf.read(job.output_path, dtype="float32")
    assert sr == RATE and abs(len(audio) / sr - 2.0) < 0.05
    assert np.isfinite(audio).all() and np.abs(audio).max() > 1e-3

    bench = window.workbench
    qtbot.waitUntil(lambda: bench.plots.duration > 0, timeout=10_000)
    bench.plots.set_region(0.0, 1.5)
    with qtbot.waitSignal(services.preview.finished, timeout=120_000) as first:
        bench.preview_panel.preview_button.click()
    result = first.args[0]
    assert result.f0 is not None and abs(result.seconds) >= 0 and result.streamed
    # the worker's signal reaches the test at once, the window's queued slots just after
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Converted 1.5 s of audio in"))
    with qtbot.waitSignal(services.preview.finished, timeout=120_000) as second:
        window.params.pitch_slider.setValue(7)
    assert second.args[0].request.params["pitch"] == 7.0
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Re-synthesised"), timeout=10_000)
