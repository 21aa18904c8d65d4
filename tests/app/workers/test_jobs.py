"""Jobs, their output names and the queue file (no Qt)."""

from __future__ import annotations

import json
from pathlib import Path

from app.workers.jobs import Job, JobStatus, QueueStore, output_name


def _job(**kw) -> Job:
    base = dict(
        input_path="/songs/Take 1.wav", model_id="m1", model_name="Alice: v2", params={"pitch": 12.0}, output_dir="/out"
    )
    base.update(kw)
    return Job(**base)


def test_output_name_fills_the_jobs_template() -> None:
    job = _job(naming_pattern="{name} - {model} {pitch}", output_format="flac")
    assert output_name(job) == "Take 1 - Alice_ v2 +12.flac"
    assert output_name(_job()) == "Take 1 (Alice_ v2).wav"  # the default template


def test_queue_store_round_trip_brings_an_interrupted_job_back_queued(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    done = _job(status=JobStatus.DONE, output_path="/out/x.wav", progress=1.0)
    running = _job(status=JobStatus.RUNNING, progress=0.4, stage="Synthesising", started_at=5.0)
    failed = _job(status=JobStatus.FAILED, error="hubert_base.pt is missing")
    store.save([done, running, failed])
    loaded = store.load()
    assert [j.id for j in loaded] == [done.id, running.id, failed.id]
    assert loaded[0].status == JobStatus.DONE and loaded[0].output_path == "/out/x.wav"
    assert loaded[1].status == JobStatus.QUEUED and loaded[1].progress == 0.0 and loaded[1].started_at is None
    assert loaded[2].error == "hubert_base.pt is missing"
    assert loaded[1].params["pitch"] == 12.0  # the rest of the parameters filled in with their defaults


def test_queue_store_ignores_a_damaged_file(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load() == []
    store.path.write_text(json.dumps({"jobs": [{"input_path": "x"}, _job().to_json()]}), encoding="utf-8")
    assert len(store.load()) == 1


def test_a_jobs_bit_rate_is_kept_and_checked(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    store.save([_job(output_format="mp3", bitrate=256), _job(output_format="ogg")])
    loaded = store.load()
    assert [(j.output_format, j.bitrate) for j in loaded] == [("mp3", 256), ("ogg", 192)]
    data = _job(output_format="m4a").to_json()
    for value, expected in ((999, 320), ("loud", 192), (None, 192), (12, 32)):
        assert Job.from_json(dict(data, bitrate=value)).bitrate == expected
