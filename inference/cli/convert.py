"""``rvc-studio convert INPUT... --model MODEL -o DIR [options]``: batch conversion from a terminal.

Inputs are files, folders (their audio files, recursively, sorted) and ``@list.txt`` / ``.m3u``
lists (one path per line, relative to the list's folder; blank lines and ``#`` comments
skipped). Each file is converted in a worker thread so that Ctrl-C, caught on the main thread,
sets the converter's cancel event and the running file is abandoned cleanly (exit 130). A bad
file is reported and the batch goes on; the exit code is 0 only when every file converted.
Converted file paths go to stdout, one per line; progress and the summary go to stderr.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from inference.audio.files import expand_inputs
from inference.cli import cover as cli_cover
from inference.core.errors import Cancelled, RVCError, without_file
from inference.pipeline.params import (
    BACKENDS,
    DEFAULT_BACKEND,
    DEFAULT_F0_METHOD,
    F0_METHODS,
    FILTER_RADIUS,
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


class ConvertError(RVCError):
    """A problem with the command's inputs, model or output folder."""


# ------------------------------------------------------------------------------- arguments


def _number(kind: type, low: float | None, high: float | None, unit: str = "") -> Callable[[str], Any]:
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


def _ranged(spec: Range, unit: str = "") -> Callable[[str], Any]:
    """The argparse ``type`` for a parameter of :data:`inference.pipeline.params.RANGES`."""
    return _number(int if spec.integer else float, spec.low, spec.high, unit)


def register(
    subparsers, converter_factory: Callable[..., Any] | None = None, params_factory: Callable[..., Any] | None = None
) -> None:
    """Add the ``convert`` command to ``subparsers`` (from ``add_subparsers``).

    ``converter_factory(weights_dirs=..., cache_dir=...)`` and ``params_factory(**values)``
    default to ``inference.pipeline.Converter`` and ``ConversionParams`` (tests inject fakes).
    """
    p = subparsers.add_parser(
        "convert",
        help="convert audio files with a voice model",
        description="Convert audio files with a voice model. INPUT is a file, a folder (its audio "
        "files, recursively) or @LIST (a text or .m3u file with one path per line).",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="file, folder or @list.txt")
    p.add_argument(
        "-m",
        "--model",
        required=True,
        metavar="NAME|PATH",
        help="a model's name or id (as `rvc-studio models` lists it) or a .pth file",
    )
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="folder for the converted files")
    p.add_argument(
        "--pitch",
        type=_ranged(PITCH, " semitones"),
        default=PITCH.default,
        metavar="N",
        help=f"pitch shift in semitones, {PITCH.low:g} to {PITCH.high:g}, fractions allowed "
        f"(default {PITCH.default:g})",
    )
    p.add_argument(
        "--f0", choices=F0_METHODS, default=DEFAULT_F0_METHOD, help=f"pitch detector (default {DEFAULT_F0_METHOD})"
    )
    p.add_argument(
        "--index-rate",
        type=_ranged(INDEX_RATE),
        default=INDEX_RATE.default,
        metavar="R",
        help=f"how much of the index's features to blend in, {INDEX_RATE.low:g} to {INDEX_RATE.high:g} "
        f"(default {INDEX_RATE.default:g})",
    )
    p.add_argument(
        "--protect",
        type=_ranged(PROTECT),
        default=PROTECT.default,
        metavar="P",
        help=f"protect consonants and breaths, {PROTECT.low:g} to {PROTECT.high:g}; {PROTECT.high:g} "
        f"turns it off (default {PROTECT.default:g})",
    )
    p.add_argument(
        "--rms-mix",
        type=_ranged(RMS_MIX),
        default=RMS_MIX.default,
        metavar="R",
        help=f"{RMS_MIX.high:g} keeps the output's own loudness, {RMS_MIX.low:g} follows the input's "
        f"(default {RMS_MIX.default:g})",
    )
    p.add_argument(
        "--filter-radius",
        type=_ranged(FILTER_RADIUS),
        default=FILTER_RADIUS.default,
        metavar="N",
        help=f"median filter radius for the pitch curve, {FILTER_RADIUS.low:g} to {FILTER_RADIUS.high:g} "
        f"(default {FILTER_RADIUS.default:g})",
    )
    p.add_argument(
        "--speaker",
        type=_ranged(SPEAKER),
        default=SPEAKER.default,
        metavar="N",
        help=f"speaker id of a multi-speaker model (default {SPEAKER.default:g})",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="synthesizer: auto picks MLX on Apple Silicon, torch elsewhere",
    )
    p.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default=OUTPUT_FORMATS[0],
        help=f"output format (default {OUTPUT_FORMATS[0]})",
    )
    p.add_argument("--bit-depth", choices=tuple(BIT_DEPTHS), default="16", help="16, 24 or 32f (float; wav only)")
    p.add_argument(
        "--sample-rate",
        type=_number(int, *OUTPUT_RATES, " Hz"),
        default=None,
        metavar="SR",
        help="output sample rate (default: the model's)",
    )
    p.add_argument(
        "--seed",
        type=_number(int, 0, 2**32 - 1),
        default=None,
        metavar="N",
        help="make the output bit-reproducible on this machine and backend",
    )
    p.add_argument(
        "--weights-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder holding hubert_base.pt / rmvpe.pt (repeatable; Replay's is searched first)",
    )
    p.add_argument(
        "--models-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="another folder of models to find --model in (repeatable)",
    )
    cli_cover.add_arguments(p)
    p.set_defaults(func=lambda args: run_convert(args, converter_factory, params_factory))


