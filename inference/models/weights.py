"""Finding the embedder (HuBERT / ContentVec) and pitch (RMVPE) weights on the user's machine.

Search order, first hit wins:

1. Replay's ``weights/`` folder (:func:`inference.core.paths.replay_weights_dir`), where Replay keeps
   ``hubert_base.pt`` (fairseq format) and ``rmvpe.pt``;
2. the folders the user chose (Settings, ``--weights-dir``), in the order given;
3. ``$RVC_STUDIO_WEIGHTS_DIR``, when set.

For the embedder, each folder may also hold a transformers-format model (``config.json`` plus
``pytorch_model.bin`` or ``model.safetensors``), as RVC and Applio ship it: in a ``contentvec/``
or ``hubert_base/`` subfolder, or in the folder itself. A fairseq ``hubert_base.pt`` in the same
folder is preferred, because that is the file Replay's models were made with.

Only ``stat`` calls happen here: nothing is read or written, so pointing at Replay is safe.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from inference.core import paths
from inference.core.errors import RVCError

WeightKind = Literal["hubert", "rmvpe"]

WEIGHTS_DIR_ENV = "RVC_STUDIO_WEIGHTS_DIR"
HUBERT_FILE = "hubert_base.pt"
RMVPE_FILE = "rmvpe.pt"
# Subfolders that RVC (assets/hubert_base) and Applio (rvc/models/embedders/contentvec) use.
TRANSFORMERS_SUBDIRS = ("contentvec", "hubert_base")
TRANSFORMERS_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

_DESCRIPTIONS = {
    "hubert": (
        f"the HuBERT embedder ({HUBERT_FILE}, or a folder with config.json + {' or '.join(TRANSFORMERS_WEIGHT_FILES)})"
    ),
    "rmvpe": f"the RMVPE pitch model ({RMVPE_FILE})",
}


class WeightsNotFoundError(RVCError):
    """A weights file was not found in any of the places searched."""


def is_transformers_folder(folder: Path) -> bool:
    """True if ``folder`` holds a transformers-format model: ``config.json`` and its weights."""
    if not (folder / "config.json").is_file():
        return False
    return any((folder / name).is_file() for name in TRANSFORMERS_WEIGHT_FILES)


def search_dirs(extra_dirs: Sequence[os.PathLike | str] = ()) -> list[Path]:
    """The folders searched, in order, without duplicates (missing folders included)."""
    candidates: list[Path] = [paths.replay_weights_dir()]
    candidates += [Path(d).expanduser() for d in extra_dirs if str(d).strip()]
    env = os.environ.get(WEIGHTS_DIR_ENV, "").strip()
    if env:
        candidates.append(Path(env).expanduser())
    unique: list[Path] = []
    seen: set[str] = set()
    for folder in candidates:
        try:
            key = str(folder.resolve())
        except OSError:
            key = str(folder)
        if key not in seen:
            seen.add(key)
            unique.append(folder)
    return unique


def _candidates_in(folder: Path, kind: WeightKind) -> list[Path]:
    """Where ``kind`` may sit inside one folder, most preferred first."""
    if kind == "rmvpe":
        return [folder / RMVPE_FILE]
    return [folder / HUBERT_FILE] + [folder / sub for sub in TRANSFORMERS_SUBDIRS] + [folder]


def _matches(candidate: Path, kind: WeightKind) -> bool:
    try:
        if kind == "hubert" and candidate.name != HUBERT_FILE:
            return candidate.is_dir() and is_transformers_folder(candidate)
        return candidate.is_file()
    except OSError:  # an unreadable folder is simply not a match
        return False


def find_weight(kind: WeightKind, extra_dirs: Sequence[os.PathLike | str] = ()) -> Path:
    """Path of the ``kind`` weights (a file, or for ``"hubert"`` possibly a transformers folder).

    Raises :class:`WeightsNotFoundError` listing every folder searched and the expected names.
    """
    if kind not in _DESCRIPTIONS:
        raise ValueError(f"unknown weights kind {kind!r}; expected 'hubert' or 'rmvpe'")
    folders = search_dirs(extra_dirs)
    for folder in folders:
        for candidate in _candidates_in(folder, kind):
            if _matches(candidate, kind):
                return candidate
    places = "; ".join(str(f) for f in folders)
    raise WeightsNotFoundError(
        f"Could not find {_DESCRIPTIONS[kind]}. Searched: {places}. "
        "Choose a folder that holds it in Settings (weights folder)."
    )
