"""How paths read on screen."""

from __future__ import annotations

from pathlib import Path


def short_path(path: Path | str) -> str:
    """``path`` with the home folder written as ``~`` (what a Mac user recognises)."""
    path = Path(path)
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def home_as_tilde(message: str) -> str:
    """``message`` with every path under the home folder written from ``~`` (error notices)."""
    home = str(Path.home()).rstrip("/")
    if len(home) < 2:  # HOME is "/" or empty: nothing to shorten
        return message
    return message.replace(home + "/", "~/")
