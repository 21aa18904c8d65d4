"""The settings store: typed defaults, bad values never leak out, per-model parameters, migration."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.settings import SETTINGS_VERSION, Settings, default_output_folder
from inference.pipeline.params import PARAM_DEFAULTS


def test_defaults_on_a_new_store(tmp_path: Path) -> None:
    s = Settings(tmp_path / "s.ini")
    assert s.model_folders == [] and s.weights_folder is None
    assert s.output_folder == default_output_folder() and s.output_format == "wav"
    assert s.naming_pattern == "{name} ({model})" and s.default_backend == "auto"
    assert s.params_for("anything") == PARAM_DEFAULTS and s.last_model == ""
    assert s.f0_note_names is True


def test_values_survive_a_restart_and_bad_ones_read_as_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    s = Settings(path)
    s.model_folders = [tmp_path / "a", tmp_path / "b", tmp_path / "a"]
    s.output_format = "flac"
    s.last_model = "Juice WRLD (RVC v2) 310 Epochs"
    s.set_params_for("Juice WRLD (RVC v2) 310 Epochs", {"pitch": -5, "index_rate": 0.5, "junk": 1})
    s.set_params_for("a/b", {"pitch": 3})  # ids with slashes do not become sub-groups
    s.sync()
    again = Settings(path)
    assert again.model_folders == [tmp_path / "a", tmp_path / "b"]
    assert again.output_format == "flac"
    assert again.params_for("Juice WRLD (RVC v2) 310 Epochs") == dict(PARAM_DEFAULTS, pitch=-5.0, index_rate=0.5)
    assert again.params_for("a/b")["pitch"] == 3.0 and again.params_for("a")["pitch"] == 0.0
    raw = QSettings(str(path), QSettings.Format.IniFormat)
    raw.setValue("output/format", "mp9")
    raw.setValue("engine/backend", 42)
    raw.setValue("library/folders", "{not json")
    raw.sync()
    broken = Settings(path)
    assert broken.output_format == "wav" and broken.default_backend == "auto" and broken.model_folders == []


def test_an_old_file_is_migrated_step_by_step(tmp_path: Path) -> None:
    path = tmp_path / "old.ini"
    raw = QSettings(str(path), QSettings.Format.IniFormat)
    raw.setValue("meta/version", 1)
    raw.setValue("output/pattern", "{model}_{name}")
    raw.sync()
    s = Settings(path)
    assert s.naming_pattern == "{model}_{name}"
    s.sync()
    raw = QSettings(str(path), QSettings.Format.IniFormat)
    assert int(raw.value("meta/version")) == SETTINGS_VERSION and raw.value("output/pattern") is None


def test_window_geometry_round_trip(tmp_path: Path) -> None:
    s = Settings(tmp_path / "s.ini")
    s.window_geometry = b"\x01\x02geometry"
    s.sync()
    assert Settings(tmp_path / "s.ini").window_geometry == b"\x01\x02geometry"


@pytest.mark.parametrize("version", [-(10**18), -1, "garbage"])
def test_a_version_no_app_wrote_reads_as_a_new_file_at_once(tmp_path: Path, version) -> None:
    # -10**18 used to be migrated one step at a time up to the current version: a hang at start-up
    import time

    path = tmp_path / "settings.ini"
    raw = QSettings(str(path), QSettings.Format.IniFormat)
    raw.setValue("meta/version", version)
    raw.sync()
    del raw
    t0 = time.monotonic()
    Settings(path).sync()
    assert time.monotonic() - t0 < 5
    assert int(QSettings(str(path), QSettings.Format.IniFormat).value("meta/version")) == SETTINGS_VERSION
