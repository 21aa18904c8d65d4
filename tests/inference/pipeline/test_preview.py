"""Previews streamed window by window: the same samples as the whole preview, from any
playhead position, the first window short; and the background analysis a preview then reuses."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from inference.pipeline import ConversionParams
from inference.pipeline.preview import PreviewChunk
from inference.synth import plan_stream, plan_windows
from tests.support.pipeline import TORCH, voice


@pytest.fixture(scope="module")
def long_song(tree):
    path = tree["root"] / "inputs" / "long.wav"
    sf.write(path, voice(4.0, 16000, seed=2), 16000)
    return path


@pytest.fixture
def small_windows(conv, tree):
    """Decoder windows of 20 frames, so a 2.5 s region streams in many windows."""
    gen = conv.generator(tree["models"]["v2f0"].model_path, "torch")
    saved = gen.window
    gen.window = 20
    yield gen
    gen.window = saved


def _join(chunks: list[PreviewChunk]) -> np.ndarray:
    for a, b in zip(chunks, chunks[1:]):
        assert abs(a.end_s - b.start_s) < 1e-9  # contiguous
    return np.concatenate([c.audio for c in chunks])


def test_plan_stream_tiles_from_the_start_with_a_short_first_window() -> None:
    plan = plan_stream(250, window=40, margin=7, first=5, start=33)
    kept = [(a, b) for _, _, a, b in plan]
    assert kept[0] == (33, 38) and kept[-1][1] == 250
    assert all(b1 == a2 for (_, b1), (a2, _) in zip(kept, kept[1:]))
    assert all(b - a <= 40 for a, b in kept)
    assert all(s == max(0, a - 7) and e == min(250, b + 7) for s, e, a, b in plan)
    assert plan_stream(30, 40, 7, first=50) == [(0, 30, 0, 30)]
    # a region ending before the input does: kept up to its end, context read past it
    assert plan_stream(250, 40, 7, first=5, start=33, stop=120)[-1] == (111, 127, 118, 120)
    assert [k for *_, k in plan_windows(250, 40, 7)][-1] == 250


@pytest.mark.parametrize("seed", [3, None], ids=["random-noise-seeded", "deterministic"])
def test_streamed_windows_carry_the_whole_previews_samples(conv, tree, long_song, small_windows, seed) -> None:
    """Concatenated, the chunks equal the whole preview before its peak normalisation (1e-5 x
    peak: windows cut elsewhere sum in another order); pitch curves equal too."""
    params = ConversionParams(seed=seed, deterministic=seed is None, pitch=2, **TORCH)
    model = tree["models"]["v2f0"]
    whole, sr, f0_in, f0_t = conv.preview(long_song, model, params, 0.7, 3.2)
    chunks = list(conv.preview_stream(long_song, model, params, 0.7, 3.2, first_s=0.1))
    assert len(chunks) >= 5 and chunks[-1].last and not any(c.last for c in chunks[:-1])
    assert chunks[0].audio.shape[0] == pytest.approx(0.1 * sr, abs=0.011 * sr)  # the short first window
    assert chunks[0].start_s == pytest.approx(0.7) and chunks[-1].end_s == pytest.approx(3.2, abs=1 / sr)
    streamed = _join(chunks)
    peak = float(np.abs(streamed).max())
    scale = min(1.0, 0.99 / peak)
    assert streamed.shape == whole.shape
    assert np.abs(streamed * scale - whole).max() <= 1e-5 * peak
    np.testing.assert_array_equal(chunks[0].f0_in, f0_in)
    np.testing.assert_array_equal(chunks[-1].f0_target, f0_t)
    # each chunk says how long its own decoding took (what the player's start rule predicts from)
    assert all(c.work_s > 0 for c in chunks if c.audio.size)


def test_a_stream_restarts_from_the_playhead(conv, tree, long_song, small_windows) -> None:
    params = ConversionParams(seed=5, pitch=-3, **TORCH)
    model = tree["models"]["v2f0"]
    full = _join(list(conv.preview_stream(long_song, model, params, 0.7, 3.2)))
    later = list(conv.preview_stream(long_song, model, params, 0.7, 3.2, play_from=2.0, first_s=0.1))
    assert later[0].start_s == pytest.approx(2.0, abs=1 / 32000)
    tail = _join(later)
    offset = round((later[0].start_s - 0.7) * 32000)
    assert tail.shape[0] == full.shape[0] - offset
    assert np.abs(tail - full[offset:]).max() <= 1e-5 * np.abs(full).max()


def test_rms_mix_streams_as_one_chunk(conv, tree, long_song) -> None:
    params = ConversionParams(seed=1, rms_mix_rate=0.5, **TORCH)
    model = tree["models"]["v2f0"]
    chunks = list(conv.preview_stream(long_song, model, params, 0.7, 3.2))
    whole, *_ = conv.preview(long_song, model, params, 0.7, 3.2)
    assert len(chunks) == 1 and chunks[0].last
    peak = float(np.abs(chunks[0].audio).max())
    np.testing.assert_allclose(chunks[0].audio * min(1.0, 0.99 / peak), whole, atol=1e-6)


def test_background_analysis_leaves_only_synthesis_for_the_preview(tree, long_song) -> None:
    from inference.pipeline import Converter
    from tests.support.pipeline import PAD

    conv = Converter(cache_dir=tree["root"] / "cache-analyse", chunk=PAD)
    params = ConversionParams(seed=1, **TORCH)
    model = tree["models"]["v1f0"]
    conv.analyse(long_song, model, params, (0.5, 2.5))
    assert conv.stats == {"embed": 1, "f0": 1, "synth": 0}
    conv.preview(long_song, model, ConversionParams(seed=1, pitch=7, **TORCH), 0.5, 2.5)
    assert conv.stats == {"embed": 1, "f0": 1, "synth": 1}  # the click only synthesised
    conv.analyse(long_song, model, params)  # the whole file, piece by piece (one piece here)
    assert conv.stats == {"embed": 2, "f0": 2, "synth": 1}
    conv.convert_file(long_song, model, tree["root"] / "analysed-out", params)
    assert conv.stats == {"embed": 2, "f0": 2, "synth": 2}  # the conversion found every piece analysed