# ------------------------------------------------------------------------------- progress


class TerminalProgress:
    """Per-file progress on ``stream``: one line redrawn in place on a terminal, plain lines
    (one per stage) otherwise. Thread-safe: the converter reports from its worker thread."""

    def __init__(self, stream: TextIO, total: int, tty: bool | None = None) -> None:
        self.stream = stream
        self.total = total
        self.tty = stream.isatty() if tty is None else tty
        self._lock = threading.Lock()
        self._label = ""
        self._stage: str | None = None
        self._last_draw = 0.0

    def start(self, index: int, path: Path) -> None:
        with self._lock:
            self._label = f"[{index}/{self.total}] {path.name}"
            self._stage = None
            self._last_draw = 0.0
            if self.tty:
                self._draw("starting", 0.0)
            else:
                self._line(f"{self._label}: starting")

    def update(self, fraction: float, stage: str) -> None:
        with self._lock:
            fraction = min(1.0, max(0.0, float(fraction)))
            if self.tty:
                now = time.monotonic()
                if stage != self._stage or now - self._last_draw > 0.1:
                    self._draw(stage, fraction)
                    self._last_draw = now
            elif stage != self._stage:
                self._line(f"{self._label}: {stage}")
            self._stage = stage

    def finish(self, text: str) -> None:
        """End the file's line with ``text`` (``done ...`` or ``FAILED: ...``)."""
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K")
            self._line(f"{self._label}: {text}")

    def note(self, text: str) -> None:
        with self._lock:
            if self.tty:
                self.stream.write("\r\033[K")
            self._line(text)

    def _draw(self, stage: str, fraction: float) -> None:
        width = shutil.get_terminal_size((80, 20)).columns
        bar_width = 20
        filled = int(round(fraction * bar_width))
        tail = f" {stage:<9} [{'#' * filled}{'-' * (bar_width - filled)}] {fraction * 100:3.0f}%"
        label = self._label
        room = max(10, width - len(tail) - 1)
        if len(label) > room:
            label = label[: room - 1] + "…"
        self.stream.write("\r\033[K" + label + tail)
        self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


# -------------------------------------------------------------------------------- running


def _real_converter(**kwargs: Any) -> Any:
    from inference.pipeline import Converter

    return Converter(**kwargs)


def _real_params(**kwargs: Any) -> Any:
    from inference.pipeline import ConversionParams

    return ConversionParams(**kwargs)


def resolve_model(query: str, models_dirs: Sequence[Path]) -> Any:
    """The VoiceModel named by ``query`` (name, id, or a .pth path with its index beside it)."""
    from inference.models.library import ModelLibrary

    model = ModelLibrary(folders=list(models_dirs), include_replay=True).find(query)
    if not model.ok:
        raise ConvertError(f"model {model.name} cannot be used: {'; '.join(model.problems) or 'unreadable'}")
    return model


