"""The conversion parameters: presets, pitch, pitch method, autotune, index rate, protect, RMS
mix, formant shift, backend; and the cover switch with its options (:mod:`app.ui.cover_panel`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui.cover_panel import CoverPanel
from app.ui.presets_bar import PresetsBar
from inference.pipeline.params import (
    AUTOTUNE,
    BACKENDS,
    DEFAULT_BACKEND,
    F0_METHODS,
    FORMANT_QUEFRENCY,
    FORMANT_TIMBRE,
    INDEX_RATE,
    PARAM_DEFAULTS,
    PITCH,
    PROTECT,
    RMS_MIX,
    Range,
    clean_params,
)

F0_LABELS = {
    "rmvpe": "RMVPE (best for singing)",
    "fcpe": "FCPE (fast)",
    "harvest": "Harvest (smooth, slow)",
}
BACKEND_LABELS = {"auto": "Automatic", "mlx": "MLX (Apple GPU)", "torch": "PyTorch (CPU)"}


class _FractionSlider(QWidget):
    """A slider over ``spec``'s range in hundredths, with a number beside it."""

    changed = Signal(float)

    def __init__(self, spec: Range, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(round(spec.low * 100)), int(round(spec.high * 100)))
        self.spin = QDoubleSpinBox(decimals=2, singleStep=spec.step, minimum=spec.low, maximum=spec.high)
        self.spin.setFixedWidth(64)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self._set(v / 100.0))
        self.spin.valueChanged.connect(self._set)

    def _set(self, value: float) -> None:
        value = round(float(value), 2)
        for widget, v in ((self.slider, int(round(value * 100))), (self.spin, value)):
            widget.blockSignals(True)
            widget.setValue(v)
            widget.blockSignals(False)
        self.changed.emit(value)

    def value(self) -> float:
        return round(self.spin.value(), 2)

    def setValue(self, value: float) -> None:  # noqa: N802 - Qt naming
        self._set(value)


