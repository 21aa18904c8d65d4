"""One instance owns the queue: a second launch hands over its files and leaves; a lock left by a
``kill -9`` does not block the next start; files given at launch are queued even when they
arrive before the model list."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from app.instance import SingleInstance
from app.workers.jobs import JobStatus
from tests.support.gui import open_window, write_tone

REPO = Path(__file__).resolve().parents[2]


SENDER = (
    "import sys\n"
    "from PySide6.QtCore import QCoreApplication\n"
    "app = QCoreApplication([])\n"
    "from app.instance import SingleInstance\n"
    "s = SingleInstance(sys.argv[1])\n"
    "print(s.acquire(), s.send(sys.argv[2:]), s.owner_pid(), flush=True)\n"
)


def test_a_second_launch_hands_its_files_to_the_first(qtbot, tmp_path) -> None:
    first = SingleInstance(tmp_path / "data")
    assert first.acquire()
    received: list = []
    first.files_received.connect(received.extend)
    song = tmp_path / "a song.wav"
    song.write_bytes(b"x")
    proc = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(tmp_path / "data"), str(song), "relative.wav"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20000)  # the owner answers from this loop
    out, err = proc.communicate()
    assert out.split() == ["False", "True", str(os.getpid())], err  # not the owner; handed over
    assert received == [str(song), str(tmp_path / "relative.wav")]
    first.release()
    second = SingleInstance(tmp_path / "data")
    assert second.acquire()  # released: the next start owns it
    second.release()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path) -> None:
    holder = (
        "import sys, time\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "app = QCoreApplication([])\n"
        "from app.instance import SingleInstance\n"
        "s = SingleInstance(sys.argv[1]); print(s.acquire(), flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path / "data")], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "True"
        assert not SingleInstance(tmp_path / "data").acquire()  # alive: it owns the queue
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        instance = SingleInstance(tmp_path / "data")
        assert instance.acquire()  # its pid is gone: the lock is stale
        instance.release()
    finally:
        proc.kill()
        proc.wait()


def test_files_given_before_the_model_list_arrives_are_queued_when_it_does(
    qtbot, make_services, models, tmp_path
) -> None:
    """The launch race (one launch in four with a file argument queued nothing): the files were
    sorted out before the library's first scan had selected a model, shown, and never queued."""
    services = make_services(model_list=[])
    window = open_window(qtbot, services)
    services.library.loaded = False  # as at launch: the first scan has not reported yet
    song = write_tone(tmp_path / "launch.wav", 0.3)
    window._expanded([str(song)], [], "add")  # what the files worker answers to add_files
    assert services.queue.jobs == [] and window._waiting_for_models == [str(song)]
    services.library.loaded = True
    services.library.models_changed.emit(models)  # the scan's result arrives
    assert [j.input_path for j in services.queue.jobs] == [str(song)]
    assert services.queue.jobs[0].model_id == window.browser.current_model().id
    qtbot.waitUntil(lambda: services.queue.jobs[0].status.finished, timeout=10000)
    assert services.queue.jobs[0].status == JobStatus.DONE, services.queue.jobs[0].error


SIGTERM_PROBE = """
import json, sys
from pathlib import Path
from app.application import _quit_on_signals, build_main_window, build_services, create_application
from tests.support.gui import FakeConverter, FakeModel, fake_decoder, library_factory
FakeConverter.step_s, FakeConverter.steps = 0.5, 40  # a long job: the signal lands in the middle
app, _ = create_application([])
services = build_services(converter_factory=FakeConverter, params_factory=dict,
                          library_factory=library_factory([FakeModel("Alice")]), decoder=fake_decoder)
window = build_main_window(app, sys.argv[1:], services=services)
received = _quit_on_signals(app)
window.show()
code = app.exec()
ok = services.shutdown()
out = Path(services.settings.output_folder)
print(json.dumps({"signum": received.get("signum"), "ok": ok,
                  "left": sorted(p.name for p in out.iterdir()) if out.exists() else []}), flush=True)
"""


def test_sigterm_closes_the_app_as_quit_does(tmp_path, fake_home) -> None:
    """SIGTERM (or Ctrl-C in the app's terminal) during a job: the app quits as its Quit does,
    the job is cancelled and its partial output removed."""
    import json

    song = write_tone(tmp_path / "song.wav", 0.5)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_PROBE, str(song)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output = Path.home() / "Music" / "RVC Studio"  # the default output folder, in the fake home
    deadline = time.monotonic() + 30
    while not list(output.glob(".rvc-studio-partial-*")):  # the job has started
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()[-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr[-2000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report == {"signum": signal.SIGTERM, "ok": True, "left": []}, stderr[-2000:]


def test_a_second_shutdown_gives_the_first_ones_answer(make_services, monkeypatch) -> None:
    # The window's close shuts the services down, then the app asks again to decide how to exit:
    # "still busy" must not turn into "all stopped" (Qt aborts on a thread destroyed running).
    services = make_services()
    monkeypatch.setattr(services.preview_thread, "wait", lambda *_args: False)  # a worker that does not stop in time
    assert services.shutdown(timeout_s=0.2) is False
    assert services.shutdown() is False
