"""Cutting long inputs (inference/pipeline/chunking.py): RVC's quiet-point rule and exact tiling.

The cut search is compared with a direct transcription of RVC's recipe (pad 80 reflect, sum
``|x|`` over 160 shifts, first minimum within ``±x_query`` of each multiple of ``x_center``)
on the same audio: the cut positions must be identical. The padding/trimming arithmetic is
checked with a frame-local stand-in for the converter: converting piece by piece and joining
must give exactly (bit for bit) what converting the whole input gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.pipeline.chunking import (
    WINDOW,
    ChunkSettings,
    Piece,
    cut_points,
    embedder_tail,
    output_length,
    plan_pieces,
    quietness,
    region_piece,
    segment,
    total_frames,
)

SMALL = ChunkSettings(x_pad=0.1, x_max=0.5, x_center=0.4, x_query=0.1)


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Noise under a wobbling envelope with a few near-silent gaps (somewhere to cut)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    t = np.arange(n) / 16000
    env = 0.2 + 0.15 * np.sin(2 * np.pi * 1.7 * t) ** 2
    for centre in rng.uniform(0, seconds, size=max(1, int(seconds / 3))):
        env[np.abs(t - centre) < 0.05] = 0.002
    return (env * rng.standard_normal(n)).astype(np.float32)


def _rvc_cuts(audio: np.ndarray, window: int, t_max: int, t_center: int, t_query: int) -> list[int]:
    """RVC's cut search, transcribed from its description (reference for the test)."""
    audio_pad = np.pad(audio, (window // 2, window // 2), mode="reflect")
    cuts = []
    if audio_pad.shape[0] > t_max:
        audio_sum = np.zeros_like(audio, dtype=np.float64)
        for i in range(window):
            audio_sum += np.abs(audio_pad[i : i - window])
        for t in range(t_center, audio.shape[0], t_center):
            part = audio_sum[t - t_query : t + t_query]
            cuts.append((t - t_query + np.where(part == part.min())[0][0]) // window * window)
    return cuts


def test_default_settings_are_rvcs_constants_in_samples() -> None:
    s = ChunkSettings()
    assert (s.pad, s.max_len, s.center, s.query) == (16000, 41 * 16000, 38 * 16000, 6 * 16000)
    for bad in (dict(x_pad=0), dict(x_center=5, x_query=6), dict(x_max=30)):
        with pytest.raises(ValueError):
            ChunkSettings(**bad)


@pytest.mark.parametrize("lo,hi", [(-9, 19), (-3, 5), (-9, -2), (12, 19), (3, 7), (-30, 40), (5, 15), (10, 30)])
def test_segment_is_a_slice_of_the_reflect_padded_input(lo: int, hi: int) -> None:
    audio = np.arange(1, 11, dtype=np.float32)
    padded = np.pad(audio, 9, mode="reflect")  # reflection reaches len - 1 = 9 samples
    expected = [padded[i + 9] if -9 <= i < 19 else 0.0 for i in range(lo, hi)]
    got = segment(audio, lo, hi)
    assert got.dtype == np.float32 and np.array_equal(got, expected)


def test_embedder_tail_is_the_shortest_that_covers_every_frame() -> None:
    for n in range(1, 700):
        tail = embedder_tail(n)
        need = math.ceil(n / 2)
        length = n * WINDOW + tail
        assert (length - 400) // 320 + 1 == need
        # one sample less would lose a frame (unless no tail was needed at all)
        assert tail == 0 or (length - 1 - 400) // 320 + 1 < need


def test_quietness_matches_rvcs_rolling_sum() -> None:
    audio = _speechlike(2.0, seed=1)
    padded = np.pad(audio, 80, mode="reflect")
    ref = np.zeros(audio.shape[0])
    for i in range(160):
        ref += np.abs(padded[i : i - 160])
    np.testing.assert_allclose(quietness(audio, 0, audio.shape[0]), ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(quietness(audio, 5000, 9000), ref[5000:9000], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seconds,seed", [(3.3, 2), (4.05, 3), (6.0, 4)])
def test_cut_points_match_rvc(seconds: float, seed: int) -> None:
    audio = _speechlike(seconds, seed)
    s = SMALL
    ref = _rvc_cuts(audio, WINDOW, s.max_len, s.center, s.query)
    assert ref, "the reference must cut this input"
    assert cut_points(audio, s) == ref


def test_short_input_is_not_cut_and_the_limit_is_rvcs() -> None:
    s = SMALL
    assert cut_points(np.ones(s.max_len - WINDOW, np.float32), s) == []
    assert cut_points(np.ones(s.max_len - WINDOW + 1, np.float32), s) != []


def test_cut_search_on_filtered_windows_matches_filtering_everything() -> None:
    from scipy import signal

    b, a = signal.butter(5, 48, btype="high", fs=16000)
    audio = _speechlike(5.0, seed=5) + 0.3  # a DC offset only the filter removes
    whole = signal.filtfilt(b, a, audio).astype(np.float32)

    def prepare(x: np.ndarray) -> np.ndarray:
        return signal.filtfilt(b, a, x).astype(np.float32)

    assert cut_points(audio, SMALL, prepare) == cut_points(whole, SMALL)


def test_pieces_tile_the_input_on_the_frame_grid() -> None:
    audio = _speechlike(4.321, seed=6)
    pieces = plan_pieces(audio, SMALL)
    assert len(pieces) > 5
    assert pieces[0].start == 0 and pieces[-1].stop == total_frames(audio.shape[0]) * WINDOW
    for a, b in zip(pieces, pieces[1:]):
        assert a.stop == b.start
    for p in pieces:
        assert p.start % WINDOW == 0 and p.stop % WINDOW == 0 and p.pad == SMALL.pad
        assert p.n_frames == p.core_frames + 2 * p.pad_frames
        assert p.hi - p.lo == p.n_frames * WINDOW + p.tail
        # never longer than a centre step plus the search window, never empty
        assert 0 < p.stop - p.start <= SMALL.center + 2 * SMALL.query


def _frame_local_convert(seg: np.ndarray, n_frames: int, hop: int) -> np.ndarray:
    """A stand-in converter whose output frame i depends only on input frame i (and i+1)."""
    frames = seg[: (n_frames + 1) * WINDOW]
    frames = np.pad(frames, (0, (n_frames + 1) * WINDOW - frames.shape[0]))
    means = frames.reshape(n_frames + 1, WINDOW).mean(axis=1)
    values = 0.7 * means[:-1] + 0.3 * means[1:]
    return np.repeat(values, hop).astype(np.float32)


@pytest.mark.parametrize("hop", [320, 400, 480])
def test_pieces_joined_equal_the_whole(hop: int) -> None:
    audio = _speechlike(5.5, seed=7)
    n = audio.shape[0]
    whole = Piece(0, total_frames(n) * WINDOW, SMALL.pad)
    one = whole.trim(_frame_local_convert(segment(audio, whole.lo, whole.hi), whole.n_frames, hop), hop)
    pieces = plan_pieces(audio, SMALL)
    assert len(pieces) > 3
    joined = np.concatenate(
        [p.trim(_frame_local_convert(segment(audio, p.lo, p.hi), p.n_frames, hop), hop) for p in pieces]
    )
    assert joined.shape == one.shape == (total_frames(n) * hop,)
    assert np.array_equal(joined, one)
    assert output_length(n, hop * 100) <= joined.shape[0] < output_length(n, hop * 100) + hop


def test_region_piece_covers_the_region_on_the_grid() -> None:
    n = 16000 * 3 + 77
    p = region_piece(1.2345, 2.0001, n, SMALL)
    assert p.start <= int(1.2345 * 16000) and p.stop >= int(2.0001 * 16000)
    assert p.start % WINDOW == 0 and p.stop % WINDOW == 0 and p.stop - p.start < 0.8 * 16000
    end = total_frames(n) * WINDOW
    assert region_piece(2.9, 10.0, n, SMALL).stop == end
    tiny = region_piece(5.0, 6.0, n, SMALL)  # past the end: still one frame at the end
    assert tiny.stop == end and tiny.core_frames == 1
