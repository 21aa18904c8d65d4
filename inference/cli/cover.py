"""``rvc-studio convert SONG -m MODEL -o OUT --separate [...]``: covers on the convert command.

Kept apart from :mod:`inference.cli.convert` so that the convert command needs only three hooks:
:func:`add_arguments` adds the options, :func:`prepare` checks them and finds the separation
models before anything is written (a missing model: one line naming the file, every place
searched and the download command; exit 1), and :func:`job` gives the call the batch makes per
file (``Converter.convert_file`` or ``CoverMaker.convert_file``, one signature).
:func:`outputs` lists what a finished job wrote, the cover first.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError
from inference.covers.params import ACCOMPANIMENT_GAIN, VOCAL_GAIN, CoverParams

COVER_ONLY = ("dereverb", "stems", "vocal_gain", "accompaniment_gain", "transpose_accompaniment", "separator_model")


def decibels(low: float, high: float):
    """An argparse ``type``: a number of dB between ``low`` and ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g} to {high:g} dB)")
        return value

    parse.__name__ = "float"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cover options of ``convert``."""
    group = parser.add_argument_group("covers (separate the vocal, convert it, mix it back with the band)")
    group.add_argument("--separate", action="store_true", help="make a cover: convert only the song's vocal")
    group.add_argument("--dereverb", action="store_true", help="take reverb and echo off the vocal first")
    group.add_argument("--stems", action="store_true", help="also write the vocal, converted vocal and accompaniment")
    for spec, flag, what in (
        (VOCAL_GAIN, "--vocal-gain", "vocal"),
        (ACCOMPANIMENT_GAIN, "--accompaniment-gain", "band"),
    ):
        group.add_argument(
            flag,
            type=decibels(spec.low, spec.high),
            default=None,
            metavar="DB",
            help=f"the {what}'s gain in dB, {spec.low:g} to {spec.high:g} (default {spec.default:g})",
        )
    group.add_argument(
        "--transpose-accompaniment", action="store_true", help="shift the band by --pitch too (as Replay offers)"
    )
    group.add_argument(
        "--separator-model",
        metavar="NAME|PATH",
        help="the separation model (default: UVR-MDX-NET-Voc_FT, else the best one found; see `rvc-studio weights`)",
    )
    group.add_argument(
        "--separator-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="another folder of separation models (repeatable)",
    )


def cover_params(args: argparse.Namespace) -> CoverParams:
    return CoverParams(
        separator_model=args.separator_model,
        dereverb=args.dereverb,
        vocal_gain_db=VOCAL_GAIN.default if args.vocal_gain is None else args.vocal_gain,
        accompaniment_gain_db=ACCOMPANIMENT_GAIN.default
        if args.accompaniment_gain is None
        else args.accompaniment_gain,
        transpose_accompaniment=args.transpose_accompaniment,
        stems=args.stems,
    )


def prepare(args: argparse.Namespace) -> Any:
    """None without ``--separate``; else the cover's stage and plan, its models found now."""
    if not getattr(args, "separate", False):
        given = [name for name in COVER_ONLY if getattr(args, name, None) not in (None, False)]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise RVCError(f"{flag} needs --separate (it makes a cover)")
        return None
    from inference.covers.stage import SeparationStage

    cover = cover_params(args)
    stage = SeparationStage(args.separator_dir)
    return stage, cover, stage.resolve(cover)


def job(prepared: Any, converter: Any):
    """The per-file call: ``converter.convert_file``, or a cover maker's with the same signature."""
    if prepared is None:
        return converter.convert_file
    from inference.covers.cover import CoverMaker

    stage, cover, plan = prepared
    maker = CoverMaker(converter, stage, cover)
    maker.plan = plan
    return maker.convert_file


def outputs(result: Any) -> list[Path]:
    """The files a job wrote: the output (the cover) first, then its stems."""
    return [result.output_path, *getattr(result, "stems", {}).values()]
