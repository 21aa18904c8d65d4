"""Exception types shared by the inference package.

Every error a user can cause (a bad file, a missing weight, an incompatible index) is an
``RVCError`` whose message is one line that names the offending file or value. The GUI and
the CLI print ``str(error)`` and never a traceback for these.
"""

from __future__ import annotations


class RVCError(Exception):
    """Base class for expected, user-facing failures. ``str(e)`` is a one-line message."""


class Cancelled(RVCError):
    """Raised when a job's cancel event was set. Not a failure: callers treat it as a stop."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


def check_cancel(cancel) -> None:
    """Raise :class:`Cancelled` if ``cancel`` (a ``threading.Event`` or ``None``) is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def without_file(message: str, path) -> str:
    """``message`` without its leading ``"<path>: "``, where the file is named already (a summary
    line, a queue row, the song's title)."""
    return message.removeprefix(f"{path}: ")
