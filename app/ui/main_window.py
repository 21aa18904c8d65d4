"""The main window: models on the left, the song in the middle, parameters on the right, the
queue below; menus with the standard shortcuts; an empty state when no model is found."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QWidget,
)

from app.ui import theme
from app.ui.download_dialog import SeparationOffer
from app.ui.drop_zone import FileDropFilter, rejected_message
from app.ui.empty_state import EmptyState
from app.ui.model_browser import ModelBrowser
from app.ui.params_panel import ParamsPanel
from app.ui.queue_view import QueueView
from app.ui.workbench import Workbench
from app.workers.jobs import Job, JobStatus

log = logging.getLogger(__name__)

AUDIO_FILTER = "Audio (*.wav *.flac *.mp3 *.m4a *.aac *.ogg *.opus *.aif *.aiff *.wma *.mp4 *.mov *.webm)"
LIST_FILTER = "Lists (*.txt *.m3u *.m3u8)"


class MainWindow(QMainWindow):
    def __init__(self, model_folders: list[Path], services: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.settings = services.settings
        self.queue = services.queue
        self.replay_models = [Path(f) for f in model_folders]
        self.setWindowTitle("RVC Studio")
        self.resize(1280, 820)
        self._rejected_text = ""
        self._waiting_for_models: list[str] = []

        self.empty_state = EmptyState(self._searched_folders())
        self.browser = ModelBrowser()
        self.workbench = Workbench(services.files, services.preview)
        self.params = ParamsPanel()
        self.params.set_default_backend(self.settings.default_backend)
        self.params.cover.set_values(self.settings.cover_enabled, self.settings.cover_params)
        self.workbench.set_cover(self.cover_settings())
        self.queue_view = QueueView(self.queue)
        self.plots = self.workbench.plots
        self.plots.set_note_names(self.settings.f0_note_names)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.browser)
        top.addWidget(self.workbench)
        # scrolls rather than growing the window when the cover's options are shown
        self.params_scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.params_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.params_scroll.setWidget(self.params)
        top.addWidget(self.params_scroll)
        top.setStretchFactor(0, 0)
        top.setStretchFactor(1, 1)
        top.setStretchFactor(2, 0)
        top.setSizes([420, 590, 270])  # the models' name, vocoder and embedder
        top.setChildrenCollapsible(False)
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self.queue_view)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        main.setSizes([560, 220])
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_state)
        self.stack.addWidget(main)
        self.main_view = main
        self.setCentralWidget(self.stack)
        self.drop_filter = FileDropFilter(self)
        self.drop_filter.dropped.connect(self.add_files)
        self.drop_filter.hovering.connect(self.workbench.drop_zone.set_hover)
        self.statusBar().setSizeGripEnabled(False)

        self._build_menus()
        self._connect()
        self.apply_theme()
        geometry = self.settings.window_geometry
        if geometry:
            self.restoreGeometry(geometry)
        if services.library.loaded:
            self._models_changed(services.library.models)
        self.separation_offer = SeparationOffer(
            services.separation, self.cover_settings, self, lambda text: self.statusBar().showMessage(text, 15000)
        )
        self.separation_offer.check()
        self.workbench.before_cover = self.separation_offer.ready

    # -- construction -------------------------------------------------------------------------
    def _searched_folders(self) -> list[Path]:
        return self.replay_models + [f for f in self.settings.model_folders if f not in self.replay_models]

    def _action(self, menu, text: str, slot, shortcut=None, role=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.triggered.connect(slot)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if role is not None:
            action.setMenuRole(role)
        if tip:
            action.setStatusTip(tip)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_action = self._action(
            file_menu, "&Open…", self.choose_files, QKeySequence.StandardKey.Open, tip="Add songs to convert"
        )
        self._action(file_menu, "Add &List…", self.choose_list, tip="Add the files named in a .txt or .m3u list")
        file_menu.addSeparator()
        prefs = QKeySequence(QKeySequence.StandardKey.Preferences)
        self.settings_action = self._action(
            file_menu,
            "&Settings…",
            self.open_settings,
            prefs if not prefs.isEmpty() else QKeySequence("Ctrl+,"),
            QAction.MenuRole.PreferencesRole,
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Close Window", self.close, QKeySequence.StandardKey.Close)
        self.quit_action = self._action(
            file_menu, "&Quit RVC Studio", QApplication.quit, QKeySequence.StandardKey.Quit, QAction.MenuRole.QuitRole
        )

        play = bar.addMenu("&Playback")
        self.play_action = self._action(play, "Play / Pause", self.workbench.player.toggle_play, "Space")
        self.ab_action = self._action(play, "Switch Original / Converted", self.workbench.player.toggle_ab, "B")
        play.addSeparator()
        self.preview_action = self._action(play, "Preview Region", self.workbench.request_preview, "Ctrl+P")
        self.convert_action = self._action(play, "Convert Song", self.convert_current, "Ctrl+Return")

        models = bar.addMenu("&Models")
        self._action(models, "Look for Models Again", self.services.library.rescan, "Ctrl+R")
        self._action(models, "Add Models Folder…", self.add_models_folder)
        self._action(models, "Reset Parameters to Defaults", self.params.reset)

        view = bar.addMenu("&View")
        self.hz_action = QAction("Pitch in Hz", self, checkable=True)
        self.hz_action.setChecked(not self.settings.f0_note_names)
        self.hz_action.toggled.connect(lambda hz: self._set_note_names(not hz))
        view.addAction(self.hz_action)
        self._action(view, "Show Whole Song", self.plots.fit, "Ctrl+0")

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "Show Log Folder", self._open_log_folder)
        self._action(help_menu, "About RVC Studio", self._about, role=QAction.MenuRole.AboutRole)

    def _connect(self) -> None:
        lib = self.services.library
        lib.models_changed.connect(self._models_changed)
        lib.scan_failed.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
        self.browser.model_selected.connect(self._model_selected)
        self.params.values_changed.connect(self._params_changed)
        self.params.cover.changed.connect(self._cover_changed)
        self.workbench.convert_requested.connect(self.convert_current)
        self.workbench.open_requested.connect(self.choose_files)
        self.queue_view.add_files_requested.connect(self.choose_files)
        self.queue_view.add_list_requested.connect(self.choose_list)
        self.queue_view.job_activated.connect(self.workbench.track_job)
        self.queue.job_changed.connect(self._job_changed)
        self.services.files.expanded.connect(self._expanded)
        self.empty_state.add_button.clicked.connect(self.add_models_folder)
        self.empty_state.rescan_button.clicked.connect(lib.rescan)
        self.plots.note_names_changed.connect(self._set_note_names)
        bar = self.params.presets
        bar.chosen.connect(self._preset_chosen)
        bar.save_requested.connect(lambda name: self._presets("save", name, self._preset_values(), current=name))
        bar.rename_requested.connect(lambda old, new: self._presets("rename", old, new, current=new))
        bar.delete_requested.connect(lambda name: self._presets("delete", name))
        bar.import_requested.connect(self._preset_import)
        bar.setEnabled(self.services.presets is not None)
        if self.services.presets is not None:
            self._presets("names")

    def apply_theme(self) -> None:
        QApplication.instance().setStyleSheet(theme.style_sheet(theme.colors(self.palette())))

    def changeEvent(self, event) -> None:  # noqa: N802 - light/dark switches
        from PySide6.QtCore import QEvent

        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.apply_theme()
        super().changeEvent(event)

    # -- models and parameters ------------------------------------------------------------------
    def _models_changed(self, models: list) -> None:
        self.browser.set_models(models)
        self.stack.setCurrentIndex(1 if models else 0)
        if models and self.browser.current_model() is None:
            last = self.settings.last_model
            if not (last and self.browser.select_model(last)):
                first = next((m for m in models if m.ok), None)
                if first is not None:
                    self.browser.select_model(first.id)
        if self._waiting_for_models:  # files given before the model list had arrived
            waiting, self._waiting_for_models = self._waiting_for_models, []
            self._queue_files(waiting)

    def _model_selected(self, model: Any) -> None:
        self.workbench.set_model(model)
        if model is None:
            return
        self.settings.last_model = model.id
        self.params.set_values(self.settings.params_for(model.id))
        self.params.set_model_caps(bool(getattr(model, "f0", True)), bool(getattr(model, "index_path", None)))
        self.workbench.set_params(self.params.values())

    def _params_changed(self, values: dict) -> None:
        model = self.browser.current_model()
        if model is not None:
            self.settings.set_params_for(model.id, values)
        self.workbench.set_params(values)

    def _cover_changed(self, enabled: bool, values: dict) -> None:
        self.settings.cover_enabled = enabled
        self.settings.cover_params = values
        self.workbench.set_cover(values if enabled else None)
        if enabled:
            self.separation_offer.check()  # again for another model or de-reverb

    def cover_settings(self) -> dict | None:
        """The cover's settings when the switch is on (None: a plain conversion)."""
        return self.params.cover.values() if self.params.cover.enabled() else None

    # -- presets ------------------------------------------------------------------------------
    def _presets(self, action: str, *args, current: str = ""):
        """Call the preset store's ``action``; refresh the list; an error goes to the status bar."""
        from inference.core.errors import RVCError

        store = self.services.presets
        try:
            result = getattr(store, action)(*args)
            names = store.names()
        except RVCError as error:
            self.statusBar().showMessage(str(error), 10000)
            return None
        self.params.presets.set_names(names, current)
        return result

    def _preset_values(self) -> dict:
        return {k: v for k, v in self.params.values().items() if k != "backend"}  # the engine is the machine's

    def _preset_chosen(self, name: str) -> None:
        values = self._presets("get", name, current=name)
        if values is not None:
            self.params.apply_preset(values)
            self.statusBar().showMessage(f"Preset “{name}” applied", 5000)

    def _preset_import(self, path: str) -> None:
        name = self._presets("import_applio", path)
        if name is not None:
            self._preset_chosen(name)

    def _set_note_names(self, on: bool) -> None:
        self.settings.f0_note_names = on
        self.plots.set_note_names(on)
        self.hz_action.blockSignals(True)
        self.hz_action.setChecked(not on)
        self.hz_action.blockSignals(False)

    # -- files and jobs -----------------------------------------------------------------------
    def add_files(self, paths: list) -> None:
        """Files or folders dropped, opened, listed or passed on the command line: sorted out
        on the files worker, then queued (see :meth:`_expanded`)."""
        paths = [str(p) for p in paths if p]
        if paths:
            self.services.files.request_expand.emit(paths, "add")

    def _expanded(self, audio: list, rejected: list, _purpose: str) -> None:
        self._rejected_text = rejected_message(rejected)
        self.workbench.drop_zone.set_message(self._rejected_text)
        if self._rejected_text:
            self.statusBar().showMessage(self._rejected_text, 15000)
        if not audio:
            return
        if self.browser.current_model() is None and not self.services.library.loaded:
            # Launched with files (or files sent by a second launch) before the first scan has
            # finished: they are queued as soon as the models are known, not dropped.
            self._waiting_for_models += audio
            self.workbench.set_file(audio[0])
            self.statusBar().showMessage("Looking for your voice models…", 10000)
            return
        self._queue_files(audio)

    def _queue_files(self, audio: list) -> None:
        model = self.browser.current_model()
        if model is None:
            self.workbench.set_file(audio[0])
            self.statusBar().showMessage("Choose a voice model to convert with.", 10000)
            return
        if not self.separation_offer.ready():
            self.workbench.set_file(audio[0])
            return
        jobs = self.queue.add(self._make_job(path, model) for path in audio)
        self.workbench.set_file(audio[0])
        self.workbench.track_job(jobs[0])
        self.queue_view.select_job(jobs[0].id)

    def _make_job(self, path: str, model: Any) -> Job:
        s = self.settings
        return Job(
            input_path=str(path),
            model_id=model.id,
            model_name=model.name,
            params=self.params.values(),
            output_dir=str(s.output_folder),
            naming_pattern=s.naming_pattern,
            output_format=s.output_format,
            bitrate=s.output_bitrate,
            cover=self.cover_settings(),
        )

    def convert_current(self) -> None:
        model = self.browser.current_model()
        if not self.workbench.path or model is None or not self.separation_offer.ready():
            return
        job = self.queue.add([self._make_job(self.workbench.path, model)])[0]
        self.workbench.track_job(job)
        self.queue_view.select_job(job.id)

    def _job_changed(self, job_id: str) -> None:
        job = self.queue.job(job_id)
        if job is not None:
            self.workbench.update_job(job)
            if job.status == JobStatus.RUNNING:
                what = "Making the cover of" if job.is_cover else "Converting"
                self.statusBar().showMessage(f"{what} {job.name}: {job.stage} {int(job.progress * 100)}%")
            elif job.status.finished:
                self.statusBar().clearMessage()

    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Add songs to convert", str(Path.home()), f"{AUDIO_FILTER};;All files (*)"
        )
        self.add_files(paths)

    def choose_list(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add the files in a list", str(Path.home()), LIST_FILTER)
        if path:
            self.add_files([path])

    # -- settings and misc ----------------------------------------------------------------------
    def add_models_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of voice models", str(Path.home()))
        if folder:
            self.settings.model_folders = [*self.settings.model_folders, Path(folder)]
            self._folders_changed()

    def _folders_changed(self) -> None:
        self.services.library.set_folders(self.settings.model_folders)
        self.empty_state.set_folders(self._searched_folders())

    def open_settings(self) -> None:
        from app.ui.settings_dialog import SettingsDialog
        from inference.core import paths

        before = (self.settings.model_folders, self.settings.weights_folder)
        from app.workers.separation_worker import stem_cache

        dialog = SettingsDialog(
            self.settings,
            paths.replay_models_dir(),
            paths.replay_weights_dir(),
            self,
            stem_cache=stem_cache(),
        )
        if dialog.exec():
            if self.settings.model_folders != before[0]:
                self._folders_changed()
            if self.settings.weights_folder != before[1]:
                self.services.weights_changed()
            self.params.set_default_backend(self.settings.default_backend)
        self.params.cover.set_values(self.settings.cover_enabled, self.settings.cover_params)
        self.workbench.set_cover(self.cover_settings())

    def _open_log_folder(self) -> None:
        from inference.core import paths

        QDesktopServices.openUrl(QUrl.fromLocalFile(str(paths.log_dir())))

    def _about(self) -> None:
        from app import __version__

        QMessageBox.about(
            self,
            "About RVC Studio",
            f"<b>RVC Studio {__version__}</b><br>Voice conversion with RVC models: PyTorch analysis, MLX synthesis.",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.window_geometry = bytes(self.saveGeometry())
        self.services.shutdown()
        super().closeEvent(event)
