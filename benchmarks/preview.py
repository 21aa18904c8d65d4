"""Time to first sound in the real window, and how long the GUI thread ever stalls.

Run from the repository root (offscreen, no display needed)::

    .venv/bin/python -m benchmarks.preview                  # torch backend
    .venv/bin/python -m benchmarks.preview --backend mlx

The real window, its workers and the real engine, on random-weight files of the real sizes and
formats (a fairseq ``hubert_base.pt``, ``rmvpe.pt``, a v2 48 kHz voice model with its index) in a
fake Replay tree: the figures measure compute, not quality. A 10 s region of a 30 s song, RMVPE:

- **cold**: the app just started in a fresh process (no library imported yet: torch,
  transformers and the rest load on first use), the song opened, Preview pressed as soon as the
  song is drawn: seconds from opening it to the first sound (playback starting). The embedder
  was converted from fairseq's format in an earlier session, as for anyone who has used the
  app before; ``--first-run`` leaves that one-off conversion in (about 5 s here);
- **warm**: the model loaded and the region analysed in the background (the window's own work
  before the click): seconds from pressing Preview to the first sound;
- **pitch change**, analysis cached: seconds from moving the pitch to the first sound (the
  window waits 150 ms for a dragged slider to settle: included);
- each time, the same preview *done* (every window made): what the first sound was before
  previews streamed;
- **stall**: the longest gap between two ticks of a 10 ms timer on the GUI thread during the
  cold preview and during a batch conversion of the whole song (the event loop's responsiveness).

Without an audio device the stream follows a clock; "first sound" is when playback starts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SONG_S, REGION = 30.0, (10.0, 20.0)


def prepare(work: Path) -> Path:
    """The fake Replay tree with real-size random weights, and the song. Returns the song."""
    import numpy as np
    import soundfile as sf

    from tests.support.f0 import make_rmvpe
    from tests.support.features import make_fairseq_hubert, make_index
    from tests.support.pipeline import voice
    from tests.support.voice_models import make_voice_model

    replay = work / "Replay" / "com.replay.Replay"
    weights, model_dir = replay / "weights", replay / "models" / "Singer"
    weights.mkdir(parents=True, exist_ok=True)
    model_dir.mkdir(parents=True, exist_ok=True)
    make_fairseq_hubert(weights / "hubert_base.pt", seed=0, size="base")
    make_rmvpe(weights / "rmvpe.pt", seed=0)
    make_index(model_dir / "added_IVF256_Flat_nprobe_1_Singer_v2.index", 768, 10000, seed=0)
    make_voice_model(model_dir / "Singer.pth", version="v2", sample_rate=48000, f0=True, dtype="float16", seed=1)
    song = work / "song.wav"
    audio = voice(SONG_S, 44100)
    sf.write(song, np.stack([audio, 0.8 * audio], axis=1), 44100, subtype="PCM_16")
    return song


class StallMeter:
    """The longest gap between ticks of a 10 ms timer on the GUI thread, while running."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.worst = 0.0
        self._last = None
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.worst = max(self.worst, now - self._last)
        self._last = now

    def start(self) -> None:
        self.worst, self._last = 0.0, None
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


def wait(app, predicate, timeout: float = 600.0) -> float:
    """Process events until ``predicate()``; returns the seconds it took.

    The loop sleeps until an event comes, as the app's own event loop does (a timer wakes it to
    look at ``predicate`` every 50 ms): polling instead took a tenth of a core from the engine.
    Times are taken by the signals' handlers, so they do not wait for the next look.
    """
    from PySide6.QtCore import QEventLoop, QTimer

    t0 = time.perf_counter()
    guard = QTimer(interval=50)
    guard.start()
    try:
        while not predicate():
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            if time.perf_counter() - t0 > timeout:
                raise TimeoutError("the window did not get there in time")
    finally:
        guard.stop()
    return time.perf_counter() - t0


