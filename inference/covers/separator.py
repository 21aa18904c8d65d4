"""The separation stage's interface: a song in; its vocal and its accompaniment out.

A :class:`Separator` takes a song as ``[frames, channels]`` float32 at any rate and returns
:class:`Stems` at the song's rate, channel count and exact length. Progress arrives as
``progress(fraction)`` (0..1); a set ``cancel`` event raises
:class:`~inference.core.errors.Cancelled`; a failure a user can cause is a one-line
:class:`SeparationError`.

:class:`ModelSeparator` does what every model needs around it: the song is resampled to the
models' 44.1 kHz (soxr, through :func:`inference.audio.resample`), given to the model as stereo
(a mono or a third channel is separated on its own, duplicated, and averaged back), the model's
stems are named by role (the vocal, or for a de-reverb pass the dry part) and cut or padded to
the input's length, then resampled back to the song's rate. Subclasses implement only
:meth:`ModelSeparator._separate_stereo`: one ``[2, samples]`` mix at 44.1 kHz in, named stems out.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inference.core.errors import RVCError, check_cancel

log = logging.getLogger(__name__)

SEPARATION_RATE = 44100  # every UVR / MSS model runs at 44.1 kHz
PURPOSES = ("vocals", "dereverb")  # what a separator is asked for: the vocal, or the dry vocal

# Stem names by role, lower case with "_" read as " " (UVR: "Vocals"/"Instrumental", "No Reverb"/
# "Reverb", "No Echo"/"Echo", "Dry"; MSS configs: "vocals"/"other", "noreverb"/"reverb").
_KEEP = {
    "vocals": {"vocals", "vocal", "voice", "voc"},
    "dereverb": {"no reverb", "noreverb", "dry", "no echo", "noecho", "dereverb"},
}
_DROP = {
    "vocals": {"instrumental", "instrumentals", "inst", "other", "accompaniment", "music", "no vocals", "karaoke"},
    "dereverb": {"reverb", "echo", "wet"},
}

Progress = Callable[[float], None]


class SeparationError(RVCError):
    """A song or a separation model that cannot be used (the message names it)."""


@dataclass
class Stems:
    """A song's vocal and accompaniment, each ``[frames, channels]`` float32 at ``rate``."""

    vocal: np.ndarray
    accompaniment: np.ndarray
    rate: int

    @property
    def frames(self) -> int:
        return int(self.vocal.shape[0])

    @property
    def channels(self) -> int:
        return int(self.vocal.shape[1])


class Separator(ABC):
    """What the cover job needs of a separator (see the module docstring)."""

    name: str  # shown to the user: the model's file name
    identity: str  # everything the stems depend on (model content, settings, code version)

    @abstractmethod
    def separate(self, song: np.ndarray, rate: int, progress: Progress | None = None, cancel=None) -> Stems: ...

    def close(self) -> None:  # noqa: B027 - optional: most separators hold nothing to release
        """Release the model (optional)."""


@dataclass(frozen=True)
class SeparationSettings:
    """How a model runs. ``overlap``: the share of each chunk that overlaps the next (None: the
    model's own default; UVR's "Default" for MDX-Net); ``denoise``: UVR's "Standard" denoise for
    MDX-Net (runs the model twice); ``device``: ``auto`` (Apple GPU / CoreML where present) or ``cpu``."""

    overlap: float | None = None
    denoise: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.overlap is not None and not 0.0 <= float(self.overlap) < 1.0:
            raise SeparationError(f"overlap must be at least 0 and below 1, got {self.overlap}")
        if self.device not in ("auto", "cpu"):
            raise SeparationError(f"unknown separation device {self.device!r}; use auto or cpu")

    def key(self) -> str:
        """The settings that change the stems (the device does not, beyond float noise)."""
        return f"overlap={self.overlap},denoise={int(self.denoise)}"


def as_frames(song: np.ndarray, what: str = "the song") -> np.ndarray:
    """``song`` as a finite ``[frames, channels]`` float32 array, or :class:`SeparationError`."""
    data = np.asarray(song, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
        raise SeparationError(f"{what} must be [frames] or [frames, channels] audio, got shape {np.shape(song)}")
    if not np.all(np.isfinite(data)):
        data = np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)
    return data


def fit_length(audio: np.ndarray, frames: int) -> np.ndarray:
    """``audio`` (time on axis 0) cut or zero-padded at its end to exactly ``frames``."""
    if audio.shape[0] >= frames:
        return audio[:frames]
    pad = [(0, frames - audio.shape[0])] + [(0, 0)] * (audio.ndim - 1)
    return np.pad(audio, pad)


