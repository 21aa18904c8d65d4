"""The main window: empty state, model choice remembered, parameters per model, menus."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from app.application import build_main_window
from app.ui.display import short_path
from app.ui.drop_zone import rejected_message
from inference.core import paths
from tests.support.gui import FakeModel, wait_models


def _window(qtbot, services):
    window = build_main_window(None, services=services)
    qtbot.addWidget(window)
    return window


def test_empty_state_until_a_model_appears(qtbot, make_services) -> None:
    installed: list[FakeModel] = []  # what the fake library finds on each scan
    services = make_services(model_list=installed, poll_interval_ms=50)
    window = _window(qtbot, services)
    wait_models(qtbot, services)
    assert window.stack.currentWidget() is window.empty_state
    assert short_path(paths.replay_models_dir()) in window.empty_state.body.text()
    # A model is installed while the window is open: the poll picks it up.
    installed.append(FakeModel("Newcomer"))
    qtbot.waitUntil(lambda: window.stack.currentIndex() == 1, timeout=5000)
    assert window.browser.current_model().id == "Newcomer"


def test_last_model_and_each_models_parameters_are_remembered(qtbot, make_services) -> None:
    services = make_services()
    window = _window(qtbot, services)
    wait_models(qtbot, services)
    assert window.browser.current_model().id.startswith("Alice")  # the first usable one
    window.browser.select_model("Bob")
    window.params.pitch_spin.setValue(-7)
    window.browser.select_model("Alice (RVC v2) 300 Epochs")
    assert window.params.values()["pitch"] == 0.0
    window.params.pitch_spin.setValue(12)
    window.browser.select_model("Bob")
    assert window.params.values()["pitch"] == -7.0
    assert not window.params.index_rate.isEnabled()  # Bob has no index
    window.close()

    again = _window(qtbot, make_services())
    wait_models(qtbot, again.services)
    assert again.browser.current_model().id == "Bob" and again.params.values()["pitch"] == -7.0


def test_menus_use_the_standard_shortcuts(qtbot, make_services) -> None:
    window = _window(qtbot, make_services())
    assert window.open_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Open)
    assert window.quit_action.shortcut() == QKeySequence(QKeySequence.StandardKey.Quit)
    prefs = QKeySequence(QKeySequence.StandardKey.Preferences)
    assert window.settings_action.shortcut() == (prefs if not prefs.isEmpty() else QKeySequence("Ctrl+,"))
    close = [a for a in window.menuBar().actions()[0].menu().actions() if a.text() == "&Close Window"][0]
    assert close.shortcut() == QKeySequence(QKeySequence.StandardKey.Close)
    assert window.play_action.shortcut() == QKeySequence("Space")
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&Playback", "&Models", "&View", "&Help"]


def test_unsupported_files_are_named_not_ignored(qtbot, make_services, tmp_path) -> None:
    services = make_services()
    window = _window(qtbot, services)
    wait_models(qtbot, services)
    (tmp_path / "cover.jpg").write_bytes(b"x")
    window.add_files([str(tmp_path / "cover.jpg")])
    expected = rejected_message([str(tmp_path / "cover.jpg")])
    qtbot.waitUntil(lambda: window.workbench.drop_zone.message == expected, timeout=5000)
    assert "cover.jpg" in window.statusBar().currentMessage()
    assert services.queue.jobs == []


def test_hz_or_note_names_is_a_remembered_view_setting(qtbot, make_services) -> None:
    services = make_services()
    window = _window(qtbot, services)
    window.hz_action.trigger()
    assert not window.plots.pitch_axis.note_names and services.settings.f0_note_names is False
    window.plots.units_button.click()  # back to notes from the plot's own button
    assert window.plots.pitch_axis.note_names and not window.hz_action.isChecked()


def test_presets_are_saved_applied_renamed_imported_and_deleted(qtbot, make_services, tmp_path) -> None:
    import json

    services = make_services()
    window = _window(qtbot, services)
    wait_models(qtbot, services)
    bar, store = window.params.presets, services.presets
    answers = ["Up an octave", "Octave up"]
    bar._ask_text = lambda *a: answers.pop(0)
    bar._confirm = lambda *a: True
    window.params.pitch_spin.setValue(12)
    window.params.formant.spin.setValue(1.2)
    bar.save_button.click()
    assert store.get("Up an octave") == dict(
        {k: v for k, v in window.params.values().items() if k != "backend"}, pitch=12.0, formant_timbre=1.2
    )
    assert bar.names() == ["Up an octave"] and bar.current() == "Up an octave"
    window.params.pitch_spin.setValue(0)
    window.params.formant.spin.setValue(1.0)
    bar.combo.activated.emit(1)  # the user picks it again
    assert window.params.values()["pitch"] == 12.0 and window.params.values()["formant_timbre"] == 1.2
    assert services.settings.params_for(window.browser.current_model().id)["pitch"] == 12.0  # remembered per model
    bar.rename_action.trigger()
    assert store.names() == ["Octave up"] and bar.current() == "Octave up"
    applio = tmp_path / "Music.json"
    applio.write_text(json.dumps({"pitch": 0, "index_rate": 0.75, "rms_mix_rate": 0.25, "protect": 0.33}, indent=4))
    bar._ask_file = lambda *a: str(applio)
    bar.import_action.trigger()
    assert bar.names() == ["Octave up", "Music"] and bar.current() == "Music"
    assert window.params.values()["rms_mix_rate"] == 0.25 and window.params.values()["pitch"] == 0.0
    bar.delete_action.trigger()
    assert store.names() == ["Octave up"]
    bar._ask_file = lambda *a: str(tmp_path / "nothing.json")
    bar.import_action.trigger()
    assert "file not found" in window.statusBar().currentMessage()
