"""The batch queue the window shows: the job list, its persistence, and its worker thread.

``BatchQueue`` lives on the GUI thread and owns the list of jobs; only it changes them, in
slots connected to the :class:`QueueWorker`'s signals. It sends the worker one job at a time,
saves the list after every change of state, and restores it at launch (a job that was running
when the app stopped comes back queued, its partial output removed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal

from app.workers.engine import Engine
from app.workers.jobs import Job, JobStatus, QueueStore
from app.workers.queue_worker import QueueWorker

log = logging.getLogger(__name__)


class BatchQueue(QObject):
    """Jobs in order; runs the first waiting one whenever the worker is free and not paused."""

    changed = Signal()  # rows added, removed or moved
    job_changed = Signal(str)  # a job's status or progress changed (its id)
    job_started = Signal(object)  # Job
    job_finished = Signal(object)  # Job, whatever the outcome
    running_changed = Signal(bool)

    def __init__(self, engine: Engine, store: QueueStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.jobs: list[Job] = store.load()
        self._models: dict[str, Any] = {}
        self._models_known = False
        self._paused = False
        self._current: str | None = None
        self._cancel: dict[str, threading.Event] = {}
        self._save_timer = QTimer(self, singleShot=True, interval=200)
        self._save_timer.timeout.connect(self.save)

        self.worker = QueueWorker(engine)
        self.thread = QThread()
        self.thread.setObjectName("conversion")
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.started.connect(self._on_started)
        self.worker.progress.connect(self._on_progress)
        self.worker.completed.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_finished)
        self.worker.idle.connect(self._on_idle)
        leftovers = [job.partial_dir for job in self.jobs if not job.status.finished]
        if leftovers:
            self.worker.cleanup(leftovers)
        self.thread.start()

    # -- state ------------------------------------------------------------------------------
    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def row_of(self, job_id: str) -> int:
        return next((i for i, j in enumerate(self.jobs) if j.id == job_id), -1)

    @property
    def running_job(self) -> Job | None:
        return self.job(self._current) if self._current else None

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        self._paused = bool(paused)
        self._dispatch()

    def set_models(self, models: Iterable[Any]) -> None:
        """The library's current models (jobs name theirs by id)."""
        self._models = {m.id: m for m in models}
        self._models_known = True
        self._dispatch()

    # -- editing ----------------------------------------------------------------------------
    def add(self, jobs: Iterable[Job]) -> list[Job]:
        added = list(jobs)
        self.jobs.extend(added)
        self.changed.emit()
        self._changed()
        return added

    def remove(self, job_ids: Iterable[str]) -> None:
        """Remove jobs; a running one is cancelled first."""
        ids = set(job_ids)
        for job_id in ids:
            if job_id == self._current:
                self.cancel([job_id])
        self.jobs = [j for j in self.jobs if j.id not in ids]
        self.changed.emit()
        self._changed()

    def move(self, job_id: str, delta: int) -> None:
        row = self.row_of(job_id)
        target = max(0, min(len(self.jobs) - 1, row + delta))
        if row < 0 or target == row:
            return
        self.jobs.insert(target, self.jobs.pop(row))
        self.changed.emit()
        self._changed()

    def cancel(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            job = self.job(job_id)
            if job is None:
                continue
            if job_id == self._current:
                self._cancel[job_id].set()
                job.stage = "Cancelling"
                self.job_changed.emit(job_id)
            elif job.status == JobStatus.QUEUED:
                job.status = JobStatus.CANCELLED
                job.finished_at = time.time()
                self.job_changed.emit(job_id)
        self._changed()

    def retry(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            job = self.job(job_id)
            if job is not None and job.status in (JobStatus.FAILED, JobStatus.CANCELLED):
                job.reset()
                self.job_changed.emit(job_id)
        self._changed()

    def retry_failed(self) -> None:
        self.retry([j.id for j in self.jobs if j.status == JobStatus.FAILED])

    def clear_finished(self) -> None:
        self.jobs = [j for j in self.jobs if not j.status.finished]
        self.changed.emit()
        self._changed()

    # -- running ----------------------------------------------------------------------------
    def _dispatch(self) -> None:
        if self._current is not None or self._paused:
            return
        for job in self.jobs:
            if job.status != JobStatus.QUEUED:
                continue
            model = self._models.get(job.model_id)
            if model is None:
                if not self._models_known:
                    return  # the library has not been scanned yet: wait for it
                job.status = JobStatus.FAILED
                job.error = f"The model “{job.model_name}” is no longer in the library"
                self.job_changed.emit(job.id)
                self._changed()
                continue
            self._current = job.id
            job.status = JobStatus.RUNNING
            job.stage = "Waiting for the engine"
            self._cancel[job.id] = threading.Event()
            self.worker.submit(job, model, self._cancel[job.id])
            self.job_changed.emit(job.id)
            self.running_changed.emit(True)
            return

    def _merge(self, done: Job) -> Job | None:
        job = self.job(done.id)
        if job is None:
            return None
        for name in ("status", "stage", "output_path", "stems", "error", "started_at", "finished_at", "seconds"):
            setattr(job, name, getattr(done, name))
        if done.status == JobStatus.DONE:
            job.progress = 1.0
        return job

    def _on_started(self, started: Job) -> None:
        job = self._merge(started)
        if job is not None:
            job.progress = 0.0
            self.job_changed.emit(job.id)
            self.job_started.emit(job)

    def _on_progress(self, running: Job, fraction: float, stage: str) -> None:
        job = self.job(running.id)
        if job is None or job.status != JobStatus.RUNNING:
            return
        job.progress = fraction
        if stage and not (self._cancel.get(job.id) and self._cancel[job.id].is_set()):
            job.stage = stage
        self.job_changed.emit(job.id)

    def _on_failed(self, failed: Job, message: str) -> None:
        self._on_finished(failed)

    def _on_finished(self, finished: Job) -> None:
        job = self._merge(finished)
        if job is not None:
            self.job_changed.emit(job.id)
            self.job_finished.emit(job)
        self._changed()

    def _on_idle(self) -> None:
        if self._current is not None:
            self._cancel.pop(self._current, None)
        self._current = None
        self.running_changed.emit(False)
        self._dispatch()

    def _changed(self) -> None:
        self._save_timer.start()
        self._dispatch()

    # -- persistence and shutdown -----------------------------------------------------------
    def save(self) -> None:
        try:
            self.store.save(self.jobs)
        except OSError as exc:
            log.warning("Could not save the queue to %s: %s", self.store.path, exc)

    def shutdown(self, timeout_s: float = 1.5) -> bool:
        """Cancel the running job, stop the worker and wait at most ``timeout_s``.

        Saves the queue first (the running job is saved as running, so it comes back queued).
        Returns True if the worker thread has ended.
        """
        self._save_timer.stop()
        self.save()
        self._paused = True
        for event in self._cancel.values():
            event.set()
        self.worker.stop()
        ended = self.thread.wait(int(timeout_s * 1000))
        if not ended:
            log.warning("The conversion thread did not stop within %.1f s", timeout_s)
        return ended
