"""A cover in one job: separate the song, convert its vocal with a voice model, mix it back.

::

    maker = CoverMaker(Converter(...), SeparationStage(...))
    result = maker.make_cover("song.flac", voice_model, "out/", ConversionParams(pitch=2),
                              CoverParams(stems=True), progress=print, cancel=event)

1. Separating: the song, decoded at its own rate and channels, is split into vocal and
   accompaniment (:class:`~inference.covers.stage.SeparationStage`; from the stem cache when
   this song went through the same models before), optionally with the reverb taken off the vocal.
2. Converting: the vocal goes through the pipeline's own ``Converter.convert_array`` (its
   analysis cache makes a second voice or pitch on the same vocal cheaper still).
3. Mixing: :func:`~inference.covers.remix.remix` at the song's rate, length and channels, under
   a -1 dBTP ceiling; then the cover (and the stems, when asked) are written under the output
   naming rule.

``progress(fraction, stage)`` reports one of :data:`STAGES`; a set ``cancel`` event raises
:class:`~inference.core.errors.Cancelled`. The job's parameters are a
:class:`~inference.pipeline.params.ConversionParams` plus a
:class:`~inference.covers.params.CoverParams`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.audio.naming import DEFAULT_TEMPLATE
from inference.core.errors import check_cancel
from inference.covers.output import SILENCE
from inference.covers.params import CoverParams
from inference.covers.remix import Remix, remix_cover
from inference.covers.separator import SeparationError, Stems
from inference.covers.stage import SeparationPlan, SeparationStage

log = logging.getLogger(__name__)

STAGES = ("Separating", "Converting", "Mixing")
_SEPARATE_END, _CONVERT_END = 0.55, 0.93  # where each stage ends on the job's progress bar


@dataclass
class CoverResult:
    """A finished cover: where it went, its stems (when asked), and what each step took."""

    output_path: Path
    duration: float  # seconds
    sample_rate: int
    stems: dict[str, Path] = field(default_factory=dict)
    stems_cached: bool = False  # the separation came from the stem cache
    scale: float = 1.0  # the ceiling's gain on the mix (1.0: it was below -1 dBTP)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class CoverAudio:
    """A cover in memory (what the window's preview and plots take)."""

    mix: np.ndarray  # [frames, channels] at ``rate``
    rate: int
    stems: Stems  # the separated vocal and accompaniment
    remix: Remix
    cached: bool


class _Progress:
    def __init__(self, callback: Callable[[float, str], None] | None) -> None:
        self.callback, self.last = callback, 0.0

    def __call__(self, fraction: float, stage: str) -> None:
        if self.callback is not None:
            self.last = max(self.last, min(1.0, float(fraction)))
            self.callback(self.last, stage)

    def span(self, lo: float, hi: float, stage: str) -> Callable[[float, str], None]:
        return lambda f, _s: self(lo + (hi - lo) * min(1.0, max(0.0, f)), stage)


class CoverMaker:
    """Makes covers with ``converter`` (an ``inference.pipeline.Converter``) and ``stage``.

    ``cover`` is used by :meth:`convert_file`, which has ``Converter.convert_file``'s signature
    so a batch written for conversions runs covers unchanged. Keep one per worker.
    """

    def __init__(self, converter: Any, stage: SeparationStage | None = None, cover: CoverParams | None = None) -> None:
        self.converter = converter
        self.stage = stage if stage is not None else SeparationStage()
        self.cover = CoverParams.coerce(cover or CoverParams())
        self.plan: SeparationPlan | None = None

    def prepare(self, cover: CoverParams | None = None) -> SeparationPlan:
        """Find the separation models now (fails with one line when one is missing)."""
        self.plan = self.stage.resolve(CoverParams.coerce(cover or self.cover))
        return self.plan

    def cover_array(
        self,
        song: np.ndarray,
        rate: int,
        model: Any,
        params: Any,
        cover: CoverParams | Mapping[str, Any] | None = None,
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
        plan: SeparationPlan | None = None,
    ) -> CoverAudio:
        """The cover of ``song`` (``[frames, channels]`` float32 at ``rate``), in memory."""
        from inference.pipeline.params import ConversionParams

        cover = CoverParams.coerce(cover if cover is not None else self.cover)
        params = ConversionParams.coerce(params)
        report = progress if isinstance(progress, _Progress) else _Progress(progress)
        song = np.asarray(song, dtype=np.float32)
        song = song[:, None] if song.ndim == 1 else song
        stems, cached = self.stage.stems(song, rate, cover, report.span(0.0, _SEPARATE_END, "Separating"), cancel, plan)
        check_cancel(cancel)
        if not np.any(np.abs(stems.vocal) > SILENCE):
            raise SeparationError("the separated vocal is silent: nothing to convert (is the song an instrumental?)")
        report(_SEPARATE_END, "Converting")
        # the converter's own output rate: the remix resamples once, to the song's rate
        at_model_rate = dataclasses.replace(params, output_sample_rate=None)
        converted, converted_rate = self.converter.convert_array(
            stems.vocal, rate, model, at_model_rate, report.span(_SEPARATE_END, _CONVERT_END, "Converting"), cancel
        )
        check_cancel(cancel)
        report(_CONVERT_END, "Mixing")
        mixed = remix_cover(converted, converted_rate, stems, cover, params.pitch)
        return CoverAudio(mixed.audio, int(rate), stems, mixed, cached)

    def make_cover(
        self,
        song_path: os.PathLike | str,
        model: Any,
        output_dir: os.PathLike | str,
        params: Any,
        cover: CoverParams | Mapping[str, Any] | None = None,
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
        name_template: str = DEFAULT_TEMPLATE,
    ) -> CoverResult:
        """Make the cover of a song file into ``output_dir`` (see the module docstring)."""
        from inference.audio import render_name
        from inference.covers.output import check_output_dir, decode_song, write_one, write_stems
        from inference.pipeline.job import resolve_model
        from inference.pipeline.params import ConversionParams

        t0 = time.perf_counter()
        cover = CoverParams.coerce(cover if cover is not None else self.cover)
        params = ConversionParams.coerce(params)
        song_path = Path(song_path).expanduser()
        out = check_output_dir(output_dir)
        _, _, model_name = resolve_model(model)
        name = render_name(
            name_template,
            name=song_path.stem,
            model=model_name,
            pitch=params.pitch,
            f0=params.f0_method,
            extension=params.output_format,
        )
        plan = self.plan if cover == self.cover and self.plan is not None else self.stage.resolve(cover)
        report = _Progress(progress)
        report(0.0, "Separating")
        song, rate = decode_song(song_path, cancel)
        decoded = time.perf_counter()
        try:
            made = self.cover_array(song, rate, model, params, cover, report, cancel, plan)
        except SeparationError as error:
            raise SeparationError(f"{song_path}: {error}") from None
        made_at = time.perf_counter()
        out_rate = int(params.output_sample_rate or rate)
        outputs = {"cover": made.mix}
        if cover.stems:
            outputs |= {
                "vocal": made.stems.vocal,
                "converted vocal": made.remix.vocal,
                "accompaniment": made.remix.accompaniment,
            }
        if out_rate != rate:
            from inference.audio import resample

            outputs = {label: resample(audio, rate, out_rate) for label, audio in outputs.items()}
        check_cancel(cancel)
        written = write_one(
            out, name, outputs.pop("cover"), out_rate, params.output_format, params.sample_format, params.bitrate
        )
        stems = write_stems(
            out, name, outputs, out_rate, params.output_format, params.sample_format, cancel, params.bitrate
        )
        report(1.0, "Mixing")
        done = time.perf_counter()
        timings = {"decode": decoded - t0, "cover": made_at - decoded, "write": done - made_at, "total": done - t0}
        return CoverResult(written, song.shape[0] / rate, out_rate, stems, made.cached, made.remix.scale, timings)

    def convert_file(
        self,
        input_path: os.PathLike | str,
        model: Any,
        output_dir: os.PathLike | str,
        params: Any,
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
        name_template: str = DEFAULT_TEMPLATE,
    ) -> CoverResult:
        """:meth:`make_cover` with this maker's ``cover``, under ``Converter.convert_file``'s signature."""
        return self.make_cover(input_path, model, output_dir, params, self.cover, progress, cancel, name_template)
