"""Batch jobs: the job record, its output name, and the queue's JSON file. Qt-free."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from inference.audio.naming import DEFAULT_TEMPLATE

log = logging.getLogger(__name__)

QUEUE_FILE_NAME = "queue.json"
QUEUE_FILE_VERSION = 1
PARTIAL_PREFIX = ".rvc-studio-partial-"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "queued": "Waiting",
            "running": "Converting",
            "done": "Done",
            "failed": "Failed",
            "cancelled": "Cancelled",
        }[self.value]

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass
class Job:
    """One file to convert with one model and one set of parameters."""

    input_path: str
    model_id: str
    model_name: str
    params: dict[str, Any]
    output_dir: str
    naming_pattern: str = DEFAULT_TEMPLATE
    output_format: str = "wav"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    stage: str = ""
    output_path: str | None = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    seconds: float | None = None  # conversion time, for the status column

    @property
    def name(self) -> str:
        return Path(self.input_path).name

    @property
    def partial_dir(self) -> Path:
        """Where the engine writes while the job runs; removed whatever happens."""
        return Path(self.output_dir) / f"{PARTIAL_PREFIX}{self.id}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["status"] = JobStatus(values.get("status", "queued"))
        return cls(**values)

    def reset(self) -> None:
        """Back to waiting, as if never run (retry, or restored after an interrupted run)."""
        self.status = JobStatus.QUEUED
        self.progress = 0.0
        self.stage = ""
        self.error = None
        self.output_path = None
        self.started_at = self.finished_at = self.seconds = None


def output_name(job: Job) -> str:
    """The job's output file name: its naming template filled in (:func:`inference.audio.naming.render_name`)."""
    from inference.audio.naming import render_name

    return render_name(
        job.naming_pattern,
        name=Path(job.input_path).stem,
        model=job.model_name,
        pitch=job.params.get("pitch", 0.0),
        f0=str(job.params.get("f0_method", "")),
        extension=job.output_format,
    )


class QueueStore:
    """The queue's JSON file in the app data folder, written atomically."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / QUEUE_FILE_NAME

    def load(self) -> list[Job]:
        """The saved jobs. A job that was running when the app stopped comes back queued."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable queue file %s: %s", self.path, exc)
            return []
        jobs: list[Job] = []
        for item in data.get("jobs", []) if isinstance(data, dict) else []:
            try:
                job = Job.from_json(item)
            except (TypeError, ValueError) as exc:
                log.warning("Skipping a bad job in %s: %s", self.path, exc)
                continue
            if job.status == JobStatus.RUNNING:
                job.reset()
            jobs.append(job)
        return jobs

    def save(self, jobs: Iterable[Job]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"version": QUEUE_FILE_VERSION, "jobs": [j.to_json() for j in jobs]}
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=1), encoding="utf-8")
        os.replace(tmp, self.path)
