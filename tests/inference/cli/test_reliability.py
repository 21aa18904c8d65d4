"""The command line under faults (issue: every bad case ends in one clear line, nothing lost).

Signals go to a real ``rvc-studio convert`` in a subprocess running the real pipeline; disk
faults are injected where the bytes are written (a full disk cannot be made without root);
the rest runs in-process on the stand-in converter.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference.audio import outputs
from tests.support.cli import FakeConverter, run, tone

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------ Ctrl-C and SIGTERM, for real


def _start(replay_tree: Path, tmp_path: Path, seconds: float = 8.0) -> tuple[subprocess.Popen, list[str]]:
    """``rvc-studio convert`` on a long input; returns the process and its stderr lines (filled
    by a reader thread)."""
    from tests.support.pipeline import voice

    song = tmp_path / "song.wav"
    sf.write(song, voice(seconds, sr=16000), 16000)
    env = dict(
        os.environ,
        RVC_STUDIO_REPLAY_DIR=str(replay_tree),
        RVC_STUDIO_CACHE_DIR=str(tmp_path / "cache"),
        RVC_STUDIO_LOG_DIR=str(tmp_path / "logs"),
        RVC_STUDIO_TORCH_THREADS="1",
    )
    cmd = [
        sys.executable,
        "-m",
        "app.main",
        "convert",
        str(song),
        "-m",
        "Singer",
        "-o",
        str(tmp_path / "out"),
        "--f0",
        "harvest",
        "--backend",
        "torch",
    ]
    # A suite started in the background by a non-interactive shell runs with SIGINT ignored, and
    # a child inherits that (Python then keeps it: Ctrl-C could never reach such a process). The
    # child gets SIGINT's default, as a command typed in a terminal does.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True).start()
    return proc, lines


def _wait_for(lines: list[str], text: str, proc: subprocess.Popen, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, f"never reached {text!r}: {''.join(lines)}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize(
    "signals,code",
    [([signal.SIGINT], 130), ([signal.SIGTERM], 143), ([signal.SIGINT, signal.SIGINT], 130)],
    ids=["ctrl-c", "sigterm", "ctrl-c-twice"],
)
def test_a_signal_during_synthesis_cancels_cleanly(replay_tree, tmp_path, signals, code):
    """During synthesis: "cancelled", the signal's exit code within a few seconds, no traceback,
    no C++ abort, and nothing left in the output folder. A second Ctrl-C leaves at once."""
    proc, lines = _start(replay_tree, tmp_path)
    _wait_for(lines, "Synthesising", proc)
    sent = time.monotonic()
    for signum in signals:
        proc.send_signal(signum)
        time.sleep(0.05)
    assert proc.wait(timeout=15) == code, "".join(lines)
    elapsed = time.monotonic() - sent
    time.sleep(0.2)  # the reader thread's last lines
    err = "".join(lines)
    assert elapsed < 12, f"took {elapsed:.1f} s to stop"
    assert "cancelled" in err and "Traceback" not in err and "terminate called" not in err
    assert list((tmp_path / "out").iterdir()) == []
    assert proc.stdout.read() == ""


def test_stale_temporary_files_of_ours_are_removed_and_nothing_else(tmp_path, base, capsys):
    """What a kill -9 during a write leaves (our pattern, a process that is gone) is removed by
    the next run into the folder; files that only look alike, and a live process's, stay."""
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / f".rvc-studio-{dead.pid}-abcd_123.tmp"
    live = out / f".rvc-studio-{os.getppid()}-abcd_123.tmp"  # a running process's
    lookalikes = [
        out / ".rvc-studio-abc.tmp",
        out / f".rvc-studio-{dead.pid}-abc.tmp",
        out / f"rvc-studio-{dead.pid}-abcd_123.tmp",
        out / "song.tmp",
        out / f".x-{dead.pid}-abcd_123.tmp",
    ]
    for path in (stale, live, *lookalikes):
        path.write_bytes(b"partial")
    code, _, err, _ = run(["convert", tone(tmp_path / "a.wav"), *base], capsys)
    assert code == 0, err
    assert not stale.exists()
    assert live.exists() and all(p.exists() for p in lookalikes)


# ----------------------------------------------------------------------- full and read-only disks


def test_a_folder_without_room_is_named_before_any_work(tmp_path, monkeypatch):
    real = outputs.shutil.disk_usage
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: real(p)._replace(free=3_000_000))
    folder = tmp_path / "out"
    with pytest.raises(outputs.AudioError, match=r"out: not enough space on the disk \(about .* needed, 3 MB free\)"):
        outputs.check_folder(folder, needed=50_000_000)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "code,reason",
    [
        (errno.ENOSPC, "not enough space on the disk"),
        (errno.EROFS, "is on a read-only disk"),
        (errno.EACCES, "is read-only \\(no permission to write there\\)"),
    ],
)
def test_a_write_that_fails_says_which_folder_and_why_and_leaves_nothing(
    tmp_path, base, capsys, monkeypatch, code, reason
):
    import soundfile

    original = soundfile.SoundFile.write

    def failing(self, data):
        if self.name.startswith(str(tmp_path / "out")):
            raise OSError(code, os.strerror(code))
        return original(self, data)

    monkeypatch.setattr(soundfile.SoundFile, "write", failing)
    code_, out, err, _ = run(["convert", tone(tmp_path / "a.wav"), *base], capsys)
    assert code_ == 1 and out == ""
    line = next(line for line in err.splitlines() if "a.wav" in line and "FAILED" in line)
    assert __import__("re").search(f"{tmp_path / 'out'}: {reason}", line), line
    assert "Errno" not in err and list((tmp_path / "out").iterdir()) == []


