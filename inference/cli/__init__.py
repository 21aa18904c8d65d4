"""``rvc-studio convert|models|info``: the headless command line (:mod:`.main` runs a command;
:mod:`.convert` and :mod:`.models` define them)."""

from inference.cli.main import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_UNEXPECTED, PROG, main

__all__ = ["EXIT_CANCELLED", "EXIT_FAILED", "EXIT_OK", "EXIT_UNEXPECTED", "PROG", "main"]
