"""Where RVC Studio and Replay keep things on the user's machine.

All folders come from ``platformdirs`` so they follow each platform's conventions; a few
environment variables override them (tests and unusual setups):

- ``RVC_STUDIO_REPLAY_DIR``: Replay's data root (the folder holding ``models/`` and ``weights/``).
- ``RVC_STUDIO_CACHE_DIR`` / ``RVC_STUDIO_DATA_DIR`` / ``RVC_STUDIO_LOG_DIR``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

APP_NAME = "RVC Studio"
REPLAY_APP_ID = "com.replay.Replay"


def _override(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """App data (settings, the persisted queue)."""
    import platformdirs

    return _override("RVC_STUDIO_DATA_DIR") or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """Caches (converted weights, analysed features). Safe to delete."""
    import platformdirs

    return _override("RVC_STUDIO_CACHE_DIR") or Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    import platformdirs

    return _override("RVC_STUDIO_LOG_DIR") or Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def replay_base_dir() -> Path:
    """The folder where Replay keeps ``replay-base-config.json`` and, by default, its data."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Replay"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "Replay"
    return Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")) / "Replay"


def replay_root() -> Path:
    """Replay's data root (``.../com.replay.Replay``), honouring a moved root.

    ``RVC_STUDIO_REPLAY_DIR`` wins. Otherwise, if ``replay-base-config.json`` holds
    ``{"newDir": "<dir>"}``, the data lives in ``<dir>/com.replay.Replay``. The folder may not
    exist; callers check.
    """
    env = _override("RVC_STUDIO_REPLAY_DIR")
    if env is not None:
        return env
    base = replay_base_dir()
    config = base / "replay-base-config.json"
    try:
        new_dir = json.loads(config.read_text(encoding="utf-8")).get("newDir")
    except (OSError, ValueError, AttributeError):
        new_dir = None
    if isinstance(new_dir, str) and new_dir.strip():
        return Path(new_dir).expanduser() / REPLAY_APP_ID
    return base / REPLAY_APP_ID


def replay_models_dir() -> Path:
    return replay_root() / "models"


def replay_weights_dir() -> Path:
    return replay_root() / "weights"


def is_inside_replay(path: os.PathLike | str) -> bool:
    """True if ``path`` is Replay's data root or anything under it (we never write there)."""
    target = Path(path).expanduser().resolve()
    roots = {replay_root(), replay_base_dir()}
    for root in roots:
        try:
            root = root.expanduser().resolve()
        except OSError:
            continue
        if target == root or root in target.parents:
            return True
    return False
