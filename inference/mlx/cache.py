"""Converted MLX weights cached on disk, so a model is read with torch only once.

Layout under ``paths.cache_dir()/"mlx"``:

- ``<sha256>-c<CONVERTER_VERSION>.safetensors``: float32 weights in MLX layout (weight norm folded);
- ``<sha256>-c<CONVERTER_VERSION>.json``: the model config, the converter version, the source's
  sha256 and the sha256 of the safetensors file;
- ``sources/<sha1 of the resolved path>.json``: the source file's size, mtime and sha256, so a
  cached model loads without reading (or hashing) the ``.pth`` again.

An entry is trusted only when its JSON parses, names this converter version and source hash,
and the weights file has the recorded hash; anything else is rebuilt from the ``.pth``.
Files are written under a temporary name and moved into place with ``os.replace``, weights
first, so two processes converting the same model at once never leave a broken entry.
Loading a cached model imports neither torch nor the checkpoint reader's torch code.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from inference import paths
from inference.errors import RVCError

log = logging.getLogger(__name__)

CONVERTER_VERSION = 1
_CHUNK = 1 << 20


class CacheError(RVCError):
    """A cache entry could not be written."""


def cache_root() -> Path:
    return paths.cache_dir() / "mlx"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _atomic_write(target: Path, write) -> None:
    """Write through ``write(tmp_path)`` to a temporary file beside ``target``, then rename over it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _source_memo_path(source: Path) -> Path:
    key = hashlib.sha1(str(source).encode("utf-8")).hexdigest()
    return cache_root() / "sources" / f"{key}.json"


def source_digest(source: Path) -> str:
    """The sha256 of ``source``, remembered by (path, size, mtime) so it is computed once."""
    source = Path(source).expanduser().resolve()
    stat = source.stat()
    memo = _source_memo_path(source)
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
        _atomic_write(memo, lambda p: p.write_text(json.dumps(record), encoding="utf-8"))
    except OSError as error:  # a read-only cache only costs a re-hash next time
        log.warning("could not remember the hash of %s: %s", source, error)
    return digest


def entry_paths(digest: str) -> tuple[Path, Path]:
    stem = f"{digest}-c{CONVERTER_VERSION}"
    return cache_root() / f"{stem}.safetensors", cache_root() / f"{stem}.json"


def read_entry(digest: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(config dict, arrays)`` of a valid entry, or None when missing, stale or corrupt."""
    weights_path, meta_path = entry_paths(digest)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("converter_version") != CONVERTER_VERSION
        or meta.get("source_sha256") != digest
        or not isinstance(meta.get("config"), dict)
    ):
        log.info("stale MLX cache entry for %s; rebuilding", digest[:12])
        return None
    try:
        # one read: the bytes that are hashed are the bytes that are parsed, even if another
        # process replaces the file meanwhile
        data = weights_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != meta.get("weights_sha256"):
            log.warning("corrupt MLX cache entry %s; rebuilding", weights_path.name)
            return None
        from safetensors.numpy import load

        arrays = load(data)
    except Exception as error:  # any unreadable entry (OSError, SafetensorError, ...) is rebuilt
        log.warning("unreadable MLX cache entry %s (%s); rebuilding", weights_path.name, error)
        return None
    return meta["config"], arrays


def write_entry(digest: str, config: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Store converted arrays (numpy float32) and the config for ``digest``."""
    from safetensors.numpy import save_file

    weights_path, meta_path = entry_paths(digest)
    try:
        _atomic_write(weights_path, lambda p: save_file(dict(arrays), str(p)))
        meta = {
            "converter_version": CONVERTER_VERSION,
            "source_sha256": digest,
            "weights_sha256": sha256_file(weights_path),
            "config": config,
        }
        _atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=1), encoding="utf-8"))
    except OSError as error:
        raise CacheError(f"could not write the converted model to {weights_path.parent}: {error}") from error


def load_synthesizer(path: os.PathLike | str, dtype: str = "float32"):
    """``(ModelConfig, mlx Synthesizer)`` for a voice model file, converting and caching on first use.

    A failure to write the cache is logged and the converted model is still returned.
    """
    from inference.checkpoint import ModelConfig
    from inference.mlx.convert import convert_state_dict, load_arrays
    from inference.mlx.synthesizers import Synthesizer

    source = Path(path).expanduser()
    digest = source_digest(source)
    entry = read_entry(digest)
    if entry is not None:
        config_dict, arrays = entry
        config = ModelConfig.from_dict(config_dict)
        model = Synthesizer(config)
        try:
            return config, load_arrays(model, arrays, dtype)
        except RVCError as error:
            log.warning("MLX cache entry for %s does not fit its model (%s); rebuilding", source.name, error)
    from inference.checkpoint import load_checkpoint

    config, state_dict, _info = load_checkpoint(source)
    model = Synthesizer(config)
    arrays = convert_state_dict(state_dict, model)
    try:
        write_entry(digest, config.to_dict(), arrays)
    except CacheError as error:
        log.warning("%s", error)
    return config, load_arrays(model, arrays, dtype)
