"""The conversion worker: a QObject on its own QThread, fed jobs through a ``queue.Queue``.

It is thin: it calls the engine's ``Converter.convert_file`` (or, for a cover, a
``CoverMaker.convert_file``, the same call) and turns what happens into signals. Each signal
carries the worker's own copy of the job, so the GUI thread's job list is only ever changed on
the GUI thread. The engine writes into a private folder beside the outputs; the finished file
(and a cover's stems) is moved to its final name, and the folder is removed whatever happens,
so an interrupted or failed job never leaves a partial file behind.
"""

from __future__ import annotations

import copy
import logging
import queue
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.logging_setup import summarize
from app.workers.engine import Engine
from app.workers.jobs import Job, JobStatus

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # below 1% steps, at most ~20 progress signals a second


class QueueWorker(QObject):
    """Runs one job at a time. ``submit`` from any thread; ``run`` is the thread's body."""

    started = Signal(object)  # Job
    progress = Signal(object, float, str)  # Job, fraction 0..1, stage
    completed = Signal(object)  # Job (status DONE, output_path set)
    failed = Signal(object, str)  # Job, one-line message
    cancelled = Signal(object)  # Job
    idle = Signal()  # the worker finished a job and waits for the next
    stopped = Signal()

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self._engine = engine
        self._inbox: queue.Queue = queue.Queue()

    def submit(self, job: Job, model: Any, cancel: threading.Event) -> None:
        self._inbox.put((copy.deepcopy(job), model, cancel))

    def cleanup(self, folders: list[Path]) -> None:
        """Remove leftover partial folders (of jobs interrupted in an earlier run)."""
        self._inbox.put(("cleanup", folders))

    def stop(self) -> None:
        self._inbox.put(None)

    @Slot()
    def run(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                break
            if item[0] == "cleanup":
                for folder in item[1]:
                    shutil.rmtree(folder, ignore_errors=True)
                continue
            job, model, cancel = item
            try:
                self._run_one(job, model, cancel)
            finally:
                self.idle.emit()
        self.stopped.emit()
        # End the thread's event loop from inside it (a queued quit would wait for the GUI).
        QThread.currentThread().quit()

    def _run_one(self, job: Job, model: Any, cancel: threading.Event) -> None:
        from inference.core.errors import Cancelled, RVCError, check_cancel
        from inference.core.paths import is_inside_replay

        job.status = JobStatus.RUNNING
        job.started_at = time.time()
        job.stage = "Starting"
        self.started.emit(copy.copy(job))
        partial = job.partial_dir
        clock = time.perf_counter()
        last = {"time": 0.0, "fraction": -1.0, "stage": None}

        def progress(fraction: float, stage: str = "") -> None:
            # Skip only tiny, rapid steps: a visible step or a new stage always goes out, so
            # the bar never shows a stale value while the engine works on a long step.
            fraction = max(0.0, min(1.0, float(fraction)))
            now = time.perf_counter()
            if (
                stage != last["stage"]
                or fraction - last["fraction"] >= 0.01
                or fraction >= 1.0
                or now - last["time"] >= PROGRESS_INTERVAL_S
            ):
                last.update(time=now, fraction=fraction, stage=stage)
                self.progress.emit(job, fraction, str(stage))

        try:
            out_dir = Path(job.output_dir)
            if is_inside_replay(out_dir):
                raise RVCError(f"{out_dir} is inside Replay's folder; choose another output folder in Settings")
            check_cancel(cancel)
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True, exist_ok=True)
            converter = self._engine.converter() if job.cover is None else self._engine.cover_maker(job.cover)
            params = self._engine.make_params(job.params, job.output_format, job.bitrate)
            check_cancel(cancel)
            result = converter.convert_file(
                job.input_path,
                model,
                partial,
                params,
                progress=progress,
                cancel=cancel,
                name_template=job.naming_pattern,
            )
            check_cancel(cancel)
            from inference.audio.outputs import publish

            # claimed atomically: another run writing into the same folder gets the next name
            final = publish(Path(result.output_path), out_dir / Path(result.output_path).name, numbered_if_taken=True)
            job.output_path = str(final)
            for label, path in (getattr(result, "stems", None) or {}).items():  # a cover's stems, when asked
                job.stems[label] = str(publish(Path(path), out_dir / Path(path).name, numbered_if_taken=True))
            job.status = JobStatus.DONE
            job.progress = 1.0
            job.stage = ""
            job.seconds = time.perf_counter() - clock
            job.finished_at = time.time()
            log.info("Converted %s -> %s in %.1f s", job.input_path, final, job.seconds)
            outcome = (self.completed, (job,))
        except Cancelled:
            job.status = JobStatus.CANCELLED
            job.finished_at = time.time()
            log.info("Cancelled %s", job.input_path)
            outcome = (self.cancelled, (job,))
        except RVCError as exc:
            outcome = self._fail(job, str(exc))
        except MemoryError:
            outcome = self._fail(job, "Out of memory: try a shorter file or close other apps")
        except Exception as exc:
            log.exception("Job %s failed", job.id)
            outcome = self._fail(job, summarize(exc))
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        # Announced only now: when the job's end arrives, its partial folder is already gone.
        signal, args = outcome
        signal.emit(*args)

    def _fail(self, job: Job, message: str) -> tuple:
        from inference.core.errors import without_file

        log.warning("Job %s (%s) failed: %s", job.id, job.input_path, message)
        job.status = JobStatus.FAILED
        job.error = without_file(message, job.input_path)  # the job's row names the file
        job.finished_at = time.time()
        return self.failed, (job, job.error)
