"""Turn a :class:`~inference.models.library.discover.Unit` into a :class:`VoiceModel`.

Model files are read with :func:`inference.models.checkpoint.read_model_info` (memory-mapped: no full
load) and index files by their header only; both results are cached by path, size and mtime,
so only new or changed files are ever opened. Whatever goes wrong with one model becomes a
sentence in its ``problems``, never an exception out of the scan.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.models.embedders import EmbedderRef, embedder_of
from inference.models.library.cache import MetadataCache
from inference.models.library.discover import FileRef, Unit
from inference.models.library.index_header import IndexHeaderError, read_index_header
from inference.models.library.model import FEATURE_WIDTH, VoiceModel
from inference.models.vocoders import SUPPORTED_VOCODERS

log = logging.getLogger(__name__)

_EPOCHS = re.compile(r"(\d+)\s*epochs?", re.IGNORECASE)
# ModelInfo fields the library keeps (see inference/models/checkpoint.py).
INFO_FIELDS = (
    "version",
    "sample_rate",
    "f0",
    "speakers",
    "epochs",
    "info",
    "author",
    "embedder_model",
    "embedder_model_custom",
    "vocoder",
    "has_config",
    "dtype",
)


def _one_line(message: str, path: Path) -> str:
    """``message`` on one line, without a leading ``<path>: `` (the model is named elsewhere)."""
    text = " ".join(str(message).split())
    for prefix in (str(path), path.name):
        if text.startswith(prefix + ":"):
            text = text[len(prefix) + 1 :].strip()
            break
    return text or "unknown error"


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def read_model_facts(path: Path) -> dict[str, Any]:
    """``{"info": {...}}`` for a voice model, or ``{"error": str, "unsupported": bool}``."""
    from inference.models.checkpoint import CheckpointError, UnsupportedModelError, read_model_info

    try:
        info = read_model_info(path, mmap=True)
    except UnsupportedModelError as error:
        return {"error": _one_line(str(error), path), "unsupported": True}
    except CheckpointError as error:
        return {"error": _one_line(str(error), path), "unsupported": False}
    except Exception as error:
        log.info("could not read %s", path, exc_info=True)
        return {"error": _one_line(f"{type(error).__name__}: {error}", path), "unsupported": False}
    return {"info": {name: _plain(getattr(info, name, None)) for name in INFO_FIELDS}}


def read_index_facts(path: Path) -> dict[str, Any]:
    """``{"width", "ntotal", "fourcc"}`` from the index's header, or ``{"error": str}``."""
    try:
        header = read_index_header(path)
    except IndexHeaderError as error:
        return {"error": _one_line(str(error), path)}
    return {"width": header.width, "ntotal": header.ntotal, "fourcc": header.fourcc}


def _is(value: Any, *kinds: type) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


# What a remembered model fact must be to be trusted (None allowed where the file may lack it).
_INFO_KINDS: dict[str, tuple[type, ...]] = {
    "version": (str,),
    "sample_rate": (int,),
    "f0": (bool,),
    "speakers": (int,),
    "epochs": (int, type(None)),
    "info": (str, type(None)),
    "author": (str, type(None)),
    "embedder_model": (str, type(None)),
    "embedder_model_custom": (str, type(None)),
    "vocoder": (str, type(None)),
    "has_config": (bool,),
    "dtype": (str, type(None)),
}


def valid_model_facts(facts: Any) -> bool:
    """True if remembered model facts have every field of the right kind (else they are re-read)."""
    if not isinstance(facts, dict):
        return False
    if "info" in facts:
        info = facts["info"]
        return (
            isinstance(info, dict)
            and all(_is(info.get(name), *kinds) for name, kinds in _INFO_KINDS.items())
            and info["version"] in FEATURE_WIDTH
            and info["speakers"] >= 1
        )
    return _is(facts.get("error"), str) and _is(facts.get("unsupported"), bool)


def valid_index_facts(facts: Any) -> bool:
    """True if remembered index facts have every field of the right kind (else they are re-read)."""
    if not isinstance(facts, dict):
        return False
    if "error" in facts:
        return _is(facts["error"], str)
    return (
        _is(facts.get("width"), int)
        and facts["width"] > 0
        and _is(facts.get("ntotal"), int)
        and facts["ntotal"] >= 0
        and _is(facts.get("fourcc"), str)
    )


def model_facts(ref: FileRef, cache: MetadataCache) -> dict[str, Any]:
    facts = cache.get(ref.path, ref.size, ref.mtime_ns, "pth")
    if facts is not None and not valid_model_facts(facts):
        log.info("re-reading %s: its remembered facts do not validate", ref.path)
        facts = None
    if facts is None:
        facts = read_model_facts(ref.path)
        cache.put(ref.path, ref.size, ref.mtime_ns, "pth", facts)
    return facts


def index_facts(ref: FileRef, cache: MetadataCache) -> dict[str, Any]:
    facts = cache.get(ref.path, ref.size, ref.mtime_ns, "index")
    if facts is not None and not valid_index_facts(facts):
        log.info("re-reading %s: its remembered facts do not validate", ref.path)
        facts = None
    if facts is None:
        facts = read_index_facts(ref.path)
        cache.put(ref.path, ref.size, ref.mtime_ns, "index", facts)
    return facts


