"""The settings dialog edits the store; it refuses an output folder inside Replay's."""

from __future__ import annotations

from pathlib import Path

from app.settings import Settings
from app.ui.settings_dialog import SettingsDialog
from inference.core import paths


def _dialog(qtbot, settings, picks):
    dialog = SettingsDialog(
        settings, paths.replay_models_dir(), paths.replay_weights_dir(), choose_folder=lambda *a: picks.pop(0)
    )
    qtbot.addWidget(dialog)
    return dialog


def test_ok_writes_every_field(qtbot, fake_home: Path) -> None:
    settings = Settings()
    dialog = _dialog(qtbot, settings, [str(fake_home / "models"), str(fake_home / "w")])
    dialog._add_folder()
    dialog._pick_into(dialog.weights, "weights")
    dialog.output.setText(str(fake_home / "renders"))
    dialog.pattern.setText("{model} - {name}")
    assert dialog.example.text() == "Model - My Song.wav"
    dialog.format.setCurrentIndex(dialog.format.findData("flac"))
    assert dialog.example.text() == "Model - My Song.flac"
    dialog.backend.setCurrentIndex(dialog.backend.findData("torch"))
    dialog.accept()
    reread = Settings()
    assert reread.model_folders == [fake_home / "models"]
    assert reread.weights_folder == fake_home / "w"
    assert reread.output_folder == fake_home / "renders"
    assert reread.naming_pattern == "{model} - {name}"
    assert reread.output_format == "flac" and reread.default_backend == "torch"


def test_an_output_folder_inside_replay_is_refused(qtbot, fake_home: Path) -> None:
    settings = Settings()
    dialog = _dialog(qtbot, settings, [])
    dialog.output.setText(str(paths.replay_root() / "outputs"))
    dialog.accept()
    assert "never writes inside Replay" in dialog.error.text()
    assert Settings().output_folder != paths.replay_root() / "outputs"


def test_removing_a_models_folder(qtbot, fake_home: Path) -> None:
    settings = Settings()
    settings.model_folders = [fake_home / "a", fake_home / "b"]
    dialog = _dialog(qtbot, settings, [])
    dialog.folders.setCurrentRow(0)
    dialog.folders.item(0).setSelected(True)
    dialog.remove_button.click()
    dialog.accept()
    assert Settings().model_folders == [fake_home / "b"]


def test_a_bad_name_template_is_named_and_not_saved(qtbot, fake_home: Path) -> None:
    settings = Settings()
    dialog = _dialog(qtbot, settings, [])
    dialog.pattern.setText("{name}: {model}")
    assert "contains ':', which file names cannot hold" in dialog.error.text() and dialog.example.text() == "—"
    dialog.accept()
    assert dialog.result() == 0 and Settings().naming_pattern == "{name} ({model})"
    dialog.pattern.setText("{name} {colour}")
    assert "unknown placeholder {colour}" in dialog.error.text()
    dialog.pattern.setText("{model} - {name} {pitch}")
    assert dialog.error.text() == "" and dialog.example.text() == "Model - My Song +12.wav"


def test_compressed_formats_take_a_bit_rate(qtbot, fake_home: Path) -> None:
    settings = Settings()
    dialog = _dialog(qtbot, settings, [])
    assert not dialog.bitrate.isEnabled()  # wav
    dialog.format.setCurrentIndex(dialog.format.findData("ogg"))
    assert dialog.bitrate.isEnabled() and dialog.example.text() == "My Song (Model).ogg"
    assert dialog.format.currentText() == "Ogg (Opus)"
    dialog.bitrate.setValue(256)
    dialog.accept()
    assert (Settings().output_format, Settings().output_bitrate) == ("ogg", 256)


def test_the_stem_cache_is_bounded_in_settings_and_can_be_cleared(qtbot, fake_home: Path) -> None:
    import numpy as np

    from app.workers.engine import Engine
    from app.workers.separation_worker import stem_cache
    from inference.covers.separator import Stems

    folder = stem_cache(fake_home / "stems")
    song = np.full((44100, 2), 0.25, np.float32)
    folder.put("k" * 64, Stems(song, song, 44100))
    assert folder.size_bytes() > 0
    settings = Settings()
    assert settings.stem_cache_gb == 4  # the default
    dialog = SettingsDialog(settings, paths.replay_models_dir(), paths.replay_weights_dir(), stem_cache=folder)
    qtbot.addWidget(dialog)
    assert dialog.clear_stems.isEnabled() and "in use" in dialog.stem_cache_used.text()
    dialog.clear_stems.click()
    assert folder.size_bytes() == 0 and dialog.stem_cache_used.text() == "empty"
    assert not dialog.clear_stems.isEnabled()
    dialog.stem_cache.setValue(10)
    dialog.accept()
    assert Settings().stem_cache_gb == 10
    settings.stem_cache_gb = 10_000  # clamped to the range's top
    assert Settings().stem_cache_gb == 200
    # the engine's separation stage takes the bound at each use
    stage = type("Stage", (), {"cache": folder})()
    engine = Engine(list, fake_home, stage_factory=lambda: stage, stem_cache_bytes=lambda: 3 * 1024**3)
    assert engine.stage().cache.max_bytes == 3 * 1024**3
