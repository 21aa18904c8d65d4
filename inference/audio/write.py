"""Writing audio files: atomic (a temporary file beside the target, renamed into place when
complete), never over an existing file, never inside Replay's folder.

- :func:`write_audio` writes a whole array; :class:`AudioWriter` streams blocks.

Only numpy is imported at module level; soundfile loads on first use.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np

from inference.audio.decode import AudioError
from inference.core.filecache import atomic_write
from inference.core.paths import is_inside_replay

WRITE_FORMATS = {"wav": "WAV", "flac": "FLAC"}
WRITE_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")


def _check_target(path: Path, format: str | None, subtype: str) -> str:
    """Validate a write target; returns soundfile's format name."""
    fmt = (format or path.suffix.lstrip(".") or "wav").lower()
    if fmt not in WRITE_FORMATS:
        raise AudioError(f"{path}: unsupported output format {fmt!r} (use wav or flac)")
    if subtype not in WRITE_SUBTYPES:
        raise AudioError(f"{path}: unsupported sample format {subtype!r} (use PCM_16, PCM_24 or FLOAT)")
    if fmt == "flac" and subtype == "FLOAT":
        raise AudioError(f"{path}: FLAC cannot store float samples (use 16 or 24-bit)")
    if is_inside_replay(path):
        raise AudioError(f"{path}: refusing to write inside Replay's folder")
    if path.exists() or path.is_symlink():
        raise AudioError(f"{path}: already exists (not overwritten)")
    return WRITE_FORMATS[fmt]


def _prepare(audio: np.ndarray, subtype: str) -> np.ndarray:
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise ValueError(f"audio must be [N] or [N, C], got shape {data.shape}")
    if subtype != "FLOAT":
        # libsndfile wraps rather than clips out-of-range floats converted to integers.
        data = np.clip(data, -1.0, 1.0)
    return data


def write_audio(
    path: os.PathLike | str, audio: np.ndarray, sr: int, format: str | None = None, subtype: str = "PCM_16"
) -> Path:
    """Write ``audio`` ([N] or [N, C] float) atomically to a new file ``path``; returns the path.

    ``format`` is ``"wav"`` or ``"flac"`` (default: from the suffix); ``subtype`` is ``"PCM_16"``,
    ``"PCM_24"`` or ``"FLOAT"``. Refuses an existing file and any path inside Replay's folder.
    """
    import soundfile as sf

    path = Path(path).expanduser()
    sf_format = _check_target(path, format, subtype)
    data = _prepare(audio, subtype)
    try:
        atomic_write(path, lambda tmp: sf.write(str(tmp), data, int(sr), format=sf_format, subtype=subtype))
    except OSError as error:
        raise AudioError(f"{path}: cannot be written ({error.strerror or error})") from error
    return path


class AudioWriter:
    """Stream blocks into a new audio file: written to a temporary file beside ``path`` and renamed
    into place by a successful :meth:`close`; an exception (or :meth:`abort`) deletes it.

    >>> with AudioWriter(out, 40000) as w:
    ...     for block in blocks:
    ...         w.write(block)
    """

    def __init__(
        self, path: os.PathLike | str, sr: int, format: str | None = None, subtype: str = "PCM_16", channels: int = 1
    ) -> None:
        self.path = Path(path).expanduser()
        self.sample_rate = int(sr)
        self.subtype = subtype
        self.channels = int(channels)
        self.frames = 0
        self._format = _check_target(self.path, format, subtype)
        self._tmp: Path | None = None
        self._file = None

    def __enter__(self) -> AudioWriter:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def open(self) -> None:
        import soundfile as sf

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            os.close(fd)
            self._tmp = Path(tmp)
            self._file = sf.SoundFile(tmp, "w", self.sample_rate, self.channels, self.subtype, format=self._format)
        except OSError as error:
            self.abort()
            raise AudioError(f"{self.path}: cannot be written ({error.strerror or error})") from error

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` ([n] for mono, or [n, channels])."""
        if self._file is None:
            raise RuntimeError("AudioWriter is not open")
        data = _prepare(block, self.subtype)
        if data.ndim == 1 and self.channels != 1:
            raise ValueError(f"expected [n, {self.channels}] blocks, got shape {data.shape}")
        self._file.write(data)
        self.frames += data.shape[0]

    def close(self) -> Path:
        """Finish the file and rename it into place (refusing to replace one created meanwhile)."""
        if self._file is None:
            raise RuntimeError("AudioWriter is not open")
        try:
            self._file.close()
            self._file = None
            if self.path.exists():
                raise AudioError(f"{self.path}: already exists (not overwritten)")
            os.replace(self._tmp, self.path)
            self._tmp = None
        except OSError as error:
            self.abort()
            raise AudioError(f"{self.path}: cannot be written ({error.strerror or error})") from error
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop the partial file (safe to call more than once)."""
        if self._file is not None:
            try:
                self._file.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None
