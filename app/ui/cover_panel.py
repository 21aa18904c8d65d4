"""The cover switch and its options: "Cover (keep the band)" separates the song's vocal,
converts only that, and mixes it back with the band. The ranges are the engine's
(:mod:`inference.covers.params`), never typed here again."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QFormLayout, QLineEdit, QVBoxLayout, QWidget

from inference.covers.params import ACCOMPANIMENT_GAIN, VOCAL_GAIN, clean_cover
from inference.pipeline.params import Range


def _gain_box(spec: Range, tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox(decimals=1, singleStep=spec.step, minimum=spec.low, maximum=spec.high, suffix=" dB")
    box.setAlignment(Qt.AlignmentFlag.AlignRight)
    box.setToolTip(f"{tip} ({spec.low:g} to {spec.high:g} dB)")
    return box


class CoverPanel(QWidget):
    """The switch and the cover's options (shown while the switch is on). ``changed(enabled,
    values)`` fires on every user change; ``values`` is a plain dict of the cover's settings."""

    changed = Signal(bool, dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        self._values = clean_cover({})
        self.switch = QCheckBox("Cover (keep the band)")
        self.switch.setObjectName("coverSwitch")
        self.switch.setToolTip(
            "For finished songs: the vocal is separated from the band, converted, and mixed back. "
            "Off: the whole file is converted as a voice."
        )
        self.dereverb = QCheckBox("Take reverb off the vocal first")
        self.dereverb.setToolTip("A second separation pass (a de-reverb model) before the conversion; slower")
        self.vocal_gain = _gain_box(VOCAL_GAIN, "The converted vocal's level in the mix")
        self.accompaniment_gain = _gain_box(ACCOMPANIMENT_GAIN, "The band's level in the mix")
        self.transpose = QCheckBox("Transpose the band with the pitch")
        self.transpose.setToolTip("Shift the band by the same semitones as the voice (as Replay offers)")
        self.stems = QCheckBox("Also write the stems")
        self.stems.setToolTip("Write the vocal, the converted vocal and the band beside the cover")

        self.separator_model = QLineEdit()
        self.separator_model.setPlaceholderText("Default")
        self.separator_model.setClearButtonEnabled(True)
        self.separator_model.setToolTip(
            "The separation model: a name (as `rvc-studio weights` lists them) or a model file; "
            "empty: UVR-MDX-NET-Voc_FT, else the best vocal model you have"
        )

        self.options = QWidget()
        form = QFormLayout(self.options)
        form.setContentsMargins(18, 0, 0, 0)
        form.setVerticalSpacing(4)
        form.addRow(self.dereverb)
        form.addRow("Vocal gain", self.vocal_gain)
        form.addRow("Band gain", self.accompaniment_gain)
        form.addRow(self.transpose)
        form.addRow(self.stems)
        form.addRow("Separation model", self.separator_model)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.switch)
        layout.addWidget(self.options)

        self.switch.toggled.connect(self._user_changed)
        for box in (self.dereverb, self.transpose, self.stems):
            box.toggled.connect(self._user_changed)
        for spin in (self.vocal_gain, self.accompaniment_gain):
            spin.valueChanged.connect(self._user_changed)
        self.separator_model.editingFinished.connect(self._model_edited)
        self.set_values(False, self._values)

    def enabled(self) -> bool:
        return self.switch.isChecked()

    def values(self) -> dict[str, Any]:
        """The cover's settings (the fields not shown here keep what was loaded)."""
        return clean_cover(
            dict(
                self._values,
                dereverb=self.dereverb.isChecked(),
                vocal_gain_db=self.vocal_gain.value(),
                accompaniment_gain_db=self.accompaniment_gain.value(),
                transpose_accompaniment=self.transpose.isChecked(),
                stems=self.stems.isChecked(),
                separator_model=self.separator_model.text().strip() or None,
            )
        )

    def set_values(self, enabled: bool, values: dict[str, Any]) -> None:
        """Show ``values`` (bad ones become defaults) without emitting ``changed``."""
        self._values = clean_cover(values)
        self._loading = True
        try:
            self.switch.setChecked(bool(enabled))
            self.dereverb.setChecked(self._values["dereverb"])
            self.vocal_gain.setValue(self._values["vocal_gain_db"])
            self.accompaniment_gain.setValue(self._values["accompaniment_gain_db"])
            self.transpose.setChecked(self._values["transpose_accompaniment"])
            self.stems.setChecked(self._values["stems"])
            self.separator_model.setText(self._values["separator_model"] or "")
        finally:
            self._loading = False
        self.options.setVisible(bool(enabled))

    def _model_edited(self) -> None:
        if (self.separator_model.text().strip() or None) != self._values["separator_model"]:
            self._user_changed()

    def _user_changed(self, *_args) -> None:
        self.options.setVisible(self.switch.isChecked())
        if not self._loading:
            self._values = self.values()
            self.changed.emit(self.switch.isChecked(), self._values)
