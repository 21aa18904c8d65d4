"""Thin stand-ins for the engine (library, converter, decoder) so GUI tests run in milliseconds.

They honour the same contracts as the real objects: progress callables, a cancel Event that
raises ``Cancelled``, output written into the folder they are given, ``RVCError`` failures.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from inference.audio.naming import DEFAULT_TEMPLATE, render_name
from inference.audio.write import open_writer
from inference.core.errors import RVCError, check_cancel
from inference.covers.separator import Separator, Stems

SR = 16000


@dataclass
class FakeModel:
    id: str
    name: str = ""
    source: str = "folder"
    root: str = ""
    model_path: str = ""
    index_path: str | None = "model.index"
    version: str = "v2"
    sample_rate: int = 40000
    f0: bool = True
    speakers: int = 1
    info: str = ""
    epochs: int | None = None
    author: str = ""
    vocoder: str = "HiFi-GAN"
    embedder: str = "contentvec"
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or self.id
        self.model_path = self.model_path or f"/models/{self.id}.pth"  # what a cover resolves the name from

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Changes:
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    changed: list = field(default_factory=list)


class FakeLibrary:
    """Models are whatever ``FakeLibrary.models`` holds (shared, so a test can change it)."""

    def __init__(
        self, models: list[FakeModel], folders=(), include_replay=True, cache_path=None, weights_dirs=()
    ) -> None:
        self.models = models
        self.folders = [Path(f) for f in folders]
        self._seen: list[str] = []

    def scan(self) -> list[FakeModel]:
        self._seen = [m.id for m in self.models]
        return list(self.models)

    def refresh(self) -> Changes:
        ids = [m.id for m in self.models]
        changes = Changes(
            added=[i for i in ids if i not in self._seen], removed=[i for i in self._seen if i not in ids]
        )
        self._seen = ids
        return changes

    def add_folder(self, folder) -> None:
        self.folders.append(Path(folder))

    def remove_folder(self, folder) -> None:
        self.folders.remove(Path(folder))


def library_factory(models: list[FakeModel]):
    return lambda **kwargs: FakeLibrary(models, **kwargs)


def tone(seconds: float = 1.0, hz: float = 220.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write_tone(path: Path, seconds: float = 1.0, hz: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, hz), SR)
    return path


@dataclass
class FakeResult:
    output_path: Path
    duration: float
    timings: dict
    sample_rate: int


class FakeConverter:
    """Writes a tone into ``output_dir`` in ``steps`` steps of ``step_s`` seconds each,
    checking the cancel event between steps. ``fail_with`` makes every job fail with that
    message. ``analyses`` counts previews that had to analyse (not only re-synthesise)."""

    step_s = 0.01
    steps = 5
    window_s = 0.25  # a streamed preview's windows
    first_extra_s = 0.0  # one-off work before a stream's first window (loading, analysis, encoding)
    report_work = False  # chunks say how long their own work took (work_s), as the real engine's do
    first_work_s: float | None = None  # the first window's own work, when it differs from step_s
    fail_with: str | None = None
    slow: dict[str, float] = {}  # input file stem -> step_s for that file only
    instances: list[FakeConverter] = []

    def __init__(self, weights_dirs=(), cache_dir=None) -> None:
        self.weights_dirs = list(weights_dirs)
        self.cache_dir = cache_dir
        self.calls: list[tuple] = []
        self.analysed: set = set()
        self.analyses = 0
        self.threads: set[str] = set()
        FakeConverter.instances.append(self)

    def convert_file(
        self, input_path, model, output_dir, params, progress=None, cancel=None, name_template=DEFAULT_TEMPLATE
    ) -> FakeResult:
        self.threads.add(threading.current_thread().name)
        self.calls.append(("convert", str(input_path), model.id, dict(params) if isinstance(params, dict) else params))
        step_s = self.slow.get(Path(input_path).stem, self.step_s)
        for i in range(self.steps):
            check_cancel(cancel)
            time.sleep(step_s)
            if progress:
                progress((i + 1) / self.steps, "Synthesising")
        if self.fail_with:
            raise RVCError(self.fail_with)
        pitch = float(params.get("pitch", 0.0)) if isinstance(params, dict) else float(params.pitch)
        fmt = params.get("output_format", "wav") if isinstance(params, dict) else params.output_format
        out = Path(output_dir) / render_name(
            name_template, name=Path(input_path).stem, model=model.name, pitch=pitch, f0="rmvpe", extension=fmt
        )
        with open_writer(out, SR, fmt) as writer:  # mp3, m4a and ogg too
            writer.write(tone(0.5, 220.0 * 2 ** (pitch / 12)))
        return FakeResult(out, 0.5, {"total": self.steps * self.step_s}, SR)

    def convert_array(self, audio, sr, model, params, progress=None, cancel=None):
        """A cover's vocal "converted": mono, half as loud, at the model's rate, in ``steps`` steps."""
        self.calls.append(("array", np.shape(audio), model.id))
        for i in range(self.steps):
            check_cancel(cancel)
            time.sleep(self.step_s)
            if progress:
                progress((i + 1) / self.steps, "Synthesising")
        mono = np.asarray(audio, np.float32).reshape(len(audio), -1).mean(axis=1)
        return 0.5 * mono, int(sr)

    def preview(self, input_path, model, params, start_s, end_s, progress=None, cancel=None):
        key = (str(input_path), model.id, start_s, end_s)
        pitch = float(params.get("pitch", 0.0)) if isinstance(params, dict) else float(params.pitch)
        self.calls.append(("preview", str(input_path), model.id, pitch, start_s, end_s))
        step_s = self.slow.get(Path(input_path).stem, self.step_s)
        if key not in self.analysed:
            self.analyses += 1
            self.analysed.add(key)
            for i in range(self.steps):  # like the real one: progress through the analysis
                if progress:
                    progress(0.8 * i / self.steps, "Embedding")
                time.sleep(step_s)
        check_cancel(cancel)
        if progress:
            progress(0.9, "Synthesising")
        if self.fail_with:
            raise RVCError(self.fail_with)
        n = int((end_s - start_s) * 100)
        f0_in = np.full(n, 220.0)
        f0_in[: n // 10] = 0.0  # some unvoiced frames
        f0_target = np.where(f0_in > 0, f0_in * 2 ** (pitch / 12), 0.0)
        audio = tone(end_s - start_s, 220.0 * 2 ** (pitch / 12))
        return audio, SR, f0_in, f0_target

    def preview_stream(self, input_path, model, params, start_s, end_s, play_from=None, progress=None, cancel=None):
        """Like the real one: the preview's audio in windows of ``window_s``, ``step_s`` apart."""
        from inference.pipeline.preview import PreviewChunk

        audio, sr, f0_in, f0_target = self.preview(input_path, model, params, start_s, end_s, progress, cancel)
        self.calls[-1] = ("stream", *self.calls[-1][1:], play_from)
        begin = 0 if play_from is None else int(round((play_from - start_s) * sr))
        step = int(self.window_s * sr)
        time.sleep(self.first_extra_s)
        for lo in range(begin, audio.shape[0], step):
            check_cancel(cancel)
            work_s = self.slow.get(Path(input_path).stem, self.step_s)
            if lo == begin and self.first_work_s is not None:
                work_s = self.first_work_s
            time.sleep(work_s)
            last = lo + step >= audio.shape[0]
            yield PreviewChunk(
                audio[lo : lo + step],
                sr,
                start_s + lo / sr,
                start_s,
                end_s,
                f0_in,
                f0_target,
                last,
                work_s if self.report_work else 0.0,
            )

    def analyse(self, input_path, model, params, region=None, cancel=None) -> None:
        """Background analysis: a region's is what a preview then skips."""
        self.calls.append(("analyse", None if input_path is None else str(input_path), model.id, region))
        if input_path is not None and region is not None:
            key = (str(input_path), model.id, region[0], region[1])
            if key not in self.analysed:
                for _ in range(self.steps):  # like the real one: the cancel is checked between steps
                    check_cancel(cancel)
                    time.sleep(self.step_s)
                self.analyses += 1  # analyses finished (a cancelled one is not kept, as in the engine)
                self.analysed.add(key)


