"""Shared test set-up: no test ever touches the real user's folders or needs a display."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Keep every cache, log and settings file of the whole session inside one temporary folder.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="rvc-studio-tests-"))
for _var, _sub in (
    ("RVC_STUDIO_CACHE_DIR", "cache"),
    ("RVC_STUDIO_DATA_DIR", "data"),
    ("RVC_STUDIO_LOG_DIR", "logs"),
    ("RVC_STUDIO_REPLAY_DIR", "no-replay/com.replay.Replay"),
    ("HF_HOME", "huggingface"),  # where embedders are looked for: never the user's own cache
    ("HF_HUB_CACHE", "huggingface/hub"),
):
    os.environ[_var] = str(_SESSION_DIR / _sub)

from inference.core.runtime import prepare_process  # noqa: E402

prepare_process()


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary HOME with its own app folders and an (empty) Replay data root.

    Returns the home folder; Replay's root is ``home/"Replay"/"com.replay.Replay"`` and
    ``RVC_STUDIO_REPLAY_DIR`` points at it.
    """
    home = tmp_path / "home"
    replay = home / "Replay" / "com.replay.Replay"
    (replay / "models").mkdir(parents=True)
    (replay / "weights").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("RVC_STUDIO_REPLAY_DIR", str(replay))
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("RVC_STUDIO_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("RVC_STUDIO_LOG_DIR", str(home / "logs"))
    return home


def pytest_sessionfinish(session, exitstatus) -> None:
    """The session's caches (converted weights, analyses: hundreds of MB) go with the session."""
    import shutil

    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
