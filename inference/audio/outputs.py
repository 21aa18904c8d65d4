"""Putting files into a user's folder safely: our temporary files, publishing without ever
replacing a file, cleaning up after a crash, and saying in words why a folder cannot be written.

- A file is written as ``.rvc-studio-<pid>-<random>.tmp`` beside its target and published by
  :func:`publish`: a hard link to the target name, which fails instead of replacing a file that
  appeared meanwhile (another conversion into the same folder), so two runs get distinct names
  and nothing is ever overwritten. The published file gets the user's umask, as any other
  app's files do (``mkstemp`` alone would leave it 0600).
- :func:`remove_stale_temp_files` removes only files of exactly that name pattern whose process
  is gone (a ``kill -9``), never anything else.
- :func:`check_folder` fails before any work when the folder cannot be written or has too little
  room; :func:`write_error` turns an ``OSError`` (full disk, read-only disk, no permission) into
  one line naming the folder and the cause.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

from inference.audio.decode import AudioError
from inference.audio.naming import numbered

TEMP_PREFIX = ".rvc-studio-"
TEMP_SUFFIX = ".tmp"
# ``mkstemp`` adds 8 characters of [a-z0-9_] between prefix and suffix.
TEMP_NAME = re.compile(rf"^{re.escape(TEMP_PREFIX)}(\d+)-[a-z0-9_]{{8}}{re.escape(TEMP_SUFFIX)}$")
SPACE_MARGIN = 16 << 20  # bytes kept free beyond the estimate: file system overhead, other writers
_LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once, at import (in the main thread, before any worker writes)


_live: set[Path] = set()  # this process's temporary files not yet published or removed
_live_lock = threading.Lock()


def make_temp(folder: Path) -> Path:
    """A new empty temporary file of our pattern in ``folder`` (``OSError`` when it cannot be made).

    It is remembered until :func:`forget_temp`, so that a forced exit can remove it.
    """
    fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=folder)
    os.close(fd)
    with _live_lock:
        _live.add(Path(name))
    return Path(name)


def forget_temp(path: Path) -> None:
    """``path`` was published or removed: a forced exit need not remove it."""
    with _live_lock:
        _live.discard(Path(path))


def remove_live_temp_files() -> None:
    """Remove every temporary file this process still has (a forced exit on a second Ctrl-C)."""
    with _live_lock:
        paths = list(_live)
        _live.clear()
    for path in paths:
        try:
            path.unlink()
        except OSError:
            pass


def _process_gone(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's (PermissionError), or unknown: leave it alone
        return False
    return False


def remove_stale_temp_files(folder: os.PathLike | str) -> list[Path]:
    """Remove our temporary files in ``folder`` whose process has ended; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False) or not _process_gone(int(match.group(1))):
            continue
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def check_new_target(path: Path, exists_ok: bool = False) -> None:
    """Refuse a target inside Replay's folder, or one that exists (unless ``exists_ok``: the
    writer then publishes under a numbered name)."""
    from inference.core.paths import is_inside_replay

    if is_inside_replay(path):
        raise AudioError(f"{path}: refusing to write inside Replay's folder")
    if not exists_ok and (path.exists() or path.is_symlink()):
        raise AudioError(f"{path}: already exists (not overwritten)")


def publish(tmp: Path, target: Path, numbered_if_taken: bool = False) -> Path:
    """Move the finished ``tmp`` to ``target`` (or, when ``numbered_if_taken``, to the first free
    name of ``target (2)``, ``target (3)``...), never replacing a file; returns the final path.

    :class:`AudioError` when ``target`` is taken and no numbering was asked for.
    """
    os.chmod(tmp, 0o666 & ~UMASK)
    n = 1
    while True:
        candidate = numbered(target, n)
        try:
            _place(tmp, candidate)
            forget_temp(tmp)
            return candidate
        except FileExistsError:
            if not numbered_if_taken:
                raise AudioError(f"{target}: already exists (not overwritten)") from None
            n += 1


