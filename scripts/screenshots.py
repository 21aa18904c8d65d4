"""Regenerate docs/screenshots/*.png from a real RVC Studio window.

    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots.py
    xvfb-run -a -s "-screen 0 1440x900x24" .venv/bin/python scripts/screenshots.py --dark

The window, its widgets, workers and threads are the real ones. What is *not* real is the
engine: no voice model can be downloaded here, and a random-weight model sings noise, so the
pictures use a stand-in converter that analyses pitch for real (WORLD's Harvest, via pyworld)
and pitch-shifts the input (librosa) instead of running RVC. Models in the list are stand-ins
too. Everything is written under a temporary folder; nothing touches your settings or Replay.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OUT = REPO / "docs" / "screenshots"
SR = 16000

_tmp = Path(tempfile.mkdtemp(prefix="rvc-studio-shots-"))
for _var, _sub in (
    ("RVC_STUDIO_DATA_DIR", "data"),
    ("RVC_STUDIO_CACHE_DIR", "cache"),
    ("RVC_STUDIO_LOG_DIR", "logs"),
    ("RVC_STUDIO_REPLAY_DIR", "home/Library/Application Support/Replay/com.replay.Replay"),
):
    os.environ[_var] = str(_tmp / _sub)
os.environ["HOME"] = str(_tmp / "home")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia*=false")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from inference.core.errors import RVCError, check_cancel  # noqa: E402
from inference.core.runtime import prepare_process  # noqa: E402

prepare_process()


@dataclass
class DemoModel:
    id: str
    version: str = "v2"
    sample_rate: int = 40000
    f0: bool = True
    index_path: str | None = "added_IVF1024_Flat_nprobe_1_v2.index"
    epochs: int | None = None
    problems: list[str] = field(default_factory=list)
    source: str = "replay"
    root: str = ""
    author: str = ""
    info: str = ""
    speakers: int = 1
    vocoder: str = "HiFi-GAN"
    embedder: str = "contentvec"

    @property
    def name(self) -> str:
        return self.id

    @property
    def ok(self) -> bool:
        return not self.problems


MODELS = [
    DemoModel("Aria — Soprano (RVC v2) 400 Epochs", epochs=400),
    DemoModel("Baritone Ben v2", sample_rate=48000),
    DemoModel("Choir Alto 32k", sample_rate=32000, index_path=None),
    DemoModel("Kenji (Applio) 32k", sample_rate=32000, embedder="japanese-hubert-base", epochs=500),
    DemoModel("Old Radio Voice (v1)", version="v1"),
    DemoModel("Robot (RefineGAN)", sample_rate=32000, vocoder="RefineGAN"),
    DemoModel(
        "Robot 2025 (RefineGAN)",
        vocoder="RefineGAN",
        problems=[
            "unsupported: a RefineGAN model from an older Applio (before August 2025), in a layout that "
            "current Applio cannot run either"
        ],
    ),
    DemoModel("Seoul Pop (Applio)", embedder="korean-hubert-base", problems=["<the engine's message>"]),
    DemoModel("Juice Style (RVC v2) 310 Epochs", epochs=310),
    DemoModel("Spoken Narrator", f0=False, index_path=None),
]


def sung_phrase(seconds: float = 24.0) -> np.ndarray:
    """A voiced, vibrato-laden melody with breaths between phrases (a stand-in for a singer)."""
    rng = np.random.default_rng(3)
    notes = [57, 60, 62, 64, 62, 60, 0, 64, 65, 67, 69, 67, 0, 72, 71, 69, 67, 65, 64, 0, 62, 64, 60, 60]
    per = seconds / len(notes)
    f0 = np.zeros(int(seconds * SR))
    amp = np.zeros_like(f0)
    for i, note in enumerate(notes):
        a, b = int(i * per * SR), int((i + 1) * per * SR)
        if note:
            t = np.arange(b - a) / SR
            glide = np.exp(-t * 18) * (-0.6)
            vibrato = 0.35 * np.sin(2 * np.pi * 5.5 * t) * np.clip(t * 2, 0, 1)
            f0[a:b] = 440 * 2 ** ((note + glide + vibrato - 69) / 12)
            env = np.minimum(1, t * 12) * np.minimum(1, (t[-1] - t) * 10 + 0.05)
            amp[a:b] = env * (0.6 + 0.3 * rng.random())
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum((0.9**k) * np.sin(k * phase) / k for k in range(1, 12))
    breath = rng.normal(0, 0.02, f0.shape) * (amp < 0.05)
    audio = 0.45 * amp * voice + breath
    return (audio / np.abs(audio).max() * 0.8).astype(np.float32)


def band_loop(seconds: float = 24.0) -> np.ndarray:
    """A bass line under the melody (stand-in for the band of a song), all below 120 Hz."""
    t = np.arange(int(seconds * SR)) / SR
    roots = np.array([55.0, 49.0, 41.2, 43.65])[(t // 3).astype(int) % 4]
    phase = 2 * np.pi * np.cumsum(roots) / SR
    pulse = 0.6 + 0.4 * np.cos(2 * np.pi * 2 * t) ** 2
    return (0.25 * pulse * (np.sin(phase) + 0.3 * np.sin(2 * phase))).astype(np.float32)


class DemoSeparator:
    """A stand-in separation model: the song split at 120 Hz (the demo band is all bass)."""

    name = "demo separator"
    identity = "demo-separator-v1"

    def separate(self, song, rate, progress=None, cancel=None):
        from scipy.signal import butter, sosfiltfilt

        from inference.covers.separator import Stems

        sos = butter(8, 120, "highpass", fs=rate, output="sos")
        vocal = sosfiltfilt(sos, song, axis=0).astype(np.float32)
        if progress:
            progress(1.0)
        return Stems(vocal, (song - vocal).astype(np.float32), rate)

    def close(self) -> None:
        pass


class DemoConverter:
    """Stand-in engine: real pitch analysis, a pitch-shifted copy as the 'converted' voice."""

    hold = threading.Event()  # convert_file pauses at 45% until this is set
    hold_file = ""
    fail_file = ""
    fail_message = ""

    def __init__(self, weights_dirs=(), cache_dir=None) -> None:
        self._f0: dict[str, np.ndarray] = {}

    def _analyse(self, path: str, start: float, end: float) -> np.ndarray:
        import pyworld

        key = f"{path}:{start}:{end}"
        if key not in self._f0:
            audio, _ = sf.read(path, dtype="float64")
            seg = audio[int(start * SR) : int(end * SR)]
            f0, _ = pyworld.harvest(seg, SR, f0_floor=60, f0_ceil=1000, frame_period=10)
            self._f0[key] = f0
        return self._f0[key]

    def _shift(self, audio: np.ndarray, pitch: float) -> np.ndarray:
        import librosa

        return librosa.effects.pitch_shift(audio, sr=SR, n_steps=pitch, res_type="soxr_hq") if pitch else audio

    def preview(self, input_path, model, params, start_s, end_s, progress=None, cancel=None):
        from inference.f0 import autotune_f0, shift_f0

        f0 = self._analyse(str(input_path), start_s, end_s)
        audio, _ = sf.read(str(input_path), dtype="float32")
        out = self._shift(audio[int(start_s * SR) : int(end_s * SR)], params["pitch"])
        return out, SR, f0, autotune_f0(shift_f0(f0, params["pitch"]), params.get("autotune", 0.0))  # the engine's

    def convert_file(self, input_path, model, output_dir, params, progress=None, cancel=None, name_template=None):
        from inference.audio.naming import DEFAULT_TEMPLATE, render_name

        for i in range(1, 21):
            check_cancel(cancel)
            if progress:
                progress(i / 20, "Synthesising" if i > 8 else "Analysing")
            if i == 9 and Path(input_path).name == self.hold_file:
                self.hold.wait()
            if Path(input_path).name == self.fail_file and i == 3:
                raise RVCError(self.fail_message)
            time.sleep(0.005)
        audio, _ = sf.read(str(input_path), dtype="float32")
        name = render_name(
            name_template or DEFAULT_TEMPLATE, name=Path(input_path).stem, model=model.name, pitch=params["pitch"]
        )
        out = Path(output_dir) / name
        sf.write(str(out), self._shift(audio, params["pitch"]), SR)

        @dataclass
        class Result:
            output_path: Path
            duration: float = 0.0
            timings: dict = field(default_factory=dict)
            sample_rate: int = SR

        return Result(out)


def missing_weights_message() -> str:
    """The engine's own message for a missing embedder (the screenshot's Replay has none)."""
    try:
        from inference.models.weights import find_weight

        find_weight("hubert", [])
    except RVCError as exc:
        return str(exc)
    except ImportError:
        pass
    return (
        "hubert_base.pt not found: put it in ~/Library/Application Support/Replay/com.replay.Replay/"
        "weights/, or choose a weights folder in Settings"
    )


def missing_embedder_message() -> str:
    """The engine's own problem for a model whose embedder is not on the machine."""
    from inference.models.embedders import EmbedderRef, find_embedder

    try:
        find_embedder(EmbedderRef("korean-hubert-base"), [])
    except RVCError as exc:
        return str(exc)
    return "needs the korean-hubert-base embedder"