def _choose_model(unit: Unit, cache: MetadataCache) -> tuple[FileRef, dict[str, Any]]:
    """The first model file with a config; else the first readable; else the first error.

    Files are read in the unit's order and reading stops at the first one with a config, as
    Replay picks "the first .pth whose dict has a config key".
    """
    derivable = unsupported = broken = None
    for ref in unit.models:
        facts = model_facts(ref, cache)
        if "info" in facts:
            if facts["info"].get("has_config", True):
                return ref, facts
            derivable = derivable or (ref, facts)
        elif facts.get("unsupported"):
            unsupported = unsupported or (ref, facts)
        else:
            broken = broken or (ref, facts)
    chosen = derivable or unsupported or broken
    assert chosen is not None  # callers pass units with at least one model file
    return chosen


def _index_rank(ref: FileRef) -> tuple:
    name = ref.path.name.lower()
    return (not name.startswith("added"), name.startswith("trained"), ref.depth)


def choose_index(
    indexes: list[FileRef], cache: MetadataCache, width: int | None, version: str | None
) -> tuple[FileRef | None, int | None, list[str]]:
    """``(index, its width, problems)``: the best index whose width fits the model.

    Preference: fits the model's width, holds vectors, ``added_*`` before others before
    ``trained_*``, shallower, then the discovery order (name similarity for flat folders).
    An index of the wrong width or with no vectors is skipped with a problem saying so.
    """
    if not indexes:
        return None, None, ["no index file"]
    ranked = sorted(indexes, key=_index_rank)
    facts = [(ref, index_facts(ref, cache)) for ref in ranked]
    readable = [(ref, f) for ref, f in facts if "width" in f]
    filled = [(ref, f) for ref, f in readable if f["ntotal"] > 0]
    fitting = [(ref, f) for ref, f in filled if width is None or f["width"] == width]
    if fitting:
        ref, f = fitting[0]
        return ref, f["width"], []
    if filled:
        ref, f = filled[0]
        return (
            None,
            None,
            [f"index {ref.path.name} is {f['width']} wide but this is a {version} model ({width}); it is skipped"],
        )
    if readable:
        return None, None, [f"index {readable[0][0].path.name} holds no vectors (a trained_ file); it is skipped"]
    ref, f = facts[0]
    return None, None, [f"index {ref.path.name} is unreadable: {f['error']}"]


# ref -> a problem (the embedder is missing or unknown), or None
EmbedderCheck = Callable[[EmbedderRef], str | None]


def describe(unit: Unit, cache: MetadataCache, check_embedder: EmbedderCheck | None = None) -> VoiceModel:
    """The :class:`VoiceModel` for ``unit``, with every problem found stated in it (its own
    embedder missing too, when ``check_embedder`` is given)."""
    model = VoiceModel(id=unit.id, name=unit.name, source=unit.source, root=str(unit.root), model_path="")
    if not unit.models:
        model.problems.append("no model file (.pth) in the folder")
        model.ok = False
        return model
    ref, facts = _choose_model(unit, cache)
    model.model_path, model.model_size = str(ref.path), ref.size
    info = facts.get("info")
    if info is None:
        error = facts["error"]
        if not facts.get("unsupported"):
            error = f"unreadable: {error}"
        elif not error.lower().startswith("unsupported"):
            error = f"unsupported: {error}"
        model.problems.append(error)
        model.ok = False
    else:
        _fill(model, info, check_embedder)
    index, index_width, problems = choose_index(unit.indexes, cache, model.feature_width, model.version)
    if index is not None:
        model.index_path, model.index_width, model.index_size = str(index.path), index_width, index.size
    if model.ok:  # a model that cannot be used needs no remarks about its index
        model.problems += problems
    return model


def _fill(model: VoiceModel, info: dict[str, Any], check_embedder: EmbedderCheck | None = None) -> None:
    model.version = info.get("version") or None
    rate = info.get("sample_rate")
    model.sample_rate = int(rate) if isinstance(rate, (int, float)) else None
    model.f0 = bool(info.get("f0", True))
    model.speakers = int(info.get("speakers") or 1)
    model.info = str(info.get("info") or "")
    epochs = info.get("epochs")
    if not isinstance(epochs, (int, float)):  # RVC writes only info="300epoch"
        match = _EPOCHS.fullmatch(model.info.strip())
        epochs = int(match.group(1)) if match else None
    model.epochs = None if epochs is None else int(epochs)
    model.author = str(info.get("author") or "")
    ref = embedder_of(info.get("embedder_model"), info.get("embedder_model_custom"))
    model.embedder = ref.label
    model.vocoder = str(info.get("vocoder") or "HiFi-GAN")
    if model.vocoder not in SUPPORTED_VOCODERS:
        model.problems.append(f"unsupported vocoder {model.vocoder}")
        model.ok = False
    problem = check_embedder(ref) if check_embedder is not None and model.ok else None
    if problem:  # never converted with another embedder: it would sound broken
        model.problems.append(problem)
        model.ok = False
    if model.version not in FEATURE_WIDTH:
        model.problems.append(f"unsupported model version {model.version!r}")
        model.ok = False
