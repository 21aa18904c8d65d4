"""``rvc-studio convert|models|info|separate|download|weights``: the headless command line.

No traceback ever reaches the terminal. An expected failure (:class:`RVCError`) prints one line
and exits 1; anything else prints one line naming the log file (which holds the traceback) and
exits 2; Ctrl-C prints ``cancelled`` and exits 130. Argument errors are argparse's (exit 2).
This module imports neither Qt nor anything under ``app/``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from inference.core.errors import Cancelled, RVCError

log = logging.getLogger(__name__)

PROG = "rvc-studio"
LOG_FILE_NAME = "rvc-studio-cli.log"
EXIT_OK, EXIT_FAILED, EXIT_UNEXPECTED, EXIT_CANCELLED = 0, 1, 2, 130


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
    """The ``rvc-studio`` parser with its ``convert``, ``models``, ``info``, ``separate``, ``download`` and
    ``weights`` commands.

    The factories replace the real ``Converter``/``ConversionParams`` (tests).
    """
    from inference.cli import convert as cli_convert
    from inference.cli import models as cli_models
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
    """Run one command; returns the exit code (0 ok, 1 failed, 2 usage or unexpected, 130 Ctrl-C)."""
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
    try:
        return int(args.func(args))
    except (KeyboardInterrupt, Cancelled):
        log.info("cancelled by the user")
        print("cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except RVCError as error:
        log.info("failed: %s", error)
        print(f"{PROG}: {one_line(str(error), getattr(error, 'max_line', 400) or 1 << 16)}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:
        log.exception("unexpected error")
        where = f"; details in {log_path}" if log_path else ""
        text = one_line(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__, 200)
        print(f"{PROG}: unexpected error: {text}{where}", file=sys.stderr)
        return EXIT_UNEXPECTED


if __name__ == "__main__":
    sys.exit(main())
