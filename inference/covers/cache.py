"""The stem cache: a song's separated vocal and accompaniment, kept so that the next cover of the
same song (another voice, another pitch) skips separation, the slow part.

An entry is keyed on the song's samples (its content, rate and shape: a re-encoded or edited
song is another song), the separator's identity (the model file's SHA-256, its settings, our
code version) and the de-reverb pass's identity when there is one. Entries use
:mod:`inference.core.filecache`: float32 stems in one safetensors file written atomically, beside
a JSON record holding its SHA-256; an entry whose record or data does not check out reads as
missing. The cache is bounded (least recently used entries go first) and can be cleared.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from inference.core.filecache import entry_paths, read_entry, write_entry
from inference.covers.params import STEM_CACHE_GB
from inference.covers.separator import Stems

log = logging.getLogger(__name__)

VERSION = 1  # bump when the stored layout or the stage's output changes
DEFAULT_MAX_BYTES = int(STEM_CACHE_GB.default * 1024**3)


def song_key(song: np.ndarray, rate: int, *identities: str) -> str:
    """The entry key of ``song`` (``[frames, channels]`` float32) separated by ``identities``."""
    data = np.ascontiguousarray(song, dtype=np.float32)
    digest = hashlib.sha256()
    digest.update(f"stems-v{VERSION}|{rate}|{data.shape}|{'|'.join(identities)}|".encode())
    digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()


class StemCache:
    """Stems on disk under ``root``, at most ``max_bytes`` of them (0: keep nothing)."""

    def __init__(self, root: os.PathLike | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = Path(root).expanduser()
        self.max_bytes = max(0, int(max_bytes))
        self.hits = self.misses = 0

    def get(self, key: str) -> Stems | None:
        entry = read_entry(self.root, key, VERSION, "stems", "np", "stem")
        if entry is None:
            self.misses += 1
            return None
        record, tensors = entry
        try:
            stems = Stems(tensors["vocal"], tensors["accompaniment"], int(record["stems"]["rate"]))
            if stems.vocal.shape != stems.accompaniment.shape or stems.vocal.ndim != 2:
                raise ValueError("stem shapes differ")
        except (KeyError, TypeError, ValueError) as error:
            log.warning("malformed stem cache entry %s (%s); separating again", key[:12], error)
            self.misses += 1
            return None
        self._touch(key)
        self.hits += 1
        return stems

    def put(self, key: str, stems: Stems) -> None:
        """Store ``stems`` (a full disk only costs a later re-separation: logged, not raised)."""
        if self.max_bytes == 0:
            return
        from safetensors.numpy import save_file

        tensors = {
            "vocal": np.ascontiguousarray(stems.vocal, dtype=np.float32),
            "accompaniment": np.ascontiguousarray(stems.accompaniment, dtype=np.float32),
        }
        record = {"stems": {"rate": int(stems.rate), "frames": stems.frames, "channels": stems.channels}}
        try:
            write_entry(self.root, key, VERSION, record, lambda path: save_file(tensors, str(path)))
        except OSError as error:
            log.warning("could not keep the stems in %s: %s", self.root, error)
            return
        self.trim()

    def _touch(self, key: str) -> None:
        for path in entry_paths(self.root, key, VERSION):
            try:
                os.utime(path)
            except OSError:
                pass

    def _entries(self) -> list[tuple[float, int, Path, Path]]:
        """``(last use, bytes, data, record)`` of every entry, oldest first."""
        out = []
        for data in self.root.glob(f"*-c{VERSION}.safetensors"):
            record = data.with_suffix(".json")
            try:
                stat = data.stat()
                size = stat.st_size + (record.stat().st_size if record.exists() else 0)
            except OSError:
                continue
            out.append((stat.st_mtime, size, data, record))
        return sorted(out, key=lambda e: e[0])

    def size_bytes(self) -> int:
        return sum(size for _, size, _, _ in self._entries())

    def trim(self) -> None:
        """Delete the least recently used entries until the cache fits ``max_bytes``."""
        entries = self._entries()
        total = sum(size for _, size, _, _ in entries)
        for _, size, data, record in entries:
            if total <= self.max_bytes:
                break
            for path in (record, data):  # the record first: a data file alone reads as missing
                path.unlink(missing_ok=True)
            total -= size

    def clear(self) -> int:
        """Delete every entry (and leftovers of other versions); returns the bytes freed."""
        freed = 0
        if not self.root.is_dir():
            return 0
        for path in list(self.root.iterdir()):
            if path.is_file() and path.suffix in (".safetensors", ".json", ".tmp"):
                try:
                    freed += path.stat().st_size
                    path.unlink()
                except OSError:
                    continue
        return freed


def stem_cache_root() -> Path:
    """Where the stem cache lives: ``<cache folder>/stems``."""
    from inference.core.paths import cache_dir

    return cache_dir() / "stems"
