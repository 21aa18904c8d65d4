"""The analysis of an input (embedder features, pitch curve), kept so a new pitch is instant.

Analysing audio (HuBERT features, the F0 curve) is most of a conversion's cost and depends on
neither the pitch shift, the index rate, protect, RMS mix nor the voice model's weights: only on
the input's content, the embedder, the feature kind (v1/v2), the pitch method (and Harvest's
filter radius) and which stretch of the input was analysed. :class:`AnalysisCache` keeps each
analysis under a key made of exactly those (:func:`analysis_key`):

- in memory, a small LRU bounded in bytes (previews: a region re-synthesised with a new pitch);
- on disk under ``<cache_dir>/analysis/``, one ``.npz`` per key written atomically (a crash
  never leaves a file that looks complete), bounded in total size (oldest used dropped first).
  A file that does not read back as a valid analysis is deleted and treated as missing.

Inputs are identified by content: :func:`file_digest` hashes a file once and remembers the
digest by (path, size, mtime); :func:`array_digest` hashes an in-memory array.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.filecache import atomic_write, remembered_sha256

log = logging.getLogger(__name__)

# Bump when what is stored changes meaning (decoding, filtering, segment layout).
ANALYSIS_VERSION = 1
DEFAULT_MEMORY_BYTES = 256 << 20
DEFAULT_DISK_BYTES = 2 << 30


@dataclass
class Analysis:
    """What one stretch of input analyses to.

    ``features``: ``[T, C]`` float32 embedder output at 50 frames/s, before any index blend.
    ``f0``: ``[n_frames]`` float32 Hz at 100 frames/s (0 = unvoiced), before any pitch shift;
    None for models without pitch. ``audio``: the high-passed 16 kHz segment analysed, kept for
    previews (RMS mix needs it) so a cached preview decodes nothing; None otherwise.
    """

    features: np.ndarray
    f0: np.ndarray | None = None
    audio: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.features, self.f0, self.audio) if a is not None)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {"features": self.features}
        if self.f0 is not None:
            out["f0"] = self.f0
        if self.audio is not None:
            out["audio"] = self.audio
        return out

    @classmethod
    def from_arrays(cls, arrays: Any) -> Analysis:
        """Validate arrays read back from disk; ValueError when they are not an analysis."""
        features = np.asarray(arrays["features"])
        if features.ndim != 2 or features.dtype != np.float32 or not np.all(np.isfinite(features)):
            raise ValueError("bad features")
        f0 = np.asarray(arrays["f0"]) if "f0" in arrays else None
        if f0 is not None and (f0.ndim != 1 or f0.dtype != np.float32 or not np.all(np.isfinite(f0))):
            raise ValueError("bad f0")
        audio = np.asarray(arrays["audio"]) if "audio" in arrays else None
        if audio is not None and (audio.ndim != 1 or audio.dtype != np.float32):
            raise ValueError("bad audio")
        return cls(features, f0, audio)


def analysis_key(**parts: Any) -> str:
    """A stable hex key for the values that determine an analysis (JSON-able values)."""
    payload = json.dumps({"analysis_version": ANALYSIS_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def file_digest(path: os.PathLike | str, cache_root: Path | None) -> str:
    """sha256 of a file's content, remembered under ``cache_root`` by path and file identity."""
    if cache_root is None:
        from inference.core.filecache import sha256_file

        return sha256_file(path)
    return remembered_sha256(path, cache_root / "sources")


def array_digest(audio: np.ndarray) -> str:
    """sha256 of an array's dtype, shape and bytes."""
    data = np.ascontiguousarray(audio)
    digest = hashlib.sha256(f"{data.dtype.str}{data.shape}".encode("ascii"))
    digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()


class AnalysisCache:
    """In-memory LRU plus a disk store of :class:`Analysis` objects, keyed by :func:`analysis_key`.

    ``root`` None keeps nothing on disk. Safe to share between threads.
    """

    def __init__(
        self, root: Path | None, max_memory_bytes: int = DEFAULT_MEMORY_BYTES, max_disk_bytes: int = DEFAULT_DISK_BYTES
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.max_memory_bytes = int(max_memory_bytes)
        self.max_disk_bytes = int(max_disk_bytes)
        self._memory: OrderedDict[str, Analysis] = OrderedDict()
        self._memory_bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._memory)

    def _path(self, key: str) -> Path | None:
        return None if self.root is None else self.root / f"{key}.npz"

    def get(self, key: str, remember: bool = True) -> Analysis | None:
        """The analysis for ``key`` (memory first, then disk), or None.

        A disk hit is kept in memory too when ``remember``.
        """
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return hit
        found = self._read(key)
        with self._lock:
            if found is None:
                self.misses += 1
                return None
            self.hits += 1
        if remember:
            self._remember(key, found)
        return found

    def put(self, key: str, analysis: Analysis, remember: bool = True, disk: bool = True) -> None:
        """Keep ``analysis`` in memory (``remember``) and on disk (``disk``, when there is a root)."""
        if remember:
            self._remember(key, analysis)
        if disk and self.root is not None:
            self._write(key, analysis)

    def clear_memory(self) -> None:
        with self._lock:
            self._memory.clear()
            self._memory_bytes = 0

    def _remember(self, key: str, analysis: Analysis) -> None:
        size = analysis.nbytes
        if size > self.max_memory_bytes:
            return
        with self._lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._memory_bytes -= old.nbytes
            self._memory[key] = analysis
            self._memory_bytes += size
            while self._memory_bytes > self.max_memory_bytes and self._memory:
                _, dropped = self._memory.popitem(last=False)
                self._memory_bytes -= dropped.nbytes

    def _read(self, key: str) -> Analysis | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                analysis = Analysis.from_arrays({name: data[name] for name in data.files})
        except Exception as error:  # noqa: BLE001 - anything unreadable is dropped and redone
            log.warning("dropping unreadable analysis cache entry %s (%s)", path.name, error)
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # "last used", for pruning
        except OSError:
            pass
        return analysis

    def _write(self, key: str, analysis: Analysis) -> None:
        path = self._path(key)
        arrays = analysis.to_arrays()

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)

        try:
            atomic_write(path, save)
            self._prune()
        except OSError as error:  # a full or read-only disk costs a re-analysis, nothing else
            log.warning("could not store analysis %s: %s", path, error)

    def _prune(self) -> None:
        """Delete the least recently used entries while the store exceeds its size bound."""
        entries = []
        for path in self.root.glob("*.npz"):
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.max_disk_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
