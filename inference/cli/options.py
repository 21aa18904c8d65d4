"""The convert command's conversion options: every range, default and choice from the one home
(:mod:`inference.pipeline.params`), the output's format and name, and ``--preset``.

A preset (:mod:`inference.pipeline.presets`) fills in what the command line leaves out: an
option given explicitly wins over the preset, whatever its value (``--pitch 0`` with a preset
of +12 converts at 0). Options record that they were given in ``args.given``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from inference.core.errors import RVCError
from inference.pipeline.params import (
    AUTOTUNE,
    BACKENDS,
    BITRATE,
    DEFAULT_BACKEND,
    DEFAULT_F0_METHOD,
    F0_METHODS,
    FILTER_RADIUS,
    FORMANT_QUEFRENCY,
    FORMANT_TIMBRE,
    INDEX_RATE,
    OUTPUT_FORMATS,
    OUTPUT_RATES,
    PITCH,
    PROTECT,
    RMS_MIX,
    SPEAKER,
    Range,
)

BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}  # the option's words for SAMPLE_FORMATS
# option dest -> the conversion parameter (and preset field) it sets
PARAM_OF = {
    "pitch": "pitch",
    "f0": "f0_method",
    "index_rate": "index_rate",
    "protect": "protect",
    "rms_mix": "rms_mix_rate",
    "autotune": "autotune",
    "formant_timbre": "formant_timbre",
    "formant_quefrency": "formant_quefrency",
}


class OptionError(RVCError):
    """Options that do not go together, or a preset that cannot be used."""


class Given(argparse.Action):
    """Store the value, and note in ``namespace.given`` that the user gave this option."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        setattr(namespace, self.dest, values)
        namespace.given = set(getattr(namespace, "given", ())) | {self.dest}


