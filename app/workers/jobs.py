"""Batch jobs: the job record, output naming, list files, and the queue's JSON file. Qt-free."""
from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

from inference.audio.files import LIST_SUFFIXES, read_list_file

log = logging.getLogger(__name__)

QUEUE_FILE_NAME = "queue.json"
QUEUE_FILE_VERSION = 1
PARTIAL_PREFIX = ".rvc-studio-partial-"


class JobStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"queued": "Waiting", "running": "Converting", "done": "Done",
                "failed": "Failed", "cancelled": "Cancelled"}[self.value]

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
    naming_pattern: str = "{name} ({model})"
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
    def from_json(cls, data: dict[str, Any]) -> "Job":
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


def format_pitch(pitch: float) -> str:
    value = float(pitch)
    text = f"{value:+.1f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):+d}"
    return "0" if value == 0 else text


_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def output_name(job: Job) -> str:
    """The output file name from the job's pattern: ``{name}``, ``{model}``, ``{pitch}``,
    ``{method}`` and ``{date}`` are replaced; anything unsafe in a file name becomes ``_``."""
    values = {
        "name": Path(job.input_path).stem,
        "model": job.model_name,
        "pitch": format_pitch(job.params.get("pitch", 0.0)),
        "method": str(job.params.get("f0_method", "")),
        "date": time.strftime("%Y-%m-%d"),
    }
    text = job.naming_pattern
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    text = _UNSAFE.sub("_", text).strip().strip(".") or values["name"]
    return f"{text}.{job.output_format}"


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name 2``, ``name 3``... if taken: an output never overwrites."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem} {n}{suffix}"
        n += 1
    return candidate


def expand_inputs(items: Iterable[str | Path], extensions: Iterable[str]) -> tuple[list[Path], list[Path]]:
    """Split dropped or listed paths into audio files and the ones that cannot be converted.

    Folders are searched recursively (hidden files skipped, sorted by name); list files are
    read. Returns ``(audio_files, rejected)``; a path that does not exist is rejected.
    """
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions}
    audio: list[Path] = []
    rejected: list[Path] = []

    def visit(path: Path, depth: int) -> None:
        if path.is_dir():
            for child in sorted(path.iterdir(), key=lambda p: p.name.lower()):
                if not child.name.startswith("."):
                    visit(child, depth + 1)
        elif path.suffix.lower() in exts and path.is_file():
            audio.append(path)
        elif path.suffix.lower() in LIST_SUFFIXES and depth == 0 and path.is_file():
            try:
                for entry in read_list_file(path):
                    visit(entry, 1)
            except OSError:
                rejected.append(path)
        else:
            rejected.append(path)

    for item in items:
        visit(Path(item), 0)
    return audio, rejected


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
