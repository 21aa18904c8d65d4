"""The user's voice models: Replay's folder plus any folders they add (:class:`ModelLibrary`)."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from inference.core import paths
from inference.models.embedders import EmbedderNotFoundError, EmbedderRef, find_embedder
from inference.models.library.cache import MetadataCache
from inference.models.library.discover import (
    FileRef,
    Unit,
    flat_units,
    folder_unit,
    folder_units,
    replay_units,
    walk,
)
from inference.models.library.model import Changes, LibraryError, VoiceModel
from inference.models.library.scanner import describe

log = logging.getLogger(__name__)

CACHE_FILE = "library.json"


class ModelLibrary:
    """Finds voice models, describes them, and tells what changed between scans.

    ``folders`` are the user's own folders; Replay's ``models/`` folder is scanned first when
    ``include_replay``. What was read from each file is cached in ``cache_path`` (default:
    ``library.json`` in the app's cache folder), so a re-scan only stats files. Nothing is
    ever written inside Replay's folder.

    A model trained with another embedder than ContentVec (Applio's ``embedder_model``) is
    usable only when that embedder is found (:mod:`inference.models.embedders`) in Replay's
    weights folder, ``weights_dirs``, our own or the Hugging Face cache; otherwise its problem
    says where to get it.
    """

    def __init__(
        self,
        folders: Sequence[os.PathLike | str] = (),
        include_replay: bool = True,
        cache_path: Path | None = None,
        weights_dirs: Sequence[os.PathLike | str] = (),
    ) -> None:
        self.weights_dirs = [Path(d) for d in weights_dirs if str(d).strip()]
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

    def watched_folders(self) -> list[Path]:
        """The existing top folders to watch for new models: Replay's ``models/`` and the user's."""
        tops = [paths.replay_models_dir()] if self.include_replay else []
        tops += [f.expanduser() for f in self.folders]
        return [f for f in tops if f.is_dir()]

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

    def _unique_units(self) -> list[Unit]:
        """The units of every folder, each model once (a folder inside another, a symlink)."""
        seen: set[str] = set()
        units = []
        for unit in self._units():
            key = unit.key()
            if unit.id not in seen and key not in seen:
                seen.update((unit.id, key))
                units.append(unit)
        return units

    def _check_embedder(self, memo: dict[EmbedderRef, str | None]):
        """One scan's check of a model's own embedder (each embedder looked for once)."""

        def check(ref: EmbedderRef) -> str | None:
            if ref.is_default:  # the HuBERT every conversion needs: a missing one is named then
                return None
            if ref not in memo:
                try:
                    find_embedder(ref, self.weights_dirs)
                    memo[ref] = None
                except EmbedderNotFoundError as error:
                    memo[ref] = str(error)
            return memo[ref]

        return check

    def _describe(self, unit: Unit, memo: dict | None = None) -> VoiceModel:
        try:
            return describe(unit, self._cache, self._check_embedder({} if memo is None else memo))
        except Exception as error:
            log.warning("could not describe %s", unit.root, exc_info=True)
            return VoiceModel(
                id=unit.id,
                name=unit.name,
                source=unit.source,
                root=str(unit.root),
                model_path=str(unit.models[0].path) if unit.models else "",
                problems=[f"unreadable: {type(error).__name__}: {error}"],
                ok=False,
            )

    def _collect(self) -> list[VoiceModel]:
        self._cache.begin()
        memo: dict[EmbedderRef, str | None] = {}
        models = [self._describe(unit, memo) for unit in self._unique_units()]
        self._cache.finish()
        return models

    # -- lookup ----------------------------------------------------------------------------

    def find(self, query: str) -> VoiceModel:
        """The model named by ``query``: an id, a display name (any case), or a path.

        A path may name a ``.pth`` file or a model folder, inside the library or not. Only the
        model found is read (the others are only listed), so this is quick even on a first
        run. Raises :class:`LibraryError` listing close or available names when nothing or
        several match.
        """
        query = str(query).strip()
        units = self._unique_units()
        model = self._describe(self._match(query, units))
        path = Path(query).expanduser()
        if path.suffix.lower() == ".pth" and path.is_file() and not _same_file(model.model_path, path):
            # a model folder's other .pth (say a G_*.pth beside model.pth): the file asked for
            model = self._describe(_file_units(path.resolve())[0])
        self._cache.flush()
        return model

    def _match(self, query: str, units: list[Unit]) -> Unit:
        for unit in units:
            if unit.id == query:
                return unit
        named = [u for u in units if u.name.casefold() == query.casefold()]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = "; ".join(u.id for u in named)
            raise LibraryError(f"several models are named “{query}”; give one of these ids: {ids}")
        found = self._match_path(query, units)
        if found is not None:
            return found
        names = sorted({u.name for u in units}, key=str.casefold)
        if not names:
            raise LibraryError(f"no model matches “{query}”: no models were found ({self.searched_places()})")
        folded = query.casefold()
        close = set(difflib.get_close_matches(folded, [n.casefold() for n in names], n=5, cutoff=0.5))
        close |= {n.casefold() for n in names if folded and folded in n.casefold()}
        if close:
            suggestions = [n for n in names if n.casefold() in close][:10]
            raise LibraryError(f"no model matches “{query}”; did you mean: {', '.join(suggestions)}?")
        shown = ", ".join(names[:20]) + (f", … ({len(names)} in all)" if len(names) > 20 else "")
        raise LibraryError(f"no model matches “{query}”; available: {shown}")

    def _match_path(self, query: str, units: list[Unit]) -> Unit | None:
        path = Path(query).expanduser()
        try:
            if not path.exists():
                return None
            path = path.resolve()
        except OSError:
            return None
        target = str(path)
        if path.is_dir():
            for unit in units:
                if not unit.flat and os.path.realpath(unit.root) == target:
                    return unit
            top = [r.path.name for r in walk(path, max_depth=0)[0]]
            if len(top) > 1:
                raise LibraryError(f"{path} holds several models ({', '.join(top)}); name one of the files")
            return folder_unit(path)
        if path.suffix.lower() != ".pth":
            return None
        for unit in units:
            if any(_same_file(r.path, path) for r in unit.models):
                return unit
        return _file_units(path)[0]

    def searched_places(self) -> str:
        """Where the library looks, for messages ("looked in Replay's folder ..., <folder>")."""
        places = [f"Replay's folder {paths.replay_models_dir()}"] if self.include_replay else []
        places += [str(f) for f in self.folders]
        return "looked in " + (", ".join(places) if places else "no folders")


def _same_file(a: os.PathLike | str, b: os.PathLike | str) -> bool:
    return bool(a) and bool(b) and os.path.realpath(a) == os.path.realpath(b)


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
