"""The headless command line: parsing, input expansion, batch behaviour, exit codes, no tracebacks.

Most tests run ``inference.cli.main(argv)`` in-process with a stand-in converter that really
decodes its input (so a bad file fails as it would in the pipeline) and writes a file; the
real pipeline is exercised end to end in test_cli_e2e.py.
"""

from __future__ import annotations

import _thread
import io
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from inference import cli
from inference.cli.progress import TerminalProgress
from tests.support.cli import FakeConverter, run, tone
from tests.support.voice_models import make_voice_model

REPO = Path(__file__).resolve().parents[3]


# ------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pitch", "30"], "--pitch: 30 is out of range (-24 to 24 semitones)"),
        (["--pitch", "high"], "--pitch: 'high' is not a number"),
        (["--f0", "crepe"], "--f0: invalid choice: 'crepe'"),
        (["--index-rate", "1.5"], "--index-rate: 1.5 is out of range (0 to 1)"),
        (["--protect", "0.7"], "--protect: 0.7 is out of range (0 to 0.5)"),
        (["--filter-radius", "2.5"], "--filter-radius: '2.5' is not an integer"),
        (["--speaker", "-1"], "--speaker: -1 is out of range (at least 0)"),
        (["--bit-depth", "8"], "--bit-depth: invalid choice: '8'"),
        (["--backend", "cuda"], "--backend: invalid choice: 'cuda'"),
        (["--sample-rate", "100"], "--sample-rate: 100 is out of range (8000 to 192000 Hz)"),
    ],
)
def test_bad_option_values_are_usage_errors(tmp_path, base, capsys, extra, message):
    code, out, err, calls = run(["convert", tone(tmp_path / "a.wav"), *base, *extra], capsys)
    assert code == 2 and message in err and calls == []


def test_missing_model_and_missing_inputs_are_usage_errors(tmp_path, capsys):
    code, _, err, _ = run(["convert", tone(tmp_path / "a.wav"), "-o", tmp_path / "out"], capsys)
    assert code == 2 and "the following arguments are required: -m/--model" in err
    code, _, err, _ = run(["convert", "--model", "Alice", "-o", tmp_path / "out"], capsys)
    assert code == 2 and "the following arguments are required: INPUT" in err
    code, _, err, _ = run([], capsys)
    assert code == 2 and "convert" in err  # the help, listing the commands


def test_help_exits_zero(capsys):
    code, out, _, _ = run(["convert", "-h"], capsys)
    assert code == 0 and "--index-rate" in out and "@list.txt" in out


def test_unknown_model_is_one_line(tmp_path, base, capsys):
    argv = ["convert", tone(tmp_path / "a.wav"), *base]
    argv[argv.index("Alice")] = "Bob"
    code, _, err, calls = run(argv, capsys)
    assert code == 1 and calls == []
    assert err.count("\n") == 1 and err.startswith("rvc-studio: no model matches “Bob”")


def test_flac_cannot_take_float_samples(tmp_path, base, capsys):
    code, _, err, _ = run(
        ["convert", tone(tmp_path / "a.wav"), *base, "--format", "flac", "--bit-depth", "32f"], capsys
    )
    assert code == 1 and "--bit-depth 32f needs --format wav" in err


def test_speaker_beyond_the_models_speakers(tmp_path, base, capsys):
    code, _, err, _ = run(["convert", tone(tmp_path / "a.wav"), *base, "--speaker", "3"], capsys)
    assert code == 1 and "--speaker 3: model Alice has 1 speaker(s) (0 to 0)" in err


def test_output_folder_inside_replay_is_refused(tmp_path, models_dir, fake_home, capsys):
    out = fake_home / "Replay" / "com.replay.Replay" / "outputs"
    code, _, err, calls = run(
        ["convert", tone(tmp_path / "a.wav"), "--model", "Alice", "--models-dir", models_dir, "-o", out], capsys
    )
    assert code == 1 and "inside Replay's folder" in err and calls == [] and not out.exists()


