"""A stand-in for the converter and helpers for the command line's tests."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import soundfile as sf

from inference.audio import DEFAULT_TEMPLATE, load_audio, render_name, unique_path, write_audio
from inference.cli import main as cli_main
from inference.core.errors import check_cancel


class FakeConverter:
    """Stands in for ``inference.pipeline.Converter``: decodes the input, writes it at 16 kHz."""

    def __init__(self, weights_dirs=(), cache_dir=None, *, calls=None, hold=None):
        self.weights_dirs = weights_dirs
        self.calls = calls if calls is not None else []
        self.hold = hold  # an Event: convert_file waits on the cancel event until this is set

    def convert_file(
        self, input_path, model, output_dir, params, progress=None, cancel=None, name_template=DEFAULT_TEMPLATE
    ):
        self.calls.append((Path(input_path), model, params, cancel))
        audio = load_audio(input_path, sr=16000)
        for fraction, stage in ((0.0, "decode"), (0.3, "embed"), (0.6, "synth")):
            check_cancel(cancel)
            if progress:
                progress(fraction, stage)
        if self.hold is not None:
            self.hold.set()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # like the pipeline: checks the event between pieces of work
                check_cancel(cancel)
                time.sleep(0.01)
            raise AssertionError("held conversion never cancelled")
        out = unique_path(
            output_dir,
            render_name(
                name_template,
                name=Path(input_path).stem,
                model=model.name,
                pitch=params.pitch,
                f0=params.f0_method,
                extension=params.output_format,
            ),
        )
        write_audio(out, audio, 16000, format=params.output_format, subtype=params.sample_format)
        progress(1.0, "write")
        return SimpleNamespace(output_path=out, duration=len(audio) / 16000, timings={}, sample_rate=16000)


def run(argv, capsys, **factories):
    calls: list = []
    factories.setdefault("converter_factory", lambda **kw: FakeConverter(**kw, calls=calls))
    factories.setdefault("params_factory", lambda **kw: SimpleNamespace(**kw))
    code = cli_main([str(a) for a in argv], **factories)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return code, out, err, calls


def tone(path: Path, seconds: float = 0.2, sr: int = 22050) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    return path
