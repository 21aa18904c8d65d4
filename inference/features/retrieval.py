"""Index retrieval: pull the features toward the voice model's own training features.

A model's ``.index`` is a faiss index (``IVF{n},Flat``, nprobe 1) over its training features
(256-dim for v1 models, 768 for v2). For each feature frame we take the k=8 nearest training
vectors (faiss squared L2), weight them by ``(1/d)^2`` normalised per frame, and mix:
``index_rate * retrieved + (1 - index_rate) * feats`` (RVC's formula).

Differences from RVC, all in cases where RVC produces garbage:

- a zero distance (a frame equal to a stored vector) would give ``1/0``: distances are clamped
  to :data:`MIN_DISTANCE`, so that vector simply dominates;
- fewer than k hits (faiss pads with id -1 when the probed list is short) get weight 0 instead
  of borrowing the last stored vector; a frame with no hit at all keeps its own features;
- a width mismatch is an :class:`IndexMismatchError` naming both widths, not a faiss assertion.

``index_rate == 0`` must cost nothing: :func:`apply_index` returns before touching the cache,
so the file is never read.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from inference.core.errors import RVCError
from inference.models.library.index_header import IndexHeaderError, read_index_header

log = logging.getLogger(__name__)

K = 8
# Squared-L2 floor: (1/1e-12)^2 = 1e24 stays finite in float64 even summed over k neighbours.
MIN_DISTANCE = 1e-12
FAISS_THREADS_ENV = "RVC_STUDIO_FAISS_THREADS"


class IndexLoadError(RVCError):
    """An index file could not be read."""


class IndexMismatchError(RVCError):
    """The index's vector width does not match the model's features."""


def _faiss():
    from inference.core.runtime import import_library, prepare_process

    prepare_process()  # OMP_NUM_THREADS before faiss's OpenMP runtime starts
    return import_library("faiss")


def _search(index, feats: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` on ``RVC_STUDIO_FAISS_THREADS`` OpenMP threads (default 1), leaving the
    calling thread's OpenMP setting as it was.

    One search covers one piece's frames (a few thousand queries, each scanning one short IVF
    list): a single thread is plenty. The setting must be put back: faiss and torch can share one
    OpenMP runtime (on Linux torch's libgomp answers faiss's calls), and the thread count is a
    per-thread setting of that runtime, so a bare ``faiss.omp_set_num_threads(1)`` left torch on
    one core for the rest of the thread's life (synthesis after a search took 1.8x as long).
    """
    faiss = _faiss()
    threads = max(1, int(os.environ.get(FAISS_THREADS_ENV, "1") or 1))
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        return index.search(feats, k)
    finally:
        faiss.omp_set_num_threads(previous)


class FeatureIndex:
    """A loaded index: the faiss index (searched) and all its vectors (read once)."""

    def __init__(self, index, vectors: np.ndarray, path: Path) -> None:
        self.index = index
        self.vectors = vectors
        self.path = Path(path)

    @property
    def dim(self) -> int:
        """Width of the stored vectors (256 for v1 models, 768 for v2)."""
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def require_dim(self, width: int) -> None:
        """Raise :class:`IndexMismatchError` unless the index holds ``width``-dim vectors."""
        if int(width) != self.dim:
            raise IndexMismatchError(
                f"The index {self.path.name} holds {self.dim}-dim features but the model uses "
                f"{int(width)}-dim features (v1 models use 256, v2 768): choose the index made "
                "for this model"
            )

    def neighbours(self, feats: np.ndarray, k: int = K) -> tuple[np.ndarray, np.ndarray]:
        """``(squared distances, ids)`` of the ``k`` nearest stored vectors, each ``[T, k]``."""
        self.require_dim(feats.shape[1])
        k = max(1, min(int(k), len(self)))
        return _search(self.index, np.ascontiguousarray(feats, dtype=np.float32), k)

    def blend(self, feats: np.ndarray, index_rate: float, k: int = K) -> np.ndarray:
        """``index_rate * retrieved + (1 - index_rate) * feats``, ``[T, C]`` float32."""
        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2:
            raise ValueError(f"expected features of shape [frames, channels], got {feats.shape}")
        if not 0.0 <= float(index_rate) <= 1.0:
            raise ValueError(f"index_rate must be within 0..1, got {index_rate}")
        self.require_dim(feats.shape[1])
        if index_rate == 0 or feats.shape[0] == 0:
            return feats.copy()
        dist, ids = self.neighbours(feats, k)
        valid = ids >= 0
        weight = np.square(1.0 / np.maximum(dist.astype(np.float64), MIN_DISTANCE))
        weight[~valid] = 0.0
        total = weight.sum(axis=1, keepdims=True)
        found = total[:, 0] > 0
        weight = np.divide(weight, total, out=np.zeros_like(weight), where=total > 0).astype(np.float32)
        retrieved = np.einsum("tk,tkc->tc", weight, self.vectors[np.where(valid, ids, 0)])
        retrieved[~found] = feats[~found]  # no hit at all: keep the frame as it is
        rate = np.float32(index_rate)
        return rate * retrieved + (np.float32(1.0) - rate) * feats


