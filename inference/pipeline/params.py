"""What a conversion is asked to do (:class:`ConversionParams`) and what it reports back.

Light on purpose (numpy-free, no heavy imports): the GUI builds these from its panel's values.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError

F0_METHODS = ("rmvpe", "fcpe", "harvest")  # the same as inference.f0.F0_METHODS
BACKENDS = ("auto", "mlx", "torch")
OUTPUT_FORMATS = ("wav", "flac")
SAMPLE_FORMATS = ("PCM_16", "PCM_24", "FLOAT")
PITCH_RANGE = 24.0
MAX_FILTER_RADIUS = 7
OUTPUT_RATES = (8000, 192000)


class ParameterError(RVCError):
    """A conversion parameter out of range or of the wrong kind (the message names it)."""


def _number(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(out):
        raise ParameterError(f"{name} must be a finite number, got {value!r}")
    return out


def _integer(name: str, value: Any) -> int:
    number = _number(name, value)
    if number != int(number):
        raise ParameterError(f"{name} must be a whole number, got {value!r}")
    return int(number)


def _within(name: str, value: float, lo: float, hi: float) -> None:
    if not lo <= value <= hi:
        raise ParameterError(f"{name} must be between {lo:g} and {hi:g}, got {value:g}")


@dataclass
class ConversionParams:
    """The user's settings for one conversion, with Replay's defaults.

    ``pitch``: semitones, -24..24 (fractional allowed). ``f0_method``: rmvpe | fcpe | harvest.
    ``index_rate``, ``rms_mix_rate``: 0..1. ``protect``: 0..1 (0.5 and above: off).
    ``filter_radius``: 0..7 (> 2 median-filters Harvest's pitch). ``speaker_id``: >= 0.
    ``backend``: auto | mlx | torch. ``output_sample_rate``: None (the model's) or a rate.
    ``output_format``: wav | flac; ``sample_format``: PCM_16 | PCM_24 | FLOAT (not for flac).
    ``seed``: fixes the synthesizer's noise (reproducible output); ``deterministic``: no noise.
    Values are checked (and numbers coerced) on creation: a bad one raises :class:`ParameterError`.
    """

    pitch: float = 0.0
    f0_method: str = "rmvpe"
    index_rate: float = 0.75
    protect: float = 0.35
    rms_mix_rate: float = 1.0
    filter_radius: int = 3
    speaker_id: int = 0
    backend: str = "auto"
    output_sample_rate: int | None = None
    output_format: str = "wav"
    sample_format: str = "PCM_16"
    seed: int | None = None
    deterministic: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "ConversionParams":
        """Coerce numbers and names to their kinds and check ranges; returns ``self``."""
        self.pitch = _number("pitch", self.pitch)
        _within("pitch", self.pitch, -PITCH_RANGE, PITCH_RANGE)
        self.f0_method = str(self.f0_method).strip().lower()
        if self.f0_method not in F0_METHODS:
            raise ParameterError(f"unknown pitch method {self.f0_method!r}; choose one of {', '.join(F0_METHODS)}")
        for name in ("index_rate", "protect", "rms_mix_rate"):
            value = _number(name, getattr(self, name))
            _within(name, value, 0.0, 1.0)
            setattr(self, name, value)
        self.filter_radius = _integer("filter_radius", self.filter_radius)
        _within("filter_radius", self.filter_radius, 0, MAX_FILTER_RADIUS)
        self.speaker_id = _integer("speaker_id", self.speaker_id)
        if self.speaker_id < 0:
            raise ParameterError(f"speaker_id must be 0 or more, got {self.speaker_id}")
        self.backend = str(self.backend).strip().lower()
        if self.backend not in BACKENDS:
            raise ParameterError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        if self.output_sample_rate in ("", 0):
            self.output_sample_rate = None
        if self.output_sample_rate is not None:
            self.output_sample_rate = _integer("output_sample_rate", self.output_sample_rate)
            _within("output_sample_rate", self.output_sample_rate, *OUTPUT_RATES)
        self.output_format = str(self.output_format).strip().lower().lstrip(".")
        if self.output_format not in OUTPUT_FORMATS:
            raise ParameterError(f"unknown output format {self.output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}")
        self.sample_format = str(self.sample_format).strip().upper()
        if self.sample_format not in SAMPLE_FORMATS:
            raise ParameterError(f"unknown sample format {self.sample_format!r}; choose one of {', '.join(SAMPLE_FORMATS)}")
        if self.output_format == "flac" and self.sample_format == "FLOAT":
            raise ParameterError("FLAC cannot hold float samples; choose PCM_16 or PCM_24 (or wav)")
        if self.seed is not None:
            self.seed = _integer("seed", self.seed)
            if self.seed < 0:
                raise ParameterError(f"seed must be 0 or more, got {self.seed}")
        self.deterministic = bool(self.deterministic)
        return self

    @classmethod
    def coerce(cls, value: "ConversionParams | Mapping[str, Any]") -> "ConversionParams":
        """``value`` itself (re-validated) or params built from a mapping (unknown keys refused)."""
        if isinstance(value, cls):
            return value.validate()
        if isinstance(value, Mapping):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ParameterError(f"unknown conversion parameter(s): {', '.join(unknown)}")
            return cls(**dict(value))
        raise ParameterError(f"expected ConversionParams or a mapping, got {type(value).__name__}")


@dataclass
class ConversionResult:
    """A finished file conversion: where it went, how long it is, what each stage took."""

    output_path: Path
    duration: float  # seconds of audio written
    timings: dict[str, float]  # seconds per stage: load, decode, embed, f0, retrieval, synth, write, total
    sample_rate: int
