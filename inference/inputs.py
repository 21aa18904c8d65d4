"""Lists of input files (text or .m3u), shared by the window's drops and the command line."""
from __future__ import annotations

import os
from pathlib import Path

LIST_SUFFIXES = (".txt", ".m3u", ".m3u8")


def read_list_file(path: os.PathLike | str) -> list[Path]:
    """Paths listed in a text or .m3u file: one per line, relative to the list's folder;
    blank lines and ``#`` lines (m3u directives included) skipped; ``file://`` URLs accepted.

    Raises ``OSError`` when the list cannot be read.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    out: list[Path] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("file://"):
            from urllib.parse import unquote, urlparse

            line = unquote(urlparse(line).path)
        entry = Path(line).expanduser()
        out.append(Path(os.path.normpath(entry if entry.is_absolute() else path.parent / entry)))
    return out
