"""What the library knows about one voice model: :class:`VoiceModel`, and :class:`Changes`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from inference.core.errors import RVCError
from inference.models.config import FEATURE_DIMS

# The width of the features each model version takes, hence of the index it can use.
FEATURE_WIDTH = FEATURE_DIMS


class LibraryError(RVCError):
    """A model could not be found (or was ambiguous); the message lists what there is."""


@dataclass
class VoiceModel:
    """One model found in Replay's folder or a user's folder.

    ``ok`` is False when the model cannot be converted with (unreadable, unsupported);
    ``problems`` then says why. A missing or mismatched index is a problem too, but the model
    stays usable (the converter runs without an index, so ``index_path`` is None then).
    """

    id: str  # stable across rescans, unique across sources
    name: str  # display name: the model's folder name (a flat folder's: the file stem)
    source: str  # "replay" | "folder"
    root: str  # the model's folder (for a flat folder: the folder holding the file)
    model_path: str
    index_path: str | None = None
    index_width: int | None = None
    version: str | None = None  # "v1" | "v2"
    sample_rate: int | None = None
    f0: bool = True
    speakers: int = 1
    epochs: int | None = None
    info: str = ""
    author: str = ""
    embedder: str = ""
    vocoder: str = ""
    model_size: int = 0
    index_size: int | None = None
    problems: list[str] = field(default_factory=list)
    ok: bool = True

    @property
    def feature_width(self) -> int | None:
        """The width of the features (and index) the model takes: 256 (v1) or 768 (v2)."""
        return FEATURE_WIDTH.get(self.version or "")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (for ``--json`` and the library's cache)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VoiceModel:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Changes:
    """Model ids added, removed and changed since the previous scan or refresh."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)