def test_options_reach_the_conversion_params(tmp_path, base, capsys):
    seen = {}

    def params(**kw):
        seen.update(kw)
        return SimpleNamespace(**kw)

    code, _, _, calls = run(
        [
            "convert",
            tone(tmp_path / "a.wav"),
            *base,
            "--pitch",
            "-3.5",
            "--f0",
            "harvest",
            "--index-rate",
            "0.4",
            "--protect",
            "0.5",
            "--rms-mix",
            "0.25",
            "--filter-radius",
            "0",
            "--backend",
            "torch",
            "--bit-depth",
            "32f",
            "--sample-rate",
            "44100",
            "--seed",
            "7",
            "--weights-dir",
            tmp_path,
        ],
        capsys,
        params_factory=params,
    )
    assert code == 0
    assert seen == dict(
        pitch=-3.5,
        f0_method="harvest",
        index_rate=0.4,
        protect=0.5,
        rms_mix_rate=0.25,
        autotune=0.0,
        formant_timbre=1.0,
        formant_quefrency=1.0,
        filter_radius=0,
        speaker_id=0,
        backend="torch",
        output_sample_rate=44100,
        output_format="wav",
        sample_format="FLOAT",
        bitrate=192,
        seed=7,
    )
    ((path, model, _, cancel),) = calls
    assert model.name == "Alice" and isinstance(cancel, threading.Event)
    assert sf.info(tmp_path / "out" / "a (Alice).wav").subtype == "FLOAT"


def test_model_given_as_a_path_with_its_index(tmp_path, capsys):
    from tests.support.features import make_index

    folder = tmp_path / "loose"
    model = make_voice_model(folder / "Carol_e300.pth", "v1", 40000, True, dtype="float16")
    make_index(folder / "added_IVF4_Flat_nprobe_1_Carol_v1.index", 256, 200, seed=0)
    code, _, _, calls = run(["convert", tone(tmp_path / "a.wav"), "--model", model, "-o", tmp_path / "out"], capsys)
    assert code == 0
    ((_, voice, _, _),) = calls
    assert Path(voice.model_path) == model and Path(voice.index_path).name.endswith("_Carol_v1.index")


# ---------------------------------------------------------------------------------- inputs


