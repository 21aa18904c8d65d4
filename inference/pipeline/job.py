"""What one conversion needs, resolved before any work: the model's files, the loaded generator,
the weights' digests that key the analysis cache, and the user's parameters.

A job that cannot run (an unusable model, a speaker out of range, a missing weight) fails here,
in :meth:`~inference.pipeline.converter.Converter._prepare`, before a second of audio is decoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError
from inference.pipeline.cache import analysis_key
from inference.pipeline.chunking import Piece
from inference.pipeline.params import ConversionParams
from inference.pipeline.progress import Clock


class ConversionError(RVCError):
    """A conversion that cannot run as asked (speaker out of range, unusable model, silent input)."""


@dataclass
class PreparedJob:
    """Everything one conversion needs, resolved and loaded up front (fail before any work)."""

    params: ConversionParams
    generator: Any
    index_path: Path | None
    embedder_path: Path
    embedder_digest: str
    f0_digest: str | None  # the pitch model's weights (rmvpe.pt), when it has a file
    name: str
    clock: Clock = field(default_factory=Clock)

    @property
    def version(self) -> str:
        return str(self.generator.config.version)

    @property
    def method(self) -> str | None:
        return self.params.f0_method if self.generator.config.f0 else None

    def analysis_key(self, source: Any, piece: Piece) -> str:
        # Harvest's track is median-filtered by the radius; the other methods ignore it.
        from inference.audio.formant import is_active

        radius = int(self.params.filter_radius) if self.method == "harvest" else None
        parts = dict(
            source=source,
            piece=piece.key(),
            embedder=self.embedder_digest,
            version=self.version,
            f0=self.method,
            f0_weights=self.f0_digest,
            radius=radius,
        )
        if is_active(self.params.formant_timbre):  # the analysis is of the shifted input
            parts["formant"] = (float(self.params.formant_timbre), float(self.params.formant_quefrency))
        return analysis_key(**parts)


def resolve_model(model: Any) -> tuple[Path, Path | None, str]:
    """``(model_path, index_path, display name)`` of a VoiceModel-like object or a ``.pth`` path."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model).expanduser()
        return path, None, path.stem
    model_path = getattr(model, "model_path", None)
    if not model_path:
        raise ConversionError(f"not a voice model: {model!r}")
    name = str(getattr(model, "name", "") or Path(model_path).stem)
    if getattr(model, "ok", True) is False:
        problems = "; ".join(getattr(model, "problems", None) or []) or "it cannot be read"
        raise ConversionError(f"the voice model {name} cannot be used: {problems}")
    index = getattr(model, "index_path", None)
    return Path(model_path).expanduser(), Path(index).expanduser() if index else None, name


def weights_digest(path: Path, cache_root: Path | None) -> str:
    """Content digest of the embedder's weights (a file, or a transformers folder's files)."""
    from inference.pipeline.cache import file_digest

    if path.is_file():
        return file_digest(path, cache_root)
    parts = [
        f"{p.name}:{file_digest(p, cache_root)}"
        for p in sorted(path.iterdir())
        if p.is_file() and p.suffix in (".json", ".bin", ".safetensors")
    ]
    return "|".join(parts)


def embedder_weights(model_path: Path, name: str, weights_dirs) -> Path:
    """The weights of the model's own embedder (:mod:`inference.models.embedders`); never another
    one: its features would make the model sound broken. The error names the model and says
    where to get the embedder."""
    from inference.models.checkpoint import read_model_info
    from inference.models.embedders import EmbedderNotFoundError, embedder_of, find_embedder

    info = read_model_info(model_path)  # the checkpoint's metadata only: milliseconds
    ref = embedder_of(info.embedder_model, info.embedder_model_custom)
    try:
        return find_embedder(ref, weights_dirs)
    except EmbedderNotFoundError as error:
        if ref.is_default:  # the HuBERT every RVC model uses: the message says what is missing
            raise
        raise type(error)(f"{name} {error}") from None
