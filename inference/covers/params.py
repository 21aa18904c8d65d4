"""What a cover is asked to do besides the conversion: :class:`CoverParams`, with the ranges of
its numbers (the one home the command line, the settings and the window read). Light on
purpose, like :mod:`inference.pipeline.params`: the window imports it at start-up, and a queued
job stores it with :meth:`CoverParams.to_dict` and reads it back with :meth:`CoverParams.coerce`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from inference.pipeline.params import ParameterError, Range

VOCAL_GAIN = Range("vocal_gain_db", 0.0, -24.0, 12.0, 0.5)
ACCOMPANIMENT_GAIN = Range("accompaniment_gain_db", 0.0, -24.0, 12.0, 0.5)
OVERLAP = Range("overlap", 0.25, 0.0, 0.95, 0.05)  # shown when the user overrides the model's own
COVER_RANGES: dict[str, Range] = {r.name: r for r in (VOCAL_GAIN, ACCOMPANIMENT_GAIN)}
# The stem cache's bound (Settings): GB of separated stems kept, least recently used out first;
# 4 GB holds about 20 five-minute stereo songs at 44.1 kHz.
STEM_CACHE_GB = Range("stem_cache_gb", 4.0, 0.0, 200.0, 1.0)
STEM_NAMES = ("vocal", "converted vocal", "accompaniment")  # the stems a cover can write, in order


@dataclass
class CoverParams:
    """A cover's own settings. ``separator_model``: a model's name or file (None: the default, or
    the best one found); ``dereverb``: a second pass that takes reverb and echo off the vocal
    before conversion (off by default), with ``dereverb_model``; gains in dB (:data:`COVER_RANGES`);
    ``transpose_accompaniment``: shift the band by the conversion's pitch; ``stems``: also write
    the vocal, the converted vocal and the accompaniment; ``overlap`` / ``denoise`` / ``device``:
    how the separator runs (:class:`inference.covers.separator.SeparationSettings`)."""

    separator_model: str | None = None
    dereverb: bool = False
    dereverb_model: str | None = None
    vocal_gain_db: float = VOCAL_GAIN.default
    accompaniment_gain_db: float = ACCOMPANIMENT_GAIN.default
    transpose_accompaniment: bool = False
    stems: bool = False
    overlap: float | None = None
    denoise: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> CoverParams:
        for spec in COVER_RANGES.values():
            value = getattr(self, spec.name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParameterError(f"{spec.name} must be a number, got {value!r}") from None
            if not math.isfinite(value) or not spec.low <= value <= spec.high:
                raise ParameterError(f"{spec.name} must be between {spec.low:g} and {spec.high:g} dB, got {value!r}")
            setattr(self, spec.name, value)
        for name in ("separator_model", "dereverb_model"):
            value = getattr(self, name)
            setattr(self, name, None if value is None else (str(value).strip() or None))
        if self.overlap is not None:
            try:
                self.overlap = float(self.overlap)
            except (TypeError, ValueError):
                raise ParameterError(f"overlap must be a number, got {self.overlap!r}") from None
            if not OVERLAP.low <= self.overlap <= OVERLAP.high:
                raise ParameterError(
                    f"overlap must be between {OVERLAP.low:g} and {OVERLAP.high:g}, got {self.overlap:g}"
                )
        self.device = str(self.device).strip().lower()
        if self.device not in ("auto", "cpu"):
            raise ParameterError(f"unknown separation device {self.device!r}; choose auto or cpu")
        for name in ("dereverb", "transpose_accompaniment", "stems", "denoise"):
            setattr(self, name, bool(getattr(self, name)))
        return self

    def settings(self):
        """The separator's settings (what, with the model, keys the stem cache)."""
        from inference.covers.separator import SeparationSettings

        return SeparationSettings(overlap=self.overlap, denoise=self.denoise, device=self.device)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def coerce(cls, value: CoverParams | Mapping[str, Any]) -> CoverParams:
        """``value`` re-validated, or params built from a mapping (unknown keys refused)."""
        if isinstance(value, cls):
            return value.validate()
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - {f.name for f in fields(cls)})
            if unknown:
                raise ParameterError(f"unknown cover parameter(s): {', '.join(unknown)}")
            return cls(**dict(value))
        raise ParameterError(f"expected CoverParams or a mapping, got {type(value).__name__}")


def clean_cover(values: Any) -> dict[str, Any]:
    """A cover's settings as a plain dict with every field present and valid, read field by field
    (what the window's settings and a queued job store): a missing value or one of the wrong kind
    gets its default, a gain out of range is clamped into it."""
    out = CoverParams().to_dict()
    if not isinstance(values, Mapping):
        return out
    for spec in COVER_RANGES.values():
        value = values.get(spec.name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[spec.name] = spec.clamp(float(value))
    for name in ("dereverb", "transpose_accompaniment", "stems", "denoise"):
        if isinstance(values.get(name), bool):
            out[name] = values[name]
    for name in ("separator_model", "dereverb_model"):
        value = values.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = value.strip()
    overlap = values.get("overlap")
    if isinstance(overlap, (int, float)) and not isinstance(overlap, bool) and OVERLAP.low <= overlap <= OVERLAP.high:
        out["overlap"] = float(overlap)
    if values.get("device") in ("auto", "cpu"):
        out["device"] = values["device"]
    return out
