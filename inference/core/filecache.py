"""Safe writes and hash-keyed entries on disk, shared by every cache of converted weights.

- :func:`atomic_write` writes through a temporary file beside the target, then renames it into
  place, so a crash or two processes writing at once never leave a half-written file.
- :func:`remembered_sha256` hashes a (large) source file once and remembers the digest by path,
  size and mtime, so a later load neither reads nor hashes it again.
- :func:`read_entry` / :func:`write_entry` keep ``<digest>-c<version>.safetensors`` beside a JSON
  record naming the converter version, the source's digest and the weights' own sha256: an
  entry is trusted only when all three match; anything else reads as missing and is rebuilt.
  An entry is read tensor by tensor (safetensors' ``safe_open``), so a worker loading hundreds
  of megabytes never holds Python's lock for long: the window stays live meanwhile.
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

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


def sha256_file(path: os.PathLike | str) -> str:
    with open(path, "rb") as handle:
        return _sha256_handle(handle)


def _sha256_handle(handle) -> str:
    # Chunks, not one read: both the read and the hashing of a large chunk release Python's lock.
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write(tmp)`` to a temporary file beside ``target``, then rename over it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_identity(stat: os.stat_result) -> dict[str, int]:
    """What changes whenever a file's content can have changed: size, mtime, and the inode and
    ctime, which no copy tool or ``touch`` can set back (a file replaced by one of the same size
    and mtime, as ``cp -p`` or ``rsync -t`` leave it, has a new inode or ctime)."""
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino, "ctime_ns": stat.st_ctime_ns}


def remembered_sha256(source: os.PathLike | str, memo_dir: Path, hasher: Callable[[Path], str] = sha256_file) -> str:
    """sha256 of ``source``, remembered under ``memo_dir`` by its path and :func:`file_identity`.

    Checking costs one ``stat`` and one small read; hashing happens once per content change.
    """
    source = Path(source).expanduser().resolve()
    identity = file_identity(source.stat())
    memo = memo_dir / (hashlib.sha1(str(source).encode("utf-8")).hexdigest() + ".json")
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
        if (
            isinstance(data, dict)
            and data.get("path") == str(source)
            and all(data.get(key) == value for key, value in identity.items())
            and isinstance(data.get("sha256"), str)
        ):
            return data["sha256"]
    except (OSError, ValueError):
        pass
    digest = hasher(source)
    record = {"path": str(source), **identity, "sha256": digest}
    try:
        atomic_write(memo, lambda p: p.write_text(json.dumps(record), encoding="utf-8"))
    except OSError as error:  # a read-only cache only costs a re-hash next time
        log.warning("could not remember the hash of %s: %s", source, error)
    return digest


def entry_paths(root: Path, digest: str, version: int) -> tuple[Path, Path]:
    """``(weights, record)`` paths of the entry for ``digest`` at converter ``version``."""
    stem = f"{digest}-c{version}"
    return root / f"{stem}.safetensors", root / f"{stem}.json"


def read_entry(
    root: Path,
    digest: str,
    version: int,
    required: str,
    framework: str,
    label: str,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """``(record, tensors)`` of a valid entry, or None when missing, stale or corrupt.

    ``required`` names a key the record must hold as a dict; ``framework`` is safetensors' name
    for what the tensors come back as (``"pt"``: torch, ``"np"``: numpy).
    """
    weights_path, meta_path = entry_paths(root, digest, version)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(meta, dict)
        or meta.get("converter_version") != version
        or meta.get("source_sha256") != digest
        or not isinstance(meta.get(required), dict)
    ):
        log.info("stale %s cache entry %s; rebuilding", label, digest[:12])
        return None
    try:
        with open(weights_path, "rb") as handle:
            hashed = file_identity(os.fstat(handle.fileno()))
            if _sha256_handle(handle) != meta.get("weights_sha256"):
                log.warning("corrupt %s cache entry %s; rebuilding", label, weights_path.name)
                return None
        # Read twice, hashed then parsed: the second read comes from the page cache (parsing the
        # 360 MB embedder this way took 117 ms; one read_bytes and a parse of those bytes, 376 ms).
        tensors = _load_tensors(weights_path, framework)
        # The file parsed must be the file hashed. Entries are only ever replaced whole (a
        # rename), so the same identity before and after the parse means the same bytes.
        if file_identity(weights_path.stat()) != hashed:
            log.warning("%s cache entry %s changed while it was read; rebuilding", label, weights_path.name)
            return None
    except Exception as error:  # noqa: BLE001 - any unreadable entry is rebuilt, never trusted
        log.warning("unreadable %s cache entry %s (%s); rebuilding", label, weights_path.name, error)
        return None
    return meta, tensors


def _load_tensors(path: Path, framework: str) -> dict[str, Any]:
    """Every tensor of a safetensors file, one at a time (each copy holds Python's lock only for
    itself, a few milliseconds; ``safetensors.torch.load`` of the whole file's bytes held it for
    up to 0.2 s on a 360 MB embedder, and the window froze meanwhile)."""
    from safetensors import safe_open

    with safe_open(str(path), framework=framework) as tensors:
        return {name: tensors.get_tensor(name) for name in tensors.keys()}


def write_entry(
    root: Path,
    digest: str,
    version: int,
    record: dict[str, Any],
    save: Callable[[Path], None],
) -> None:
    """Write the weights through ``save(path)``, then the record; raises ``OSError`` on failure.

    Weights go first, so a record never points at weights that are not there yet.
    """
    weights_path, meta_path = entry_paths(root, digest, version)
    atomic_write(weights_path, save)
    full = {
        **record,
        "converter_version": version,
        "source_sha256": digest,
        "weights_sha256": sha256_file(weights_path),
    }
    atomic_write(meta_path, lambda p: p.write_text(json.dumps(full, indent=1), encoding="utf-8"))
