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
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from inference.audio.files import expand_inputs
from inference.cli import cover as cli_cover
from inference.cli.main import INTERRUPTS, force_exit, interrupt_code, printable
from inference.cli.options import OptionError, add_conversion_options, params_values
from inference.cli.progress import TerminalProgress
from inference.core.errors import Cancelled, RVCError, without_file

CANCEL_WAIT_S = 10.0  # how long a cancelled conversion may take to stop before the process leaves anyway


class ConvertError(RVCError):
    """A problem with the command's inputs, model or output folder."""


class UnusableModelError(ConvertError):
    """The model named cannot be used; its problems (a missing embedder: where it was looked
    for and where to get it) are the message, never cut."""

    max_line = 0


# ------------------------------------------------------------------------------- arguments


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
    add_conversion_options(p)
    p.add_argument(
        "--weights-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder holding hubert_base.pt / rmvpe.pt or embedders (repeatable; Replay's is searched first)",
    )
    p.add_argument(
        "--models-dir",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="another folder of models to find --model in (repeatable)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON report on stdout (converted files and failures) instead of one path per line",
    )
    cli_cover.add_arguments(p)
    p.set_defaults(func=lambda args: run_convert(args, converter_factory, params_factory))


# -------------------------------------------------------------------------------- running


def _real_converter(**kwargs: Any) -> Any:
    from inference.pipeline import Converter

    return Converter(**kwargs)


def _real_params(**kwargs: Any) -> Any:
    from inference.pipeline import ConversionParams

    return ConversionParams(**kwargs)


def resolve_model(query: str, models_dirs: Sequence[Path], weights_dirs: Sequence[Path] = ()) -> Any:
    """The VoiceModel named by ``query`` (name, id, or a .pth path with its index beside it);
    refused when unusable (its own embedder missing from ``weights_dirs`` and the other places)."""
    from inference.models.library import ModelLibrary

    model = ModelLibrary(folders=list(models_dirs), include_replay=True, weights_dirs=list(weights_dirs)).find(query)
    if not model.ok:
        raise UnusableModelError(f"model {model.name} cannot be used: {'; '.join(model.problems) or 'unreadable'}")
    return model


def check_output_dir(folder: Path) -> Path:
    """Create ``folder`` if needed and check it can be written (each file's room is checked
    before it converts); refuse Replay's folder and a path that is a file."""
    from inference.audio.outputs import check_folder
    from inference.core.paths import is_inside_replay

    folder = folder.expanduser()
    if is_inside_replay(folder):
        raise ConvertError(f"{folder}: is inside Replay's folder; choose another output folder")
    return check_folder(folder)


def _in_worker(call: Callable[[], Any], cancel: threading.Event, progress: TerminalProgress) -> Any:
    """Run ``call`` on a worker thread, so that Ctrl-C (or SIGTERM) reaches the main thread here.

    The first interrupt sets ``cancel`` and waits for the conversion to stop (it checks the event
    between steps, well within :data:`CANCEL_WAIT_S`), then re-raises it: the output folder is
    clean and the process exits normally. A second interrupt, or a conversion that does not stop
    in time, leaves at once through :func:`~inference.cli.main.force_exit` (temporary files
    removed), never through an interpreter shutdown racing a thread inside torch or MLX.

    The main thread waits on an event, never on ``Thread.join``: Python 3.11's ``join``
    interrupted by KeyboardInterrupt marks a thread that is still running as stopped, so the
    process would exit under it (and abort: "terminate called without an active exception").
    """
    box: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            box["result"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the main thread, which decides
            box["error"] = error
        finally:
            finished.set()

    thread = threading.Thread(target=target, name="convert", daemon=True)
    try:
        thread.start()  # inside the try: a Ctrl-C may land while the thread is starting
        while not finished.wait(0.2):
            pass
    except INTERRUPTS as interrupt:
        cancel.set()
        progress.note("cancelling…")
        try:
            finished.wait(CANCEL_WAIT_S)
        except INTERRUPTS:
            pass
        if not finished.is_set():  # a second interrupt, or stuck in native code: leave now, cleanly
            progress.finish("cancelled")
            print("cancelled", file=sys.stderr)
            force_exit(interrupt_code(interrupt))
        raise
    thread.join()  # it has finished: this returns at once
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
    try:
        values = params_values(args)
    except OptionError as error:
        raise ConvertError(str(error)) from None
    for folder in args.weights_dir:
        if not folder.expanduser().is_dir():
            raise ConvertError(f"--weights-dir {folder}: no such folder")
    cover = cli_cover.prepare(args)  # --separate: the separation models, found before anything is written
    files, problems = expand_inputs(args.inputs)
    if not files:
        detail = "; ".join(f"{label}: {message}" for label, message in problems)
        raise ConvertError(f"no audio files to convert ({detail})" if detail else "no audio files to convert")
    out_dir = check_output_dir(args.output)
    model = resolve_model(args.model, args.models_dir, args.weights_dir)
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
    done: list[tuple[Path, Any]] = []
    audio_seconds = 0.0
    started = time.monotonic()
    for index, path in enumerate(files, 1):
        progress.start(index, path)
        cancel = threading.Event()
        t0 = time.monotonic()
        try:
            result = _in_worker(
                functools.partial(
                    convert,
                    path,
                    model,
                    out_dir,
                    params,
                    progress=progress.update,
                    cancel=cancel,
                    name_template=args.name,
                ),
                cancel,
                progress,
            )
        except INTERRUPTS:
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
        done.append((path, result))
        if not args.json:
            for written in cli_cover.outputs(result):
                print(printable(written), flush=True)

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
    if args.json:
        report = {
            "converted": [
                {
                    "input": str(path),
                    "output": str(r.output_path),
                    "seconds": round(float(r.duration), 3),
                    **({"stems": {k: str(v) for k, v in r.stems.items()}} if getattr(r, "stems", None) else {}),
                }
                for path, r in done
            ],
            "failed": [{"input": label, "error": message} for label, message in failures],
        }
        print(json.dumps(report, ensure_ascii=False, indent=1), flush=True)
    return 1 if failures else 0
