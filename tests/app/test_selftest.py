"""Issue #8: ``rvc-studio --self-test`` exercises every heavy dependency and reports in one line.
The same command runs inside the built bundle on a Mac (``make app-smoke``)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from app import selftest

REPO = Path(__file__).resolve().parents[2]
CHECKED = (
    "qt ",
    "mlx ",
    "torch ",
    "faiss ",
    "soundfile ",
    "av ",
    "librosa ",
    "scipy ",
    "transformers ",
    "safetensors ",
    "pyworld ",
    "fcpe ",
    "qt multimedia",
    "pyqtgraph ",
    "gui",
)


def test_self_test_passes_with_a_one_line_report() -> None:
    env = {**os.environ}
    env.pop("QT_QPA_PLATFORM", None)  # the self-test must go offscreen by itself
    env.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "app.main", "--self-test"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    report = re.fullmatch(r"self-test: ok \((.+)\) in (\d+\.\d) s", lines[0])
    assert report, lines[0]
    for name in CHECKED:
        assert name in report[1], f"{name.strip()} missing from {lines[0]}"
    assert "offscreen" in report[1], "no window: the self-test runs offscreen"
    assert re.search(r"mlx (cpu|gpu) \d+\.\d+", report[1])


def test_missing_library_is_named_and_exit_status_is_1(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # as if py2app had left faiss out
    out, err = io.StringIO(), io.StringIO()
    status = selftest.run_self_test(
        checks=[("faiss", selftest.check_faiss), ("safetensors", selftest.check_safetensors)], out=out, err=err
    )
    assert status == 1
    line = out.getvalue().strip()
    assert line.startswith("self-test: FAILED faiss (ModuleNotFoundError") and "1 of 2 checks ok" in line, line
    assert "Traceback" in err.getvalue()


def test_missing_fcpe_weights_fail_naming_the_path(monkeypatch) -> None:
    monkeypatch.setattr(selftest, "FCPE_ASSET", Path("assets") / "no_such_model.pt")
    out = io.StringIO()
    assert (
        selftest.run_self_test(checks=[("torchfcpe", selftest.check_torchfcpe_asset)], out=out, err=io.StringIO()) == 1
    )
    assert "no_such_model.pt" in out.getvalue()