def fake_decoder(path: str, sr: int) -> np.ndarray:
    if not Path(path).exists():
        raise RVCError(f"{path}: file not found")
    data, file_sr = sf.read(path, dtype="float32", always_2d=True)
    return data.mean(axis=1)


def wait_models(qtbot, services, timeout: int = 5000) -> None:
    qtbot.waitUntil(lambda: services.library.loaded, timeout=timeout)


def open_window(qtbot, services):
    """The real main window on ``services``, shown, with the library loaded."""
    from app.application import build_main_window

    window = build_main_window(None, services=services)
    qtbot.addWidget(window)
    window.resize(1280, 820)
    window.show()
    wait_models(qtbot, services)
    return window


def drop_on(window, paths: list[Path]) -> None:
    """What Qt delivers to the window's drop filter when files are dropped on it."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    assert window.drop_filter.eventFilter(window, event) and event.isAccepted()


class HalfSeparator(Separator):
    """A stand-in separation model: the vocal is 60 % of the song, the band the rest, so each stem
    is known; ``separate`` takes ``steps`` steps of ``step_s``."""

    name = "half separator"
    identity = "half-separator-v1"
    steps = 5
    step_s = 0.01

    def __init__(self) -> None:
        self.calls = 0

    def separate(self, song, rate, progress=None, cancel=None) -> Stems:
        self.calls += 1
        for step in range(self.steps):
            check_cancel(cancel)
            time.sleep(self.step_s)
            if progress is not None:
                progress((step + 1) / self.steps)
        vocal = (0.6 * song).astype(np.float32)
        return Stems(vocal, (song - vocal).astype(np.float32), rate)


def stage_factory(separator: Separator | None = None):
    """A ``SeparationStage`` factory whose vocal model is ``separator`` (no model file needed)."""
    from inference.covers.stage import SeparationStage

    return lambda: SeparationStage(fixed={"vocals": separator or HalfSeparator()})
