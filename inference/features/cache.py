"""Converted embedder weights cached on disk, so a fairseq checkpoint is unpickled only once.

Layout under ``paths.cache_dir()/"embedder"``:

- ``<sha256>-c<CONVERTER_VERSION>.safetensors``: the weights under transformers' names, in the
  source's dtype (Replay's file is fp16; the model runs in fp32 either way);
- ``<sha256>-c<CONVERTER_VERSION>.json``: the ``HubertConfig`` arguments, the converter version,
  the source's sha256 and the sha256 of the safetensors file;
- ``sources/<sha1 of the resolved path>.json``: the source's size, mtime and sha256, so a cached
  model loads without reading (or hashing) the ~190 MB source again.

An entry is used only when its JSON parses and names this converter version and source hash,
and the weights file has the recorded hash; anything else is rebuilt. Each file is written
under a temporary name and moved into place, weights first, so a crash or two processes
converting at once never leave a half-written entry that looks valid.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from inference.core import filecache, paths
from inference.core.filecache import atomic_write, sha256_file

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
__all__ = [
    "CONVERTER_VERSION",
    "atomic_write",
    "entry_paths",
    "read_entry",
    "sha256_file",
    "source_digest",
    "write_entry",
]


def cache_root() -> Path:
    return paths.cache_dir() / "embedder"


def source_digest(source: Path) -> str:
    """sha256 of ``source``, remembered by path and file identity (size, mtime, inode, ctime) so it is computed once."""
    return filecache.remembered_sha256(source, cache_root() / "sources", sha256_file)


def entry_paths(digest: str) -> tuple[Path, Path]:
    return filecache.entry_paths(cache_root(), digest, CONVERTER_VERSION)


def read_entry(digest: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(meta, tensors)`` of a valid entry, or None when missing, stale or corrupt."""
    return filecache.read_entry(cache_root(), digest, CONVERTER_VERSION, "hubert_config", "pt", "embedder")


def write_entry(digest: str, meta: dict[str, Any], tensors: dict[str, Any]) -> None:
    """Store converted tensors and ``meta`` (must hold ``hubert_config``) for ``digest``.

    Failure to write (a full or read-only disk) is logged, not raised: the caller already has
    the converted weights in memory, and the next load converts again.
    """
    from safetensors.torch import save_file

    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    try:
        filecache.write_entry(cache_root(), digest, CONVERTER_VERSION, meta, lambda p: save_file(contiguous, str(p)))
    except OSError as error:
        log.warning("could not cache the converted embedder in %s: %s", cache_root(), error)
