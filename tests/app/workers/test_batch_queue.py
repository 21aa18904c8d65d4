"""The batch queue on its real worker thread, with a fake converter (fast)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from app.workers.batch import BatchQueue
from app.workers.engine import Engine
from app.workers.jobs import Job, JobStatus, QueueStore
from tests.support.gui import FakeModel, write_tone

MODEL = FakeModel("Alice")


@pytest.fixture
def make_queue(tmp_path: Path, fake_converter, qapp):
    made: list[BatchQueue] = []

    def make() -> BatchQueue:
        engine = Engine(lambda: [tmp_path / "weights"], tmp_path / "cache", factory=fake_converter, params_factory=dict)
        queue = BatchQueue(engine, QueueStore(tmp_path / "data"))
        made.append(queue)
        return queue

    yield make
    for queue in made:
        queue.shutdown()


def _jobs(tmp_path: Path, n: int, **kw) -> list[Job]:
    out = []
    for i in range(n):
        song = write_tone(tmp_path / "in" / f"song{i}.wav", 0.2)
        out.append(Job(str(song), MODEL.id, MODEL.name, {"pitch": float(i)}, str(tmp_path / "out"), **kw))
    return out


def _finished(queue: BatchQueue) -> bool:
    return all(j.status.finished for j in queue.jobs)


def test_jobs_run_one_at_a_time_in_order_and_outputs_appear(qtbot, make_queue, tmp_path, fake_converter) -> None:
    queue = make_queue()
    events: list[tuple[str, str]] = []
    queue.worker.started.connect(lambda j: events.append(("started", j.id)))
    queue.worker.completed.connect(lambda j: events.append(("completed", j.id)))
    progress: list[float] = []
    queue.worker.progress.connect(lambda j, f, s: progress.append(f))
    jobs = queue.add(_jobs(tmp_path, 3, naming_pattern="{name} {pitch}"))
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: _finished(queue) and len(events) == 6, timeout=5000)
    assert [j.status for j in queue.jobs] == [JobStatus.DONE] * 3
    # Never two at once: each job completes before the next starts.
    assert events == [(k, j.id) for j in jobs for k in ("started", "completed")]
    assert progress and progress[-1] == 1.0
    outs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert outs == ["song0 0.wav", "song1 +1.wav", "song2 +2.wav"]
    assert [Path(j.output_path).name for j in queue.jobs] == outs
    # The engine ran on the worker thread, never on the GUI thread.
    assert fake_converter.instances[0].threads and "MainThread" not in fake_converter.instances[0].threads


def test_a_job_waits_for_the_library_then_fails_if_its_model_is_gone(qtbot, make_queue, tmp_path) -> None:
    queue = make_queue()
    queue.add(_jobs(tmp_path, 1))
    qtbot.wait(100)
    assert queue.jobs[0].status == JobStatus.QUEUED  # library not scanned yet: keep waiting
    queue.set_models([FakeModel("Someone else")])
    qtbot.waitUntil(lambda: _finished(queue), timeout=3000)
    assert queue.jobs[0].status == JobStatus.FAILED
    assert "Alice" in queue.jobs[0].error


def test_a_failure_naming_the_input_file_is_not_prefixed_twice(qtbot, make_queue, tmp_path, fake_converter) -> None:
    queue = make_queue()
    jobs = _jobs(tmp_path, 1)
    fake_converter.fail_with = f"{jobs[0].input_path}: is silent (nothing to convert)"
    queue.add(jobs)
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: _finished(queue), timeout=3000)
    assert queue.jobs[0].error == "is silent (nothing to convert)"  # the row names the file


def test_failure_is_a_message_on_the_job_with_nothing_left_behind(qtbot, make_queue, tmp_path, fake_converter) -> None:
    fake_converter.fail_with = "hubert_base.pt not found: put it in ~/weights"
    queue = make_queue()
    failed: list[str] = []
    queue.worker.failed.connect(lambda job, message: failed.append(message))
    running: list[bool] = []
    queue.running_changed.connect(running.append)
    queue.add(_jobs(tmp_path, 1))
    queue.set_models([MODEL])
    # Both the queue's and this test's slot for the worker's ``failed`` have run, and the worker
    # is idle again (a retry before that waits for it; failed once in a loaded full run).
    qtbot.waitUntil(lambda: _finished(queue) and bool(failed) and running[-1:] == [False], timeout=10000)
    job = queue.jobs[0]
    assert job.status == JobStatus.FAILED and job.error == fake_converter.fail_with == failed[0]
    assert list((tmp_path / "out").iterdir()) == []  # no partial folder, no output
    fake_converter.fail_with = None
    queue.retry_failed()
    assert not job.status.finished
    qtbot.waitUntil(lambda: queue.jobs[0].status.finished, timeout=10000)
    assert queue.jobs[0] is job
    assert job.status == JobStatus.DONE and job.error is None and Path(job.output_path).exists()


def test_cancel_stops_the_running_job_and_the_next_one_runs(qtbot, make_queue, tmp_path, fake_converter) -> None:
    fake_converter.step_s = 0.2
    queue = make_queue()
    first, second = queue.add(_jobs(tmp_path, 2))
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: first.status == JobStatus.RUNNING and first.progress > 0, timeout=3000)
    fake_converter.step_s = 0.001
    queue.cancel([first.id])
    qtbot.waitUntil(lambda: _finished(queue), timeout=3000)
    assert first.status == JobStatus.CANCELLED and first.output_path is None
    assert second.status == JobStatus.DONE
    assert [p.name for p in (tmp_path / "out").iterdir()] == [Path(second.output_path).name]


def test_the_event_loop_keeps_running_during_a_job(qtbot, make_queue, tmp_path, fake_converter) -> None:
    fake_converter.step_s = 0.1  # a 0.5 s job
    queue = make_queue()
    ticks: list[float] = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    job = queue.add(_jobs(tmp_path, 1))[0]
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: job.status == JobStatus.RUNNING, timeout=3000)
    timer.start()
    qtbot.waitUntil(lambda: _finished(queue), timeout=5000)
    timer.stop()
    assert job.status == JobStatus.DONE
    # The timer fired many times while the job ran: the GUI thread was never blocked.
    assert len(ticks) >= 8
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.25


def test_reorder_remove_and_clear_finished(qtbot, make_queue, tmp_path) -> None:
    queue = make_queue()
    a, b, c = queue.add(_jobs(tmp_path, 3))
    queue.move(c.id, -2)
    assert [j.id for j in queue.jobs] == [c.id, a.id, b.id]
    queue.move(c.id, 5)
    assert [j.id for j in queue.jobs] == [a.id, b.id, c.id]
    queue.remove([b.id])
    assert [j.id for j in queue.jobs] == [a.id, c.id]
    queue.cancel([c.id])  # not started: cancelled at once
    assert c.status == JobStatus.CANCELLED
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: _finished(queue), timeout=3000)
    queue.clear_finished()
    assert queue.jobs == []


def test_queue_is_restored_after_a_restart_with_the_interrupted_job_queued(
    qtbot, make_queue, tmp_path, fake_converter
) -> None:
    fake_converter.slow = {"song1": 0.5}
    queue = make_queue()
    done_job, slow_job, waiting = queue.add(_jobs(tmp_path, 3))
    queue.set_models([MODEL])
    qtbot.waitUntil(lambda: slow_job.status == JobStatus.RUNNING and slow_job.progress > 0, timeout=5000)
    assert done_job.status == JobStatus.DONE
    partial = slow_job.partial_dir
    assert partial.exists()
    started = time.perf_counter()
    assert queue.shutdown(timeout_s=1.5)  # quitting mid-job: cancelled and stopped in time
    assert time.perf_counter() - started < 2.0
    assert not partial.exists()

    fake_converter.slow = {}
    restored = make_queue()
    assert [j.id for j in restored.jobs] == [done_job.id, slow_job.id, waiting.id]
    assert [j.status for j in restored.jobs] == [JobStatus.DONE, JobStatus.QUEUED, JobStatus.QUEUED]
    restored.set_models([MODEL])
    qtbot.waitUntil(lambda: _finished(restored), timeout=5000)
    assert all(j.status == JobStatus.DONE for j in restored.jobs)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"song{i} (Alice).wav" for i in range(3)]


def test_leftover_partial_output_of_an_interrupted_run_is_removed_at_launch(qtbot, make_queue, tmp_path) -> None:
    job = _jobs(tmp_path, 1)[0]
    job.status = JobStatus.RUNNING
    job.partial_dir.mkdir(parents=True)
    (job.partial_dir / "half.wav").write_bytes(b"RIFF")
    QueueStore(tmp_path / "data").save([job])
    queue = make_queue()
    assert queue.jobs[0].status == JobStatus.QUEUED
    qtbot.waitUntil(lambda: not job.partial_dir.exists(), timeout=3000)
