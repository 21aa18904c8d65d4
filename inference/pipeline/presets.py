"""Presets: named sets of conversion parameters, kept in one JSON file in the app's data folder.

A preset holds some or all of :data:`PRESET_FIELDS` (the panel's parameters but the engine,
which belongs to the machine, not to a sound); applying it sets those and leaves the others.
The window saves every field; an imported Applio preset has only the fields Applio saves.

``presets.json`` is ``{"version": 1, "presets": [{"name": ..., "values": {...}}, ...]}``,
written atomically. It is read field by field (:mod:`inference.core.records`): a value of the
wrong kind gets its default and one out of range is clamped, both logged; a record without a
name or without values is dropped and logged; a damaged file reads as no presets, and the next
save moves it aside (``presets.json.damaged``) rather than over it.

:func:`read_applio_preset` reads Applio's two preset files: the inference presets of
``assets/presets/<Name>.json`` (``pitch``, ``index_rate``, ``rms_mix_rate``, ``protect``) and
the formant presets of ``assets/formant_shift/<name>.json`` (``formant_qfrency`` [sic],
``formant_timbre``); the extra names of its command line (``f0_method``, ``f0_autotune``,
``f0_autotune_strength``, ``formant_shifting``) are understood too.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError
from inference.pipeline.params import F0_METHODS, PANEL_RANGES, PARAM_DEFAULTS, RANGES

log = logging.getLogger(__name__)

PRESETS_FILE = "presets.json"
PRESETS_VERSION = 1
PRESET_FIELDS = tuple(name for name in PARAM_DEFAULTS if name != "backend")
NAME_MAX = 80
MAX_IMPORT_BYTES = 1 << 20  # an Applio preset is a few hundred bytes


class PresetError(RVCError):
    """A preset that cannot be found, named, saved or imported (the message says why)."""


def clean_values(values: Any, where: str = "preset") -> dict[str, Any]:
    """The preset fields of ``values``, each checked: a value of the wrong kind gets its default,
    one out of range is clamped (both logged); unknown keys are ignored."""
    out: dict[str, Any] = {}
    if not isinstance(values, dict):
        return out
    ranges = {spec.name: spec for spec in PANEL_RANGES}
    for name in PRESET_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "f0_method":
            ok = value in F0_METHODS
            out[name] = value if ok else PARAM_DEFAULTS[name]
        else:
            spec = ranges[name]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            out[name] = spec.clamp(float(value)) if ok else spec.default
            if ok and out[name] != value:
                log.warning("%s: %s %r is out of range; %r is used", where, name, value, out[name])
        if not ok:
            log.warning("%s: %s %r is not valid; the default %r is used", where, name, value, out[name])
    return out


def check_name(name: Any) -> str:
    """``name`` stripped, or :class:`PresetError` saying why it cannot name a preset."""
    text = " ".join(str(name).split()) if isinstance(name, str) else ""
    if not text:
        raise PresetError("a preset needs a name")
    if len(text) > NAME_MAX:
        raise PresetError(f"a preset's name may be {NAME_MAX} characters at most ({len(text)} given)")
    return text


class PresetStore:
    """The presets in ``folder/presets.json`` (default: the app's data folder). Every method reads
    the file afresh, so two windows or the command line never work on a stale copy."""

    def __init__(self, folder: os.PathLike | str | None = None) -> None:
        if folder is None:
            from inference.core.paths import data_dir

            folder = data_dir()
        self.path = Path(folder).expanduser() / PRESETS_FILE

    def load(self) -> dict[str, dict[str, Any]]:
        """``{name: values}`` in the file's order (see the module docstring for what is dropped)."""
        from inference.core import records

        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            log.warning("Ignoring the unreadable presets file %s: %s", self.path, error)
            return {}
        items = data.get("presets") if isinstance(data, dict) else None
        if not isinstance(items, list):
            log.warning("Ignoring the presets file %s: it holds no list of presets", self.path)
            return {}
        out: dict[str, dict[str, Any]] = {}
        for item in items:
            try:
                record = records.mapping(item)
                name = check_name(records.required_text(record, "name"))
                values = records.mapping(record.get("values"))
            except (records.BadRecord, PresetError) as error:
                log.warning("Dropping a bad preset in %s: %s", self.path, error)
                continue
            if name in out:
                log.warning("Dropping a second preset called %r in %s", name, self.path)
                continue
            out[name] = clean_values(values, f"preset {name!r}")
        return out

    def names(self) -> list[str]:
        return list(self.load())

    def get(self, name: str) -> dict[str, Any]:
        """The values of the preset ``name`` (:class:`PresetError` listing the presets when none is)."""
        presets = self.load()
        key = " ".join(str(name).split())
        if key in presets:
            return dict(presets[key])
        folded = [n for n in presets if n.casefold() == key.casefold()]
        if len(folded) == 1:
            return dict(presets[folded[0]])
        known = ", ".join(repr(n) for n in presets) or "none saved yet"
        raise PresetError(f"no preset called {name!r} (presets: {known})")

    def save(self, name: str, values: dict[str, Any], replace: bool = True) -> str:
        """Store ``values`` (their preset fields) as ``name``; returns the name used."""
        name = check_name(name)
        presets = self.load()
        if not replace and name in presets:
            raise PresetError(f"a preset called {name!r} exists already")
        presets[name] = clean_values(values, f"preset {name!r}")
        self._write(presets)
        return name

    def rename(self, old: str, new: str) -> str:
        new = check_name(new)
        presets = self.load()
        if old not in presets:
            raise PresetError(f"no preset called {old!r}")
        if new != old and new in presets:
            raise PresetError(f"a preset called {new!r} exists already")
        self._write({(new if n == old else n): v for n, v in presets.items()})
        return new

    def delete(self, name: str) -> None:
        presets = self.load()
        if name not in presets:
            raise PresetError(f"no preset called {name!r}")
        del presets[name]
        self._write(presets)

    def import_applio(self, path: os.PathLike | str) -> str:
        """Add the Applio preset file ``path`` under its file name (numbered when taken); returns the name."""
        path = Path(path).expanduser()
        values = read_applio_preset(path)
        presets = self.load()
        base = check_name(path.stem)
        name, n = base, 1
        while name in presets:
            n += 1
            name = f"{base} ({n})"
        presets[name] = values
        self._write(presets)
        return name

    def _write(self, presets: dict[str, dict[str, Any]]) -> None:
        payload = {"version": PRESETS_VERSION, "presets": [{"name": n, "values": v} for n, v in presets.items()]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._set_aside_if_damaged()
            tmp.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as error:
            tmp.unlink(missing_ok=True)
            raise PresetError(f"{self.path}: cannot be written ({error.strerror or error})") from None

    def _set_aside_if_damaged(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("presets"), list):
                return
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            pass
        aside = self.path.with_name(self.path.name + ".damaged")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.damaged-{n}")
        os.replace(self.path, aside)
        log.warning("The presets file %s was damaged: kept as %s", self.path, aside)


# Applio's keys -> ours (the formant quefrency is spelt "qfrency" in its files).
APPLIO_KEYS = {
    "pitch": "pitch",
    "index_rate": "index_rate",
    "rms_mix_rate": "rms_mix_rate",
    "volume_envelope": "rms_mix_rate",
    "protect": "protect",
    "f0_method": "f0_method",
    "formant_qfrency": "formant_quefrency",
    "formant_quefrency": "formant_quefrency",
    "formant_timbre": "formant_timbre",
}


def read_applio_preset(path: Path) -> dict[str, Any]:
    """Our values from an Applio preset file (never code: plain JSON, size-bounded)."""
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise PresetError(f"{path}: too large for a preset ({path.stat().st_size} bytes)")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PresetError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise PresetError(f"{path}: not a readable preset ({error})") from None
    if not isinstance(data, dict):
        raise PresetError(f"{path}: not an Applio preset (it holds no settings)")
    values = {ours: data[theirs] for theirs, ours in APPLIO_KEYS.items() if theirs in data}
    if data.get("f0_autotune") is True:
        values["autotune"] = data.get("f0_autotune_strength", RANGES["autotune"].high)
    elif data.get("f0_autotune") is False:
        values["autotune"] = 0.0
    if data.get("formant_shifting") is False:
        values.pop("formant_timbre", None)
        values.pop("formant_quefrency", None)
    if not values:
        raise PresetError(f"{path}: not an Applio preset (none of {', '.join(APPLIO_KEYS)})")
    return clean_values(values, str(path))
