"""The user's voice models: Replay's folder plus any folders they add (:class:`ModelLibrary`)."""
from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from inference import paths
from inference.library.cache import MetadataCache
from inference.library.discover import (
    FileRef, Unit, flat_units, folder_unit, folder_units, replay_units, walk,
)
from inference.library.model import Changes, LibraryError, VoiceModel
from inference.library.scanner import describe

log = logging.getLogger(__name__)

CACHE_FILE = "library.json"


class ModelLibrary:
    """Finds voice models, describes them, and tells what changed between scans.

    ``folders`` are the user's own folders; Replay's ``models/`` folder is scanned first when
    ``include_replay``. What was read from each file is cached in ``cache_path`` (default:
    ``library.json`` in the app's cache folder), so a re-scan only stats files. Nothing is
    ever written inside Replay's folder.
    """

    def __init__(
        self,
        folders: Sequence[os.PathLike | str] = (),
        include_replay: bool = True,
        cache_path: Path | None = None,
    ) -> None:
        self.folders: list[Path] = []
        for folder in folders:
            self.add_folder(folder)
        self.include_replay = include_replay
        self._cache = MetadataCache(cache_path if cache_path is not None else paths.cache_dir() / CACHE_FILE)
        self._models: dict[str, VoiceModel] | None = None

    # -- folders ---------------------------------------------------------------------------

    def add_folder(self, folder: os.PathLike | str) -> None:
        """Scan ``folder`` too from the next scan on (a folder already listed is kept once)."""
        path = Path(folder)
        if path not in self.folders:
            self.folders.append(path)

    def remove_folder(self, folder: os.PathLike | str) -> None:
        """Stop scanning ``folder``; raises :class:`LibraryError` if it was not one."""
        path = Path(folder)
        if path not in self.folders:
            raise LibraryError(f"{path} is not one of the model folders")
        self.folders.remove(path)

    # -- scanning --------------------------------------------------------------------------

    @property
    def models(self) -> list[VoiceModel]:
        """The models of the last scan (scanning first if there was none)."""
        if self._models is None:
            return self.scan()
        return list(self._models.values())

    def scan(self) -> list[VoiceModel]:
        """Every model found now, Replay's first, then each folder's in order."""
        models = self._collect()
        self._models = {m.id: m for m in models}
        return models

    def refresh(self) -> Changes:
        """Scan again and return the ids added, removed and changed since the last scan.

        Only new or changed files (by size and mtime) are opened, so this costs about a
        directory listing per model folder.
        """
        before = self._models or {}
        models = self.scan()
        after = self._models or {}
        return Changes(
            added=[m.id for m in models if m.id not in before],
            removed=[i for i in before if i not in after],
            changed=[m.id for m in models if m.id in before and before[m.id] != m],
        )

    def _units(self) -> list[Unit]:
        units: list[Unit] = []
        if self.include_replay:
            models_dir = paths.replay_models_dir()
            if models_dir.is_dir():
                units += replay_units(models_dir.resolve())
        for folder in self.folders:
            folder = folder.expanduser()
            if folder.is_dir():
                units += folder_units(folder.resolve())
            elif folder.suffix.lower() == ".pth" and folder.is_file():  # a single model file
                units += _file_units(folder.resolve())
            else:
                log.info("model folder %s is missing; skipped", folder)
        return units

    def _collect(self) -> list[VoiceModel]:
        self._cache.begin()
        models: list[VoiceModel] = []
        seen_ids: set[str] = set()
        seen_files: set[str] = set()
        for unit in self._units():
            if unit.id in seen_ids:
                continue  # a folder added twice, or inside another added folder
            try:
                model = describe(unit, self._cache)
            except Exception as error:  # noqa: BLE001 - one odd folder must not end the scan
                log.warning("could not describe %s", unit.root, exc_info=True)
                model = VoiceModel(id=unit.id, name=unit.name, source=unit.source, root=str(unit.root),
                                   model_path=str(unit.models[0].path) if unit.models else "",
                                   problems=[f"unreadable: {type(error).__name__}: {error}"], ok=False)
            real = os.path.realpath(model.model_path) if model.model_path else None
            if real in seen_files:
                continue  # the same file reached twice (a folder inside another, a symlink)
            seen_ids.add(unit.id)
            if real is not None:
                seen_files.add(real)
            models.append(model)
        self._cache.finish()
        return models

    # -- lookup ----------------------------------------------------------------------------

    def find(self, query: str) -> VoiceModel:
        """The model named by ``query``: an id, a display name (any case), or a path.

        A path may name a ``.pth`` file or a model folder, inside the library or not. Raises
        :class:`LibraryError` listing close or available names when nothing or several match.
        """
        models = self.models
        query = str(query).strip()
        by_id = [m for m in models if m.id == query]
        if by_id:
            return by_id[0]
        named = [m for m in models if m.name.casefold() == query.casefold()]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            where = "; ".join(f"{m.id}" for m in named)
            raise LibraryError(f"several models are named “{query}”; give one of these ids: {where}")
        found = self._find_path(query, models)
        if found is not None:
            return found
        names = sorted({m.name for m in models}, key=str.casefold)
        if not names:
            raise LibraryError(f"no model matches “{query}”: no models were found ({self.searched_places()})")
        close = difflib.get_close_matches(query.casefold(), [n.casefold() for n in names], n=5, cutoff=0.5)
        if close:
            suggestions = [n for n in names if n.casefold() in close]
            raise LibraryError(f"no model matches “{query}”; did you mean: {', '.join(suggestions)}?")
        shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
        raise LibraryError(f"no model matches “{query}”; available: {shown}")

    def _find_path(self, query: str, models: list[VoiceModel]) -> VoiceModel | None:
        path = Path(query).expanduser()
        try:
            if not path.exists():
                return None
            path = path.resolve()
        except OSError:
            return None
        target = str(path)
        for model in models:
            if model.model_path and _canonical(model.model_path) == target:
                return model
        if path.is_dir():
            for model in models:
                if _canonical(model.root) == target and model.id != f"folder:{model.model_path}":
                    return model  # a model folder (not a flat folder holding several models)
            units = [folder_unit(path)]
        elif path.suffix.lower() == ".pth":
            units = _file_units(path)
        else:
            return None
        self._cache.begin()
        try:
            return describe(units[0], self._cache)
        finally:
            self._cache.finish()

    def searched_places(self) -> str:
        """Where the library looks, for messages ("looked in Replay's folder ..., <folder>")."""
        places = [f"Replay's folder {paths.replay_models_dir()}"] if self.include_replay else []
        places += [str(f) for f in self.folders]
        return "looked in " + (", ".join(places) if places else "no folders")


def _canonical(path: str) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return path


def _file_units(path: Path) -> list[Unit]:
    """A single ``.pth`` file as a model, with the indexes beside it that match its name."""
    folder = path.parent
    models, indexes = walk(folder, max_depth=0)
    indexes = [r for r in indexes if r.depth == 0]
    this = [r for r in models if r.depth == 0 and r.path == path]
    if not this:  # a name the walk skips (e.g. D_*.pth): still describe what was asked for
        stat = path.stat()
        this = [FileRef(path, stat.st_size, stat.st_mtime_ns, 0)]
    others = [r for r in models if r.depth == 0 and r.path != path]
    units = flat_units(folder, this + others, indexes)
    return units[:1]