def number(kind: type, low: float | None, high: float | None, unit: str = "") -> Callable[[str], Any]:
    """An argparse ``type`` that parses ``kind`` and checks ``low <= value <= high``."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if value != value or (low is not None and value < low) or (high is not None and value > high):
            span = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({span}{unit})")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in some messages
    return parse


def ranged(spec: Range, unit: str = "") -> Callable[[str], Any]:
    """The argparse ``type`` for a parameter of :data:`inference.pipeline.params.RANGES`."""
    return number(int if spec.integer else float, spec.low, spec.high, unit)


def template(text: str) -> str:
    """The argparse ``type`` of ``--name``: a template the naming rule accepts."""
    from inference.audio.naming import NamingError, check_template

    try:
        return check_template(text)
    except NamingError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _ranged_option(p, option: str, spec: Range, metavar: str, text: str, unit: str = "") -> None:
    p.add_argument(option, type=ranged(spec, unit), default=spec.default, metavar=metavar, action=Given, help=text)


def add_conversion_options(p: argparse.ArgumentParser) -> None:
    """The options that set :class:`~inference.pipeline.params.ConversionParams` and the output."""
    from inference.audio.naming import DEFAULT_TEMPLATE, PLACEHOLDERS

    _ranged_option(
        p,
        "--pitch",
        PITCH,
        "N",
        f"pitch shift in semitones, {PITCH.low:g} to {PITCH.high:g}, fractions allowed (default {PITCH.default:g})",
        " semitones",
    )
    p.add_argument(
        "--f0",
        choices=F0_METHODS,
        default=DEFAULT_F0_METHOD,
        action=Given,
        help=f"pitch detector (default {DEFAULT_F0_METHOD})",
    )
    _ranged_option(
        p,
        "--index-rate",
        INDEX_RATE,
        "R",
        f"how much of the index's features to blend in, {INDEX_RATE.low:g} to {INDEX_RATE.high:g} "
        f"(default {INDEX_RATE.default:g})",
    )
    _ranged_option(
        p,
        "--protect",
        PROTECT,
        "P",
        f"protect consonants and breaths, {PROTECT.low:g} to {PROTECT.high:g}; {PROTECT.high:g} "
        f"turns it off (default {PROTECT.default:g})",
    )
    _ranged_option(
        p,
        "--rms-mix",
        RMS_MIX,
        "R",
        f"{RMS_MIX.high:g} keeps the output's own loudness, {RMS_MIX.low:g} follows the input's "
        f"(default {RMS_MIX.default:g})",
    )
    _ranged_option(
        p,
        "--autotune",
        AUTOTUNE,
        "S",
        f"pull the pitch toward the nearest semitone, {AUTOTUNE.low:g} (off) to {AUTOTUNE.high:g} (on the note) "
        f"(default {AUTOTUNE.default:g})",
    )
    _ranged_option(
        p,
        "--formant-timbre",
        FORMANT_TIMBRE,
        "F",
        f"formant shift of the input: above 1 brighter (toward a higher voice), below 1 darker, "
        f"{FORMANT_TIMBRE.low:g} to {FORMANT_TIMBRE.high:g} (default {FORMANT_TIMBRE.default:g}: no shift)",
    )
    _ranged_option(
        p,
        "--formant-quefrency",
        FORMANT_QUEFRENCY,
        "MS",
        f"how smooth the formant envelope is, in ms, {FORMANT_QUEFRENCY.low:g} to {FORMANT_QUEFRENCY.high:g} "
        f"(default {FORMANT_QUEFRENCY.default:g})",
        " ms",
    )
    _ranged_option(
        p,
        "--filter-radius",
        FILTER_RADIUS,
        "N",
        f"median filter radius for the pitch curve, {FILTER_RADIUS.low:g} to {FILTER_RADIUS.high:g} "
        f"(default {FILTER_RADIUS.default:g})",
    )
    _ranged_option(p, "--speaker", SPEAKER, "N", f"speaker id of a multi-speaker model (default {SPEAKER.default:g})")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="synthesizer: auto picks MLX on Apple Silicon, torch elsewhere",
    )
    p.add_argument(
        "--preset",
        metavar="NAME",
        default=None,
        help="start from a saved preset (the window's, or one imported from Applio); options given here win",
    )
    p.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default=OUTPUT_FORMATS[0],
        help=f"output format (default {OUTPUT_FORMATS[0]}; ogg is Opus)",
    )
    p.add_argument(
        "--bitrate",
        type=ranged(BITRATE, " kbit/s"),
        default=BITRATE.default,
        metavar="KBPS",
        help=f"bit rate of mp3, m4a and ogg outputs, {BITRATE.low:g} to {BITRATE.high:g} kbit/s "
        f"(default {BITRATE.default:g})",
    )
    p.add_argument("--bit-depth", choices=tuple(BIT_DEPTHS), default="16", help="16, 24 or 32f (float; wav only)")
    p.add_argument(
        "--name",
        type=template,
        default=DEFAULT_TEMPLATE,
        metavar="TEMPLATE",
        help=f"output file name, from {', '.join('{' + n + '}' for n in PLACEHOLDERS)} "
        f"(default {DEFAULT_TEMPLATE!r}; an existing file is never replaced: (2), (3)... is added)",
    )
    p.add_argument(
        "--sample-rate",
        type=number(int, *OUTPUT_RATES, " Hz"),
        default=None,
        metavar="SR",
        help="output sample rate (default: the model's; mp3 and m4a take no 40 kHz, ogg only 48 kHz: "
        "the nearest higher rate is used)",
    )
    p.add_argument(
        "--seed",
        type=number(int, 0, 2**32 - 1),
        default=None,
        metavar="N",
        help="make the output bit-reproducible on this machine and backend",
    )


def preset_values(args: argparse.Namespace, store: Any = None) -> dict[str, Any]:
    """The values of ``--preset`` (none without it); :class:`OptionError` when it is not found."""
    name = getattr(args, "preset", None)
    if not name:
        return {}
    from inference.pipeline.presets import PresetError, PresetStore

    try:
        return (store or PresetStore()).get(name)
    except PresetError as error:
        raise OptionError(f"--preset: {error}") from None


def params_values(args: argparse.Namespace, store: Any = None) -> dict[str, Any]:
    """The ``ConversionParams`` keyword arguments the command line asks for (a preset's values
    where an option was not given)."""
    if args.format == "flac" and args.bit_depth == "32f":
        raise OptionError("--bit-depth 32f needs --format wav (FLAC holds 16 or 24-bit samples)")
    given = getattr(args, "given", set())
    values = dict(
        filter_radius=int(args.filter_radius),
        speaker_id=int(args.speaker),
        backend=args.backend,
        output_sample_rate=args.sample_rate,
        output_format=args.format,
        sample_format=BIT_DEPTHS[args.bit_depth],
        bitrate=int(args.bitrate),
        seed=args.seed,  # fixes the synthesizer's noise: same bytes on the same machine and backend
    )
    preset = preset_values(args, store)
    for dest, name in PARAM_OF.items():
        value = getattr(args, dest)
        values[name] = preset[name] if name in preset and dest not in given else value
    for name in ("pitch", "index_rate", "protect", "rms_mix_rate", "autotune", "formant_timbre", "formant_quefrency"):
        values[name] = float(values[name])
    return values
