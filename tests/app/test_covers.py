"""Covers in the window: the switch and its settings, cover jobs queued, saved and run through a
stand-in separator (the engine's real CoverMaker and SeparationStage around it), their stages
shown as they happen, the stems written under the naming rule."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import soundfile as sf

from app.settings import Settings
from app.workers.jobs import Job, JobStatus, QueueStore
from inference.covers.params import ACCOMPANIMENT_GAIN, VOCAL_GAIN
from tests.support.gui import HalfSeparator, open_window, stage_factory, write_tone


def _stereo_song(path: Path, seconds: float = 2.0, rate: int = 44100) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    song = np.stack([0.3 * np.sin(2 * np.pi * 220 * t), 0.2 * np.sin(2 * np.pi * 330 * t)], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), song.astype(np.float32), rate)
    return path


def test_the_cover_settings_round_trip_and_bad_values_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    s = Settings(path)
    assert s.cover_enabled is False and s.cover_params["vocal_gain_db"] == VOCAL_GAIN.default
    s.cover_enabled = True
    s.cover_params = {"vocal_gain_db": -3.5, "stems": True, "dereverb": True, "junk": 1}
    s.sync()
    again = Settings(path)
    assert again.cover_enabled is True
    assert again.cover_params["vocal_gain_db"] == -3.5 and again.cover_params["stems"] is True
    assert again.cover_params["dereverb"] is True and "junk" not in again.cover_params
    again.cover_params = {"vocal_gain_db": 99, "accompaniment_gain_db": "loud", "stems": "yes"}
    again.sync()
    clamped = Settings(path).cover_params
    assert clamped["vocal_gain_db"] == VOCAL_GAIN.high  # the engine's range, clamped
    assert clamped["accompaniment_gain_db"] == ACCOMPANIMENT_GAIN.default and clamped["stems"] is False


def test_the_switch_persists_and_a_cover_job_is_queued_saved_and_reloaded(
    qtbot, make_services, song, fake_home
) -> None:
    services = make_services(stage_factory=stage_factory())
    services.queue.set_paused(True)
    window = open_window(qtbot, services)
    cover = window.params.cover
    assert not cover.enabled() and not cover.options.isVisible()
    cover.switch.click()
    assert cover.options.isVisible()
    cover.vocal_gain.setValue(-2.5)
    cover.stems.click()
    cover.separator_model.setText("  Kim_Vocal_2 ")
    cover.separator_model.editingFinished.emit()
    window.workbench.set_file(str(song))
    window.convert_current()
    job = services.queue.jobs[-1]
    assert job.is_cover and job.cover["vocal_gain_db"] == -2.5 and job.cover["stems"] is True
    assert job.cover["separator_model"] == "Kim_Vocal_2"
    assert VOCAL_GAIN.low == cover.vocal_gain.minimum() and VOCAL_GAIN.high == cover.vocal_gain.maximum()
    window.params.cover.switch.click()  # off: the next job is a plain conversion
    window.convert_current()
    assert services.queue.jobs[-1].cover is None
    window.close()
    # a restart: the switch (off), its options and both jobs come back as they were
    services2 = make_services(stage_factory=stage_factory())
    assert services2.settings.cover_params["vocal_gain_db"] == -2.5 and services2.settings.cover_enabled is False
    reloaded = {j.id: j for j in services2.queue.jobs}
    assert reloaded[job.id].cover == job.cover and reloaded[job.id].status == JobStatus.QUEUED
    window2 = open_window(qtbot, services2)
    assert window2.params.cover.vocal_gain.value() == -2.5 and not window2.params.cover.enabled()


def test_a_saved_queue_from_before_covers_still_loads(tmp_path: Path) -> None:
    old = {"input_path": "/s/a.wav", "model_id": "m", "model_name": "M", "params": {"pitch": 2}, "output_dir": "/o"}
    broken = dict(old, cover={"vocal_gain_db": "x", "stems": True}, stems=["not", "a", "dict"])
    QueueStore(tmp_path).path.write_text(json.dumps({"version": 1, "jobs": [old, broken]}), encoding="utf-8")
    plain, cover = QueueStore(tmp_path).load()
    assert plain.cover is None and not plain.is_cover and plain.stems == {}
    assert cover.cover["vocal_gain_db"] == VOCAL_GAIN.default and cover.cover["stems"] is True and cover.stems == {}
    assert Job.from_json(cover.to_json()).cover == cover.cover


def test_the_queue_makes_a_cover_with_its_stems_and_shows_each_stage(qtbot, make_services, tmp_path, fake_home) -> None:
    separator = HalfSeparator()
    services = make_services(stage_factory=stage_factory(separator))
    window = open_window(qtbot, services)
    cover = window.params.cover
    cover.switch.click()
    cover.stems.click()
    song = _stereo_song(tmp_path / "songs" / "Night Song.flac")
    stages: list[str] = []
    statuses: list[str] = []

    def seen(job_id: str) -> None:
        job = services.queue.job(job_id)
        if job.status == JobStatus.RUNNING and (not stages or stages[-1] != job.stage):
            stages.append(job.stage)
            statuses.append(window.statusBar().currentMessage())

    services.queue.job_changed.connect(seen)
    window.add_files([str(song)])
    qtbot.waitUntil(lambda: bool(services.queue.jobs) and services.queue.jobs[0].status.finished, timeout=10000)
    job = services.queue.jobs[0]
    assert job.status == JobStatus.DONE, job.error
    assert separator.calls == 1
    out = fake_home / "out"
    base = "Night Song (Alice (RVC v2) 300 Epochs)"
    assert Path(job.output_path) == out / f"{base}.wav"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{base}{tail}.wav" for tail in ("", " - vocal", " - converted vocal", " - accompaniment")
    )
    assert set(job.stems) == {"vocal", "converted vocal", "accompaniment"}
    original, rate = sf.read(str(song), dtype="float32")
    made, made_rate = sf.read(job.output_path, dtype="float32")
    assert made_rate == rate and made.shape == original.shape  # the song's rate, length and channels
    vocal, _ = sf.read(job.stems["vocal"], dtype="float32")
    band, _ = sf.read(job.stems["accompaniment"], dtype="float32")
    np.testing.assert_allclose(vocal, 0.6 * original, atol=1e-3)  # what the stand-in separated
    np.testing.assert_allclose(band, 0.4 * original, atol=1e-3)
    # the stages came as they happened, in order, in the queue's row and the status bar
    assert [s for s in stages if s in ("Separating", "Converting", "Mixing")] == ["Separating", "Converting", "Mixing"]
    assert any(m.startswith("Making the cover of Night Song.flac: Separating") for m in statuses)
    row = services.queue.row_of(job.id)
    assert window.queue_view.model.index(row, 3).data().startswith("Done")


def test_a_missing_separation_model_is_offered_and_downloaded_from_127_0_0_1_only_after_consent(
    qtbot, make_services, fake_home, monkeypatch
) -> None:
    from inference.covers import catalog
    from tests.support.http_server import PAYLOAD, Server

    server = Server()
    try:
        item = catalog.DOWNLOADS[catalog.DEFAULT_MODEL]
        local = dataclasses.replace(item, url=server.url, size=len(PAYLOAD), sha256=hashlib.sha256(PAYLOAD).hexdigest())
        monkeypatch.setitem(catalog.DOWNLOADS, catalog.DEFAULT_MODEL, local)
        folder = catalog.downloads_dir()
        # half of it fetched before (an earlier, cancelled download): the rest is asked for with Range
        folder.mkdir(parents=True)
        (folder / f"{local.file_name}.part").write_bytes(PAYLOAD[:300_000])
        (folder / f"{local.file_name}.part.json").write_text(
            json.dumps({"url": local.url, "sha256": local.sha256, "size": local.size}), encoding="utf-8"
        )
        services = make_services()  # the real SeparationStage: nothing found in the fake home
        window = open_window(qtbot, services)
        window.params.cover.switch.click()
        offer = window.separation_offer
        qtbot.waitUntil(lambda: offer.dialog is not None and offer.dialog.isVisible(), timeout=5000)
        dialog = offer.dialog
        assert "UVR-MDX-NET-Voc_FT" in dialog.name_label.text() and local.file_name in dialog.name_label.text()
        assert dialog.size_label.text() == "0.8 MB"
        assert dialog.folder_label.toolTip() == str(folder) and "Replay" not in str(folder)
        assert str(folder).startswith(str(fake_home))
        # while the offer stands, a cover is not queued (it would only fail)
        window.workbench.set_file(str(write_tone(fake_home / "a.wav", 1.0)))
        window.convert_current()
        assert window.workbench.request_preview() is None  # nor previewed
        assert services.queue.jobs == [] and server.ranges == []  # nothing fetched without the click
        dialog.download_button.click()
        qtbot.waitUntil(lambda: (folder / local.file_name).is_file(), timeout=10000)
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
        assert dialog.result() == dialog.DialogCode.Accepted
        assert (folder / local.file_name).read_bytes() == PAYLOAD
        assert server.ranges == ["bytes=300000-"]  # resumed, one request
        assert not (folder / f"{local.file_name}.part").exists()
        assert offer.missing is None and "covers can be made now" in window.statusBar().currentMessage()
    finally:
        server.close()


def test_a_failed_download_says_why_and_offers_to_try_again(qtbot, make_services, monkeypatch) -> None:
    from inference.covers import catalog
    from tests.support.http_server import Server

    server = Server()
    server.status = 503
    try:
        local = dataclasses.replace(catalog.DOWNLOADS[catalog.DEFAULT_MODEL], url=server.url)
        monkeypatch.setitem(catalog.DOWNLOADS, catalog.DEFAULT_MODEL, local)
        services = make_services()
        window = open_window(qtbot, services)
        window.params.cover.switch.click()
        qtbot.waitUntil(lambda: window.separation_offer.dialog is not None, timeout=5000)
        dialog = window.separation_offer.dialog
        dialog.download_button.click()
        qtbot.waitUntil(lambda: dialog.download_button.text() == "Try Again", timeout=5000)
        assert "503" in dialog.status.text() and dialog.isVisible()
        assert not (catalog.downloads_dir() / local.file_name).exists()
    finally:
        server.close()


def test_a_cover_preview_separates_the_region_first_and_shows_its_vocal(
    qtbot, make_services, tmp_path, fake_converter
) -> None:
    separator = HalfSeparator()
    services = make_services(stage_factory=stage_factory(separator))
    window = open_window(qtbot, services)
    bench = window.workbench
    song = _stereo_song(tmp_path / "songs" / "Duet.wav", seconds=3.0)
    bench.set_file(str(song))
    qtbot.waitUntil(lambda: bench.plots.duration > 0, timeout=5000)
    bench.plots.set_region(0.5, 2.0)
    window.params.cover.switch.click()
    stages: list[str] = []
    services.preview.progress.connect(lambda _req, _f, stage: stages.append(stage))
    with qtbot.waitSignal(services.preview.finished, timeout=5000) as blocker:
        bench.preview_panel.preview_button.click()
    result = blocker.args[0]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == ["Separating", "Converting", "Mixing"]
    assert separator.calls == 1 and not result.streamed
    assert result.audio.shape == (int(1.5 * 44100), 2) and result.sample_rate == 44100  # the song's rate, channels
    # the converter previewed the separated vocal (a file of the region), not the song
    previews = [call for c in fake_converter.instances for call in c.calls if call[0] == "preview"]
    assert len(previews) == 1
    path = previews[0][1]
    assert path != str(song)
    vocal, rate = sf.read(path, dtype="float32")
    original, _ = sf.read(str(song), dtype="float32", start=int(0.5 * 44100), stop=int(2.0 * 44100))
    np.testing.assert_allclose(vocal, 0.6 * original.mean(axis=1), atol=1e-3)
    x, _ = bench.plots.vocal_curve.getOriginalDataset()
    assert abs(x[0] - 0.5) < 1e-6 and abs(x[-1] - 2.0) < 0.01  # the separated vocal, over the region
    assert bench.plots.input_plot.getAxis("left").labelText == "Vocal"
    assert bench.player.vocal_button.isVisible() and bench.player.b_button.text() == "B  Cover"
    assert sf.info(result.vocal_path).samplerate == 44100
    # a new pitch: the separation comes from the stem cache, and the remix is redone
    with qtbot.waitSignal(services.preview.finished, timeout=5000) as blocker:
        window.params.pitch_slider.setValue(7)
    assert separator.calls == 1 and blocker.args[0].request.params["pitch"] == 7.0
    qtbot.waitUntil(lambda: bench.preview_panel.time_label.text().startswith("Re-synthesised"), timeout=5000)
    # switched off: a plain (streamed) preview again, the song alone in the plots
    window.params.cover.switch.click()
    with qtbot.waitSignal(services.preview.finished, timeout=5000) as blocker:
        bench.preview_panel.preview_button.click()
    assert blocker.args[0].streamed and blocker.args[0].vocal_wave is None
    qtbot.waitUntil(
        lambda: bench.plots.vocal_curve.xData is None or len(bench.plots.vocal_curve.xData) == 0, timeout=5000
    )
    assert not bench.player.vocal_button.isVisible() and bench.plots.input_plot.getAxis("left").labelText == "Original"


def test_a_named_model_that_is_missing_is_said_in_one_line_without_an_offer(qtbot, make_services) -> None:
    services = make_services()
    services.settings.cover_params = {"separator_model": "my_own_separator"}
    window = open_window(qtbot, services)
    window.params.cover.switch.click()
    qtbot.waitUntil(lambda: "my_own_separator" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage().startswith("Could not find the separation model my_own_separator")
    assert window.separation_offer.dialog is None
