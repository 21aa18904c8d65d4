"""Batch jobs: the job record, its output name, and the queue's JSON file. Qt-free."""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from inference.audio.naming import DEFAULT_TEMPLATE
from inference.pipeline.params import BITRATE

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
    bitrate: int = BITRATE.default  # kbit/s of mp3, m4a and ogg outputs
    cover: dict[str, Any] | None = None  # a cover's settings (inference.covers.params); None: a plain conversion
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: JobStatus = JobStatus.QUEUED
    progress: float = 0.0
    stage: str = ""
    output_path: str | None = None
    stems: dict[str, str] = field(default_factory=dict)  # a cover's stems written: label -> path
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    seconds: float | None = None  # conversion time, for the status column

    @property
    def name(self) -> str:
        return Path(self.input_path).name

    @property
    def is_cover(self) -> bool:
        return self.cover is not None

    @property
    def partial_dir(self) -> Path:
        """Where the engine writes while the job runs; removed whatever happens."""
        return Path(self.output_dir) / f"{PARTIAL_PREFIX}{self.id}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: Any) -> Job:
        """A job read back from the queue file, field by field: a field of the wrong kind gets its
        default; a record without an input, a model or an output folder raises
        :class:`~inference.core.records.BadRecord`."""
        from inference.audio.naming import NamingError, check_template
        from inference.core import records as r
        from inference.covers.params import clean_cover
        from inference.pipeline.params import OUTPUT_FORMATS, clean_params

        data = r.mapping(data)
        model_id = r.required_text(data, "model_id")
        template = r.text(data, "naming_pattern", DEFAULT_TEMPLATE)
        try:
            template = check_template(template)
        except NamingError:
            template = DEFAULT_TEMPLATE
        raw_params = data.get("params")
        raw_cover, raw_stems = data.get("cover"), data.get("stems")
        return cls(
            input_path=r.required_text(data, "input_path"),
            model_id=model_id,
            model_name=r.text(data, "model_name") or model_id,
            params=clean_params(
                raw_params, backend=raw_params.get("backend", "auto") if isinstance(raw_params, dict) else "auto"
            ),
            output_dir=r.required_text(data, "output_dir"),
            naming_pattern=template,
            output_format=r.choice(data, "output_format", OUTPUT_FORMATS, OUTPUT_FORMATS[0]),
            bitrate=BITRATE.clamp(r.number(data, "bitrate", BITRATE.default)),
            # a saved queue from before covers has no "cover": a plain conversion
            cover=clean_cover(raw_cover) if isinstance(raw_cover, dict) else None,
            id=r.optional_text(data, "id") or uuid.uuid4().hex[:12],
            status=JobStatus(r.choice(data, "status", tuple(s.value for s in JobStatus), JobStatus.QUEUED.value)),
            progress=r.number(data, "progress", 0.0, 0.0, 1.0),
            stage=r.text(data, "stage"),
            output_path=r.optional_text(data, "output_path"),
            stems={
                str(k): v for k, v in (raw_stems.items() if isinstance(raw_stems, dict) else ()) if isinstance(v, str)
            },
            error=r.optional_text(data, "error"),
            created_at=r.number(data, "created_at", time.time()),
            started_at=r.optional_number(data, "started_at"),
            finished_at=r.optional_number(data, "finished_at"),
            seconds=r.optional_number(data, "seconds"),
        )

    def reset(self) -> None:
        """Back to waiting, as if never run (retry, or restored after an interrupted run)."""
        self.status = JobStatus.QUEUED
        self.progress = 0.0
        self.stage = ""
        self.error = None
        self.output_path = None
        self.stems = {}
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
        from inference.core.records import BadRecord

        items = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(items, list):
            log.warning("Ignoring the queue file %s: it holds no list of jobs", self.path)
            return []
        jobs: list[Job] = []
        seen: set[str] = set()
        for item in items:
            try:
                job = Job.from_json(item)
            except BadRecord as exc:
                log.warning("Dropping a bad job in %s: %s", self.path, exc)
                continue
            if job.id in seen:  # two jobs must never share a partial folder
                job.id = uuid.uuid4().hex[:12]
            seen.add(job.id)
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
