"""Issue #2: the window opens with its empty state, start-up stays light, errors are reported once."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

WINDOW_PROBE = r"""
import json, sys
from app.main import main  # the real entry module, for its side effects on the environment
from inference.core.runtime import prepare_process
prepare_process()
from PySide6.QtCore import QTimer
from app.application import create_application, build_main_window
app, _ = create_application([])
window = build_main_window(app)
window.show()
for _ in range(5):
    app.processEvents()
result = {
    "visible": window.isVisible(),
    "text": window.empty_state.body.text(),
    "heavy": sorted(m for m in ("torch", "mlx", "mlx.core", "transformers", "faiss") if m in sys.modules),
    "omp": __import__("os").environ.get("OMP_NUM_THREADS"),
    "switch": sys.getswitchinterval(),
}
window.close()
app.processEvents()
app.quit()
print(json.dumps(result))
"""


def _run_probe(code: str, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **env_extra}
    env.pop("OMP_NUM_THREADS", None)
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_window_opens_with_empty_state_and_no_heavy_imports(tmp_path: Path) -> None:
    replay = tmp_path / "Replay" / "com.replay.Replay"
    proc = _run_probe(WINDOW_PROBE, {"RVC_STUDIO_REPLAY_DIR": str(replay), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["visible"] is True
    # The empty state names where models are looked for, the home folder written as ~.
    assert "~/Replay/com.replay.Replay/models" in result["text"], result["text"]
    assert result["heavy"] == [], f"GUI start-up imported heavy modules: {result['heavy']}"
    assert result["omp"] == "1"
    # Python's lock changes hands every 1 ms, not 5: a paint waits for it many times over
    assert result["switch"] == pytest.approx(0.001)


def test_version_flag() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app.main", "--version"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("RVC Studio ")


def test_exception_reporter_logs_and_shows_once(tmp_path: Path) -> None:
    from app.logging_setup import ExceptionReporter, setup_logging

    log_path = setup_logging(tmp_path / "logs")
    shown: list[str] = []

    def show(summary: str) -> None:
        shown.append(summary)
        # A second exception while the first report is on screen is logged, not shown.
        try:
            raise RuntimeError("second failure")
        except RuntimeError as exc:
            reporter(type(exc), exc, exc.__traceback__)

    reporter = ExceptionReporter(show=show, log_path=log_path)
    try:
        raise ValueError("bad value 42")
    except ValueError as exc:
        reporter(type(exc), exc, exc.__traceback__)
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert shown == ["ValueError: bad value 42"]
    text = log_path.read_text()
    assert "Traceback" in text and "bad value 42" in text and "second failure" in text


def test_expected_errors_are_summarised_without_type_name() -> None:
    from app.logging_setup import summarize
    from inference.core.errors import RVCError

    assert summarize(RVCError("song.wav: not an audio file")) == "song.wav: not an audio file"


@pytest.mark.parametrize("argv", [["-psn_0_12345"]])
def test_finder_psn_argument_is_ignored(argv, monkeypatch) -> None:
    import app.application
    import app.main

    seen = {}
    monkeypatch.setattr(app.application, "run_gui", lambda a: seen.update(argv=a) or 0)
    assert app.main.main(argv) == 0
    assert seen["argv"] == []
