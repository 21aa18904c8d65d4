"""What the library learnt about each file, remembered by (path, size, mtime_ns) in JSON.

A re-scan then opens no model or index file that has not changed: it only lists folders and
stats files. The JSON file is written atomically (temporary file + ``os.replace``) and never
inside Replay's folder; an unreadable or foreign cache file reads as empty.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from inference.core.filecache import atomic_write
from inference.core.paths import is_inside_replay

log = logging.getLogger(__name__)

# 2: Applio's MRF HiFi-GAN and RefineGAN are read (1 had them as unsupported); 3: embedder_model_custom
CACHE_VERSION = 3
MAX_ENTRIES = 20_000  # past this, files not seen in the last scan are forgotten even if present


class MetadataCache:
    """Facts about files keyed by absolute path; valid while size and mtime are unchanged."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None and is_inside_replay(self.path):
            log.warning("not keeping the model cache inside Replay's folder (%s)", self.path)
            self.path = None
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._used: set[str] = set()
        self._dirty = False

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        files = data.get("files")
        return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}

    def get(self, path: Path, size: int, mtime_ns: int, kind: str) -> dict[str, Any] | None:
        """The facts recorded for ``path`` if the file is unchanged since, else None."""
        key = str(path)
        entry = self._entries.get(key)
        self._used.add(key)
        if entry and entry.get("size") == size and entry.get("mtime_ns") == mtime_ns and entry.get("kind") == kind:
            facts = entry.get("facts")
            return facts if isinstance(facts, dict) else None
        return None

    def put(self, path: Path, size: int, mtime_ns: int, kind: str, facts: dict[str, Any]) -> None:
        key = str(path)
        self._entries[key] = {"size": size, "mtime_ns": mtime_ns, "kind": kind, "facts": facts}
        self._used.add(key)
        self._dirty = True

    def begin(self) -> None:
        """Start a scan: entries not looked up before :meth:`finish` are dropped then."""
        self._used = set()

    def finish(self) -> None:
        """Forget files that are gone and write the cache if anything changed.

        Files not looked up in this scan but still on disk are kept: the CLI may scan other
        folders than the app does, and the app's next start should not pay for that.
        """
        stale = [key for key in self._entries if key not in self._used]
        if len(self._entries) <= MAX_ENTRIES:
            stale = [key for key in stale if not os.path.exists(key)]
        for key in stale:
            del self._entries[key]
        if stale:
            self._dirty = True
        self.flush()

    def flush(self) -> None:
        """Write the cache if anything was added since it was last written."""
        if self._dirty:
            self.save()

    def save(self) -> None:
        if self.path is None:
            self._dirty = False
            return
        text = json.dumps({"version": CACHE_VERSION, "files": self._entries}, ensure_ascii=False)
        try:
            atomic_write(self.path, lambda p: p.write_text(text, encoding="utf-8"))
            self._dirty = False
        except OSError as error:  # a read-only cache folder only costs a slower next scan
            log.warning("could not write the model cache %s: %s", self.path, error)

    def __len__(self) -> int:
        return len(self._entries)
