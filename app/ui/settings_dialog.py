"""Settings: model folders, weights folder, output folder and naming, format and bit rate,
default engine. A name template the naming rule refuses is named in the dialog and not saved."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.settings import BACKENDS, DEFAULT_NAMING_PATTERN, OUTPUT_FORMATS, Settings
from app.ui.params_panel import BACKEND_LABELS
from app.workers.jobs import Job, output_name
from inference.audio.naming import NamingError, check_template
from inference.covers.params import STEM_CACHE_GB
from inference.pipeline.params import BITRATE, LOSSY_FORMATS

FORMAT_LABELS = {
    "wav": "WAV (16-bit)",
    "flac": "FLAC (lossless, smaller)",
    "mp3": "MP3",
    "m4a": "M4A (AAC)",
    "ogg": "Ogg (Opus)",
}


def _choose_folder(parent: QWidget, title: str, start: str) -> str:
    return QFileDialog.getExistingDirectory(parent, title, start)


class SettingsDialog(QDialog):
    """Edits a copy of the values; ``apply()`` writes them to the settings store (on OK)."""

    def __init__(
        self,
        settings: Settings,
        replay_models: Path,
        replay_weights: Path,
        parent: QWidget | None = None,
        choose_folder=_choose_folder,
        stem_cache=None,
    ) -> None:
        """``stem_cache``: the covers' stem cache (``size_bytes()``, ``clear()``), when there is one."""
        super().__init__(parent)
        self._stems = stem_cache
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self._choose = choose_folder

        # Models
        self.folders = QListWidget()
        self.folders.setMinimumHeight(90)
        for folder in settings.model_folders:
            self.folders.addItem(str(folder))
        add = QPushButton("Add Folder…")
        add.clicked.connect(self._add_folder)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self._remove_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        models_box = QGroupBox("Voice model folders")
        box = QVBoxLayout(models_box)
        box.addWidget(
            QLabel(f"Replay's models are always included:\n{replay_models}", objectName="hint", wordWrap=True)
        )
        box.addWidget(self.folders)
        box.addLayout(buttons)

        # Engine
        self.weights = QLineEdit(str(settings.weights_folder or ""))
        self.weights.setPlaceholderText("Optional")
        weights_row = self._with_button(self.weights, "Choose…", "Folder with hubert_base.pt and rmvpe.pt")
        self.backend = QComboBox()
        for key in BACKENDS:
            self.backend.addItem(BACKEND_LABELS[key], key)
        self.backend.setCurrentIndex(self.backend.findData(settings.default_backend))
        engine_box = QGroupBox("Engine")
        form = QFormLayout(engine_box)
        form.addRow(
            QLabel(
                f"The embedder (hubert_base.pt) and pitch model (rmvpe.pt) are taken from "
                f"{replay_weights} first, then from this folder. Models trained with another "
                "embedder find it here too (Applio's embedder folders, or an Applio install).",
                objectName="hint",
                wordWrap=True,
            )
        )
        form.addRow("Weights folder", weights_row)
        form.addRow("Default engine", self.backend)

        # Output
        self.output = QLineEdit(str(settings.output_folder))
        output_row = self._with_button(self.output, "Choose…", "Where converted files are saved")
        self.pattern = QLineEdit(settings.naming_pattern)
        self.pattern.setPlaceholderText(DEFAULT_NAMING_PATTERN)
        self.pattern.textChanged.connect(self._update_example)
        self.format = QComboBox()
        for key in OUTPUT_FORMATS:
            self.format.addItem(FORMAT_LABELS.get(key, key), key)
        self.format.setCurrentIndex(self.format.findData(settings.output_format))
        self.format.currentIndexChanged.connect(self._update_example)
        self.bitrate = QSpinBox(
            minimum=int(BITRATE.low), maximum=int(BITRATE.high), singleStep=int(BITRATE.step), suffix=" kbit/s"
        )
        self.bitrate.setValue(settings.output_bitrate)
        self.bitrate.setToolTip("The bit rate of MP3, M4A and Ogg files: higher sounds closer to the original")
        self.example = QLabel("", objectName="hint")
        output_box = QGroupBox("Output")
        form = QFormLayout(output_box)
        form.addRow("Folder", output_row)
        form.addRow("File name", self.pattern)
        form.addRow(
            "", QLabel("{name} song name · {model} model · {pitch} pitch · {f0} method · {date}", objectName="hint")
        )
        form.addRow("Example", self.example)
        form.addRow("Format", self.format)
        form.addRow("Bit rate", self.bitrate)
        # Covers: the stem cache
        self.stem_cache = QSpinBox(
            minimum=int(STEM_CACHE_GB.low), maximum=int(STEM_CACHE_GB.high), singleStep=1, suffix=" GB"
        )
        self.stem_cache.setValue(settings.stem_cache_gb)
        self.stem_cache.setToolTip(
            "Separated vocals and bands are kept, so another cover of the same song skips the separation; "
            "the least recently used go first"
        )
        self.stem_cache_used = QLabel("", objectName="hint")
        self.clear_stems = QPushButton("Clear")
        self.clear_stems.clicked.connect(self._clear_stems)
        stems_row = QWidget()
        row = QHBoxLayout(stems_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.stem_cache)
        row.addWidget(self.stem_cache_used, 1)
        row.addWidget(self.clear_stems)
        covers_box = QGroupBox("Covers")
        form = QFormLayout(covers_box)
        form.addRow("Keep separated stems up to", stems_row)
        self._show_stem_cache()
        self.error = QLabel("", objectName="dropMessage", wordWrap=True)

        buttons_box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons_box.accepted.connect(self.accept)
        buttons_box.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(models_box)
        layout.addWidget(engine_box)
        layout.addWidget(output_box)
        layout.addWidget(covers_box)
        layout.addWidget(self.error)
        layout.addWidget(buttons_box)
        self._update_example()

    def _with_button(self, edit: QLineEdit, text: str, title: str) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        button = QPushButton(text)
        button.clicked.connect(lambda: self._pick_into(edit, title))
        layout.addWidget(button)
        return row

    def _pick_into(self, edit: QLineEdit, title: str) -> None:
        folder = self._choose(self, title, edit.text() or str(Path.home()))
        if folder:
            edit.setText(folder)

    def _add_folder(self) -> None:
        folder = self._choose(self, "Add a folder of voice models", str(Path.home()))
        if folder and folder not in self.folder_list():
            self.folders.addItem(folder)

    def _remove_folder(self) -> None:
        for item in self.folders.selectedItems():
            self.folders.takeItem(self.folders.row(item))

    def folder_list(self) -> list[str]:
        return [self.folders.item(i).text() for i in range(self.folders.count())]

    def template_error(self) -> str:
        """Why the name template cannot name files ("" when it can)."""
        try:
            check_template(self.pattern.text() or DEFAULT_NAMING_PATTERN)
        except NamingError as error:
            return str(error)[0].upper() + str(error)[1:] + "."
        return ""

    def _update_example(self) -> None:
        self.bitrate.setEnabled(self.format.currentData() in LOSSY_FORMATS)
        problem = self.template_error()
        self.error.setText(problem)
        if problem:
            self.example.setText("—")
            return
        job = Job(
            "My Song.wav",
            "m",
            "Model",
            {"pitch": 12, "f0_method": "rmvpe"},
            "",
            naming_pattern=self.pattern.text() or DEFAULT_NAMING_PATTERN,
            output_format=self.format.currentData() or "wav",
        )
        self.example.setText(output_name(job))

    def _show_stem_cache(self) -> None:
        used = self._stems.size_bytes() if self._stems is not None else 0
        self.stem_cache_used.setText(f"{used / 1024**3:.1f} GB in use" if used else "empty")
        self.clear_stems.setEnabled(used > 0)

    def _clear_stems(self) -> None:
        if self._stems is not None:
            self._stems.clear()
        self._show_stem_cache()

    def accept(self) -> None:
        from inference.core.paths import is_inside_replay

        output = self.output.text().strip()
        problem = self.template_error()
        if problem:
            self.error.setText(problem)
            self.pattern.setFocus()
            return
        if not output:
            self.error.setText("Choose an output folder.")
            return
        if is_inside_replay(output):
            self.error.setText("RVC Studio never writes inside Replay's folder: choose another output folder.")
            return
        self.apply()
        super().accept()

    def apply(self) -> None:
        s = self.settings
        s.model_folders = [Path(f) for f in self.folder_list()]
        weights = self.weights.text().strip()
        s.weights_folder = Path(weights) if weights else None
        s.default_backend = self.backend.currentData()
        s.output_folder = Path(self.output.text().strip()).expanduser()
        s.naming_pattern = self.pattern.text()
        s.output_format = self.format.currentData()
        s.output_bitrate = self.bitrate.value()
        s.stem_cache_gb = self.stem_cache.value()
        s.sync()
