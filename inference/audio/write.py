"""Writing audio files: through a temporary file beside the target, published only when
complete (:mod:`inference.audio.outputs`), never over an existing file, never inside Replay's
folder, and every failure one line that names the folder and the cause.

- :func:`write_audio` writes a whole array; :class:`AudioWriter` streams blocks;
  :func:`open_writer` gives the writer for any output format (mp3, m4a and ogg:
  :class:`~inference.audio.encode.EncodedWriter`).

Only numpy is imported at module level; soundfile loads on first use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from inference.audio.decode import AudioError
from inference.audio.encode import ENCODED_FORMATS, STANDARD_TAGS, EncodedWriter
from inference.audio.outputs import PublishingWriter, check_new_target, make_temp, write_error

WRITE_FORMATS = {"wav": "WAV", "flac": "FLAC"}
WRITE_SUBTYPES = ("PCM_16", "PCM_24", "FLOAT")


def _check_target(path: Path, format: str | None, subtype: str, exists_ok: bool = False) -> str:
    """Validate a write target; returns soundfile's format name."""
    fmt = (format or path.suffix.lstrip(".") or "wav").lower()
    if fmt not in WRITE_FORMATS:
        raise AudioError(f"{path}: unsupported output format {fmt!r} (use {' or '.join(WRITE_FORMATS)})")
    if subtype not in WRITE_SUBTYPES:
        raise AudioError(f"{path}: unsupported sample format {subtype!r} (use PCM_16, PCM_24 or FLOAT)")
    if fmt == "flac" and subtype == "FLOAT":
        raise AudioError(f"{path}: FLAC cannot store float samples (use 16 or 24-bit)")
    check_new_target(path, exists_ok)
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
    """Write ``audio`` ([N] or [N, C] float) to a new file ``path``; returns the path.

    ``format`` is ``"wav"`` or ``"flac"`` (default: from the suffix); ``subtype`` is ``"PCM_16"``,
    ``"PCM_24"`` or ``"FLOAT"``. Refuses an existing file and any path inside Replay's folder.
    """
    data = _prepare(audio, subtype)
    with AudioWriter(path, sr, format, subtype, channels=1 if data.ndim == 1 else data.shape[1]) as writer:
        writer.write(data)
    return writer.path


class AudioWriter(PublishingWriter):
    """Stream blocks into a new audio file: written to a temporary file beside ``path`` and
    published by a successful :meth:`close`; an exception (or :meth:`abort`) deletes it.

    ``unique``: when ``path`` is taken at the end (another run wrote it meanwhile), publish as
    ``name (2)``, ``name (3)``... instead of failing; :attr:`path` is then the name used.

    >>> with AudioWriter(out, 40000) as w:
    ...     for block in blocks:
    ...         w.write(block)
    """

    def __init__(
        self,
        path: os.PathLike | str,
        sr: int,
        format: str | None = None,
        subtype: str = "PCM_16",
        channels: int = 1,
        *,
        unique: bool = False,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.path = Path(path).expanduser()
        self.sample_rate = int(sr)
        self.tags = dict(tags or {})
        self.subtype = subtype
        self.channels = int(channels)
        self.unique = unique
        self.frames = 0
        self._format = _check_target(self.path, format, subtype, exists_ok=unique)
        self._tmp: Path | None = None
        self._file = None

    def open(self) -> None:
        import soundfile as sf

        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._tmp = make_temp(folder)
            self._file = sf.SoundFile(
                str(self._tmp), "w", self.sample_rate, self.channels, self.subtype, format=self._format
            )
            for key in STANDARD_TAGS:  # WAV's INFO chunk, FLAC's Vorbis comments: before any audio
                if self.tags.get(key):
                    setattr(self._file, key, str(self.tags[key]))
        except (OSError, RuntimeError) as error:  # RuntimeError: libsndfile's, without an errno
            self.abort()
            raise write_error(folder, error) from None

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` ([n] for mono, or [n, channels])."""
        if self._file is None:
            raise RuntimeError("AudioWriter is not open")
        data = _prepare(block, self.subtype)
        if data.ndim == 1 and self.channels != 1:
            raise ValueError(f"expected [n, {self.channels}] blocks, got shape {data.shape}")
        try:
            self._file.write(data)
        except (OSError, RuntimeError) as error:
            self.abort()
            raise write_error(self.path.parent, error, needed=data.nbytes) from None
        self.frames += data.shape[0]

    def close(self) -> Path:
        """Finish the file and publish it (never replacing one created meanwhile)."""
        if self._file is None:
            raise RuntimeError("AudioWriter is not open")
        return self._publish()

    _write_errors = (OSError, RuntimeError)  # RuntimeError: libsndfile's, without an errno

    def _close_output(self) -> None:
        self._file.close()
        self._file = None

    def _drop_output(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except Exception:  # noqa: BLE001 - the file is being thrown away anyway
                pass
            self._file = None


def open_writer(
    path: os.PathLike | str,
    sr: int,
    format: str,
    subtype: str = "PCM_16",
    channels: int = 1,
    *,
    unique: bool = False,
    tags: Mapping[str, str] | None = None,
    bitrate: int = 192,
) -> AudioWriter | EncodedWriter:
    """The writer for ``format``: :class:`AudioWriter` for wav and flac (``subtype`` applies),
    :class:`~inference.audio.encode.EncodedWriter` for mp3, m4a and ogg (``bitrate`` in kbit/s
    applies). Both publish atomically, never over a file; open it with ``with``."""
    if str(format).lower() in ENCODED_FORMATS:
        return EncodedWriter(path, sr, format, channels, bitrate=bitrate, tags=tags, unique=unique)
    return AudioWriter(path, sr, format, subtype, channels, unique=unique, tags=tags)
