"""Which files are audio, and which files a user's inputs name.

One home for the audio file extensions, list files (text or ``.m3u``) and the expansion of
inputs (files, folders, ``@list.txt``) that the window's drops, the queue and the command line
all use. Plain ``os``/``pathlib``: nothing is decoded here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

# Every extension the decoder reads (lower case, with the dot).
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".flac",
    ".mp3",
    ".m4a",
    ".aac",
    ".ogg",
    ".opus",
    ".aiff",
    ".aif",
    ".aifc",
    ".caf",
    ".wma",
    ".mp4",
    ".m4b",
    ".mov",
    ".webm",
    ".mkv",
    ".mka",
)
# Containers libsndfile never reads; going straight to PyAV avoids a useless failed open.
PYAV_ONLY = frozenset({".m4a", ".aac", ".wma", ".mp4", ".m4b", ".mov", ".webm", ".mkv", ".mka"})
# Files that list other files, one path per line. ``@name`` marks any file as a list.
LIST_SUFFIXES = (".txt", ".m3u", ".m3u8")


def is_audio_name(path: os.PathLike | str) -> bool:
    """True if ``path``'s extension is one the decoder reads."""
    return Path(path).suffix.lower() in SUPPORTED_EXTENSIONS


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


def not_a_file_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input file, or None when it is a regular file.

    Only ``stat`` is called: a FIFO or a device is named for what it is and never opened (opening
    a FIFO would block until a writer came).
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder"
    return "not a regular file (a pipe, a device or a socket)"


def folder_files(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(audio files, other files)`` under ``folder``, recursively, hidden ones skipped, each
    sorted by path (case-insensitive)."""
    audio, other = [], []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if not f.startswith("."):
                (audio if is_audio_name(f) else other).append(Path(root) / f)

    def order(p: Path) -> list[str]:
        return [part.casefold() for part in p.relative_to(folder).parts]

    return sorted(audio, key=order), sorted(other, key=order)


def expand_inputs(
    items: Iterable[str | os.PathLike],
    *,
    name_skipped: bool = False,
) -> tuple[list[Path], list[tuple[str, str]]]:
    """``(files, problems)`` from inputs a user named: audio files, folders, list files.

    - a folder contributes its audio files (:func:`folder_files`); its other files are named
      as problems when ``name_skipped`` (the window says what it left out), else ignored (the
      command line);
    - ``@path``, or a file ending in ``.txt``/``.m3u``/``.m3u8``, is a list read with
      :func:`read_list_file` (lists inside lists are not followed);
    - an audio file is kept; anything else is a problem.

    ``problems`` are ``(input as given, reason)`` pairs: a missing path, a FIFO or device, an
    empty folder, an unreadable list, a file that is not audio. ``files`` holds each file once
    (by real path), in the order named.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []

    def visit(path: Path, label: str, in_list: bool) -> None:
        if path.is_dir():
            found, other = folder_files(path)
            if not found:
                problems.append((label, "folder holds no audio files"))
            files.extend(found)
            if name_skipped:
                problems.extend((str(p), "not an audio file") for p in other)
            return
        if path.suffix.lower() in LIST_SUFFIXES and not in_list and path.is_file():
            return visit_list(path, label)
        reason = not_a_file_reason(path)
        if reason is not None:
            problems.append((label, reason))
        elif is_audio_name(path):
            files.append(path)
        else:
            problems.append((label, f"not an audio file ({path.suffix or 'no extension'})"))

    def visit_list(path: Path, label: str) -> None:
        reason = not_a_file_reason(path)
        if reason is not None:
            problems.append((label, "list file not found" if reason == "file not found" else f"list {reason}"))
            return
        try:
            entries = read_list_file(path)
        except OSError as error:
            problems.append((label, f"cannot read the list ({error.strerror or error})"))
            return
        if not entries:
            problems.append((label, "list is empty"))
        for entry in entries:
            visit(entry, str(entry), True)

    for item in items:
        text = os.fspath(item)
        if text.startswith("@") and len(text) > 1:
            visit_list(Path(text[1:]).expanduser(), text)
        else:
            visit(Path(text).expanduser(), text, False)
    return _unique(files), problems


def _unique(paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    seen: set[str] = set()
    for path in paths:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out
