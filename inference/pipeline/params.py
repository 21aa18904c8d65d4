"""What a conversion is asked to do (:class:`ConversionParams`) and what it reports back.

The one home of every conversion parameter's range, default and step (:data:`RANGES`), and of
the choices (pitch methods, backends, formats, sample formats, re-exported from the stages that
own them). The command line's options, the settings' validation and the window's sliders all
read them from here. Light on purpose (numpy, no heavy imports): the GUI imports it at start-up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from inference.audio.encode import ENCODED_FORMATS
from inference.audio.write import WRITE_FORMATS, WRITE_SUBTYPES
from inference.core.errors import RVCError
from inference.f0 import F0_METHODS
from inference.synth.backends import BACKENDS

OUTPUT_FORMATS = (*WRITE_FORMATS, *ENCODED_FORMATS)  # wav, flac (soundfile); mp3, m4a, ogg (PyAV)
LOSSY_FORMATS = tuple(ENCODED_FORMATS)  # the ones a bit rate applies to
SAMPLE_FORMATS = WRITE_SUBTYPES
OUTPUT_RATES = (8000, 192000)


@dataclass(frozen=True)
class Range:
    """One numeric parameter: its default, its bounds (``high`` None: unbounded) and a step the
    controls move by."""

    name: str
    default: float
    low: float
    high: float | None
    step: float
    integer: bool = False

    def clamp(self, value: float) -> float:
        value = max(self.low, value if self.high is None else min(self.high, value))
        return int(round(value)) if self.integer else float(value)


PITCH = Range("pitch", 0.0, -24.0, 24.0, 1.0)  # semitones; fractions allowed
INDEX_RATE = Range("index_rate", 0.75, 0.0, 1.0, 0.05)
# RVC's own interface offers 0..0.5: below 0.5 unvoiced frames keep that share of the features
# from before the index blend; 0.5 turns protection off.
PROTECT = Range("protect", 0.35, 0.0, 0.5, 0.05)
RMS_MIX = Range("rms_mix_rate", 1.0, 0.0, 1.0, 0.05)
FILTER_RADIUS = Range("filter_radius", 3, 0, 7, 1, integer=True)  # > 2 median-filters Harvest's pitch
SPEAKER = Range("speaker_id", 0, 0, None, 1, integer=True)
# Snap the shifted pitch toward the nearest semitone: 0 off, 1 fully on the note.
AUTOTUNE = Range("autotune", 0.0, 0.0, 1.0, 0.05)
# Formant shift of the input before analysis (Applio's): the spectral envelope is stretched by
# the timbre factor (1: no shift, the step is skipped); quefrency (ms) sets how smooth that
# envelope is (the cepstral lifter's cut-off).
FORMANT_TIMBRE = Range("formant_timbre", 1.0, 0.5, 2.0, 0.05)
FORMANT_QUEFRENCY = Range("formant_quefrency", 1.0, 0.5, 16.0, 0.1)
BITRATE = Range("bitrate", 192, 32, 320, 32, integer=True)  # kbit/s of mp3, m4a and ogg outputs
RANGES: dict[str, Range] = {
    r.name: r
    for r in (
        PITCH,
        INDEX_RATE,
        PROTECT,
        RMS_MIX,
        FILTER_RADIUS,
        SPEAKER,
        AUTOTUNE,
        FORMANT_TIMBRE,
        FORMANT_QUEFRENCY,
        BITRATE,
    )
}
DEFAULT_F0_METHOD = "rmvpe"
DEFAULT_BACKEND = "auto"


# The parameters the window's panel edits (and the queue stores per job), with their defaults.
PANEL_RANGES = tuple(
    RANGES[name]
    for name in ("pitch", "index_rate", "protect", "rms_mix_rate", "autotune", "formant_timbre", "formant_quefrency")
)
PARAM_DEFAULTS: dict[str, Any] = {
    **{spec.name: spec.default for spec in PANEL_RANGES},
    "f0_method": DEFAULT_F0_METHOD,
    "backend": DEFAULT_BACKEND,
}


def clean_params(values: Any, backend: str = DEFAULT_BACKEND) -> dict[str, Any]:
    """Parameter values with every key present, each of the right type and in range: a value
    that is missing, of the wrong type or not finite gets its default, one out of range is
    clamped into it."""
    out = dict(PARAM_DEFAULTS, backend=backend if backend in BACKENDS else DEFAULT_BACKEND)
    values = values if isinstance(values, dict) else {}
    if values.get("f0_method") in F0_METHODS:
        out["f0_method"] = values["f0_method"]
    if values.get("backend") in BACKENDS:
        out["backend"] = values["backend"]
    for spec in PANEL_RANGES:
        value = values.get(spec.name)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            continue
        try:
            number = float(value)
        except ValueError:
            continue
        if math.isfinite(number):
            out[spec.name] = spec.clamp(number)
    return out


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

    The numbers' ranges are :data:`RANGES`: ``pitch`` in semitones, -24..24 (fractional allowed);
    ``index_rate``, ``rms_mix_rate``: 0..1; ``protect``: 0..0.5 (0.5: off); ``filter_radius``:
    0..7 (> 2 median-filters Harvest's pitch); ``speaker_id``: >= 0. ``f0_method``: one of
    :data:`F0_METHODS`; ``backend``: one of :data:`BACKENDS`. ``output_sample_rate``: None (the model's) or a rate.
    ``output_format``: one of :data:`OUTPUT_FORMATS`; ``sample_format``: PCM_16 | PCM_24 | FLOAT (wav; flac
    takes no FLOAT; mp3, m4a and ogg ignore it).
    ``autotune``: 0..1, how far the shifted pitch moves toward the nearest semitone (0: off).
    ``formant_timbre``: 0.5..2 (1: off) and ``formant_quefrency``: ms, the input's formant shift.
    ``bitrate``: kbit/s for mp3, m4a and ogg.
    ``seed``: fixes the synthesizer's noise (reproducible output); ``deterministic``: no noise.
    Values are checked (and numbers coerced) on creation: a bad one raises :class:`ParameterError`.
    """

    pitch: float = PITCH.default
    f0_method: str = DEFAULT_F0_METHOD
    index_rate: float = INDEX_RATE.default
    protect: float = PROTECT.default
    rms_mix_rate: float = RMS_MIX.default
    filter_radius: int = FILTER_RADIUS.default
    speaker_id: int = SPEAKER.default
    autotune: float = AUTOTUNE.default
    formant_timbre: float = FORMANT_TIMBRE.default
    formant_quefrency: float = FORMANT_QUEFRENCY.default
    backend: str = DEFAULT_BACKEND
    output_sample_rate: int | None = None
    output_format: str = "wav"
    sample_format: str = "PCM_16"
    bitrate: int = BITRATE.default
    seed: int | None = None
    deterministic: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> ConversionParams:
        """Coerce numbers and names to their kinds and check ranges; returns ``self``."""
        for spec in RANGES.values():
            value = (_integer if spec.integer else _number)(spec.name, getattr(self, spec.name))
            if spec.high is None and value < spec.low:
                raise ParameterError(f"{spec.name} must be {spec.low:g} or more, got {value:g}")
            if spec.high is not None:
                _within(spec.name, value, spec.low, spec.high)
            setattr(self, spec.name, value)
        self.f0_method = str(self.f0_method).strip().lower()
        if self.f0_method not in F0_METHODS:
            raise ParameterError(f"unknown pitch method {self.f0_method!r}; choose one of {', '.join(F0_METHODS)}")
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
            raise ParameterError(
                f"unknown output format {self.output_format!r}; choose one of {', '.join(OUTPUT_FORMATS)}"
            )
        self.sample_format = str(self.sample_format).strip().upper()
        if self.sample_format not in SAMPLE_FORMATS:
            raise ParameterError(
                f"unknown sample format {self.sample_format!r}; choose one of {', '.join(SAMPLE_FORMATS)}"
            )
        if self.output_format == "flac" and self.sample_format == "FLOAT":
            raise ParameterError("FLAC cannot hold float samples; choose PCM_16 or PCM_24 (or wav)")
        if self.seed is not None:
            self.seed = _integer("seed", self.seed)
            if self.seed < 0:
                raise ParameterError(f"seed must be 0 or more, got {self.seed}")
        self.deterministic = bool(self.deterministic)
        return self

    @classmethod
    def coerce(cls, value: ConversionParams | Mapping[str, Any]) -> ConversionParams:
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
