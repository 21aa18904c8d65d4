"""The app's handle on the inference engine: builds a Converter on first use, on a worker thread.

Nothing heavy is imported until a worker first calls :meth:`Engine.converter`, so the window
opens without torch, MLX or faiss loaded. Covers wrap the converter in a ``CoverMaker`` on the
engine's one separation stage (:meth:`Engine.cover_maker`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class Engine:
    """Builds one ``Converter`` lazily and hands it to the worker that owns this Engine.

    ``weights_dirs`` is called at build time so a changed weights folder in Settings takes
    effect at the next build (:meth:`reset`). ``factory`` and ``params_factory`` replace the real Converter and
    ConversionParams in tests.
    """

    def __init__(
        self,
        weights_dirs: Callable[[], list[Path]],
        cache_dir: Path,
        factory: Callable[..., Any] | None = None,
        params_factory: Callable[..., Any] | None = None,
        stage_factory: Callable[[], Any] | None = None,
        stem_cache_bytes: Callable[[], int] | None = None,
    ) -> None:
        self._weights_dirs = weights_dirs
        self._cache_dir = Path(cache_dir)
        self._factory = factory
        self._params_factory = params_factory
        self._stage_factory = stage_factory
        self._stem_cache_bytes = stem_cache_bytes  # the Settings' bound, read at each use
        self._converter: Any = None
        self._stage: Any = None
        self._lock = threading.Lock()

    def converter(self) -> Any:
        with self._lock:
            if self._converter is None:
                factory = self._factory
                if factory is None:
                    from inference.pipeline import Converter

                    factory = Converter
                dirs = [Path(d) for d in self._weights_dirs() if d]
                log.info("Building the converter (weights folders: %s)", ", ".join(map(str, dirs)))
                self._converter = factory(weights_dirs=dirs, cache_dir=self._cache_dir)
            return self._converter

    def stage(self) -> Any:
        """The covers' separation stage (``inference.covers.stage.SeparationStage``), built on first
        use and kept: its opened separators and stem cache serve the next cover."""
        with self._lock:
            if self._stage is None:
                factory = self._stage_factory
                if factory is None:
                    from inference.covers.stage import SeparationStage

                    factory = SeparationStage
                self._stage = factory()
            cache = getattr(self._stage, "cache", None)
            if cache is not None and self._stem_cache_bytes is not None:
                cache.max_bytes = max(0, int(self._stem_cache_bytes()))
            return self._stage

    def cover_maker(self, cover: dict[str, Any]) -> Any:
        """A ``CoverMaker`` for ``cover`` (plain values): ``convert_file`` as the converter's."""
        from inference.covers.cover import CoverMaker
        from inference.covers.params import CoverParams

        return CoverMaker(self.converter(), self.stage(), CoverParams.coerce(cover))

    def reset(self) -> None:
        """Forget the converter; the next job builds a new one (new weights folder, say)."""
        with self._lock:
            self._converter = None

    def make_params(self, values: dict[str, Any], output_format: str | None = None, bitrate: int | None = None) -> Any:
        """The engine's ``ConversionParams`` from the panel's plain values (and the output's
        format and bit rate, from Settings)."""
        extra = {"output_format": output_format or "wav"} | ({"bitrate": int(bitrate)} if bitrate else {})
        if self._params_factory is not None:
            return self._params_factory(**dict(values, **extra))
        from inference.pipeline import ConversionParams

        names = {f.name for f in dataclasses.fields(ConversionParams)}
        kwargs = {k: v for k, v in values.items() if k in names}
        if output_format:
            kwargs.update(extra)
        elif bitrate:
            kwargs["bitrate"] = int(bitrate)
        return ConversionParams(**kwargs)