def _place(tmp: Path, candidate: Path) -> None:
    """``tmp`` renamed to ``candidate`` if and only if that name is free (atomically)."""
    try:
        os.link(tmp, candidate)  # fails with EEXIST instead of replacing
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _LINK_UNSUPPORTED:
            raise
        # A file system without hard links (FAT, some network shares): claim the name, then fill it.
        fd = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        os.replace(tmp, candidate)
        return
    os.unlink(tmp)


def _megabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{max(1, round(n / 1e6))} MB"


def write_error(folder: Path, error: BaseException, needed: int | None = None) -> AudioError:
    """One line naming ``folder`` and why it could not be written (``error``: an ``OSError``, or a
    library's error without an errno, as libsndfile's "System error")."""
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT) or (code is None and needed is not None and 0 <= _free(folder) < needed):
        parts = [f"about {_megabytes(needed)} needed"] if needed else []
        if (free := _free(folder)) >= 0:
            parts.append(f"{_megabytes(free)} free")
        extra = f" ({', '.join(parts)})" if parts else ""
        return AudioError(f"{folder}: not enough space on the disk{extra}")
    if code == errno.EROFS:
        return AudioError(f"{folder}: is on a read-only disk; choose another output folder")
    if code in (errno.EACCES, errno.EPERM) or (code is None and not os.access(folder, os.W_OK)):
        return AudioError(f"{folder}: is read-only (no permission to write there); choose another output folder")
    detail = getattr(error, "strerror", None) or " ".join(str(error).split())[:200]
    return AudioError(f"{folder}: cannot be written ({detail or type(error).__name__})")


def _free(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return -1


def check_folder(folder: os.PathLike | str, needed: int = 0) -> Path:
    """Make sure ``folder`` exists, can be written and has room for ``needed`` bytes, before any
    work is spent; :class:`AudioError` saying which folder and why otherwise. Also removes our
    stale temporary files there (a crashed run's)."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise AudioError(f"{folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise write_error(_existing_parent(folder), error) from None
    remove_stale_temp_files(folder)
    try:
        probe = make_temp(folder)
        probe.unlink()
        forget_temp(probe)
    except OSError as error:
        raise write_error(folder, error) from None
    free = _free(folder)
    if needed and 0 <= free < needed + SPACE_MARGIN:
        raise AudioError(
            f"{folder}: not enough space on the disk (about {_megabytes(needed + SPACE_MARGIN)} needed, "
            f"{_megabytes(free)} free)"
        )
    return folder


def _existing_parent(folder: Path) -> Path:
    for parent in (folder, *folder.parents):
        if parent.exists():
            return parent
    return folder


class PublishingWriter:
    """What the file writers share. ``with writer:`` opens it, publishes the file when the block
    ends normally (:meth:`close`) and deletes the temporary file when it raises (:meth:`abort`).
    A writer sets ``path``, ``unique`` and ``_tmp`` and says how its output closes."""

    path: Path
    unique: bool = False
    _tmp: Path | None = None
    _write_errors: tuple[type[BaseException], ...] = (OSError,)  # what a failed close raises

    def open(self) -> None:
        raise NotImplementedError

    def close(self) -> Path:
        raise NotImplementedError

    def _close_output(self) -> None:
        """Finish and close the output file (raises on failure)."""
        raise NotImplementedError

    def _drop_output(self) -> None:
        """Close the output file if open, quietly (it is being thrown away)."""
        raise NotImplementedError

    def _publish(self) -> Path:
        """Close the output and publish the temporary file as :attr:`path` (never over a file
        made meanwhile: numbered when ``unique``); any failure removes the temporary file."""
        try:
            self._close_output()
            self.path = publish(self._tmp, self.path, numbered_if_taken=self.unique)
            self._tmp = None
        except AudioError:
            self.abort()
            raise
        except self._write_errors as error:
            self.abort()
            raise write_error(self.path.parent, error, needed=0) from None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop the partial file (safe to call more than once)."""
        self._drop_output()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            forget_temp(self._tmp)
            self._tmp = None

    def __enter__(self):
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
