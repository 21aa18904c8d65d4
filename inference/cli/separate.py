"""``rvc-studio separate SONG... -o OUT`` and ``rvc-studio download NAME``.

``separate`` writes each song's vocal and accompaniment (``<song> - vocal.wav``,
``<song> - accompaniment.wav``) at the song's rate and channels, and prints their paths (or, with
``--json``, one JSON list of what each song gave). The separation model is found before anything
is written; without one, one line names the missing file, every place searched and the command
that downloads it.

``download`` fetches a separation model we pin (URL, size, SHA-256) into the app's data folder,
only when asked: progress on stderr, Ctrl-C stops it (the partial file is kept, and the next
``download`` resumes it), and a file whose checksum differs is refused and deleted.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from inference.core.errors import Cancelled, RVCError, without_file


def register(subparsers) -> None:
    """Add the ``separate`` and ``download`` commands to ``subparsers``."""
    from inference.cli.options import BIT_DEPTHS
    from inference.pipeline.params import OUTPUT_FORMATS

    p = subparsers.add_parser(
        "separate",
        help="split songs into vocal and accompaniment",
        description="Split songs into their vocal and their accompaniment, at each song's own rate and channels. "
        "SONG is a file, a folder (its audio files, recursively) or @LIST.",
    )
    p.add_argument("inputs", nargs="+", metavar="SONG", help="file, folder or @list.txt")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="DIR", help="folder for the stems")
    p.add_argument("--separator-model", metavar="NAME|PATH", help="the separation model (see `rvc-studio weights`)")
    p.add_argument(
        "--separator-dir", action="append", type=Path, default=[], metavar="DIR", help="another folder of models"
    )
    p.add_argument("--dereverb", action="store_true", help="take reverb and echo off the vocal as well")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default=OUTPUT_FORMATS[0], help="output format (default wav)")
    p.add_argument("--bit-depth", choices=tuple(BIT_DEPTHS), default="16", help="16, 24 or 32f (float; wav only)")
    p.add_argument("--json", action="store_true", help="print one JSON list of the stems written")
    p.set_defaults(func=run_separate)

    d = subparsers.add_parser(
        "download",
        help="download a separation model or an embedder (the only command that downloads anything)",
        description="Download a separation model or an embedder into RVC Studio's data folder, checked against "
        "the SHA-256 pinned in RVC Studio. Without NAME, list the models that can be downloaded.",
    )
    d.add_argument("name", nargs="?", metavar="NAME", help="the model's name (run without NAME to list them)")
    d.set_defaults(func=run_download)


def run_separate(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    """Separate every song; 0 when all were separated, 1 otherwise."""
    from inference.audio.files import expand_inputs
    from inference.cli.convert import _in_worker
    from inference.cli.options import BIT_DEPTHS
    from inference.cli.progress import TerminalProgress
    from inference.covers.output import check_output_dir
    from inference.covers.params import CoverParams
    from inference.covers.stage import SeparationStage

    stream = stream or sys.stderr
    if args.format == "flac" and args.bit_depth == "32f":
        raise RVCError("--bit-depth 32f needs --format wav (FLAC holds 16 or 24-bit samples)")
    files, problems = expand_inputs(args.inputs)
    if not files:
        detail = "; ".join(f"{label}: {message}" for label, message in problems)
        raise RVCError(f"no audio files to separate ({detail})" if detail else "no audio files to separate")
    cover = CoverParams(separator_model=args.separator_model, dereverb=args.dereverb)
    stage = SeparationStage(args.separator_dir)
    plan = stage.resolve(cover)  # a missing model fails here, before anything is written
    out = check_output_dir(args.output)
    progress = TerminalProgress(stream, len(files))
    report: list[dict[str, Any]] = [{"input": label, "error": message} for label, message in problems]
    for label, message in problems:
        progress.note(f"skipped {label}: {message}")
    failed = len(problems)
    for index, path in enumerate(files, 1):
        progress.start(index, path)
        cancel = threading.Event()
        call = functools.partial(
            stage.separate_file,
            path,
            out,
            cover,
            args.format,
            BIT_DEPTHS[args.bit_depth],
            progress.update,
            cancel,
            plan,
        )
        t0 = time.monotonic()
        try:
            result = _in_worker(call, cancel, progress)
        except Cancelled:
            progress.finish("cancelled")
            raise KeyboardInterrupt from None
        except RVCError as error:
            message = without_file(" ".join(str(error).split()), path)
            progress.finish(f"FAILED: {message}")
            report.append({"input": str(path), "error": message})
            failed += 1
            continue
        note = " (stems from the cache)" if result.cached else ""
        progress.finish(f"done in {time.monotonic() - t0:.1f} s{note}")
        report.append(
            {
                "input": str(path),
                "model": result.model,
                "sample_rate": result.sample_rate,
                "seconds": round(result.duration, 3),
                "cached": result.cached,
                "stems": {label: str(p) for label, p in result.stems.items()},
            }
        )
        if not args.json:
            for written in result.stems.values():
                print(written, flush=True)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    total = len(files) + len(problems)
    progress.note(f"Separated {total - failed} of {total} song{'s' if total != 1 else ''}.")
    return 1 if failed else 0


class _Bar:
    """Download progress on ``stream`` (redrawn in place on a terminal, every 10 % otherwise)."""

    def __init__(self, stream: TextIO, name: str) -> None:
        self.stream, self.name, self.shown = stream, name, -1
        self.tty = stream.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        percent = int(100 * done / total) if total else 0
        if self.tty:
            self.stream.write(f"\r\033[K{self.name}: {done / 1e6:.1f} of {(total or 0) / 1e6:.1f} MB ({percent}%)")
            self.stream.flush()
        elif percent // 10 != self.shown:
            self.shown = percent // 10
            self.stream.write(f"{self.name}: {percent}%\n")

    def end(self) -> None:
        if self.tty:
            self.stream.write("\n")

    def note(self, text: str) -> None:  # what the batch's worker says while it stops
        self.end()
        self.stream.write(text + "\n")

    def finish(self, text: str) -> None:
        self.end()


def run_download(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    from inference.covers import catalog
    from inference.models import embedders

    stream = stream or sys.stderr
    pinned = [spec for spec in embedders.CATALOGUE.values() if spec.pinned]
    if not args.name:
        for item in catalog.DOWNLOADS.values():
            default = " (default)" if item.name in catalog.DEFAULTS.values() else ""
            print(f"{item.name}{default}: {item.description}; {item.size_mb:.0f} MB; {item.url}; {item.licence}")
        for spec in pinned:
            print(f"{spec.name} (embedder): {spec.about}; {spec.size / 1e6:.0f} MB; {spec.page}")
        return 0
    item = catalog.find_download(args.name)
    if item is not None:
        target = catalog.downloads_dir() / item.file_name
        stream.write(f"Downloading {item.file_name} ({item.size_mb:.0f} MB) from {item.url} into {target.parent}\n")
        stream.write(f"Licence: {item.licence}\n")
        return _fetch(functools.partial(catalog.fetch, item), item.file_name, stream)
    spec = embedders.find_spec(args.name)
    if spec is None:
        names = [*catalog.DOWNLOADS, *(spec.name for spec in pinned)]
        raise RVCError(f"no downloadable model called {args.name!r}; choose one of {', '.join(names)}")
    if not spec.pinned:
        embedders.fetch(spec)  # raises the one-line reason, before anything is fetched
    folder = embedders.downloads_dir() / spec.folder
    stream.write(f"Downloading the {spec.name} embedder ({spec.size / 1e6:.0f} MB) from {spec.page} into {folder}\n")
    return _fetch(functools.partial(embedders.fetch, spec), spec.name, stream)


def _fetch(fetch: Any, name: str, stream: TextIO) -> int:
    """Run ``fetch(progress, cancel)`` on a worker with a progress bar; Ctrl-C / SIGTERM stop it
    (the partial file stays, for the next run to resume). Prints where the download went."""
    from inference.cli.convert import _in_worker
    from inference.cli.main import INTERRUPTS

    bar = _Bar(stream, name)
    cancel = threading.Event()
    try:
        path = _in_worker(functools.partial(fetch, bar, cancel), cancel, bar)
    except (*INTERRUPTS, Cancelled) as stop:
        bar.end()
        stream.write("stopped; run the same command again to resume\n")
        raise (stop if isinstance(stop, INTERRUPTS) else KeyboardInterrupt()) from None
    bar.end()
    print(path, flush=True)
    return 0
