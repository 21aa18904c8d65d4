"""The one settings store: a QSettings INI file in the app data folder, a group per component.

Every read names its type and its default, so a missing, old or hand-edited value can never
reach a widget as the wrong type. Lists and dictionaries are stored as JSON text because
QSettings' own list handling differs between formats and platforms. ``MIGRATIONS`` upgrades an
old file one version at a time when the store opens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PySide6.QtCore import QSettings

from inference.audio.naming import DEFAULT_TEMPLATE as DEFAULT_NAMING_PATTERN
from inference.core import paths
from inference.covers.params import STEM_CACHE_GB, clean_cover
from inference.pipeline.params import BACKENDS, BITRATE, OUTPUT_FORMATS, clean_params

log = logging.getLogger(__name__)

SETTINGS_VERSION = 2


def default_output_folder() -> Path:
    return Path.home() / "Music" / "RVC Studio"


def _migrate_1_to_2(store: QSettings) -> None:
    """Version 1 kept the output pattern under ``output/pattern``; it is ``output/naming`` now."""
    old = store.value("output/pattern")
    if old is not None and store.value("output/naming") is None:
        store.setValue("output/naming", old)
    store.remove("output/pattern")


# version n -> the step that upgrades a version-n file to n+1.
MIGRATIONS: dict[int, Callable[[QSettings], None]] = {1: _migrate_1_to_2}


class Settings:
    """Typed access to the app's settings. Build one in ``app/`` and pass it to who needs it."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.data_dir() / "settings.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._store = QSettings(str(self.path), QSettings.Format.IniFormat)
        self.migrate()

    # -- plumbing ---------------------------------------------------------------------------
    def migrate(self) -> None:
        """Bring an older file up to :data:`SETTINGS_VERSION`, one step at a time."""
        version = self._int("meta/version", 0)
        if version <= 0:
            # A new file (or one from before versioning, or a version no app ever wrote: a damaged
            # file must not walk up from -10**18 one step at a time): nothing to upgrade.
            self._store.setValue("meta/version", SETTINGS_VERSION)
            return
        while version < SETTINGS_VERSION:
            step = MIGRATIONS.get(version)
            if step is not None:
                log.info("Migrating settings from version %d", version)
                step(self._store)
            version += 1
            self._store.setValue("meta/version", version)

    def sync(self) -> None:
        self._store.sync()

    def _str(self, key: str, default: str) -> str:
        value = self._store.value(key)
        return value if isinstance(value, str) else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._store.value(key, default))
        except (TypeError, ValueError, OverflowError):
            return default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._store.value(key)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return default

    def _json(self, key: str, default: Any, kind: type) -> Any:
        raw = self._store.value(key)
        if not isinstance(raw, str):
            return default
        try:
            value = json.loads(raw)
        except ValueError:
            return default
        return value if isinstance(value, kind) else default

    def _set_json(self, key: str, value: Any) -> None:
        self._store.setValue(key, json.dumps(value))

    # -- library ----------------------------------------------------------------------------
    @property
    def model_folders(self) -> list[Path]:
        """Folders the user added; Replay's models folder is always searched besides these."""
        return [Path(p) for p in self._json("library/folders", [], list) if isinstance(p, str)]

    @model_folders.setter
    def model_folders(self, folders: list[Path]) -> None:
        unique: list[str] = []
        for folder in folders:
            if str(folder) not in unique:
                unique.append(str(folder))
        self._set_json("library/folders", unique)

    @property
    def last_model(self) -> str:
        return self._str("library/last_model", "")

    @last_model.setter
    def last_model(self, model_id: str) -> None:
        self._store.setValue("library/last_model", model_id)

    # -- engine -----------------------------------------------------------------------------
    @property
    def weights_folder(self) -> Path | None:
        value = self._str("engine/weights_folder", "")
        return Path(value) if value else None

    @weights_folder.setter
    def weights_folder(self, folder: Path | None) -> None:
        self._store.setValue("engine/weights_folder", str(folder) if folder else "")

    @property
    def default_backend(self) -> str:
        value = self._str("engine/backend", "auto")
        return value if value in BACKENDS else "auto"

    @default_backend.setter
    def default_backend(self, backend: str) -> None:
        self._store.setValue("engine/backend", backend if backend in BACKENDS else "auto")

    # -- output -----------------------------------------------------------------------------
    @property
    def output_folder(self) -> Path:
        value = self._str("output/folder", "")
        return Path(value) if value else default_output_folder()

    @output_folder.setter
    def output_folder(self, folder: Path) -> None:
        self._store.setValue("output/folder", str(folder))

    @property
    def naming_pattern(self) -> str:
        from inference.audio.naming import NamingError, check_template

        try:
            return check_template(self._str("output/naming", DEFAULT_NAMING_PATTERN))
        except NamingError:
            return DEFAULT_NAMING_PATTERN

    @naming_pattern.setter
    def naming_pattern(self, pattern: str) -> None:
        self._store.setValue("output/naming", pattern.strip() or DEFAULT_NAMING_PATTERN)

    @property
    def output_format(self) -> str:
        value = self._str("output/format", "wav")
        return value if value in OUTPUT_FORMATS else "wav"

    @output_format.setter
    def output_format(self, fmt: str) -> None:
        self._store.setValue("output/format", fmt if fmt in OUTPUT_FORMATS else "wav")

    @property
    def output_bitrate(self) -> int:
        """kbit/s of mp3, m4a and ogg outputs."""
        return int(BITRATE.clamp(self._int("output/bitrate", int(BITRATE.default))))

    @output_bitrate.setter
    def output_bitrate(self, kbps: int) -> None:
        self._store.setValue("output/bitrate", int(BITRATE.clamp(kbps)))

    # -- per-model parameters ---------------------------------------------------------------

    def params_for(self, model_id: str) -> dict[str, Any]:
        """The parameters last used with ``model_id`` (defaults for a model never used)."""
        stored = self._json(f"params/{quote(model_id, safe='')}", {}, dict) if model_id else {}
        return clean_params(stored, backend=stored.get("backend", self.default_backend))

    def set_params_for(self, model_id: str, values: dict[str, Any]) -> None:
        if model_id:
            self._set_json(f"params/{quote(model_id, safe='')}", clean_params(values, self.default_backend))

    def forget_params_for(self, model_id: str) -> None:
        self._store.remove(f"params/{quote(model_id, safe='')}")

    # -- covers ---------------------------------------------------------------------------------
    @property
    def cover_enabled(self) -> bool:
        """The parameters panel's "Cover (keep the band)" switch."""
        return self._bool("cover/enabled", False)

    @cover_enabled.setter
    def cover_enabled(self, on: bool) -> None:
        self._store.setValue("cover/enabled", bool(on))

    @property
    def cover_params(self) -> dict[str, Any]:
        """The cover's own settings (gains, de-reverb, stems...), every field checked."""
        return clean_cover(self._json("cover/params", {}, dict))

    @cover_params.setter
    def cover_params(self, values: dict[str, Any]) -> None:
        self._set_json("cover/params", clean_cover(values))

    @property
    def stem_cache_gb(self) -> int:
        """How many GB of separated stems the covers keep (0: none)."""
        return int(STEM_CACHE_GB.clamp(self._int("cover/stem_cache_gb", int(STEM_CACHE_GB.default))))

    @stem_cache_gb.setter
    def stem_cache_gb(self, gb: int) -> None:
        self._store.setValue("cover/stem_cache_gb", int(STEM_CACHE_GB.clamp(gb)))

    # -- view -------------------------------------------------------------------------------
    @property
    def f0_note_names(self) -> bool:
        return self._bool("view/f0_note_names", True)

    @f0_note_names.setter
    def f0_note_names(self, on: bool) -> None:
        self._store.setValue("view/f0_note_names", bool(on))

    @property
    def window_geometry(self) -> bytes:
        value = self._store.value("window/geometry")
        return bytes(value) if isinstance(value, (bytes, bytearray)) or hasattr(value, "data") else b""

    @window_geometry.setter
    def window_geometry(self, data: bytes) -> None:
        from PySide6.QtCore import QByteArray

        self._store.setValue("window/geometry", QByteArray(data))
