"""What a failed ``torch.load(..., weights_only=True)`` of a user's file means, in one line.

torch's own messages are written for developers (several paragraphs of advice about
``weights_only`` and safe globals); a user needs to know whether the file is damaged, cut short,
not a PyTorch file at all, or refused because it would run code. The checkpoint, embedder and
RMVPE loaders all describe their failures through :func:`describe_load_error`.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

INCOMPLETE = "the file is incomplete (cut short, as by an interrupted download or copy); download or copy it again"


@dataclass(frozen=True)
class LoadFailure:
    """``refused``: the pickle names code (``names``), so nothing was loaded; ``reason``: one line."""

    refused: bool
    reason: str
    names: tuple[str, ...] = ()


def first_sentence(text: str, limit: int = 200) -> str:
    """The first sentence of ``text``'s first non-empty line, at most ``limit`` characters."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return re.split(r"(?<=[a-z)])\. ", lines[0])[0][:limit] if lines else ""


def error_detail(error: BaseException) -> str:
    """What went wrong, in a few words, from a torch.load error."""
    text = str(error)
    # what went wrong follows "WeightsUnpickler error:"; before it is advice to developers
    text = text.split("WeightsUnpickler error:", 1)[-1]
    detail = first_sentence(text)
    if len(detail) < 8:  # "101", "'data.pkl'": says nothing without the error's type
        detail = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
    return detail


def _starts_like_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def check_intact(path: Path) -> str | None:
    """The reason when a member of the zip at ``path`` fails its CRC; None if intact or not a zip.

    ``torch.load`` does not check the checksums of memory-mapped weights, so a flipped byte in
    a downloaded model would load as wrong numbers; reading the whole zip once costs about
    0.1 s per 100 MB.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entry = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError):
        return None
    if entry is None:
        return None
    return f"the file is damaged (its part {entry} fails its checksum); download or copy it again"


def describe_load_error(path: Path, error: BaseException) -> LoadFailure:
    """Why loading ``path`` failed with ``error``."""
    text = str(error)
    if isinstance(error, pickle.UnpicklingError) and (
        "Unsupported global" in text or "GLOBAL" in text or "unrecognized function" in text
    ):
        names = tuple(dict.fromkeys(re.findall(r"GLOBAL ([\w.]+)", text)))
        return LoadFailure(True, "the file holds objects other than weights (it could run code)", names)
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError:
        is_zip = False
    if not is_zip and _starts_like_zip(path):
        return LoadFailure(False, INCOMPLETE)
    if is_zip and (reason := check_intact(path)) is not None:
        return LoadFailure(False, reason)
    if is_zip and not isinstance(error, pickle.UnpicklingError):
        return LoadFailure(False, f"a zip archive that is not a PyTorch model ({error_detail(error)})")
    return LoadFailure(False, f"corrupt or not a PyTorch file ({error_detail(error)})")