class ParamsPanel(QWidget):
    """Edits one model's parameters. ``values_changed`` fires on every user change with the
    full dict; ``pitch_changed`` with the pitch alone (the preview re-synthesises on it)."""

    values_changed = Signal(dict)
    pitch_changed = Signal(float)
    reset_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._default_backend = DEFAULT_BACKEND

        self.pitch_slider = QSlider(Qt.Orientation.Horizontal)
        self.pitch_slider.setRange(int(PITCH.low), int(PITCH.high))
        self.pitch_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.pitch_slider.setTickInterval(12)
        self.pitch_slider.setPageStep(12)
        self.pitch_spin = QSpinBox(
            minimum=int(PITCH.low), maximum=int(PITCH.high), singleStep=int(PITCH.step), suffix=" st"
        )
        self.pitch_spin.setFixedWidth(72)
        self.pitch_spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.pitch_spin.setToolTip(
            "Semitones: +12 is one octave up (a male voice into a female model), -12 one octave down"
        )
        self.octave_down = QToolButton(text="−12")
        self.octave_up = QToolButton(text="+12")
        self.zero = QToolButton(text="0")
        for button, delta in ((self.octave_down, -12), (self.octave_up, 12)):
            button.setToolTip(f"One octave {'down' if delta < 0 else 'up'}")
            button.clicked.connect(lambda _=False, d=delta: self.set_pitch(self.pitch_spin.value() + d, user=True))
        self.zero.setToolTip("No pitch change")
        self.zero.clicked.connect(lambda: self.set_pitch(0, user=True))
        self.pitch_slider.valueChanged.connect(lambda v: self.set_pitch(v, user=True))
        self.pitch_spin.valueChanged.connect(lambda v: self.set_pitch(v, user=True))

        self.f0_method = QComboBox()
        for key in F0_METHODS:
            self.f0_method.addItem(F0_LABELS.get(key, key), key)
        self.f0_method.setToolTip("How the pitch of the input is followed")
        self.index_rate = _FractionSlider(INDEX_RATE)
        self.index_rate.setToolTip(
            "How much of the model's own voice texture (from its .index) is "
            "blended in. Higher: closer to the model, may slur words."
        )
        self.protect = _FractionSlider(PROTECT)
        self.protect.setToolTip(
            f"Keeps breaths and consonants clean. Lower protects more; {PROTECT.high:g} turns it off."
        )
        self.rms_mix = _FractionSlider(RMS_MIX)
        self.rms_mix.setToolTip("1: the result keeps its own loudness. 0: it follows the input's loudness.")
        self.autotune = _FractionSlider(AUTOTUNE)
        self.autotune.setToolTip(
            "Pulls the sung pitch toward the nearest semitone, after the pitch shift: 0 off, 1 right on the note"
        )
        self.formant = _FractionSlider(FORMANT_TIMBRE)
        self.formant.setToolTip(
            "Moves the input's formants before analysis: above 1 brighter (toward a higher voice), "
            "below 1 darker; 1 leaves them"
        )
        self.quefrency = _FractionSlider(FORMANT_QUEFRENCY)
        self.quefrency.setToolTip("How smooth the formant envelope is, in ms (Applio's quefrency)")
        self.formant.changed.connect(lambda v: self.quefrency.setEnabled(v != 1.0))
        self.presets = PresetsBar()
        self.backend = QComboBox()
        for key in BACKENDS:
            self.backend.addItem(BACKEND_LABELS[key], key)
        self.backend.setToolTip("Where the voice is synthesised. Automatic uses the Apple GPU when it can.")
        self.reset_button = QPushButton("Reset to Defaults")
        self.reset_button.clicked.connect(self.reset)

        self.f0_method.currentIndexChanged.connect(self._user_changed)
        self.backend.currentIndexChanged.connect(self._user_changed)
        for widget in (self.index_rate, self.protect, self.rms_mix, self.autotune, self.formant, self.quefrency):
            widget.changed.connect(self._user_changed)

        pitch_row = QHBoxLayout()
        pitch_row.setSpacing(4)
        pitch_row.addWidget(self.pitch_slider, 1)
        pitch_row.addWidget(self.pitch_spin)
        octave_row = QHBoxLayout()
        octave_row.setSpacing(4)
        for button in (self.octave_down, self.zero, self.octave_up):
            octave_row.addWidget(button)
        octave_row.addStretch(1)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.setVerticalSpacing(6)
        form.addRow("Preset", self.presets)
        form.addRow("Pitch", pitch_row)
        form.addRow("", octave_row)
        form.addRow("Pitch method", self.f0_method)
        form.addRow("Autotune", self.autotune)
        form.addRow("Index rate", self.index_rate)
        form.addRow("Protect consonants", self.protect)
        form.addRow("Loudness mix (RMS)", self.rms_mix)
        form.addRow("Formant shift", self.formant)
        form.addRow("Formant smoothing (ms)", self.quefrency)
        form.addRow("Engine", self.backend)
        self.form = form
        self.cover = CoverPanel()
        self.note = QLabel("", objectName="hint", wordWrap=True)
        title = QLabel("Parameters", objectName="sectionTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addSpacing(6)
        layout.addWidget(self.cover)
        layout.addStretch(1)
        layout.addWidget(self.reset_button)
        self.set_values(PARAM_DEFAULTS)

    # -- values -----------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        return {
            "pitch": float(self.pitch_spin.value()),
            "f0_method": self.f0_method.currentData(),
            "index_rate": self.index_rate.value(),
            "protect": self.protect.value(),
            "rms_mix_rate": self.rms_mix.value(),
            "autotune": self.autotune.value(),
            "formant_timbre": self.formant.value(),
            "formant_quefrency": self.quefrency.value(),
            "backend": self.backend.currentData(),
        }

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` (missing or bad ones become defaults) without emitting changes."""
        v = clean_params(values, backend=values.get("backend", self._default_backend))
        self._loading = True
        try:
            self.set_pitch(int(round(v["pitch"])), user=False)
            self.f0_method.setCurrentIndex(max(0, self.f0_method.findData(v["f0_method"])))
            self.index_rate.setValue(v["index_rate"])
            self.protect.setValue(v["protect"])
            self.rms_mix.setValue(v["rms_mix_rate"])
            self.autotune.setValue(v["autotune"])
            self.formant.setValue(v["formant_timbre"])
            self.quefrency.setValue(v["formant_quefrency"])
            self.backend.setCurrentIndex(max(0, self.backend.findData(v["backend"])))
        finally:
            self._loading = False

    def apply_preset(self, values: dict[str, Any]) -> None:
        """Set the fields a preset holds (the others stay); counts as a user change."""
        self.set_values({**self.values(), **values})
        self.values_changed.emit(self.values())
        self.pitch_changed.emit(float(self.pitch_spin.value()))

    def set_default_backend(self, backend: str) -> None:
        self._default_backend = backend if backend in BACKENDS else DEFAULT_BACKEND

    def reset(self) -> None:
        """Back to the defaults (the default engine from Settings); counts as a user change."""
        self.set_values(dict(PARAM_DEFAULTS, backend=self._default_backend))
        self.reset_requested.emit()
        self.values_changed.emit(self.values())
        self.pitch_changed.emit(float(self.pitch_spin.value()))

    def set_pitch(self, semitones: float, user: bool = True) -> None:
        value = int(PITCH.clamp(round(semitones)))
        changed = value != self.pitch_spin.value() or value != self.pitch_slider.value()
        for widget in (self.pitch_slider, self.pitch_spin):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        if changed and user and not self._loading:
            self.presets.clear_current()
            self.values_changed.emit(self.values())
            self.pitch_changed.emit(float(value))

    def set_model_caps(self, f0: bool, has_index: bool) -> None:
        """Grey out what the model cannot use: pitch for models without f0, index rate
        without an index."""
        for widget in (
            self.pitch_slider,
            self.pitch_spin,
            self.octave_down,
            self.octave_up,
            self.zero,
            self.f0_method,
            self.autotune,
            self.protect,
        ):
            widget.setEnabled(f0)
        self.index_rate.setEnabled(has_index)
        notes = []
        if not f0:
            notes.append("This model was trained without pitch: the pitch cannot be changed.")
        if not has_index:
            notes.append("This model has no .index file: index rate has no effect.")
        self.note.setText(" ".join(notes))
        self.note.setVisible(bool(notes))

    def _user_changed(self, *_args) -> None:
        if not self._loading:
            self.presets.clear_current()
            self.values_changed.emit(self.values())