def test_nothing_to_convert_is_one_line(tmp_path, base, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err, _ = run(["convert", tmp_path / "empty", tmp_path / "gone.wav", *base], capsys)
    assert code == 1 and err.count("\n") == 1
    assert (
        "no audio files to convert" in err
        and "empty: folder holds no audio files" in err
        and "gone.wav: file not found" in err
    )


# ---------------------------------------------------------------------------------- batches


def test_batch_converts_every_file_and_prints_outputs(tmp_path, base, capsys):
    tone(tmp_path / "in" / "one.wav")
    tone(tmp_path / "in" / "two.flac")
    code, out, err, calls = run(["convert", tmp_path / "in", *base, "--format", "flac"], capsys)
    assert code == 0 and len(calls) == 2
    outputs = [Path(line) for line in out.splitlines()]
    assert outputs == [tmp_path / "out" / "one (Alice).flac", tmp_path / "out" / "two (Alice).flac"]
    assert all(p.is_file() for p in outputs)
    assert "Converted 2 of 2 files with Alice" in err and "failed" not in err
    # plain lines when stderr is not a terminal: one per stage, no carriage returns
    assert "[1/2] one.wav: embed" in err and "\r" not in err
    # a second run never overwrites: new names
    code, out, _, _ = run(["convert", tmp_path / "in" / "one.wav", *base, "--format", "flac"], capsys)
    assert code == 0 and out.strip() == str(tmp_path / "out" / "one (Alice) (2).flac")


def test_batch_goes_on_past_bad_files(tmp_path, base, capsys):
    good1, good2 = tone(tmp_path / "a.wav"), tone(tmp_path / "d.wav")
    text = tmp_path / "b.wav"
    text.write_text("not audio at all\n" * 10)
    empty = tmp_path / "c.wav"
    empty.write_bytes(b"")
    code, out, err, calls = run(["convert", good1, text, tmp_path / "missing.wav", empty, good2, *base], capsys)
    assert code == 1
    assert [Path(p).name for p in out.splitlines()] == ["a (Alice).wav", "d (Alice).wav"]
    assert [c[0] for c in calls] == [good1, text, empty, good2]
    assert "Converted 2 of 5 files" in err and "3 failed:" in err
    failures = err.split("3 failed:\n")[1].splitlines()
    assert failures == [
        f"  {tmp_path / 'missing.wav'}: file not found",
        f"  {text}: not an audio file (or an unsupported format)",  # the file is named once
        f"  {empty}: file is empty",
    ]


def test_a_bug_in_one_file_does_not_stop_the_batch(tmp_path, base, capsys):
    class Flaky(FakeConverter):
        def convert_file(self, input_path, *args, **kwargs):
            if Path(input_path).name == "a.wav":
                raise ZeroDivisionError("division by zero")
            return super().convert_file(input_path, *args, **kwargs)

    code, out, err, _ = run(
        ["convert", tone(tmp_path / "a.wav"), tone(tmp_path / "b.wav"), *base],
        capsys,
        converter_factory=lambda **kw: Flaky(**kw),
    )
    assert code == 1 and Path(out.strip()).name == "b (Alice).wav"
    assert f"  {tmp_path / 'a.wav'}: unexpected error: ZeroDivisionError: division by zero" in err


def test_unexpected_error_is_one_line_with_the_log(tmp_path, base, capsys):
    def broken(**kw):
        raise RuntimeError("the converter fell over\nwith a second line")

    code, _, err, _ = run(["convert", tone(tmp_path / "a.wav"), *base], capsys, converter_factory=broken)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        "rvc-studio: unexpected error: RuntimeError: the converter fell over with a second line; details in "
    )
    log_file = Path(err.strip().rsplit("details in ", 1)[1])
    assert "Traceback" in log_file.read_text(encoding="utf-8") and "fell over" in log_file.read_text(encoding="utf-8")


def test_missing_weights_stop_the_batch_early(tmp_path, base, capsys):
    from inference.models.weights import WeightsNotFoundError

    class NoWeights(FakeConverter):
        def convert_file(self, *args, **kwargs):
            raise WeightsNotFoundError("Could not find the RMVPE pitch model (rmvpe.pt).")

    inputs = [tone(tmp_path / f"{n}.wav") for n in "abc"]
    code, _, err, _ = run(["convert", *inputs, *base], capsys, converter_factory=lambda **kw: NoWeights(**kw))
    assert code == 1 and err.count("Could not find the RMVPE") == 2  # the file's line and its summary line
    assert f"  {inputs[2]}: not converted (weights missing)" in err


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raising KeyboardInterrupt, as in a terminal: a process started in the background by a
    non-interactive shell (as CI may run the suite) inherits SIGINT ignored, and then
    ``_thread.interrupt_main`` does nothing."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_cancels_the_running_file(tmp_path, base, capsys, ctrl_c_raises):
    """Ctrl-C on the main thread sets the converter's cancel event; exit 130, nothing written."""
    started = threading.Event()
    calls: list = []
    # Ctrl-C once the first file is converting (a loaded machine can take seconds to get there)
    threading.Thread(target=lambda: started.wait(60) and _thread.interrupt_main(), daemon=True).start()
    code, out, err, _ = run(
        ["convert", tone(tmp_path / "a.wav"), tone(tmp_path / "b.wav"), *base],
        capsys,
        converter_factory=lambda **kw: FakeConverter(**kw, calls=calls, hold=started),
    )
    assert code == 130 and err.rstrip().endswith("cancelled") and out == ""
    assert len(calls) == 1 and calls[0][3].is_set()  # the second file never started
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_while_the_worker_starts_still_cancels_it(monkeypatch):
    """The interrupt can land inside Thread.start(), before the wait loop: the job is still told."""
    from inference.cli import convert as cli_convert

    class StartThenCtrlC(threading.Thread):
        def start(self):
            super().start()
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_convert.threading, "Thread", StartThenCtrlC)
    cancel, ended = threading.Event(), threading.Event()

    def job():
        try:
            while not cancel.wait(0.01):
                pass
        finally:
            ended.set()

    with pytest.raises(KeyboardInterrupt):
        cli_convert._in_worker(job, cancel, TerminalProgress(io.StringIO(), total=1, tty=False))
    assert cancel.is_set() and ended.is_set()


