"""Cutting long inputs into pieces at quiet points, and the padding/trimming arithmetic.

RVC's rule (RVC_REFERENCE.md §6.2), in samples at 16 kHz: an input longer than ``x_max`` (41 s)
is cut near every multiple of ``x_center`` (38 s), at the quietest point within ``±x_query``
(6 s), "quietest" meaning the smallest sum of ``|x|`` over a centred 160-sample window. Each
piece is analysed and synthesised with ``x_pad`` (1 s) of real neighbouring audio on both sides
(reflected at the file's own ends), and ``x_pad`` seconds are trimmed from both ends of its
output at the model's rate.

Differences from RVC, which at joins could drop or shift a frame (10 ms) per piece:

- every piece's core starts and stops on the 160-sample frame grid and the pieces tile
  ``[0, n_frames * 160)`` exactly, so the outputs concatenate with no gap and no overlap;
- each segment gets a short tail (:func:`embedder_tail`) so that HuBERT's frame count
  (``(len - 400) // 320 + 1``, at 50 frames/s) covers every 100 frames/s frame of the piece;
- segments are cut from a *virtual* padded signal (:func:`segment`): the whole padded array is
  never built, so memory does not grow with the input's length.

Everything here is plain numpy and cheap; the pipeline supplies the audio.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000  # the analysis rate
WINDOW = 160  # samples per 100 frames/s frame at 16 kHz (RVC's "window")
EMBED_FIELD = 400  # HuBERT's receptive field in samples
EMBED_STRIDE = 320  # HuBERT's stride: 50 frames/s

# RVC's constants for full-precision inference (seconds).
X_PAD = 1.0
X_MAX = 41.0
X_CENTER = 38.0
X_QUERY = 6.0


@dataclass(frozen=True)
class ChunkSettings:
    """When and where to cut, in seconds (RVC's ``x_pad``, ``x_max``, ``x_center``, ``x_query``).

    Tests shrink these to exercise the cutting path on a few seconds of audio.
    """

    x_pad: float = X_PAD
    x_max: float = X_MAX
    x_center: float = X_CENTER
    x_query: float = X_QUERY

    def __post_init__(self) -> None:
        if not self.x_pad > 0 or not self.x_query > 0:
            raise ValueError(f"x_pad and x_query must be > 0, got {self.x_pad}, {self.x_query}")
        if not self.x_center > self.x_query:
            raise ValueError(f"x_center ({self.x_center}) must exceed x_query ({self.x_query})")
        if not self.x_max >= self.x_center:
            raise ValueError(f"x_max ({self.x_max}) must be at least x_center ({self.x_center})")

    @staticmethod
    def _frames(seconds: float) -> int:
        return max(1, int(round(seconds * SAMPLE_RATE / WINDOW)))

    @property
    def pad(self) -> int:
        """Context each side of a piece, in samples (a whole number of frames)."""
        return self._frames(self.x_pad) * WINDOW

    @property
    def max_len(self) -> int:
        return self._frames(self.x_max) * WINDOW

    @property
    def center(self) -> int:
        return self._frames(self.x_center) * WINDOW

    @property
    def query(self) -> int:
        return self._frames(self.x_query) * WINDOW


@dataclass(frozen=True)
class Piece:
    """One piece: its core ``[start, stop)`` and its context, all in samples at 16 kHz.

    ``start``, ``stop`` and ``pad`` are multiples of :data:`WINDOW`. The segment analysed is
    ``[start - pad, stop + pad + tail)`` of the (virtually) padded input; its ``n_frames``
    100 frames/s frames span ``[start - pad, stop + pad)``, of which the core frames
    ``[pad_frames, pad_frames + core_frames)`` are kept.
    """

    start: int
    stop: int
    pad: int

    def __post_init__(self) -> None:
        if self.start % WINDOW or self.stop % WINDOW or self.pad % WINDOW:
            raise ValueError(f"piece bounds must be multiples of {WINDOW}: {self}")
        if self.stop <= self.start or self.pad < 0:
            raise ValueError(f"empty piece or negative padding: {self}")

    @property
    def core_frames(self) -> int:
        return (self.stop - self.start) // WINDOW

    @property
    def pad_frames(self) -> int:
        return self.pad // WINDOW

    @property
    def n_frames(self) -> int:
        """100 frames/s frames synthesised for this piece (core plus padding both sides)."""
        return self.core_frames + 2 * self.pad_frames

    @property
    def tail(self) -> int:
        return embedder_tail(self.n_frames)

    @property
    def lo(self) -> int:
        """First sample of the segment (negative: reflected before the input's start)."""
        return self.start - self.pad

    @property
    def hi(self) -> int:
        """One past the segment's last sample (may lie past the input's end)."""
        return self.stop + self.pad + self.tail

    def key(self) -> tuple[int, int, int, int]:
        return (self.start, self.stop, self.pad, self.tail)

    def trim(self, output: np.ndarray, hop: int) -> np.ndarray:
        """The core of a piece's synthesised ``output`` (``n_frames * hop`` samples)."""
        begin = self.pad_frames * hop
        return output[begin : begin + self.core_frames * hop]


def embedder_tail(n_frames: int) -> int:
    """Extra samples past ``n_frames * 160`` so HuBERT gives ``ceil(n_frames / 2)`` frames.

    HuBERT gives ``(L - 400) // 320 + 1`` frames for ``L`` samples; each is repeated twice to
    reach 100 frames/s. Without the tail, odd frame counts would lose their last frame.
    """
    needed = EMBED_STRIDE * (math.ceil(n_frames / 2) - 1) + EMBED_FIELD
    return max(0, needed - n_frames * WINDOW)


def total_frames(n_samples: int) -> int:
    """100 frames/s frames covering ``n_samples`` at 16 kHz (the last one partly past the end)."""
    return max(1, math.ceil(n_samples / WINDOW))


def output_length(n_samples: int, sample_rate: int) -> int:
    """Samples of output at ``sample_rate`` for ``n_samples`` of input at 16 kHz (same duration)."""
    return int(round(n_samples * sample_rate / SAMPLE_RATE))


def segment(audio: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """``padded[lo:hi]`` where ``padded`` is ``audio`` reflected at both ends, then zeros.

    Matches ``np.pad(audio, p, mode="reflect")`` wherever the reflection reaches (up to
    ``len(audio) - 1`` samples each side) and is zero beyond it; nothing but the slice is built.
    """
    n = audio.shape[0]
    if hi <= lo:
        return np.zeros(0, dtype=np.float32)
    if lo >= 0 and hi <= n:
        return np.array(audio[lo:hi], dtype=np.float32)
    reach = max(0, n - 1)
    parts: list[np.ndarray] = []
    if lo < 0:  # before the start: the reflection (x[1], x[2], ... backwards), zeros beyond it
        idx = -np.arange(lo, min(hi, 0))
        parts.append(np.where(idx <= reach, audio[np.minimum(idx, reach)], 0.0))
    if min(hi, n) > max(lo, 0):
        parts.append(audio[max(lo, 0) : min(hi, n)])
    if hi > n:  # past the end: x[n-2], x[n-3], ..., zeros beyond
        dist = np.arange(max(lo, n), hi) - (n - 1)
        parts.append(np.where(dist <= reach, audio[np.maximum(n - 1 - dist, 0)], 0.0))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def quietness(audio: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """RVC's cut criterion for positions ``[lo, hi)``: sum of ``|x|`` over ``[i - 80, i + 80)``.

    The input is reflected at its ends as RVC does (``np.pad(audio, 80, mode="reflect")``).
    """
    half = WINDOW // 2
    window = np.abs(segment(audio, lo - half, hi + half).astype(np.float64))
    csum = np.concatenate([[0.0], np.cumsum(window)])
    return csum[WINDOW : WINDOW + hi - lo] - csum[: hi - lo]


def cut_points(
    audio: np.ndarray,
    settings: ChunkSettings = ChunkSettings(),
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[int]:
    """Sample positions (multiples of 160) where a long ``audio`` is cut; ``[]`` when short.

    Near every multiple ``t`` of ``x_center`` the quietest position in ``[t - q, t + q)`` wins
    (the first one on ties, as ``np.where(... == min)[0][0]`` does in RVC). ``prepare`` (the
    pipeline's high-pass filter) is applied to each search window, with a margin either side
    so its edge effects stay outside the window, instead of to the whole input.
    """
    n = audio.shape[0]
    if n + WINDOW <= settings.max_len:  # RVC compares the 80-sample-padded length
        return []
    end = total_frames(n) * WINDOW
    margin = settings.pad
    cuts: list[int] = []
    for t in range(settings.center, n, settings.center):
        lo, hi = max(0, t - settings.query), min(n, t + settings.query)
        if hi <= lo:
            continue
        if prepare is None:
            score = quietness(audio, lo, hi)
        else:
            # a margin of real audio each side keeps the filter's edge effects (and the 80-sample
            # reflection, which only happens at the input's own ends) out of the window
            local_lo, local_hi = max(0, lo - margin), min(n, hi + margin)
            local = prepare(np.asarray(audio[local_lo:local_hi], dtype=np.float32))
            score = quietness(local, lo - local_lo, hi - local_lo)
        cut = (lo + int(np.argmin(score))) // WINDOW * WINDOW
        if cut > (cuts[-1] if cuts else 0) and cut < end:
            cuts.append(cut)
    return cuts


def plan_pieces(
    audio: np.ndarray,
    settings: ChunkSettings = ChunkSettings(),
    prepare: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Piece]:
    """The pieces of ``audio`` (16 kHz): cores tiling ``[0, total_frames * 160)`` in order."""
    end = total_frames(audio.shape[0]) * WINDOW
    bounds = [0, *cut_points(audio, settings, prepare), end]
    return [Piece(a, b, settings.pad) for a, b in zip(bounds[:-1], bounds[1:])]


def region_piece(start_s: float, end_s: float, n_samples: int, settings: ChunkSettings = ChunkSettings()) -> Piece:
    """The one piece covering ``[start_s, end_s)`` of an input ``n_samples`` long (a preview).

    The core is widened to the frame grid and clipped to the input; at least one frame.
    """
    end = total_frames(n_samples) * WINDOW
    start = int(math.floor(max(0.0, start_s) * SAMPLE_RATE / WINDOW)) * WINDOW
    stop = int(math.ceil(max(0.0, end_s) * SAMPLE_RATE / WINDOW)) * WINDOW
    start = min(start, end - WINDOW)
    stop = min(max(stop, start + WINDOW), end)
    return Piece(start, stop, settings.pad)
