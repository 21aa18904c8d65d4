"""``rvc-studio convert|models|info|presets|separate|download|weights``: the headless command line.

No traceback ever reaches the terminal. The exit codes, documented here and in the README:

- 0: everything asked for was done;
- 1: some files failed, or an expected failure (:class:`RVCError`): one line each;
- 2: a usage error (argparse's message) or an unexpected error (one line naming the log file,
  which holds the traceback);
- 130: cancelled with Ctrl-C (SIGINT); 143: stopped with SIGTERM. Both print ``cancelled``,
  leave no partial file behind and exit within a few seconds.

Control characters in what is printed for people (a newline in a file name, say) are escaped,
so one line stays one line; ``--json`` output is exact. This module imports neither Qt nor
anything under ``app/``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from inference.core.errors import Cancelled, RVCError

log = logging.getLogger(__name__)

PROG = "rvc-studio"
LOG_FILE_NAME = "rvc-studio-cli.log"
EXIT_OK, EXIT_FAILED, EXIT_UNEXPECTED, EXIT_CANCELLED, EXIT_TERMINATED = 0, 1, 2, 130, 143
_CONTROL = {**{i: f"\\x{i:02x}" for i in range(32)}, 0x7F: "\\x7f", 10: "\\n", 13: "\\r", 9: "\\t"}


class Terminated(BaseException):
    """SIGTERM arrived: stop as Ctrl-C does (a BaseException, like KeyboardInterrupt)."""


INTERRUPTS = (KeyboardInterrupt, Terminated)


def printable(text: object) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``...): one line stays one line."""
    return str(text).translate(_CONTROL)


def interrupt_code(interrupt: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_CANCELLED


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def ignore_interrupts() -> None:
    """From now on SIGINT and SIGTERM are ignored: nothing interrupts the exit (no traceback from
    an atexit handler). For the process's own entry points, once a command has ended."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def force_exit(code: int) -> None:
    """Leave now without waiting for a worker thread stuck in native code: remove this process's
    temporary files, flush, and ``os._exit`` (a normal exit could abort in a C++ destructor)."""
    from inference.audio.outputs import remove_live_temp_files

    remove_live_temp_files()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def setup_logging() -> Path | None:
    """Log everything at INFO and above to ``paths.log_dir()/rvc-studio-cli.log``.

    Returns the file, or None if it cannot be opened (the CLI then runs without a log).
    """
    from inference.core.paths import log_dir

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_rvc_studio_cli", False):
            root.removeHandler(handler)
            handler.close()
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_FILE_NAME
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    handler._rvc_studio_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Libraries' warnings go to the log, not the terminal.
    logging.captureWarnings(True)
    return path


def build_parser(
    converter_factory: Callable[..., Any] | None = None, params_factory: Callable[..., Any] | None = None
) -> argparse.ArgumentParser:
    """The ``rvc-studio`` parser with its ``convert``, ``models``, ``info``, ``presets``, ``separate``,
    ``download`` and ``weights`` commands.

    The factories replace the real ``Converter``/``ConversionParams`` (tests).
    """
    from inference.cli import convert as cli_convert
    from inference.cli import models as cli_models
    from inference.cli import presets as cli_presets
    from inference.cli import separate as cli_separate
    from inference.cli import weights as cli_weights

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert voices with RVC models, without the window. "
        "Run `rvc-studio COMMAND -h` for a command's options.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_convert.register(subparsers, converter_factory=converter_factory, params_factory=params_factory)
    cli_models.register(subparsers)
    cli_presets.register(subparsers)
    cli_separate.register(subparsers)
    cli_weights.register(subparsers)
    return parser


def one_line(text: str, limit: int = 400) -> str:
    """``text`` as a single line of at most ``limit`` characters."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def main(
    argv: list[str] | None = None,
    *,
    converter_factory: Callable[..., Any] | None = None,
    params_factory: Callable[..., Any] | None = None,
) -> int:
    """Run one command; returns the exit code (see the module docstring)."""
    from inference.core.runtime import prepare_process

    prepare_process()
    argv = list(sys.argv[1:] if argv is None else argv)
    log_path = setup_logging()
    parser = build_parser(converter_factory, params_factory)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # -h (0) or a usage error (2): argparse already printed why
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else EXIT_UNEXPECTED
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_UNEXPECTED
    log.info("rvc-studio %s", " ".join(argv))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return int(args.func(args))
    except (*INTERRUPTS, Cancelled) as interrupt:
        log.info("cancelled (%s)", type(interrupt).__name__)
        print("cancelled", file=sys.stderr)
        return interrupt_code(interrupt)
    except RVCError as error:
        log.info("failed: %s", error)
        # an error whose every place searched is part of it asks for its whole line (max_line 0)
        limit = getattr(error, "max_line", 400) or None
        print(f"{PROG}: {printable(str(error))[:limit]}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:
        log.exception("unexpected error")
        where = f"; details in {log_path}" if log_path else ""
        text = one_line(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, 200)
        print(f"{PROG}: unexpected error: {text}{where}", file=sys.stderr)
        return EXIT_UNEXPECTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    code = main()
    ignore_interrupts()
    sys.exit(code)
