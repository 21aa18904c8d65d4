"""The public synthesis entry point: both backends, determinism, seeds, windowed decoding.

Windowed decoding must give the one-pass output: checked on both backends with windows far
smaller than the default (many joins), to ``1e-5 x peak`` (only float summation order may
differ); a deliberately too-small overlap must fail that check, so the check has teeth.
MLX vs torch through ``infer`` with the same seed: ``1e-4 x peak``.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from inference.core.errors import Cancelled
from inference.synth import SynthesisError, decoder_margin, load_generator, plan_windows
from tests.support.voice_models import make_voice_model

FRAMES = 90


@pytest.fixture(scope="module")
def f0_model(tmp_path_factory):
    return make_voice_model(tmp_path_factory.mktemp("synth") / "v2_40k.pth", version="v2", sample_rate=40000, seed=3)


@pytest.fixture(scope="module")
def gens(f0_model):
    return {b: load_generator(f0_model, backend=b) for b in ("torch", "mlx")}


def _inputs(frames: int = FRAMES, dim: int = 768, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((frames, dim)).astype(np.float32)
    f0 = (150 + 50 * np.sin(np.arange(frames) / 7)).astype(np.float32)
    f0[20:30] = 0.0
    return features, f0


def _close(a: np.ndarray, b: np.ndarray, rel: float) -> tuple[bool, float, float]:
    peak = float(np.abs(b).max())
    err = float(np.abs(a - b).max())
    return err <= rel * peak, err, peak


def test_generator_describes_itself(gens) -> None:
    for backend, gen in gens.items():
        assert gen.backend == backend
        assert gen.sample_rate == 40000 and gen.config.sample_rate == 40000
        features, f0 = _inputs(12)
        audio = gen.infer(features, f0, noise="zero")
        assert audio.dtype == np.float32 and audio.shape == (12 * 400,)


def test_auto_backend_is_torch_off_apple_silicon(f0_model) -> None:
    import platform
    import sys

    gen = load_generator(f0_model)
    expected = "mlx" if sys.platform == "darwin" and platform.machine() == "arm64" else "torch"
    assert gen.backend == expected


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_zero_noise_is_deterministic_and_seeds_reproduce(gens, backend) -> None:
    gen = gens[backend]
    features, f0 = _inputs(30)
    a = gen.infer(features, f0, noise="zero")
    assert np.array_equal(a, gen.infer(features, f0, noise="zero"))
    s1 = gen.infer(features, f0, seed=11)
    assert np.array_equal(s1, gen.infer(features, f0, seed=11))
    s2 = gen.infer(features, f0, seed=12)
    assert not np.array_equal(s1, s2)
    assert not np.array_equal(s1, a)


def test_backends_agree_with_the_same_seed(gens) -> None:
    features, f0 = _inputs(30)
    ref = gens["torch"].infer(features, f0, seed=5)
    ok, err, peak = _close(gens["mlx"].infer(features, f0, seed=5), ref, 1e-4)
    assert ok, f"mlx vs torch with seed 5: {err:.3g} vs peak {peak:.3g}"


def test_window_plan_tiles_the_input() -> None:
    for frames, window, margin in [
        (10, 4, 3),
        (100, 20, 13),
        (101, 20, 13),
        (47, 20, 13),
        (300, 7, 5),
        (1200, 1000, 30),
        (5000, 1000, 30),
    ]:
        plan = plan_windows(frames, window, margin)
        assert plan[0][2] == 0 and plan[-1][3] == frames
        for (start, stop, keep_from, keep_to), nxt in zip(plan, plan[1:] + [None]):
            if nxt is not None:
                assert keep_to == nxt[2]
            assert start <= keep_from < keep_to <= stop
            assert keep_from - start >= margin or start == 0
            assert stop - keep_to >= margin or stop == frames
            assert keep_to - keep_from <= window or len(plan) == 1
        if len(plan) > 1:  # no wasted work: each join costs its two margins, nothing more
            assert sum(stop - start for start, stop, _, _ in plan) <= frames + 2 * margin * (len(plan) - 1)
            assert len(plan) == -(-frames // window)
    assert plan_windows(1060, 1000, 30) == [(0, 1060, 0, 1060)]  # fits with its margins: one pass
    # one length for the windows inside any input (oneDNN reuses the kernels it built for a shape)
    windows = [(n, *w) for n in (987, 1234, 5001) for w in plan_windows(n, 200, 14)]
    lengths = {stop - start for n, start, stop, _, _ in windows if 0 < start and stop < n}
    assert lengths == {228}


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_windowed_decoding_equals_one_pass(gens, backend) -> None:
    gen = gens[backend]
    features, f0 = _inputs()
    one_pass = gen.infer(features, f0, seed=1, window=FRAMES)
    assert len(plan_windows(FRAMES, 16, gen.margin)) >= 3
    windowed = gen.infer(features, f0, seed=1, window=16)
    ok, err, peak = _close(windowed, one_pass, 1e-5)
    assert ok, f"{backend}: windowed differs from one pass by {err:.3g} (peak {peak:.3g})"
    # the check has teeth: with too little overlap the joins show
    margin = gen.margin
    try:
        gen.margin = 2
        short = gen.infer(features, f0, seed=1, window=16)
    finally:
        gen.margin = margin
    assert not _close(short, one_pass, 1e-5)[0]


DECODERS = {
    "v1-32k": ([10, 4, 2, 2, 2], [16, 16, 4, 4, 4]),
    "40k": ([10, 10, 2, 2], [16, 16, 4, 4]),
    "v1-48k": ([10, 6, 2, 2, 2], [16, 16, 4, 4, 4]),
    "v2-32k": ([10, 8, 2, 2], [20, 16, 4, 4]),
    "v2-48k": ([12, 10, 2, 2], [24, 20, 4, 4]),
}


class _DecoderConfig:
    resblock = "1"
    resblock_kernel_sizes = [3, 7, 11]
    resblock_dilation_sizes = [[1, 3, 5], [1, 3, 5], [1, 3, 5]]

    def __init__(self, rates, kernels):
        self.upsample_rates = rates
        self.upsample_kernel_sizes = kernels


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_margin_is_enough_for_every_decoder(name) -> None:
    """decoder_margin's context, no more, reproduces one pass for each rate's decoder (MLX, fp32)."""
    from mlx.utils import tree_map

    from inference.core.runtime import import_mlx
    from inference.mlx.generators import GeneratorNSF

    mx = import_mlx()
    rates, kernels = DECODERS[name]
    config = _DecoderConfig(rates, kernels)
    margin = decoder_margin(config)
    assert margin <= 20, "a needlessly wide overlap wastes time"
    dec = GeneratorNSF(
        192, "1", config.resblock_kernel_sizes, config.resblock_dilation_sizes, rates, 64, kernels, 0, 40000
    )
    mx.random.seed(0)
    dec.update(tree_map(lambda p: mx.random.normal(p.shape) * 0.3, dec.parameters()))
    hop = int(np.prod(rates))
    frames = 2 * margin + 8
    # one pass over a longer input vs a window of it with exactly `margin` frames of context
    # each side of 8 kept frames; the window's edges are inside the input, not at its ends
    longer = mx.random.normal((1, frames + 10, 192))
    har = mx.random.normal((1, (frames + 10) * hop, 1)) * 0.1
    full = np.array(dec.decode(longer, har)).reshape(-1)
    window = np.array(dec.decode(longer[:, 5 : 5 + frames], har[:, 5 * hop : (5 + frames) * hop])).reshape(-1)
    ok, err, peak = _close(
        window[margin * hop : (margin + 8) * hop], full[(5 + margin) * hop : (13 + margin) * hop], 1e-5
    )
    assert ok, f"{name}: {err:.3g} vs peak {peak:.3g}"
    # each stage cut to the kept frames' needs (decode's keep): the same samples, those frames only
    cut = dec.decode(longer[:, 5 : 5 + frames], har[:, 5 * hop : (5 + frames) * hop], keep=(margin, margin + 8))
    ok, err, peak = _close(np.array(cut).reshape(-1), full[(5 + margin) * hop : (13 + margin) * hop], 1e-5)
    assert ok, f"{name}, cut: {err:.3g} vs peak {peak:.3g}"


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_torch_decoder_cuts_each_stage_to_the_frames_kept(name) -> None:
    """decode(..., keep=) on a window returns only the kept frames' audio, each stage's output
    cut to what the layers after it read: the same samples as one pass over a longer input
    (1e-5 x peak, float32), for a window inside the input and one at its start (no context on
    the left); the cut is real (stage 0's output is shorter than the window's)."""
    import torch

    from inference.synth.torch.generators import GeneratorNSF

    rates, kernels = DECODERS[name]
    config = _DecoderConfig(rates, kernels)
    margin = decoder_margin(config)
    torch.manual_seed(0)
    dec = GeneratorNSF(
        192, "1", config.resblock_kernel_sizes, config.resblock_dilation_sizes, rates, 64, kernels, 0, 40000
    ).eval()
    with torch.no_grad():
        for param in dec.parameters():
            param.copy_(torch.randn_like(param) * 0.3)
    hop = int(np.prod(rates))
    frames = 2 * margin + 8
    longer = torch.randn(1, 192, frames + 10)
    har = torch.randn(1, 1, (frames + 10) * hop) * 0.1
    widths = []
    stage = dec.stage
    dec.stage = lambda i, x, h=None: widths.append(x.shape[2]) or stage(i, x, h)
    with torch.inference_mode():
        full = dec.decode(longer, har).numpy().reshape(-1)
        for start, keep in ((5, (margin, margin + 8)), (0, (0, 8))):
            widths.clear()
            window = longer[:, :, start : start + frames]
            got = dec.decode(window, har[:, :, start * hop : (start + frames) * hop], keep=keep).numpy().reshape(-1)
            assert got.shape == (8 * hop,)
            want = full[(start + keep[0]) * hop : (start + keep[1]) * hop]
            ok, err, peak = _close(got, want, 1e-5)
            assert ok, f"{name}, window at {start}: {err:.3g} vs peak {peak:.3g}"
            assert widths[0] == frames and widths[1] < frames * rates[0]  # stage 1 reads a cut input


def test_progress_and_cancel(gens) -> None:
    gen = gens["mlx"]
    features, f0 = _inputs()
    seen: list[float] = []
    gen.infer(features, f0, noise="zero", window=16, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0
    stop = threading.Event()

    def cancel_midway(fraction: float) -> None:
        stop.set()

    with pytest.raises(Cancelled):
        gen.infer(features, f0, noise="zero", window=16, progress=cancel_midway, cancel=stop)


def test_bad_inputs_are_clear_errors(gens, tmp_path) -> None:
    gen = gens["torch"]
    features, f0 = _inputs(20)
    with pytest.raises(SynthesisError, match="768"):
        gen.infer(features[:, :256], f0)
    with pytest.raises(SynthesisError, match="f0"):
        gen.infer(features, None)
    with pytest.raises(SynthesisError, match="frames"):
        gen.infer(features, f0[:10])
    with pytest.raises(SynthesisError, match="speaker"):
        gen.infer(features, f0, speaker_id=5)
    with pytest.raises(SynthesisError, match="not found"):
        load_generator(tmp_path / "missing.pth")
    with pytest.raises(SynthesisError, match="backend"):
        load_generator(tmp_path / "missing.pth", backend="cuda")


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_model_without_f0_ignores_pitch(tmp_path, backend) -> None:
    path = make_voice_model(tmp_path / "nono.pth", version="v1", sample_rate=32000, f0=False, seed=4)
    gen = load_generator(path, backend=backend)
    features, f0 = _inputs(40, dim=256)
    a = gen.infer(features, None, seed=2)
    assert a.shape == (40 * 320,)
    assert np.array_equal(a, gen.infer(features, f0, seed=2))
    ok, err, peak = _close(gen.infer(features, None, seed=2, window=8), a, 1e-5)
    assert ok, f"{backend} no-f0 windowed: {err:.3g} vs peak {peak:.3g}"


def test_invalid_samples_are_an_error_not_audio(f0_model) -> None:
    """float16 overflows on inputs far out of range (1e6 > its 65504): a clear error, not NaN audio."""
    features, f0 = _inputs(12)
    half = load_generator(f0_model, backend="mlx", dtype="float16")
    assert np.isfinite(half.infer(features, f0, noise="zero")).all()
    with pytest.raises(
        SynthesisError, match=r"v2_40k\.pth produced invalid samples .* mlx backend in float16 \(try float32\)"
    ):
        half.infer(features * 1e6, f0, noise="zero")
