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

import logging
import os
from pathlib import Path
from typing import Any

from inference.core import filecache, paths
from inference.core.errors import RVCError
from inference.core.filecache import sha256_file

log = logging.getLogger(__name__)

CONVERTER_VERSION = 2  # 2: the config names its vocoder (MRF HiFi-GAN, RefineGAN)
__all__ = [
    "CONVERTER_VERSION",
    "CacheError",
    "entry_paths",
    "load_synthesizer",
    "read_entry",
    "sha256_file",
    "source_digest",
    "write_entry",
]


class CacheError(RVCError):
    """A cache entry could not be written."""


def cache_root() -> Path:
    return paths.cache_dir() / "mlx"


def source_digest(source: Path) -> str:
    """The sha256 of ``source``, remembered by path and file identity so it is computed once."""
    return filecache.remembered_sha256(source, cache_root() / "sources", sha256_file)


def entry_paths(digest: str) -> tuple[Path, Path]:
    return filecache.entry_paths(cache_root(), digest, CONVERTER_VERSION)


def read_entry(digest: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(config dict, arrays)`` of a valid entry, or None when missing, stale or corrupt."""
    entry = filecache.read_entry(cache_root(), digest, CONVERTER_VERSION, "config", "np", "MLX")
    return None if entry is None else (entry[0]["config"], entry[1])


def write_entry(digest: str, config: dict[str, Any], arrays: dict[str, Any]) -> None:
    """Store converted arrays (numpy float32) and the config for ``digest``."""
    from safetensors.numpy import save_file

    try:
        filecache.write_entry(
            cache_root(), digest, CONVERTER_VERSION, {"config": config}, lambda p: save_file(dict(arrays), str(p))
        )
    except OSError as error:
        raise CacheError(f"could not write the converted model to {cache_root()}: {error}") from error


def load_synthesizer(path: os.PathLike | str, dtype: str = "float32"):
    """``(ModelConfig, mlx Synthesizer)`` for a voice model file, converting and caching on first use.

    A failure to write the cache is logged and the converted model is still returned.
    """
    from inference.mlx.convert import convert_state_dict, load_arrays
    from inference.mlx.synthesizers import Synthesizer
    from inference.models.config import ModelConfig

    source = Path(path).expanduser()
    digest = source_digest(source)
    entry = read_entry(digest)
    if entry is not None:
        config_dict, arrays = entry
        try:
            config = ModelConfig.from_dict(config_dict)
            return config, load_arrays(Synthesizer(config), arrays, dtype)
        except Exception as error:  # noqa: BLE001 - a cache entry that does not build is rebuilt, never trusted
            log.warning("MLX cache entry for %s does not fit its model (%s); rebuilding", source.name, error)
    from inference.models.checkpoint import load_checkpoint

    config, state_dict, _info = load_checkpoint(source)
    model = Synthesizer(config)
    arrays = convert_state_dict(state_dict, model)
    try:
        write_entry(digest, config.to_dict(), arrays)
    except CacheError as error:
        log.warning("%s", error)
    return config, load_arrays(model, arrays, dtype)
