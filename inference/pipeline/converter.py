"""The conversion pipeline: one place that strings decode, analysis, retrieval and synthesis together.

Use::

    conv = Converter(weights_dirs=[...], cache_dir=...)          # keep one per worker
    result = conv.convert_file("song.flac", voice_model, "out/", ConversionParams(pitch=3))
    audio, sr = conv.convert_array(audio, 44100, "model.pth", ConversionParams())
    audio, sr, f0_in, f0_target = conv.preview("song.flac", voice_model, params, 30.0, 40.0)

Steps (RVC_REFERENCE.md §6): decode to 16 kHz mono; formant shift when asked
(:mod:`inference.audio.formant`); cut long inputs at quiet points
(:mod:`inference.pipeline.chunking`); per piece: high-pass (:mod:`.steps`), HuBERT features and
the pitch curve (cached: :mod:`inference.pipeline.cache`), index blend, x2 to 100 frames/s,
pitch shift, autotune, protect, synthesis, RMS mix, trim; then peak-normalise, resample and
encode for output.

Long inputs are processed piece by piece and their output streams through a temporary file,
so memory holds the decoded 16 kHz input plus one piece's work whatever the input's length.
``progress(fraction, stage)`` reports one of :data:`STAGES`; a set ``cancel`` event raises
:class:`~inference.core.errors.Cancelled` between steps and inside pitch estimation and synthesis.
Every user-caused failure is an :class:`~inference.core.errors.RVCError` with a one-line message;
a failed job leaves the converter as it was.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.audio.naming import DEFAULT_TEMPLATE
from inference.core.errors import check_cancel
from inference.pipeline import steps
from inference.pipeline.cache import DEFAULT_DISK_BYTES, DEFAULT_MEMORY_BYTES, Analysis, AnalysisCache
from inference.pipeline.chunking import WINDOW, ChunkSettings, Piece, output_length, plan_pieces
from inference.pipeline.io import filtered_segment, release_memory
from inference.pipeline.job import ConversionError, PreparedJob, embedder_weights, resolve_model, weights_digest
from inference.pipeline.params import ConversionParams, ConversionResult
from inference.pipeline.progress import STAGES, Clock, StageProgress

log = logging.getLogger(__name__)

WRITE_BLOCK = 1 << 18  # samples per block when copying the finished output into its file
__all__ = ["STAGES", "ConversionError", "ConversionParams", "ConversionResult", "Converter"]


class Converter:
    """Converts audio with voice models, keeping loaded models and analyses between jobs.

    ``weights_dirs``: extra folders searched for ``hubert_base.pt`` / ``rmvpe.pt`` after
    Replay's. ``cache_dir``: where the analysis cache lives (``<cache_dir>/analysis``; default
    the app's cache folder). ``chunk``: the long-input cutting constants (tests shrink them).
    Used by one thread at a time.
    """

    def __init__(
        self,
        weights_dirs: Sequence[os.PathLike | str] = (),
        cache_dir: os.PathLike | str | None = None,
        *,
        chunk: ChunkSettings | None = None,
        device: str = "cpu",
        max_generators: int = 2,
        memory_cache_bytes: int = DEFAULT_MEMORY_BYTES,
        disk_cache_bytes: int = DEFAULT_DISK_BYTES,
    ) -> None:
        from inference.core.paths import cache_dir as default_cache_dir
        from inference.f0 import F0Estimators
        from inference.features.retrieval import IndexCache

        self.weights_dirs = tuple(Path(d).expanduser() for d in weights_dirs if str(d).strip())
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.chunk = chunk or ChunkSettings()
        self.device = device
        self.estimators = F0Estimators(self.weights_dirs, device=device)
        self.indexes = IndexCache()
        self.analyses = AnalysisCache(self.cache_dir / "analysis", memory_cache_bytes, disk_cache_bytes)
        self.max_generators = max(1, int(max_generators))
        self._generators: OrderedDict[tuple, Any] = OrderedDict()
        self._embedder: tuple[Path, Any] | None = None
        # How many times each expensive step really ran (tests and benchmarks read these).
        self.stats = {"embed": 0, "f0": 0, "synth": 0}

    # --- loading ----------------------------------------------------------------------------

    def generator(self, model_path: os.PathLike | str, backend: str = "auto") -> Any:
        """The loaded generator for ``model_path`` (a small LRU keyed by file and backend: "auto"
        and the backend it stands for are one)."""
        from inference.synth import load_generator, resolve_backend

        path = Path(model_path).expanduser()
        try:
            stat = path.stat()
        except OSError as error:
            raise ConversionError(f"voice model {path} cannot be read ({error.strerror or error})") from None
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, resolve_backend(backend))
        if key in self._generators:
            self._generators.move_to_end(key)
            return self._generators[key]
        # torch before MLX: on Linux MLX's OpenBLAS goes into the global symbol scope (see
        # inference.core.runtime.preload_openblas), and a torch loaded after it sends its own matrix
        # products there (HuBERT took 1.7x as long). The analysis needs torch anyway.
        from inference.core.runtime import import_torch

        import_torch()
        generator = load_generator(path, backend=backend)
        self._generators[key] = generator
        while len(self._generators) > self.max_generators:
            self._generators.popitem(last=False)
        return generator

    def embedder(self) -> Any:
        """The default (HuBERT / ContentVec) embedder found in the weights folders (loaded once,
        kept). A conversion uses its model's own embedder (``PreparedJob.embedder_path``)."""
        from inference.models.weights import find_weight

        return self._load_embedder(find_weight("hubert", self.weights_dirs))

    def _load_embedder(self, path: Path) -> Any:
        from inference.features import load_embedder

        if self._embedder is None or self._embedder[0] != path:
            self._embedder = None  # a failed load leaves nothing half-set
            self._embedder = (path, load_embedder(path, device=self.device))
        return self._embedder[1]

    def _embedder_digest(self, path: Path) -> str:
        """Content digest of the embedder at ``path`` (part of every analysis key)."""
        # remembered on disk by (path, size, mtime); the device can change the numbers slightly
        return f"{weights_digest(path, self.analyses.root)}@{self.device}"

    def _prepare(self, model: Any, params: ConversionParams | Mapping[str, Any], report: StageProgress) -> PreparedJob:
        params = ConversionParams.coerce(params)
        report.emit(0.0, "Loading")  # the voice model, the index (seconds the first time)
        model_path, index_path, name = resolve_model(model)
        clock = Clock()
        with clock("load"):
            generator = self.generator(model_path, params.backend)
            speakers = int(generator.config.spk_embed_dim)
            if not 0 <= params.speaker_id < speakers:
                raise ConversionError(
                    f"speaker id {params.speaker_id} is out of range for {name}: "
                    f"it has {speakers} speaker(s) (0-{speakers - 1})"
                )
            if index_path is not None and params.index_rate > 0:
                self.indexes.get(index_path).require_dim(int(generator.config.feature_dim))
            else:
                index_path = None
            from inference.models.weights import find_weight

            embedder_path = embedder_weights(model_path, name, self.weights_dirs)  # loaded on the first analysis
            digest = self._embedder_digest(embedder_path)
            f0_digest = None
            if generator.config.f0 and params.f0_method == "rmvpe":
                # missing: fail now; loaded on the first analysis
                f0_digest = weights_digest(find_weight("rmvpe", self.weights_dirs), self.analyses.root)
        return PreparedJob(params, generator, index_path, embedder_path, digest, f0_digest, name, clock)

    # --- one piece --------------------------------------------------------------------------

    def _analyse(
        self,
        job: PreparedJob,
        piece: Piece,
        get_segment: Callable[[], np.ndarray],
        source: Any,
        remember: bool,
        keep_audio: bool,
        report: StageProgress,
        cancel,
    ) -> tuple[Analysis, np.ndarray | None]:
        """The cached analysis of ``piece``, or a fresh one (then also its high-passed segment)."""
        key = job.analysis_key(source, piece)
        cached = self.analyses.get(key, remember=remember)
        if cached is not None:
            return cached, None
        check_cancel(cancel)
        report.stage("Embedding")
        with job.clock("decode"):
            seg = get_segment()
        with job.clock("load"):
            embedder = self._load_embedder(job.embedder_path)
        with job.clock("embed"):
            features = embedder.extract(seg, job.version)
            self.stats["embed"] += 1
        if 2 * features.shape[0] < piece.n_frames:
            raise ConversionError(f"the embedder gave {features.shape[0]} frames for {piece.n_frames} pitch frames")
        f0 = None
        body = seg[: piece.n_frames * WINDOW]
        if job.method is not None:
            check_cancel(cancel)
            report.stage("Pitch")
            with job.clock("f0"):
                f0 = self.estimators.estimate(
                    body,
                    job.method,
                    n_frames=piece.n_frames,
                    cancel=cancel,
                    filter_radius=int(job.params.filter_radius),
                )
                self.stats["f0"] += 1
            f0 = np.asarray(f0, dtype=np.float32)
        analysis = Analysis(
            np.ascontiguousarray(features, dtype=np.float32), f0, np.array(body) if keep_audio else None
        )
        self.analyses.put(key, analysis, remember=remember)
        return analysis, body

    def _blend(
        self, job: PreparedJob, piece: Piece, analysis: Analysis, report: StageProgress, cancel
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """What the synthesizer gets for ``piece``: features after the index blend and protect at
        100 frames/s, and the shifted pitch (None for models without pitch)."""
        from inference.f0 import autotune_f0, shift_f0
        from inference.features.retrieval import apply_index

        p, n = job.params, piece.n_frames
        check_cancel(cancel)
        report.stage("Retrieval")
        with job.clock("retrieval"):
            blended = apply_index(analysis.features, job.index_path, p.index_rate, self.indexes)
            features = steps.to_frame_rate(blended, n)
            f0_target = None if analysis.f0 is None else autotune_f0(shift_f0(analysis.f0, p.pitch), p.autotune)
            if f0_target is not None and p.protect < 0.5 and blended is not analysis.features:
                raw = steps.to_frame_rate(analysis.features, n)
                features = steps.protect_unvoiced(features, raw, f0_target, p.protect)
        return features, f0_target

    def _synthesise(
        self,
        job: PreparedJob,
        piece: Piece,
        index: int,
        analysis: Analysis,
        audio: Callable[[], np.ndarray],
        report: StageProgress,
        cancel,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The trimmed output of ``piece`` at the model's rate, and the shifted pitch (or None)."""
        p, gen, n = job.params, job.generator, piece.n_frames
        features, f0_target = self._blend(job, piece, analysis, report, cancel)
        check_cancel(cancel)
        report.stage("Synthesising")
        with job.clock("synth"):
            out = gen.infer(
                features,
                f0_target,
                p.speaker_id,
                seed=steps.piece_seed(p.seed, index),
                noise="zero" if p.deterministic else "random",
                progress=lambda f: report.stage("Synthesising", f),
                cancel=cancel,
            )
            self.stats["synth"] += 1
        if p.rms_mix_rate < 1.0:
            with job.clock("write"):
                out = steps.rms_mix(audio()[: n * WINDOW], out, gen.sample_rate, p.rms_mix_rate)
        return piece.trim(out, gen.hop), f0_target

    def _pieces(
        self, job: PreparedJob, audio16: np.ndarray, source: Any, report: StageProgress, cancel, remember: bool = False
    ) -> Iterator[np.ndarray]:
        """The output of each piece of ``audio16``, in order (the pieces tile the input)."""
        with job.clock("decode"):
            pieces = plan_pieces(audio16, self.chunk, steps.highpass)
        report.pieces = len(pieces)
        for i, piece in enumerate(pieces):
            report.piece = i
            get = functools.partial(filtered_segment, audio16, piece.lo, piece.hi)
            analysis, body = self._analyse(job, piece, get, source, remember, False, report, cancel)
            audio = (lambda body=body: body) if body is not None else get
            core, _ = self._synthesise(job, piece, i, analysis, audio, report, cancel)
            del analysis, body, audio
            release_memory()
            yield core

    # --- public entry points -----------------------------------------------------------------

    def convert_file(
        self,
        input_path: os.PathLike | str,
        model: Any,
        output_dir: os.PathLike | str,
        params: ConversionParams | Mapping[str, Any],
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
        name_template: str = DEFAULT_TEMPLATE,
    ) -> ConversionResult:
        """Convert one file into ``output_dir``, named by ``name_template`` (the output naming rule
        of :mod:`inference.audio.naming`: a free name, never over an existing file)."""
        from inference.audio import AudioError, audio_info, render_name
        from inference.audio.encode import make_tags
        from inference.audio.naming import format_pitch
        from inference.audio.outputs import TEMP_PREFIX, TEMP_SUFFIX, check_folder, write_error
        from inference.core.paths import is_inside_replay
        from inference.pipeline.io import decode_input, output_bytes_per_second, stream_output, write_scaled

        input_path, output_dir = Path(input_path).expanduser(), Path(output_dir).expanduser()
        if is_inside_replay(output_dir):
            raise AudioError(f"{output_dir} is inside Replay's folder; choose another output folder")
        report = StageProgress(progress)
        job = self._prepare(model, params, report)
        p = job.params
        name = render_name(
            name_template,
            name=input_path.stem,
            model=job.name,
            pitch=p.pitch,
            f0=p.f0_method,
            extension=p.output_format,
        )
        out_sr = int(p.output_sample_rate or job.generator.sample_rate)
        # Fail before any work when the folder cannot take the output: the raw float32 copy and
        # the file itself exist together for a moment.
        duration = audio_info(input_path)[0]
        needed = int(duration * (out_sr * 4 + output_bytes_per_second(p, out_sr))) + (1 << 20)
        check_folder(output_dir, needed)
        report.stage("Decoding")
        with job.clock("decode"):
            audio16, source = decode_input(input_path, self.analyses.root, cancel, p)
        report.stage("Decoding", 1.0)
        total = output_length(audio16.shape[0], job.generator.sample_rate)
        try:
            raw_file = tempfile.TemporaryFile(dir=output_dir, prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX)
        except OSError as error:
            raise write_error(output_dir, error, needed) from None
        with raw_file as raw:
            pieces = self._pieces(job, audio16, source, report, cancel)
            try:
                n_out, peak = stream_output(pieces, total, job.generator.sample_rate, out_sr, raw, job.clock)
            except OSError as error:  # the disk filled up meanwhile
                raise write_error(output_dir, error, needed) from None
            del pieces, audio16  # only the temporary file is needed now
            report.stage("Writing")
            with job.clock("write"):
                written, file_sr = write_scaled(
                    raw,
                    n_out,
                    output_dir / name,
                    out_sr,
                    p.output_format,
                    p.sample_format,
                    steps.peak_scale(peak),
                    WRITE_BLOCK,
                    cancel,
                    lambda f: report.stage("Writing", f),
                    tags=make_tags(input_path.stem, job.name, format_pitch(p.pitch)),
                    bitrate=p.bitrate,
                )
        report.emit(1.0, "Writing")
        return ConversionResult(written, n_out / out_sr, job.clock.done(), file_sr)

    def convert_array(
        self,
        audio: np.ndarray,
        sr: int,
        model: Any,
        params: ConversionParams | Mapping[str, Any],
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
    ) -> tuple[np.ndarray, int]:
        """Convert in memory: ``audio`` ``[N]`` or ``[N, channels]`` at ``sr`` -> ``(audio, rate)``."""
        from inference.audio import resample
        from inference.pipeline.cache import array_digest
        from inference.pipeline.io import check_sound, shape_input

        report = StageProgress(progress, write_share=0.0)
        job = self._prepare(model, params, report)
        p = job.params
        report.stage("Decoding")
        with job.clock("decode"):
            data = np.asarray(audio, dtype=np.float32)
            if data.ndim == 2:
                data = data.mean(axis=1, dtype=np.float32)
            if data.ndim != 1:
                raise ConversionError(f"audio must be [samples] or [samples, channels], got shape {np.shape(audio)}")
            audio16 = resample(data, int(sr), 16000)
            check_sound(audio16, "the audio")
            source = ("array", array_digest(audio16))
            audio16 = shape_input(audio16, p, cancel)
        parts = list(self._pieces(job, audio16, source, report, cancel))
        gen_sr = job.generator.sample_rate
        out = np.concatenate(parts)[: output_length(audio16.shape[0], gen_sr)]
        with job.clock("write"):
            out_sr = int(p.output_sample_rate or gen_sr)
            out = resample(out, gen_sr, out_sr)
            peak = float(np.abs(out).max()) if out.size else 0.0
            out = (out * np.float32(steps.peak_scale(peak))).astype(np.float32)
        report.emit(1.0, "Synthesising")
        return out, out_sr

    def preview(
        self,
        input_path: os.PathLike | str,
        model: Any,
        params: ConversionParams | Mapping[str, Any],
        start_s: float,
        end_s: float,
        progress: Callable[[float, str], None] | None = None,
        cancel=None,
    ) -> tuple[np.ndarray, int, np.ndarray | None, np.ndarray | None]:
        """Convert ``[start_s, end_s)`` of a file: ``(audio, sr, f0_in, f0_target)``.

        The region's analysis is cached (memory and disk), so changing only the pitch, index
        rate, protect, RMS mix, speaker or backend re-runs retrieval and synthesis alone. The
        pitch curves are in Hz at 100 frames/s from the region's first frame (None for models
        without pitch). :meth:`preview_stream` gives the same audio window by window.
        """
        from inference.pipeline.preview import preview_region

        return preview_region(self, input_path, model, params, start_s, end_s, progress, cancel)

    def preview_stream(
        self,
        input_path: os.PathLike | str,
        model: Any,
        params: ConversionParams | Mapping[str, Any],
        start_s: float,
        end_s: float,
        **options: Any,
    ) -> Iterator[Any]:
        """:class:`~inference.pipeline.preview.PreviewChunk` s of ``[start_s, end_s)`` as they are
        made (see :func:`inference.pipeline.preview.stream_region` for ``options``)."""
        from inference.pipeline.preview import stream_region

        return stream_region(self, input_path, model, params, start_s, end_s, **options)

    def analyse(
        self,
        input_path: os.PathLike | str | None,
        model: Any,
        params: ConversionParams | Mapping[str, Any],
        region: tuple[float, float] | None = None,
        cancel=None,
    ) -> None:
        """Load the model and analyse ``region`` (or the whole file; no file: load the model
        only) into the cache, synthesising nothing: what the window does in the background when
        a file or a model is chosen."""
        from inference.pipeline.preview import analyse

        analyse(self, input_path, model, params, region, cancel)
