"""Random-weight embedders laid out where users have them: Applio's folders, the Hugging Face cache.

- :func:`applio_embedder`: ``<applio>/rvc/models/embedders/<folder>/{config.json,
  pytorch_model.bin}``, as Applio downloads them (``HubertModelWithFinalProj`` config, fp32 .bin);
- :func:`hf_snapshot`: ``<hub>/models--<org>--<name>/{refs/main, blobs/<hash>,
  snapshots/<revision>/<path>/<file> -> ../../blobs/<hash>}``, as ``hf_hub_download`` leaves them
  (LFS files named by their SHA-256, small files by a git-style SHA-1; relative symlinks);
- :data:`WIDE`: a HuBERT as wide as the real one (768: what v2 voice models take) but with two
  thin layers, for pipeline tests.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from unittest import mock

from tests.support import features

# embed, ffn, heads, conv channels, final_dim, conv_pos, conv_pos_groups, layers
WIDE = (768, 128, 4, 32, 256, 16, 4, 2)


def transformers_folder(folder: Path, seed: int, size: str | tuple = "tiny", fmt: str = "bin") -> dict:
    """:func:`tests.support.features.make_transformers_hubert`, with ``size`` a name or a tuple."""
    if isinstance(size, tuple):
        with mock.patch.dict(features.SIZES, {"custom": size}):
            return features.make_transformers_hubert(folder, seed, size="custom", fmt=fmt)
    return features.make_transformers_hubert(folder, seed, size=size, fmt=fmt)


def applio_embedder(applio: Path, folder: str, seed: int, size: str | tuple = "tiny") -> Path:
    """An Applio install's embedder folder; returns it."""
    target = Path(applio) / "rvc" / "models" / "embedders" / folder
    transformers_folder(target, seed, size)
    return target


def hf_snapshot(hub: Path, repo: str, inside: str, seed: int, revision: str, size: str | tuple = "tiny") -> Path:
    """One snapshot of ``repo`` in a Hugging Face cache holding an embedder at ``inside``; returns
    the snapshot's folder of files (symlinks). ``refs/main`` names the latest snapshot written."""
    root = Path(hub) / f"models--{repo.replace('/', '--')}"
    staging = root / ".staging"
    transformers_folder(staging, seed, size)
    folder = root / "snapshots" / revision / inside if inside else root / "snapshots" / revision
    folder.mkdir(parents=True, exist_ok=True)
    (root / "blobs").mkdir(exist_ok=True)
    for file in sorted(staging.iterdir()):
        data = file.read_bytes()
        if file.suffix == ".json":  # a small git file: its blob's SHA-1
            name = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        else:
            name = hashlib.sha256(data).hexdigest()
        blob = root / "blobs" / name
        shutil.move(file, blob)
        os.symlink(os.path.relpath(blob, folder), folder / file.name)
    staging.rmdir()
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return folder