def _faiss_reason(error: RuntimeError) -> str:
    """What went wrong, from faiss's "Error in <C++ signature> at <file>:<line>: ..." text."""
    from inference.models.load_errors import first_sentence

    text = " ".join(str(error).split())
    text = re.split(r" failed: |\.(?:cpp|h):\d+: ", text)[-1]
    return first_sentence(text, limit=120) or "unreadable"


def load_index(path: os.PathLike | str) -> FeatureIndex:
    """Read a faiss index file and all its vectors. Raises :class:`IndexLoadError`."""
    faiss = _faiss()
    path = Path(path).expanduser()
    if not path.is_file():
        raise IndexLoadError(f"Cannot read the index {path}: no such file")
    try:
        read_index_header(path)  # not an index, or cut short: say so before faiss reads it
    except IndexHeaderError as error:
        raise IndexLoadError(str(error)) from None
    try:
        index = faiss.read_index(str(path))
        vectors = index.reconstruct_n(0, index.ntotal)
    except RuntimeError as error:
        raise IndexLoadError(
            f"{path} is damaged or not a faiss index this app can read ({_faiss_reason(error)})"
        ) from None
    if index.ntotal == 0:
        raise IndexLoadError(f"The index {path} holds no vectors")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(index.ntotal, index.d)
    log.info("Loaded index %s: %d vectors of width %d", path.name, index.ntotal, index.d)
    return FeatureIndex(index, vectors, path)


class IndexCache:
    """Loaded indexes keyed by (path, size, mtime), so a batch reads each file once.

    Owned by the caller (one per converter), bounded to ``max_entries`` (a v2 index of a long
    training set is a few hundred MB), and safe to share between threads.
    """

    def __init__(self, max_entries: int = 2) -> None:
        self.max_entries = max(1, int(max_entries))
        self._entries: OrderedDict[tuple, FeatureIndex] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(path: Path) -> tuple:
        resolved = path.expanduser().resolve()
        try:
            stat = resolved.stat()
        except OSError as error:
            raise IndexLoadError(f"Cannot read the index {path}: {error.strerror or error}") from None
        return (str(resolved), stat.st_size, stat.st_mtime_ns)

    def get(self, path: os.PathLike | str) -> FeatureIndex:
        """The loaded index for ``path``, read from disk only when new or changed."""
        key = self._key(Path(path))
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        loaded = load_index(path)  # outside the lock: loading may take a second
        with self._lock:
            self._entries[key] = loaded
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return loaded

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def apply_index(
    feats: np.ndarray,
    index_path: os.PathLike | str | None,
    index_rate: float,
    cache: IndexCache,
    k: int = K,
) -> np.ndarray:
    """The pipeline's entry point: blend ``feats`` with the model's index.

    Returns ``feats`` itself, without reading anything, when there is no index or
    ``index_rate`` is 0.
    """
    if index_path is None or str(index_path) == "" or float(index_rate) <= 0.0:
        return feats
    return cache.get(index_path).blend(feats, index_rate, k)
