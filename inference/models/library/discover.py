"""Find where the models are: walk Replay's folder and the user's folders into :class:`Unit` s.

A unit is one would-be model: its id and display name, its folder, the ``.pth`` files that may
be the model (best first) and the ``.index`` files that may go with it. Nothing here opens a
model file; :mod:`inference.models.library.scanner` reads them.

- Replay: each ``models/<model-id>/`` folder is one model, searched recursively (unpacked zips
  nest their files).
- A user's folder may be flat (``.pth`` and ``.index`` files side by side, paired by name), hold
  one folder per model, or group model folders one level deeper (``Artists/<name>/model.pth``).
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

MAX_DEPTH = 6  # unpacked zips nest a few levels; deeper trees are not model folders
SKIP_DIRS = {"__MACOSX", "node_modules"}
# Training by-products that are never voice models: discriminators and optimizer states.
_NOT_A_MODEL = re.compile(r"^(D_.*|.*optim.*)\.pth$", re.IGNORECASE)
_TRAINING_CHECKPOINT = re.compile(r"^G_.*\.pth$", re.IGNORECASE)


@dataclass(frozen=True)
class FileRef:
    path: Path
    size: int
    mtime_ns: int
    depth: int  # folders between the unit's root and the file


@dataclass
class Unit:
    source: str  # "replay" | "folder"
    id: str
    name: str
    root: Path
    models: list[FileRef] = field(default_factory=list)  # candidate .pth files, best first
    indexes: list[FileRef] = field(default_factory=list)  # candidate .index files
    flat: bool = False  # one .pth among others in a flat folder (root is that folder)

    def key(self) -> str:
        """The real path of what the unit stands for, to list a model reached twice once."""
        return os.path.realpath(self.models[0].path if self.models else self.root)


def _natural(name: str) -> list:
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: _natural(e.name))
    except OSError:
        return []


def _ref(entry: os.DirEntry, depth: int) -> FileRef | None:
    try:
        st = entry.stat()
    except OSError:
        return None
    return FileRef(Path(entry.path), st.st_size, st.st_mtime_ns, depth)


def _is_file(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir() and not entry.name.startswith(".") and entry.name not in SKIP_DIRS
    except OSError:
        return False


def _kind(name: str) -> str | None:
    if name.startswith("."):  # macOS "._model.pth" resource forks, hidden temp files
        return None
    lower = name.lower()
    if lower.endswith(".pth"):
        return None if _NOT_A_MODEL.match(name) else "pth"
    if lower.endswith(".index"):
        return "index"
    return None


def walk(root: Path, depth: int = 0, max_depth: int = MAX_DEPTH) -> tuple[list[FileRef], list[FileRef]]:
    """Every candidate ``.pth`` and ``.index`` under ``root``, in a stable natural order."""
    models: list[FileRef] = []
    indexes: list[FileRef] = []
    subdirs = []
    for entry in _entries(root):
        if _is_file(entry):
            kind = _kind(entry.name)
            ref = _ref(entry, depth) if kind else None
            if ref is not None:
                (models if kind == "pth" else indexes).append(ref)
        elif depth < max_depth and _is_dir(entry):
            subdirs.append(Path(entry.path))
    for sub in subdirs:
        sub_models, sub_indexes = walk(sub, depth + 1, max_depth)
        models += sub_models
        indexes += sub_indexes
    return models, indexes


def model_order(models: list[FileRef]) -> list[FileRef]:
    """Best candidates first: shallow files, then names other than training checkpoints."""
    return sorted(models, key=lambda r: (r.depth, bool(_TRAINING_CHECKPOINT.match(r.path.name))))


def replay_units(models_dir: Path) -> list[Unit]:
    """One unit per folder of Replay's ``models/`` (a folder without a model still counts)."""
    units = []
    for entry in _entries(models_dir):
        if not _is_dir(entry):
            continue
        root = Path(entry.path)
        models, indexes = walk(root)
        units.append(Unit("replay", f"replay:{entry.name}", entry.name, root, model_order(models), indexes))
    return units


