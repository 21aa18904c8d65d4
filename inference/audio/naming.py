"""How outputs are named: the one rule the window, the queue and the command line share.

A name comes from a template with the placeholders ``{name}`` (the input's file name without
its extension), ``{model}``, ``{pitch}`` (``+12``, ``-3.5``, ``0``), ``{f0}`` (the pitch method)
and ``{date}`` (``YYYY-MM-DD``). Characters that file systems reject become ``_``, and a name
too long for the file system (255 bytes) is shortened, the input's name first, so that the
model's name and the extension survive. A name already taken in the output folder gets
`` (2)``, `` (3)``... before its extension: an output never replaces a file.
"""

from __future__ import annotations

import os
import re
import string
import time
from pathlib import Path

from inference.core.errors import RVCError

DEFAULT_TEMPLATE = "{name} ({model})"
PLACEHOLDERS = ("name", "model", "pitch", "f0", "date")
ALIASES = {"method": "f0"}  # the name templates of version 1 settings used {method}
NAME_MAX_BYTES = 255  # the longest file name macOS (APFS), Linux and Windows file systems take
COUNTER_ROOM = len(" (9999)")  # kept free so that a taken name can still be numbered
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')


class NamingError(RVCError):
    """A name template that cannot make a file name (the message says why)."""


def format_pitch(pitch: float) -> str:
    """``+12``, ``-3.5``, ``0``: a pitch shift as it reads in a file name."""
    value = float(pitch)
    if value == 0:
        return "0"
    return f"{value:+.2f}".rstrip("0").rstrip(".") if value % 1 else f"{int(value):+d}"


def check_template(template: str) -> str:
    """``template`` stripped, or :class:`NamingError` naming what is wrong with it: empty,
    unbalanced braces, an unknown placeholder, a folder separator, or a character file systems
    reject (``:*?"<>|`` and control characters) in its own text. (The values filled in are
    cleaned instead: a song's name may hold anything.)"""
    text = str(template).strip()
    if not text:
        raise NamingError("the name template is empty")
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
    except ValueError as error:
        raise NamingError(f"the name template {text!r} has unbalanced braces ({error})") from None
    for field in fields:
        if ALIASES.get(field, field) not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise NamingError(f"the name template {text!r} has an unknown placeholder {{{field}}}; use {known}")
    if "/" in text or "\\" in text:
        raise NamingError(f"the name template {text!r} contains a folder separator")
    literal = "".join(part for part, _, _, _ in string.Formatter().parse(text))
    bad = sorted(set(_UNSAFE.findall(literal)))
    if bad:
        shown = " ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}" for c in bad)
        raise NamingError(f"the name template {text!r} contains {shown}, which file names cannot hold")
    if not fields and not literal.strip(" ."):
        raise NamingError(f"the name template {text!r} gives no file name")
    return text


def _fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: max(0, limit)].decode("utf-8", errors="ignore")


def _clean(text: str) -> str:
    return _UNSAFE.sub("_", text)


def render_name(
    template: str,
    *,
    name: str,
    model: str,
    pitch: float = 0.0,
    f0: str = "",
    extension: str = "wav",
    date: str | None = None,
    limit: int = NAME_MAX_BYTES,
) -> str:
    """The output file name for one conversion (see the module docstring)."""
    text = check_template(template)
    extension = extension.lstrip(".")
    values = {
        "name": _clean(name),
        "model": _clean(model),
        "pitch": format_pitch(pitch),
        "f0": _clean(f0),
        "date": date or time.strftime("%Y-%m-%d"),
    }
    values.update({alias: values[target] for alias, target in ALIASES.items()})
    room = limit - COUNTER_ROOM - len(f".{extension}".encode())

    def render(input_name: str) -> str:
        out = _clean(text.format_map(dict(values, name=input_name))).strip().strip(".")
        return out or input_name or "output"

    stem = render(values["name"])
    over = len(stem.encode("utf-8")) - room
    if over > 0 and "{name}" in text:  # shorten the input's name first
        shorter = _fit_bytes(values["name"], max(1, len(values["name"].encode("utf-8")) - over))
        stem = render(shorter.rstrip() or "_")
    stem = _fit_bytes(stem, room).rstrip(" .") or "output"
    return f"{stem}.{extension}"


def numbered(path: Path, n: int) -> Path:
    """``path`` itself for ``n`` 1, else ``stem (n).ext`` beside it: how a taken name is numbered."""
    return path if n <= 1 else path.with_name(f"{path.stem} ({n}){path.suffix}")


def label_name(file_name: str, label: str, limit: int = NAME_MAX_BYTES) -> str:
    """``file_name`` with `` - label`` before its extension (a cover's stems: ``song (Alice) - vocal.wav``),
    shortened like :func:`render_name` so that the label and the extension survive."""
    stem, suffix = Path(file_name).stem, Path(file_name).suffix
    tail = f" - {_clean(label).strip()}"
    room = limit - COUNTER_ROOM - len(f"{tail}{suffix}".encode())
    stem = _fit_bytes(stem, max(1, room)).rstrip(" .") or "output"
    return f"{stem}{tail}{suffix}"


def unique_path(folder: os.PathLike | str, name: str) -> Path:
    """``folder/name``, or ``name (2).ext``, ``name (3).ext``... if taken: a name free right now.

    Writers publish with :func:`inference.audio.outputs.publish`, which claims the name
    atomically (another process may take a free name before the file is complete).
    """
    target = Path(folder) / name
    n = 1
    while numbered(target, n).exists() or numbered(target, n).is_symlink():
        n += 1
    return numbered(target, n)