class FakeLibrary:
    def __init__(self, models, folders=(), include_replay=True, cache_path=None, weights_dirs=()) -> None:
        self.models, self.folders = models, list(folders)

    def scan(self):
        return list(self.models)

    def refresh(self):
        @dataclass
        class Changes:
            added: list = field(default_factory=list)
            removed: list = field(default_factory=list)
            changed: list = field(default_factory=list)

        return Changes()


def main() -> int:
    from PySide6.QtCore import QTimer

    from app.application import build_main_window, build_services, create_application
    from app.settings import Settings
    from inference.covers.stage import SeparationStage

    if "--dark" in sys.argv:
        os.environ["QT_QPA_PLATFORMTHEME"] = ""
    app, _ = create_application([])
    if "--dark" in sys.argv:
        _dark_palette(app)
    OUT.mkdir(parents=True, exist_ok=True)
    songs = _tmp / "home" / "Music" / "Takes"
    songs.mkdir(parents=True)
    melody = sung_phrase()
    for name in ("Verse 1 (lead vocal).wav", "Chorus (double).wav", "Bridge.wav", "Outro ad-libs.wav"):
        sf.write(str(songs / name), melody, SR)
    sf.write(str(songs / "Full Song (with band).wav"), 0.8 * melody + band_loop(), SR)

    def wait(ms: int) -> None:
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def until(cond, timeout_ms: int = 20000) -> None:
        end = time.monotonic() + timeout_ms / 1000
        while not cond():
            if time.monotonic() > end:
                raise RuntimeError("the window did not reach the state to capture")
            app.processEvents()
            time.sleep(0.01)

    def shoot(window, name: str) -> None:
        wait(300)
        path = OUT / name
        window.grab().save(str(path))
        print("wrote", path.relative_to(REPO))

    def window_with(models):
        settings = Settings()
        settings.output_folder = _tmp / "home" / "Music" / "RVC Studio"
        services = build_services(
            settings=settings,
            converter_factory=DemoConverter,
            params_factory=dict,
            library_factory=lambda **kw: FakeLibrary(models, **kw),
            decoder=lambda p, sr: sf.read(p, dtype="float32")[0],
            stage_factory=lambda: SeparationStage(fixed={"vocals": DemoSeparator()}),
        )
        window = build_main_window(app, services=services)
        window.resize(1280, 800)
        window.show()
        until(lambda: services.library.loaded)
        return window, services

    suffix = "-dark" if "--dark" in sys.argv else ""
    if not suffix:
        window, services = window_with([])
        shoot(window, "empty.png")
        window.close()

    next(m for m in MODELS if m.embedder == "korean-hubert-base").problems = [missing_embedder_message()]
    window, services = window_with(MODELS)
    for name, values in (
        ("Male to female", {"pitch": 12.0, "formant_timbre": 1.2, "protect": 0.33}),
        ("Music (Applio)", {"pitch": 0.0, "index_rate": 0.75, "rms_mix_rate": 0.25, "protect": 0.33}),
    ):
        services.presets.save(name, values)
    window.params.presets.set_names(services.presets.names())
    window.browser.select_model(MODELS[0].id)
    if not suffix:
        shoot(window, "models.png")

    # Converting: two songs dropped, the first one held at 45%.
    DemoConverter.hold_file = "Verse 1 (lead vocal).wav"
    DemoConverter.fail_file = "Bridge.wav"
    DemoConverter.fail_message = missing_weights_message()
    window.params.pitch_spin.setValue(12)
    window.add_files([str(songs / "Verse 1 (lead vocal).wav"), str(songs / "Chorus (double).wav")])
    queue = services.queue
    until(lambda: len(queue.jobs) == 2 and queue.jobs[0].progress >= 0.4)
    until(lambda: window.workbench.plots.duration > 0)
    if not suffix:
        shoot(window, "converting.png")
    DemoConverter.hold.set()
    until(lambda: all(j.status.finished for j in queue.jobs))

    # Preview with plots: a region in the chorus, pitch +12.
    window.workbench.set_file(str(songs / "Verse 1 (lead vocal).wav"))
    until(lambda: window.workbench.plots.duration > 0)
    window.workbench.plots.set_region(7.0, 15.0)
    window.params.autotune.spin.setValue(0.8)  # the target curve shows the notes it is pulled to
    window.workbench.request_preview()
    until(lambda: window.workbench.preview_panel.time_label.text().startswith(("Converted", "Re-synth")))
    window.workbench.player.media.pause()
    window.workbench.player.seek(10.2)
    shoot(window, f"preview{suffix}.png")

    if not suffix:
        # A cover: the switch on, a region of a song with its band previewed; the separated vocal
        # drawn over the song, and the player's third choice (the converted vocal alone).
        window.params.cover.switch.click()
        window.params.cover.stems.click()
        window.workbench.set_file(str(songs / "Full Song (with band).wav"))
        until(lambda: window.workbench.plots.duration > 0)
        window.workbench.plots.set_region(7.0, 15.0)
        window.workbench.request_preview()
        until(lambda: window.workbench.preview_panel.time_label.text().startswith(("Converted", "Re-synth")))
        window.workbench.player.media.pause()
        window.workbench.player.seek(10.2)
        window.params_scroll.ensureWidgetVisible(window.params.cover)
        shoot(window, "cover.png")
        window.params_scroll.verticalScrollBar().setValue(0)
        window.params.cover.switch.click()

        # The queue with a failed job: the missing embedder says where to put it.
        window.add_files([str(songs / "Bridge.wav"), str(songs / "Outro ad-libs.wav")])
        until(lambda: len(queue.jobs) == 4 and all(j.status.finished for j in queue.jobs))
        window.queue_view.table.selectRow(2)
        shoot(window, "queue-failed.png")
    window.close()
    QTimer.singleShot(0, app.quit)
    app.exec()
    return 0


def _dark_palette(app) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QStyleFactory

    app.setStyle(QStyleFactory.create("Fusion"))
    p = QPalette()
    for role, color in (
        (QPalette.ColorRole.Window, "#1e1e1e"),
        (QPalette.ColorRole.WindowText, "#ececec"),
        (QPalette.ColorRole.Base, "#252525"),
        (QPalette.ColorRole.AlternateBase, "#2c2c2c"),
        (QPalette.ColorRole.Text, "#ececec"),
        (QPalette.ColorRole.Button, "#323232"),
        (QPalette.ColorRole.ButtonText, "#ececec"),
        (QPalette.ColorRole.Highlight, "#0a84ff"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.ToolTipBase, "#323232"),
        (QPalette.ColorRole.ToolTipText, "#ececec"),
        (QPalette.ColorRole.PlaceholderText, "#8a8a8a"),
    ):
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#6a6a6a"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#6a6a6a"))
    app.setPalette(p)


if __name__ == "__main__":
    sys.exit(main())
