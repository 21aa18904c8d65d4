"""Reading what a file of ours holds, field by field, without trusting its types.

Every file the app persists (the queue, the library's cache, the converted-weights caches) can
be damaged, hand-edited or written by another version. A loader reads each field with one of
these helpers: a field of the wrong type gets its default (and is logged by the caller), a record
missing what it cannot do without raises :class:`BadRecord` and is dropped. Nothing here raises
anything else, whatever JSON value it is handed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
_MISSING = object()


class BadRecord(ValueError):
    """A record without a field it cannot do without (the message names the field)."""


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object with text keys, else :class:`BadRecord`."""
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise BadRecord(f"expected an object, got {type(value).__name__}")
    return dict(value)


def required_text(data: Mapping[str, Any], key: str) -> str:
    """A non-empty string, or :class:`BadRecord`."""
    value = data.get(key, _MISSING)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise BadRecord(f"{key} must be non-empty text, got {_kind(value)}")
    return value


def text(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key)
    return value if isinstance(value, str) and "\x00" not in value else default


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value and "\x00" not in value else None


def number(
    data: Mapping[str, Any], key: str, default: float, low: float | None = None, high: float | None = None
) -> float:
    """A finite number within ``[low, high]`` (clamped), or ``default``."""
    value = optional_number(data, key)
    if value is None:
        return default
    if low is not None:
        value = max(low, value)
    if high is not None:
        value = min(high, value)
    return value


def optional_number(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def integer(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def choice(data: Mapping[str, Any], key: str, choices: Iterable[T], default: T) -> T:
    value = data.get(key)
    for option in choices:
        if isinstance(value, str) and value == option:
            return option
    return default


def text_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _kind(value: Any) -> str:
    return "nothing" if value is _MISSING else repr(value)[:40] if isinstance(value, str) else type(value).__name__
