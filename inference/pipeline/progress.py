"""Where a conversion's time goes and how far along it is.

- :class:`Clock`: seconds per stage, summed over pieces (``ConversionResult.timings``);
- :class:`StageProgress`: (stage, fraction within a piece) -> one monotonic fraction of the job,
  reported to the caller's ``progress(fraction, stage)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STAGES = ("Loading", "Decoding", "Embedding", "Pitch", "Retrieval", "Synthesising", "Writing")
# Where each stage sits inside one piece's share of the progress bar.
_PIECE_STAGES = {"Embedding": 0.0, "Pitch": 0.15, "Retrieval": 0.30, "Synthesising": 0.35}
_DECODE_SHARE, _WRITE_SHARE = 0.03, 0.05


class Clock:
    """Seconds spent per stage, summed over pieces."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {
            k: 0.0 for k in ("load", "decode", "embed", "f0", "retrieval", "synth", "write")
        }
        self.start = time.perf_counter()

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    def done(self) -> dict[str, float]:
        self.timings["total"] = time.perf_counter() - self.start
        return dict(self.timings)


class StageProgress:
    """Maps (stage, fraction within a piece) to one monotonic fraction of the whole job."""

    def __init__(self, callback: Callable[[float, str], None] | None, write_share: float = _WRITE_SHARE) -> None:
        self.callback = callback
        self.write_share = write_share
        self.last = 0.0
        self.piece, self.pieces = 0, 1

    def emit(self, fraction: float, stage: str) -> None:
        if self.callback is None:
            return
        self.last = max(self.last, min(1.0, fraction))
        self.callback(self.last, stage)

    def stage(self, stage: str, within: float = 0.0) -> None:
        """Inside piece ``self.piece``: ``stage`` at ``within`` (0..1) of that stage's share."""
        if stage == "Decoding":
            return self.emit(within * _DECODE_SHARE, stage)
        if stage == "Writing":
            return self.emit(1.0 - self.write_share * (1.0 - within), stage)
        names = list(_PIECE_STAGES)
        begin = _PIECE_STAGES[stage]
        nxt = names.index(stage) + 1
        end = _PIECE_STAGES[names[nxt]] if nxt < len(names) else 1.0
        in_piece = begin + (end - begin) * within
        span = 1.0 - _DECODE_SHARE - self.write_share
        self.emit(_DECODE_SHARE + span * (self.piece + in_piece) / self.pieces, stage)
