"""A cover's input and outputs: the song decoded as it is (its rate and channels), and the cover
and stems written under the output naming rule (:mod:`inference.audio.naming`), atomically,
never over a file, never inside Replay's folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from inference.core.errors import check_cancel

log = logging.getLogger(__name__)

SILENCE = 1e-4  # -80 dBFS: a song quieter than this has nothing to separate


def decode_song(path: Path, cancel=None) -> tuple[np.ndarray, int]:
    """``([frames, channels] float32, rate)`` of a song file, refused when silent."""
    from inference.audio import AudioError, load_audio
    from inference.audio.decode import audio_info

    _duration, rate, _channels = audio_info(path)
    song = load_audio(path, sr=None, mono=False, cancel=cancel)
    if song.ndim == 1:
        song = song[:, None]
    if not np.any(np.abs(song) > SILENCE):
        raise AudioError(f"{path}: is silent (nothing to separate)")
    return np.ascontiguousarray(song, dtype=np.float32), int(rate)


def check_output_dir(folder: os.PathLike | str) -> Path:
    """``folder``, created if needed; refuses Replay's folder and a path that is a file."""
    from inference.audio import AudioError
    from inference.core.paths import is_inside_replay

    folder = Path(folder).expanduser()
    if is_inside_replay(folder):
        raise AudioError(f"{folder} is inside Replay's folder; choose another output folder")
    if folder.exists() and not folder.is_dir():
        raise AudioError(f"{folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise AudioError(f"cannot create the output folder {folder} ({error.strerror or error})") from None
    return folder


def _fit_pcm(audio: np.ndarray, subtype: str, what: str) -> np.ndarray:
    """Integer formats clip above full scale: a stem that goes over is scaled down to fit."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if subtype != "FLOAT" and peak > 1.0:
        log.info("%s peaks at %.2f dBFS: scaled to fit the %s file", what, 20 * np.log10(peak), subtype)
        return audio * np.float32(0.999 / peak)
    return audio


def write_one(
    folder: Path, name: str, audio: np.ndarray, rate: int, fmt: str, subtype: str, bitrate: int = 192
) -> Path:
    """``audio`` as a new file ``name`` in ``folder`` (numbered when taken): wav and flac in
    ``subtype``, mp3 / m4a / ogg at ``bitrate`` kbit/s (:func:`inference.audio.write.open_writer`)."""
    from inference.audio import unique_path
    from inference.audio.write import open_writer

    target = unique_path(folder, name)
    data = _fit_pcm(audio, subtype, target.name)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with open_writer(target, int(rate), fmt, subtype, channels, unique=True, bitrate=bitrate) as writer:
        writer.write(data)
    return writer.path


def write_stems(
    folder: Path,
    base_name: str,
    stems: Mapping[str, np.ndarray],
    rate: int,
    fmt: str,
    subtype: str,
    cancel=None,
    bitrate: int = 192,
) -> dict[str, Path]:
    """Each stem as ``<base> - <label>.<ext>`` (:func:`inference.audio.naming.label_name`)."""
    from inference.audio.naming import label_name

    written = {}
    for label, audio in stems.items():
        check_cancel(cancel)
        written[label] = write_one(folder, label_name(base_name, label), audio, rate, fmt, subtype, bitrate)
    return written
