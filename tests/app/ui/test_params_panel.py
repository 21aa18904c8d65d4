"""The parameters panel: pitch slider and number agree, values are clamped, reset works."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.ui.params_panel import ParamsPanel
from inference.pipeline.params import PARAM_DEFAULTS


def test_slider_and_number_move_together_and_report_changes(qtbot) -> None:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    seen: list[dict] = []
    pitches: list[float] = []
    panel.values_changed.connect(seen.append)
    panel.pitch_changed.connect(pitches.append)
    panel.pitch_slider.setValue(7)
    assert panel.pitch_spin.value() == 7 and seen[-1]["pitch"] == 7.0
    panel.pitch_spin.setValue(-30)  # clamped to the spin box's -24
    assert panel.pitch_slider.value() == -24
    qtbot.mouseClick(panel.octave_up, Qt.MouseButton.LeftButton)
    assert panel.values()["pitch"] == -12.0
    assert pitches == [7.0, -24.0, -12.0]
    panel.index_rate.slider.setValue(40)
    assert panel.index_rate.spin.value() == 0.40 and seen[-1]["index_rate"] == 0.40
    panel.f0_method.setCurrentIndex(panel.f0_method.findData("fcpe"))
    assert seen[-1]["f0_method"] == "fcpe"


def test_set_values_is_silent_and_cleans_bad_values(qtbot) -> None:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    seen = []
    panel.values_changed.connect(seen.append)
    panel.set_values({"pitch": 99, "f0_method": "nonsense", "protect": 0.9, "index_rate": "x", "backend": "mlx"})
    assert seen == []
    assert panel.values() == {
        "pitch": 24.0,
        "f0_method": "rmvpe",
        "index_rate": 0.75,
        "protect": 0.5,
        "rms_mix_rate": 1.0,
        "autotune": 0.0,
        "formant_timbre": 1.0,
        "formant_quefrency": 1.0,
        "backend": "mlx",
    }


def test_reset_returns_to_the_defaults_with_the_default_engine(qtbot) -> None:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    panel.set_default_backend("torch")
    panel.set_values({"pitch": 5, "rms_mix_rate": 0.2, "backend": "mlx"})
    with qtbot.waitSignal(panel.values_changed) as blocker:
        qtbot.mouseClick(panel.reset_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] == dict(PARAM_DEFAULTS, backend="torch")


def test_controls_a_model_cannot_use_are_disabled(qtbot) -> None:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    panel.set_model_caps(f0=False, has_index=False)
    assert not panel.pitch_slider.isEnabled() and not panel.f0_method.isEnabled()
    assert not panel.index_rate.isEnabled()
    assert "without pitch" in panel.note.text() and "no .index" in panel.note.text()
    panel.set_model_caps(f0=True, has_index=True)
    assert panel.pitch_slider.isEnabled() and panel.index_rate.isEnabled() and panel.note.isHidden()


def test_autotune_and_formant_shift_report_and_clamp(qtbot) -> None:
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    seen: list[dict] = []
    panel.values_changed.connect(seen.append)
    assert not panel.quefrency.isEnabled()  # no formant shift: its smoothing does nothing
    panel.autotune.slider.setValue(60)
    panel.formant.spin.setValue(1.25)
    assert panel.quefrency.isEnabled()
    panel.quefrency.spin.setValue(3.5)
    assert {k: seen[-1][k] for k in ("autotune", "formant_timbre", "formant_quefrency")} == {
        "autotune": 0.6,
        "formant_timbre": 1.25,
        "formant_quefrency": 3.5,
    }
    panel.set_values({"autotune": 7, "formant_timbre": 0.1, "formant_quefrency": "x"})
    assert (panel.autotune.value(), panel.formant.value(), panel.quefrency.value()) == (1.0, 0.5, 1.0)
    panel.set_model_caps(f0=False, has_index=True)
    assert not panel.autotune.isEnabled() and panel.formant.isEnabled()


def test_a_preset_sets_its_fields_and_a_hand_change_unselects_it(qtbot) -> None:
    answers = ["Bright", "Brighter"]
    panel = ParamsPanel()
    qtbot.addWidget(panel)
    bar = panel.presets
    bar._ask_text = lambda *a: answers.pop(0)
    bar._confirm = lambda *a: True
    bar._ask_file = lambda *a: "/presets/Good for Anything.json"
    assert bar.combo.itemText(0) == "No presets yet" and not bar.rename_action.isEnabled()
    with qtbot.waitSignal(bar.save_requested) as saved:
        bar.save_button.click()
    assert saved.args == ["Bright"]
    bar.set_names(["Bright", "Speech"], current="Bright")
    assert bar.current() == "Bright" and bar.rename_action.isEnabled()
    with qtbot.waitSignal(bar.rename_requested) as renamed:
        bar.rename_action.trigger()
    assert renamed.args == ["Bright", "Brighter"]
    with qtbot.waitSignal(bar.delete_requested) as deleted:
        bar.delete_action.trigger()
    assert deleted.args == ["Bright"]
    with qtbot.waitSignal(bar.import_requested) as imported:
        bar.import_action.trigger()
    assert imported.args == ["/presets/Good for Anything.json"]
    with qtbot.waitSignal(bar.chosen) as chosen:
        bar.combo.activated.emit(2)
    assert chosen.args == ["Speech"]
    panel.set_values({"pitch": 3, "protect": 0.2, "backend": "torch"})
    with qtbot.waitSignal(panel.values_changed) as changed:
        panel.apply_preset({"pitch": 12.0, "formant_timbre": 1.2})
    assert {k: changed.args[0][k] for k in ("pitch", "protect", "formant_timbre", "backend")} == {
        "pitch": 12.0,
        "protect": 0.2,  # not in the preset: kept
        "formant_timbre": 1.2,
        "backend": "torch",
    }
    bar.set_names(["Bright", "Speech"], current="Speech")
    panel.index_rate.slider.setValue(10)  # a change by hand: the preset no longer describes the panel
    assert bar.current() == "" and bar.names() == ["Bright", "Speech"]