def split_roles(named: dict[str, np.ndarray], purpose: str, model: str) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, rest)`` of a model's named stems: the vocal (or dry) stem, and the sum of the others."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    norm = {name: str(name).strip().lower().replace("_", " ") for name in named}
    keep = [name for name in named if norm[name] in _KEEP[purpose]]
    if not keep and len(named) == 2:
        dropped = [name for name in named if norm[name] in _DROP[purpose]]
        keep = [name for name in named if name not in dropped] if len(dropped) == 1 else []
    if len(keep) != 1:
        wanted = "a vocal" if purpose == "vocals" else "a dry (no reverb) vocal"
        raise SeparationError(f"{model}: its stems ({', '.join(map(str, named))}) include no single {wanted} stem")
    kept = named[keep[0]]
    others = [audio for name, audio in named.items() if name != keep[0]]
    rest = others[0] if len(others) == 1 else np.sum(others, axis=0, dtype=np.float32)
    return kept, rest


class ModelSeparator(Separator):
    """A model file behind the :class:`Separator` interface (see the module docstring)."""

    family = "model"

    def __init__(self, path: Path, purpose: str, settings: SeparationSettings, identity: str) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {purpose!r}")
        self.path = Path(path)
        self.name = self.path.name
        self.purpose = purpose
        self.settings = settings
        self.identity = identity

    @abstractmethod
    def _separate_stereo(self, mix: np.ndarray, progress: Progress, cancel) -> dict[str, np.ndarray]:
        """``mix``: ``[2, samples]`` float32 at 44.1 kHz -> ``{stem name: [2, n] or [n, 2]}``."""

    def separate(self, song: np.ndarray, rate: int, progress: Progress | None = None, cancel=None) -> Stems:
        from inference.audio import resample

        song = as_frames(song)
        rate = int(rate)
        if rate <= 0:
            raise SeparationError(f"the song's sample rate must be positive, got {rate}")
        frames, channels = song.shape
        check_cancel(cancel)
        at44 = resample(song, rate, SEPARATION_RATE) if rate != SEPARATION_RATE else song
        n44 = at44.shape[0]
        groups = [(0, 1)] if channels == 2 else [(c,) for c in range(channels)]
        kept_parts, rest_parts = [], []
        for index, group in enumerate(groups):
            mix = np.ascontiguousarray(at44[:, list(group)].T)
            if mix.shape[0] == 1:
                mix = np.repeat(mix, 2, axis=0)

            def report(fraction: float, index: int = index) -> None:
                if progress is not None:
                    progress((index + min(1.0, max(0.0, fraction))) / len(groups))

            named = self._separate_stereo(mix, report, cancel)
            del mix
            check_cancel(cancel)
            named = {name: _time_first(audio, self.name) for name, audio in named.items()}
            kept, rest = split_roles(named, self.purpose, self.name)
            kept, rest = fit_length(kept, n44), fit_length(rest, n44)
            if len(group) == 1:
                kept, rest = kept.mean(axis=1, keepdims=True), rest.mean(axis=1, keepdims=True)
            kept_parts.append(kept)
            rest_parts.append(rest)
        del named, kept, rest
        vocal = _join(kept_parts)
        other = _join(rest_parts)
        if rate != SEPARATION_RATE:
            vocal, other = resample(vocal, SEPARATION_RATE, rate), resample(other, SEPARATION_RATE, rate)
        if progress is not None:
            progress(1.0)
        return Stems(fit_length(vocal, frames), fit_length(other, frames), rate)


def _time_first(audio: np.ndarray, model: str) -> np.ndarray:
    """A stem as ``[n, 2]`` whether the model gave ``[2, n]`` or ``[n, 2]`` (or mono ``[n]``)."""
    data = np.asarray(audio, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise SeparationError(f"{model}: a stem came back with shape {data.shape}")
    if data.shape[0] in (1, 2) and data.shape[1] > 2:
        data = data.T
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    return data  # a view where it can be: the one copy is made when the channels are joined


def _join(parts: list[np.ndarray]) -> np.ndarray:
    """The channel groups side by side, as one contiguous float32 ``[frames, channels]`` array."""
    if len(parts) == 1:
        return np.ascontiguousarray(parts[0], dtype=np.float32)
    return np.concatenate(parts, axis=1).astype(np.float32, copy=False)
