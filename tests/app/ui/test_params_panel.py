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