def check_output_dir(folder: Path) -> Path:
    """Create ``folder`` if needed; refuse Replay's folder and a path that is a file."""
    from inference.core.paths import is_inside_replay

    folder = folder.expanduser()
    if is_inside_replay(folder):
        raise ConvertError(f"{folder}: is inside Replay's folder; choose another output folder")
    if folder.exists() and not folder.is_dir():
        raise ConvertError(f"{folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConvertError(f"{folder}: cannot create the output folder ({error.strerror or error})") from None
    return folder


def params_values(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ConversionParams`` keyword arguments the command line asks for."""
    if args.format == "flac" and args.bit_depth == "32f":
        raise ConvertError("--bit-depth 32f needs --format wav (FLAC holds 16 or 24-bit samples)")
    return dict(
        pitch=float(args.pitch),
        f0_method=args.f0,
        index_rate=float(args.index_rate),
        protect=float(args.protect),
        rms_mix_rate=float(args.rms_mix),
        filter_radius=int(args.filter_radius),
        speaker_id=int(args.speaker),
        backend=args.backend,
        output_sample_rate=args.sample_rate,
        output_format=args.format,
        sample_format=BIT_DEPTHS[args.bit_depth],
        seed=args.seed,  # fixes the synthesizer's noise: same bytes on the same machine and backend
    )


def _in_worker(call: Callable[[], Any], cancel: threading.Event, progress: TerminalProgress) -> Any:
    """Run ``call`` on a worker thread; Ctrl-C here sets ``cancel``, waits for the converter to
    stop (it honours the event within about a second), then re-raises KeyboardInterrupt.
    A second Ctrl-C leaves at once (the thread is a daemon)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            box["error"] = error

    thread = threading.Thread(target=target, name="convert", daemon=True)
    try:
        thread.start()  # inside the try: a Ctrl-C may land while the thread is starting
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        progress.note("cancelling…")
        while thread.is_alive():
            thread.join(0.2)
        raise
    if "error" in box:
        raise box["error"]
    return box["result"]


def run_convert(
    args: argparse.Namespace,
    converter_factory: Callable[..., Any] | None = None,
    params_factory: Callable[..., Any] | None = None,
    stream: TextIO | None = None,
) -> int:
    """Convert every input; returns 0 if all converted, 1 otherwise. Raises KeyboardInterrupt
    (exit 130 in ``cli.main``) when cancelled, and :class:`RVCError` for a bad model or folder."""
    import logging

    from inference.models.weights import WeightsNotFoundError

    log = logging.getLogger(__name__)
    stream = stream or sys.stderr
    values = params_values(args)
    cover = cli_cover.prepare(args)  # --separate: the separation models, found before anything is written
    files, problems = expand_inputs(args.inputs)
    if not files:
        detail = "; ".join(f"{label}: {message}" for label, message in problems)
        raise ConvertError(f"no audio files to convert ({detail})" if detail else "no audio files to convert")
    out_dir = check_output_dir(args.output)
    model = resolve_model(args.model, args.models_dir)
    if model.speakers and args.speaker >= model.speakers:
        raise ConvertError(
            f"--speaker {args.speaker}: model {model.name} has {model.speakers} speaker(s) (0 to {model.speakers - 1})"
        )
    params = (params_factory or _real_params)(**values)
    converter = (converter_factory or _real_converter)(weights_dirs=tuple(args.weights_dir), cache_dir=None)
    convert = cli_cover.job(cover, converter)

    progress = TerminalProgress(stream, len(files))
    failures: list[tuple[str, str]] = [(label, message) for label, message in problems]
    for label, message in problems:
        progress.note(f"skipped {label}: {message}")
    converted = 0
    audio_seconds = 0.0
    started = time.monotonic()
    for index, path in enumerate(files, 1):
        progress.start(index, path)
        cancel = threading.Event()
        t0 = time.monotonic()
        try:
            result = _in_worker(
                functools.partial(convert, path, model, out_dir, params, progress=progress.update, cancel=cancel),
                cancel,
                progress,
            )
        except KeyboardInterrupt:
            progress.finish("cancelled")
            raise
        except Cancelled:
            progress.finish("cancelled")
            raise KeyboardInterrupt from None
        except RVCError as error:
            message = " ".join(str(error).split())
            message = without_file(message, path)  # the summary names the file already
            log.info("%s failed: %s", path, message)
            progress.finish(f"FAILED: {message}")
            failures.append((str(path), message))
            if isinstance(error, WeightsNotFoundError):  # every later file would fail the same way
                failures += [(str(p), "not converted (weights missing)") for p in files[index:]]
                break
            continue
        except Exception as error:
            log.exception("converting %s failed", path)
            message = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())}"
            progress.finish(f"FAILED: {message}")
            failures.append((str(path), message))
            continue
        converted += 1
        audio_seconds += float(getattr(result, "duration", 0.0) or 0.0)
        progress.finish(f"done in {time.monotonic() - t0:.1f} s -> {result.output_path}")
        for written in cli_cover.outputs(result):
            print(written, flush=True)

    total = len(files) + len(problems)
    elapsed = time.monotonic() - started
    ratio = audio_seconds / elapsed if elapsed > 0 else 0.0
    speed = f", {ratio:.1f}x realtime" if ratio >= 1 else f", {ratio:.2f}x realtime" if ratio else ""
    progress.note(
        f"Converted {converted} of {total} file{'s' if total != 1 else ''} with {model.name} in {elapsed:.1f} s{speed}."
    )
    if failures:
        progress.note(f"{len(failures)} failed:")
        for label, message in failures:
            progress.note(f"  {label}: {message}")
        return 1
    return 0