def run(work: Path, backend: str) -> dict:
    os.environ["RVC_STUDIO_REPLAY_DIR"] = str(work / "Replay" / "com.replay.Replay")
    for var, sub in (
        ("RVC_STUDIO_CACHE_DIR", "cache"),
        ("RVC_STUDIO_DATA_DIR", "data"),
        ("RVC_STUDIO_LOG_DIR", "logs"),
    ):
        os.environ[var] = str(work / sub)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import build_main_window, build_services, create_application
    from app.settings import Settings
    from app.workers.jobs import JobStatus

    app, _ = create_application([])
    settings = Settings()
    settings.output_folder = work / "out"
    services = build_services(settings=settings)
    window = build_main_window(app, services=services)
    window.resize(1280, 820)
    gc.freeze()  # as run_gui does before it shows the window
    window.show()
    wait(app, lambda: services.library.loaded and window.browser.current_model() is not None)
    window.params.backend.setCurrentIndex(window.params.backend.findData(backend))
    bench, preview = window.workbench, services.preview
    sounds: list[float] = []
    done: list[float] = []
    bench.first_sound.connect(lambda s: sounds.append(time.perf_counter()))
    preview.finished.connect(lambda r: done.append(time.perf_counter()))
    meter = StallMeter()
    out: dict = {}

    # cold: open the song on the workbench and press Preview as soon as it is drawn (a drop would
    # also queue a conversion of the whole song, which would compete for the cores)
    meter.start()
    t0 = time.perf_counter()
    bench.set_file(str(work / "song.wav"))
    wait(app, lambda: bench.plots.duration > 0)
    bench.plots.set_region(*REGION)
    bench.request_preview()
    wait(app, lambda: sounds and done)
    out["cold_first"], out["cold_done"] = sounds[-1] - t0, done[-1] - t0
    out["stall_preview"] = meter.stop()

    # warm: another stretch, analysed in the background before the click
    sounds.clear(), done.clear()
    bench.plots.set_region(REGION[0] + 5, REGION[1] + 5)
    wait(app, lambda: bench._analysed is not None and bench._analysed.start_s == REGION[0] + 5)
    wait(app, lambda: not preview._running, 60)  # the whole-song analysis may go on: let it (fair)
    t0 = time.perf_counter()
    bench.request_preview()
    wait(app, lambda: sounds and done)
    out["warm_first"], out["warm_done"] = sounds[-1] - t0, done[-1] - t0

    # a new pitch, the analysis cached (not playing: a fresh start from the region's start)
    wait(app, lambda: not bench.player.is_playing(), 60)
    sounds.clear(), done.clear()
    t0 = time.perf_counter()
    slider = window.params.pitch_slider  # a work folder used before (--work) may have kept 5
    slider.setValue(5 if slider.value() != 5 else -5)
    wait(app, lambda: sounds and done)
    out["pitch_first"], out["pitch_done"] = sounds[-1] - t0, done[-1] - t0

    # a batch: the whole song through the queue, the event loop measured meanwhile
    meter.start()
    window.convert_current()
    job = services.queue.jobs[-1]
    wait(app, lambda: services.queue.job(job.id).status.finished, 1200)
    out["stall_batch"] = meter.stop()
    out["batch_ok"] = services.queue.job(job.id).status == JobStatus.DONE
    window.close()
    services.shutdown()
    return out


def convert_embedder(work: Path) -> None:
    """What an earlier session leaves: the fairseq embedder converted into the cache."""
    from inference.features.embedder import load_embedder

    os.environ["RVC_STUDIO_CACHE_DIR"] = str(work / "cache")
    load_embedder(work / "Replay" / "com.replay.Replay" / "weights" / "hubert_base.pt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="torch", choices=("torch", "mlx"))
    parser.add_argument("--first-run", action="store_true", help="the embedder not yet converted (a first session)")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--app", action="store_true", help=argparse.SUPPRESS)  # the fresh app process
    args = parser.parse_args(argv)
    from inference.core.runtime import prepare_process

    prepare_process()
    if args.app:
        print(json.dumps(run(args.work, args.backend)))
        return 0
    with tempfile.TemporaryDirectory(prefix="rvc-bench-preview-") as tmp:
        work = args.work or Path(tmp)
        t0 = time.perf_counter()
        prepare(work)
        if not args.first_run:
            convert_embedder(work)
        print(
            f"fixtures written in {time.perf_counter() - t0:.0f} s (real-size random weights); "
            f"{os.cpu_count()} CPU cores; backend {args.backend}"
        )
        cmd = [sys.executable, "-m", "benchmarks.preview", "--app", "--work", str(work), "--backend", args.backend]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
        if done.returncode != 0:
            print(done.stderr[-4000:], file=sys.stderr)
            return 1
        r = json.loads(done.stdout.strip().splitlines()[-1])
    cold = "first session: embedder converted too" if args.first_run else "app started, song dropped"
    print(f"{SONG_S:.0f} s song, {REGION[1] - REGION[0]:.0f} s region, v2 48 kHz, RMVPE + index")
    print(f"  cold  ({cold}): first sound {r['cold_first']:6.2f} s   done {r['cold_done']:6.2f} s")
    print(f"  warm  (analysed before the click): first sound {r['warm_first']:6.2f} s   done {r['warm_done']:6.2f} s")
    print(f"  pitch change (analysis cached):    first sound {r['pitch_first']:6.2f} s   done {r['pitch_done']:6.2f} s")
    print(
        f"  longest GUI-thread stall: {r['stall_preview'] * 1000:.0f} ms during the cold preview, "
        f"{r['stall_batch'] * 1000:.0f} ms during the batch ({'done' if r['batch_ok'] else 'FAILED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
