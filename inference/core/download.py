"""Consented downloads of model weights: progress, cancel, resume, a pinned SHA-256, atomic.

:func:`download` fetches one URL into a file of the app's own folders, never Replay's:

- the bytes go to ``<target>.part`` beside the target, with ``<target>.part.json`` naming the URL
  and the expected SHA-256, so that a later call resumes that file (HTTP ``Range``) and never a
  partial file of something else;
- ``progress(done_bytes, total_bytes_or_None)`` is called as blocks arrive; a set ``cancel``
  event raises :class:`~inference.core.errors.Cancelled` and keeps the partial file to resume;
- an interrupted transfer is resumed up to ``retries`` times, then fails with the partial file
  kept;
- the finished file is checked against the size and the SHA-256 pinned by the caller *before*
  it is moved into place: a mismatch deletes the partial file and raises, leaving nothing;
- the move is an ``os.replace`` within one folder (atomic).

Why our own and not ``huggingface_hub``'s or pymss's: the default separation model lives on
GitHub's release host, which neither serves; ``hf_hub_download`` cannot check a hash pinned by
the caller nor be cancelled, and pymss checks only against a live ModelScope index. This module
needs nothing but the standard library (urllib), so it is cheap to import and easy to test
against a local server.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from inference.core.errors import RVCError, check_cancel
from inference.core.paths import is_inside_replay

log = logging.getLogger(__name__)

BLOCK = 1 << 20
USER_AGENT = "rvc-studio"


class DownloadError(RVCError):
    """A download that failed; the message says why in one line."""


def _part_paths(target: Path) -> tuple[Path, Path]:
    return target.with_name(target.name + ".part"), target.with_name(target.name + ".part.json")


def _hash_of(path: Path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(BLOCK):
            digest.update(chunk)
    return digest


def _forget(part: Path, meta: Path) -> None:
    part.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)


def _resumable(part: Path, meta: Path, url: str, sha256: str) -> int:
    """Bytes already in ``part`` that belong to this download (0: start afresh)."""
    try:
        record = json.loads(meta.read_text(encoding="utf-8"))
        size = part.stat().st_size
    except (OSError, ValueError):
        _forget(part, meta)
        return 0
    if not isinstance(record, dict) or record.get("url") != url or record.get("sha256") != sha256:
        _forget(part, meta)
        return 0
    return size


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _transfer(url: str, part: Path, start: int, size: int | None, timeout: float, progress, cancel) -> tuple[int, bool]:
    """Append the rest of ``url`` to ``part`` from byte ``start``; returns ``(bytes in part, complete)``."""
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and start and size is not None and start >= size:
            return start, True  # the partial file already holds every byte
        raise DownloadError(f"{url}: the server answered {error.code} {error.reason}") from None
    with response:
        status = getattr(response, "status", 200)
        if start and status != 206:  # the server ignored the range: start again from byte 0
            start = 0
        length = response.headers.get("Content-Length")
        expected = start + int(length) if length and length.isdigit() else size
        if size is not None and expected is not None and expected != size:
            raise DownloadError(f"{url}: the server offers {expected} bytes, expected {size}")
        done = start
        with open(part, "r+b" if start else "wb") as handle:
            handle.seek(start)
            handle.truncate()
            while True:
                check_cancel(cancel)
                try:
                    block = response.read(BLOCK)
                except (OSError, http.client.HTTPException) as error:
                    log.info("download of %s interrupted at %d bytes: %s", url, done, error)
                    return done, False
                if not block:
                    break
                handle.write(block)
                done += len(block)
                if progress is not None:
                    progress(done, expected)
    complete = expected is None or done >= expected
    return done, complete


def download(
    url: str,
    target: os.PathLike | str,
    sha256: str,
    size: int | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    cancel=None,
    retries: int = 3,
    timeout: float = 30.0,
) -> Path:
    """Fetch ``url`` into ``target`` (see the module docstring); returns ``target``.

    A ``target`` that exists already and has the pinned SHA-256 is returned without a transfer.
    Raises :class:`DownloadError` (one line) for a server error, no network, a size or checksum
    mismatch, or a folder that cannot be written; :class:`Cancelled` when ``cancel`` is set.
    """
    target = Path(target).expanduser()
    sha256 = sha256.lower()
    if is_inside_replay(target):
        raise DownloadError(f"{target}: refusing to write inside Replay's folder")
    if target.is_file() and _hash_of(target).hexdigest() == sha256:
        return target
    part, meta = _part_paths(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        start = _resumable(part, meta, url, sha256)
        if not start:
            meta.write_text(json.dumps({"url": url, "sha256": sha256, "size": size}), encoding="utf-8")
    except OSError as error:
        raise DownloadError(f"{target.parent}: cannot be written ({error.strerror or error})") from None
    attempts = 0
    while True:
        try:
            done, complete = _transfer(url, part, start, size, timeout, progress, cancel)
        except urllib.error.URLError as error:
            reason = getattr(error, "reason", error)
            raise DownloadError(f"cannot reach {_host(url)} ({reason}); check the network and try again") from None
        except TimeoutError:
            raise DownloadError(f"{_host(url)} did not answer within {timeout:g} s; try again later") from None
        except OSError as error:
            raise DownloadError(f"{part}: cannot be written ({error.strerror or error})") from None
        if complete:
            break
        attempts += 1
        if attempts > retries:
            raise DownloadError(
                f"{url}: the transfer stopped at {done} of {size or '?'} bytes; run the download again to resume"
            )
        start = done
    return _publish(part, meta, target, sha256, size)


def _publish(part: Path, meta: Path, target: Path, sha256: str, size: int | None) -> Path:
    """Check the finished partial file, then move it into place (or delete it)."""
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        _forget(part, meta)
        raise DownloadError(f"{target.name}: downloaded {actual_size} bytes, expected {size}; nothing was kept")
    actual = _hash_of(part).hexdigest()
    if actual != sha256:
        _forget(part, meta)
        raise DownloadError(
            f"{target.name}: checksum mismatch (SHA-256 {actual[:16]}…, expected {sha256[:16]}…); nothing was kept"
        )
    os.replace(part, target)
    meta.unlink(missing_ok=True)
    log.info("downloaded %s (%d bytes, sha256 %s)", target, actual_size, actual)
    return target