def test_progress_redraws_one_line_on_a_terminal():
    stream = io.StringIO()
    progress = TerminalProgress(stream, total=3, tty=True)
    progress.start(2, Path("/x/song.wav"))
    progress.update(0.5, "synth")
    progress.finish("done in 1.0 s -> /out/song.wav")
    text = stream.getvalue()
    assert "\r\033[K[2/3] song.wav synth     [##########----------]  50%" in text
    assert text.endswith("\r\033[K[2/3] song.wav: done in 1.0 s -> /out/song.wav\n")
    assert text.count("\n") == 1  # the in-place redraws add no lines


# ------------------------------------------------------------------------- as a real process


def test_subprocess_failure_is_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.main",
            "convert",
            str(tmp_path / "none.wav"),
            "--model",
            "x",
            "-o",
            str(tmp_path / "o"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"rvc-studio: no audio files to convert ({tmp_path / 'none.wav'}: file not found)\n"
    assert proc.stdout == ""


# ------------------------------------------------------------ the real pipeline, end to end


@pytest.mark.slow
def test_real_pipeline_batch_and_seed_reproducibility(tmp_path, replay_tree, monkeypatch, capsys):
    """``python -m app.main convert`` with the real pipeline: a good file converted (model rate,
    input's length), a bad one reported, exit 1; then the same seed in-process, with a fresh
    analysis cache (everything recomputed), writes byte-identical audio."""
    import os

    from tests.support.pipeline import voice

    x = voice(0.6, sr=44100)
    song = tmp_path / "song.wav"
    sf.write(song, np.stack([x, 0.5 * x], axis=1), 44100, subtype="PCM_24")
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio\n")
    env = dict(
        os.environ,
        RVC_STUDIO_REPLAY_DIR=str(replay_tree),
        RVC_STUDIO_CACHE_DIR=str(tmp_path / "cache1"),
        RVC_STUDIO_LOG_DIR=str(tmp_path / "logs"),
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.main",
            "convert",
            str(song),
            str(bad),
            "--model",
            "Singer",
            "-o",
            str(tmp_path / "a"),
            "--seed",
            "3",
            "--pitch",
            "2",
            "--f0",
            "harvest",
        ],  # harvest: no pitch model to load
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.splitlines() == [str(tmp_path / "a" / "song (Singer).wav")]
    assert "Converted 1 of 2 files with Singer" in proc.stderr
    assert f"  {bad}: not an audio file (or an unsupported format)" in proc.stderr
    first = tmp_path / "a" / "song (Singer).wav"
    out, rate = sf.read(first, dtype="float32")
    assert rate == 32000 and out.ndim == 1 and abs(len(out) - 0.6 * 32000) <= 320  # the input's 0.6 s
    assert np.isfinite(out).all() and 0.01 < np.abs(out).max() <= 1.0

    monkeypatch.setenv("RVC_STUDIO_REPLAY_DIR", str(replay_tree))
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(tmp_path / "cache2"))
    code = cli.main(
        [
            "convert",
            str(song),
            "--model",
            "Singer",
            "-o",
            str(tmp_path / "b"),
            "--seed",
            "3",
            "--pitch",
            "2",
            "--f0",
            "harvest",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Embedding" in err and "Pitch" in err  # analysed afresh, not read from the first run's cache
    assert (tmp_path / "b" / "song (Singer).wav").read_bytes() == first.read_bytes()
