"""The separation stage as the cover job and ``rvc-studio separate`` use it: which models, the
opened separators (kept between jobs), the stem cache, and the stems written as files.

- :meth:`SeparationStage.resolve` finds the models a cover needs before any work, so a missing
  model fails at once with one line (what is missing, where we looked, how to download it).
- :meth:`SeparationStage.stems` separates a song (and takes the reverb off its vocal when
  asked), or reads the stems from the cache when this song went through the same models and
  settings before.
- :meth:`SeparationStage.separate_file` writes a song's vocal and accompaniment.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inference.core.errors import check_cancel
from inference.covers.cache import StemCache, song_key, stem_cache_root
from inference.covers.find import SeparationModelFile, default_hash_memo, find_model
from inference.covers.params import CoverParams
from inference.covers.separator import SeparationSettings, Separator, Stems

log = logging.getLogger(__name__)

CODE_VERSION = {"mdx_onnx": 1, "vr": 1, "mss": 1}  # bump when a family's output changes
Report = Callable[[float, str], None]  # (fraction of the separation, stage name)


def open_separator(model: SeparationModelFile, purpose: str, settings: SeparationSettings) -> Separator:
    """The separator for a model file found by :func:`inference.covers.find.find_model`."""
    from inference.core.filecache import remembered_sha256

    memo = default_hash_memo().parent / "sha256"
    digest = remembered_sha256(model.path, memo)
    if model.config is not None:
        digest += "+" + remembered_sha256(model.config, memo)
    identity = f"{model.family}-v{CODE_VERSION[model.family]}:{digest}:{purpose}:{settings.key()}"
    if model.family == "mdx_onnx":
        from inference.covers.mdx import MdxOnnxSeparator

        return MdxOnnxSeparator(model.path, purpose, settings, identity, digest=model.uvr_hash)
    from inference.covers.mss import PymssSeparator

    return PymssSeparator(model.path, purpose, settings, identity, model.config)


@dataclass
class SeparationPlan:
    """The models a cover will use (``None``: a separator given to the stage directly)."""

    vocals: SeparationModelFile | None
    dereverb: SeparationModelFile | None = None


@dataclass
class SeparatedFiles:
    """What ``separate_file`` wrote."""

    stems: dict[str, Path]
    duration: float
    sample_rate: int
    cached: bool
    model: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def output_path(self) -> Path:  # the batch loop of the command line prints this first
        return self.stems["vocal"]


class SeparationStage:
    """Models found in the usual places plus ``separator_dirs``; stems cached in ``cache``.

    ``fixed`` maps a purpose (``"vocals"``, ``"dereverb"``) to a separator to use instead of a
    model file (a stand-in in tests, or one the caller opened). Used by one thread at a time.
    """

    def __init__(
        self,
        separator_dirs: Sequence[os.PathLike | str] = (),
        cache: StemCache | None = None,
        *,
        fixed: Mapping[str, Separator] | None = None,
        max_open: int = 2,
    ) -> None:
        self.separator_dirs = tuple(Path(d).expanduser() for d in separator_dirs if str(d).strip())
        self.cache = cache if cache is not None else StemCache(stem_cache_root())
        self.fixed = dict(fixed or {})
        self.max_open = max(1, int(max_open))
        self._open: OrderedDict[tuple, Separator] = OrderedDict()
        self.stats = {"separate": 0, "dereverb": 0, "cached": 0}

    def resolve(self, cover: CoverParams) -> SeparationPlan:
        """The models ``cover`` needs, found now (:class:`~inference.covers.find.SeparatorNotFound`)."""
        vocals = None if "vocals" in self.fixed else find_model(cover.separator_model, "vocals", self.separator_dirs)
        dereverb = None
        if cover.dereverb and "dereverb" not in self.fixed:
            dereverb = find_model(cover.dereverb_model, "dereverb", self.separator_dirs)
        return SeparationPlan(vocals, dereverb)

    def separator(self, model: SeparationModelFile | None, purpose: str, settings: SeparationSettings) -> Separator:
        """An opened separator for ``model`` (kept: the next song reuses it)."""
        if model is None:
            return self.fixed[purpose]
        key = (str(model.path), purpose, settings)
        if key in self._open:
            self._open.move_to_end(key)
            return self._open[key]
        separator = open_separator(model, purpose, settings)
        self._open[key] = separator
        while len(self._open) > self.max_open:
            _, old = self._open.popitem(last=False)
            old.close()
        return separator

    def stems(
        self,
        song: np.ndarray,
        rate: int,
        cover: CoverParams,
        report: Report | None = None,
        cancel=None,
        plan: SeparationPlan | None = None,
    ) -> tuple[Stems, bool]:
        """``(stems, from the cache)`` of ``song`` (``[frames, channels]`` at ``rate``)."""
        plan = plan or self.resolve(cover)
        settings = cover.settings()
        vocals = self.separator(plan.vocals, "vocals", settings)
        dereverb = self.separator(plan.dereverb, "dereverb", settings) if cover.dereverb else None
        identities = [vocals.identity] + ([dereverb.identity] if dereverb is not None else [])
        key = song_key(song, rate, *identities)
        cached = self.cache.get(key)
        if cached is not None:
            self.stats["cached"] += 1
            if report is not None:
                report(1.0, "Separating")
            return cached, True
        share = 0.75 if dereverb is not None else 1.0

        def first(fraction: float) -> None:
            if report is not None:
                report(share * fraction, "Separating")

        stems = vocals.separate(song, rate, first, cancel)
        self.stats["separate"] += 1
        if dereverb is not None:
            check_cancel(cancel)

            def second(fraction: float) -> None:
                if report is not None:
                    report(share + (1.0 - share) * fraction, "Separating")

            dry = dereverb.separate(stems.vocal, rate, second, cancel)
            self.stats["dereverb"] += 1
            # The reverb taken off the original singer is dropped: it would carry their voice.
            stems = Stems(dry.vocal, stems.accompaniment, rate)
        self.cache.put(key, stems)
        return stems, False

    def separate_file(
        self,
        song_path: os.PathLike | str,
        output_dir: os.PathLike | str,
        cover: CoverParams | None = None,
        output_format: str = "wav",
        sample_format: str = "PCM_16",
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
        plan: SeparationPlan | None = None,
    ) -> SeparatedFiles:
        """Write ``song``'s vocal and accompaniment into ``output_dir`` at the song's rate."""
        import time

        from inference.audio import render_name
        from inference.covers.output import check_output_dir, decode_song, write_stems

        cover = cover or CoverParams()
        plan = plan or self.resolve(cover)
        song_path, out = Path(song_path).expanduser(), check_output_dir(output_dir)
        t0 = time.perf_counter()
        song, rate = decode_song(song_path, cancel)
        decoded = time.perf_counter()
        stems, cached = self.stems(
            song, rate, cover, (lambda f, s: progress(0.95 * f, s)) if progress else None, cancel, plan
        )
        separated = time.perf_counter()
        if progress is not None:
            progress(0.95, "Writing")
        base = render_name("{name}", name=song_path.stem, model="", extension=output_format)
        written = write_stems(
            out,
            base,
            {"vocal": stems.vocal, "accompaniment": stems.accompaniment},
            rate,
            output_format,
            sample_format,
            cancel,
        )
        if progress is not None:
            progress(1.0, "Writing")
        model = plan.vocals.path.name if plan.vocals is not None else self.fixed["vocals"].name
        timings = {"decode": decoded - t0, "separate": separated - decoded, "write": time.perf_counter() - separated}
        return SeparatedFiles(written, song.shape[0] / rate, rate, cached, model, timings)

    def close(self) -> None:
        while self._open:
            _, separator = self._open.popitem(last=False)
            separator.close()