def test_a_read_only_folder_is_refused_before_any_work(tmp_path, base, capsys, monkeypatch):
    def refuse(folder):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(outputs, "make_temp", refuse)
    code, out, err, calls = run(["convert", tone(tmp_path / "a.wav"), *base], capsys)
    assert code == 1 and calls == []
    assert err.strip() == f"rvc-studio: {tmp_path / 'out'}: is on a read-only disk; choose another output folder"


# ---------------------------------------------------------------------------- names and folders


def test_two_runs_into_one_folder_at_once_both_succeed_with_distinct_names(tmp_path):
    """Publishing claims a name atomically: racing writers of the same name never collide or
    overwrite, and every file is complete."""
    from inference.audio import AudioWriter

    target = tmp_path / "song (Alice).wav"
    barrier = threading.Barrier(4)
    written: list[Path] = []

    def write(i: int) -> None:
        writer = AudioWriter(target, 16000, unique=True)
        writer.open()
        writer.write(np.full(1600, 0.01 * (i + 1), dtype=np.float32))
        barrier.wait()
        written.append(writer.close())

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(p.name for p in written)
    assert names == ["song (Alice) (2).wav", "song (Alice) (3).wav", "song (Alice) (4).wav", "song (Alice).wav"]
    levels = sorted(round(float(sf.read(p, dtype="float32")[0][0]), 2) for p in written)
    assert levels == [0.01, 0.02, 0.03, 0.04]
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # no temporaries


def test_a_legal_250_byte_input_name_converts(tmp_path, base, capsys):
    name = "é" * 123 + "x.wav"  # 251 bytes: legal; with " (Alice)" the output would not be
    assert len(name.encode()) <= 255
    code, out, err, _ = run(["convert", tone(tmp_path / name), *base], capsys)
    assert code == 0, err
    output = Path(out.strip())
    assert output.is_file() and len(output.name.encode()) <= 255 and output.name.endswith(" (Alice).wav")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_follow_the_users_umask(tmp_path, umask, mode):
    """Not mkstemp's 0600: an output is as readable as any other app's file."""
    probe = (
        f"import os, sys; os.umask({umask})\n"
        "import numpy as np\n"
        "from inference.audio import AudioWriter\n"
        "with AudioWriter(sys.argv[1], 16000) as w: w.write(np.zeros(160, np.float32))\n"
    )
    target = tmp_path / "x.wav"
    subprocess.run([sys.executable, "-c", probe, str(target)], cwd=REPO, check=True, timeout=60)
    assert target.stat().st_mode & 0o777 == mode


def test_a_missing_weights_folder_is_named_before_any_work(tmp_path, base, capsys):
    code, _, err, calls = run(["convert", tone(tmp_path / "a.wav"), *base, "--weights-dir", tmp_path / "nope"], capsys)
    assert code == 1 and calls == []
    assert err.strip() == f"rvc-studio: --weights-dir {tmp_path / 'nope'}: no such folder"


def test_fifos_and_devices_are_named_for_what_they_are_and_never_opened(tmp_path, base, capsys):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # opening it would block until a writer came
    code, out, err, _ = run(["convert", fifo, "/dev/zero", tone(tmp_path / "a.wav"), *base], capsys)
    assert code == 1 and Path(out.strip()).name == "a (Alice).wav"
    assert f"  {fifo}: not a regular file (a pipe, a device or a socket)" in err
    assert "  /dev/zero: not a regular file (a pipe, a device or a socket)" in err


def test_control_characters_in_names_are_escaped_and_json_stays_exact(tmp_path, base, capsys):
    """A newline in an input's name: escaped in the human-readable lines (one line stays one),
    replaced in the output's name (the naming rule), exact in ``--json``."""
    import json

    song = tone(tmp_path / "two\nlines.wav")
    code, out, err, _ = run(["convert", song, *base], capsys)
    assert code == 0 and out.count("\n") == 1 and out.strip().endswith("two_lines (Alice).wav")
    assert "two\\nlines.wav: done in" in err and not any(line.startswith("lines.wav") for line in err.splitlines())
    code, out, _, _ = run(["convert", song, *base, "--json"], capsys)
    report = json.loads(out)
    assert report["failed"] == [] and report["converted"][0]["input"] == str(song)
    assert Path(report["converted"][0]["output"]).name == "two_lines (Alice) (2).wav"


def test_invalid_samples_are_named_not_called_silent(tmp_path):
    from inference.audio import AudioError
    from inference.pipeline.io import decode_input

    nan = tmp_path / "nan.wav"
    x = np.full(16000, 0.1, dtype=np.float32)
    x[100:200] = np.nan
    sf.write(nan, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan.wav: holds invalid samples \(100 NaN or infinite values\)"):
        decode_input(nan, None, None)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    with pytest.raises(AudioError, match="is silent"):
        decode_input(silent, None, None)


def test_the_converter_is_not_called_for_files_that_cannot_be_read(tmp_path, base, capsys):
    calls: list = []
    code, _, err, _ = run(
        ["convert", tmp_path / "missing.wav", *base],
        capsys,
        converter_factory=lambda **kw: FakeConverter(**kw, calls=calls),
    )
    assert code == 1 and calls == [] and "file not found" in err
