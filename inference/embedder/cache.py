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

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference import paths

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
_CHUNK = 1 << 20


def cache_root() -> Path:
    return paths.cache_dir() / "embedder"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write(tmp)`` to a temporary file beside ``target``, then rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def source_digest(source: Path) -> str:
    """sha256 of ``source``, remembered by (path, size, mtime) so it is computed once."""
    source = Path(source).expanduser().resolve()
    stat = source.stat()
    memo = cache_root() / "sources" / (hashlib.sha1(str(source).encode("utf-8")).hexdigest() + ".json")
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        if (
            data.get("path") == str(source)
            and data.get("size") == stat.st_size
            and data.get("mtime_ns") == stat.st_mtime_ns
            and isinstance(data.get("sha256"), str)
        ):
            return data["sha256"]
    except (OSError, ValueError, AttributeError):
        pass
    digest = sha256_file(source)
    record = {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    try:
        atomic_write(memo, lambda p: p.write_text(json.dumps(record), encoding="utf-8"))
    except OSError as error:  # a read-only cache only costs a re-hash next time
        log.warning("could not remember the hash of %s: %s", source, error)
    return digest


def entry_paths(digest: str) -> tuple[Path, Path]:
    stem = f"{digest}-c{CONVERTER_VERSION}"
    return cache_root() / f"{stem}.safetensors", cache_root() / f"{stem}.json"


def read_entry(digest: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(meta, tensors)`` of a valid entry, or None when missing, stale or corrupt."""
    weights_path, meta_path = entry_paths(digest)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("converter_version") != CONVERTER_VERSION
        or meta.get("source_sha256") != digest
        or not isinstance(meta.get("hubert_config"), dict)
    ):
        log.info("stale embedder cache entry %s; rebuilding", digest[:12])
        return None
    try:
        # one read: the bytes that are hashed are the bytes that are parsed
        data = weights_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("weights_sha256"):
            log.warning("corrupt embedder cache entry %s; rebuilding", weights_path.name)
            return None
        from safetensors.torch import load

        tensors = load(data)
    except Exception as error:  # any unreadable entry is rebuilt, never trusted
        log.warning("unreadable embedder cache entry %s (%s); rebuilding", weights_path.name, error)
        return None
    return meta, tensors


def write_entry(digest: str, meta: dict[str, Any], tensors: dict[str, Any]) -> None:
    """Store converted tensors and ``meta`` (must hold ``hubert_config``) for ``digest``.

    Failure to write (a full or read-only disk) is logged, not raised: the caller already has
    the converted weights in memory, and the next load converts again.
    """
    from safetensors.torch import save_file

    weights_path, meta_path = entry_paths(digest)
    try:
        contiguous = {k: v.contiguous() for k, v in tensors.items()}
        atomic_write(weights_path, lambda p: save_file(contiguous, str(p)))
        record = {
            **meta,
            "converter_version": CONVERTER_VERSION,
            "source_sha256": digest,
            "weights_sha256": sha256_file(weights_path),
        }
        atomic_write(meta_path, lambda p: p.write_text(json.dumps(record, indent=1), encoding="utf-8"))
    except OSError as error:
        log.warning("could not cache the converted embedder in %s: %s", weights_path.parent, error)