def folder_units(folder: Path) -> list[Unit]:
    """The units of one of the user's folders (flat files, model folders, groups of them)."""
    entries = _entries(folder)
    top_models = [r for e in entries if _is_file(e) and _kind(e.name) == "pth" and (r := _ref(e, 0))]
    top_indexes = [r for e in entries if _is_file(e) and _kind(e.name) == "index" and (r := _ref(e, 0))]
    units = flat_units(folder, top_models, top_indexes)
    for entry in entries:
        if _is_dir(entry):
            units += _subfolder_units(Path(entry.path), 1)
    return units


def folder_unit(root: Path) -> Unit:
    """``root`` as one model folder (its id and name from the folder itself)."""
    models, indexes = walk(root)
    return Unit("folder", f"folder:{root}", root.name, root, model_order(models), indexes)


def _subfolder_units(root: Path, level: int) -> list[Unit]:
    models, indexes = walk(root)
    if not models and not indexes:
        return []
    direct = [r for r in models if r.depth == 0]
    children = {r.path.relative_to(root).parts[0] for r in models if r.depth > 0}
    if not direct and len(children) >= 2 and level < 3:
        # a group of model folders ("Artists/<name>/..."): each child is a model of its own
        units: list[Unit] = []
        for entry in _entries(root):
            if _is_dir(entry):
                units += _subfolder_units(Path(entry.path), level + 1)
        return units
    return [Unit("folder", f"folder:{root}", root.name, root, model_order(models), indexes)]


# --- pairing .pth and .index files that lie side by side ----------------------------------

_INDEX_NOISE = (
    re.compile(r"^(added|trained)_", re.IGNORECASE),
    re.compile(r"ivf\d+_(flat|pq\w*|sq\w*)(_nprobe_\d+)?_?", re.IGNORECASE),
    re.compile(r"[_\- ]v[12]$", re.IGNORECASE),
)
_MODEL_NOISE = (
    re.compile(r"[_\- ]?(e\d+_s\d+|\d+e_\d+s|\d+_?epochs?|e\d+)$", re.IGNORECASE),
    re.compile(r"[_\- ]v[12]$", re.IGNORECASE),
)


def name_key(stem: str, index: bool) -> str:
    """A model or index file's stem without RVC's and Applio's decorations, letters only."""
    for pattern in _INDEX_NOISE if index else _MODEL_NOISE:
        stem = pattern.sub("", stem)
    if index:
        stem = _MODEL_NOISE[0].sub("", stem)
    return "".join(ch for ch in stem.casefold() if ch.isalnum())


def similarity(model_stem: str, index_stem: str) -> float:
    """How alike two file names are, 0..1 (1: same name once decorations are removed)."""
    a, b = name_key(model_stem, False), name_key(index_stem, True)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 3 and (a in b or b in a):
        return 0.9
    return difflib.SequenceMatcher(None, a, b).ratio()


MIN_SIMILARITY = 0.6


def flat_units(folder: Path, models: list[FileRef], indexes: list[FileRef]) -> list[Unit]:
    """One unit per ``.pth`` of a flat folder, each with the ``.index`` files whose names match.

    An index goes to the model whose name it resembles most; a folder holding a single model
    gets every index in it.
    """
    units = [Unit("folder", f"folder:{ref.path}", ref.path.stem, folder, [ref], [], flat=True) for ref in models]
    if len(units) == 1:
        units[0].indexes = sorted(indexes, key=lambda i: -similarity(models[0].path.stem, i.path.stem))
        return units
    for index in indexes:
        scored = [(similarity(u.models[0].path.stem, index.path.stem), n) for n, u in enumerate(units)]
        if scored:
            best, n = max(scored, key=lambda s: (s[0], -s[1]))
            if best >= MIN_SIMILARITY:
                units[n].indexes.append(index)
    return units
