"""Applio's MRF HiFi-GAN and RefineGAN through the public entry point, on both backends.

Windowed decoding must give the one-pass output: ``1e-5 x peak`` (only float summation order
may differ), with a seed (the sine source's noise and phases are drawn for the whole input,
RefineGAN's AdaIN noise by position). RefineGAN's window margin is its receptive field once its
pyramid's far-reaching top is computed for the whole input (~15 frames; the top needs ~80,
checked on its own). MLX vs torch through ``infer`` with the noise off: ``1e-4 x peak``.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.synth import decoder_margin, load_generator, plan_windows
from inference.synth.runner import refinegan_margin, sinc_width
from tests.support.voice_models import make_voice_model, model_config

VOCODERS = ("MRF HiFi-GAN", "RefineGAN")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("vocoders")
    return {
        v: make_voice_model(root / f"{v[:3]}.pth", "v2", 24000, True, layout="applio", vocoder=v, seed=8)
        for v in VOCODERS
    }


def _inputs(frames: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((frames, 768)).astype(np.float32)
    f0 = (150 + 60 * np.sin(np.arange(frames) / 6)).astype(np.float32)
    f0[frames // 3 : frames // 3 + 8] = 0.0
    return features, f0


def _numpy(array) -> np.ndarray:
    return array.numpy() if hasattr(array, "numpy") else np.array(array)


def _close(a: np.ndarray, b: np.ndarray, rel: float) -> tuple[bool, float, float]:
    peak = float(np.abs(b).max())
    err = float(np.abs(a - b).max())
    return err <= rel * peak, err, peak


@pytest.mark.parametrize("vocoder", VOCODERS)
def test_both_backends_load_and_agree(models, vocoder) -> None:
    gens = {b: load_generator(models[vocoder], backend=b) for b in ("torch", "mlx")}
    features, f0 = _inputs(12)
    out = {}
    for backend, gen in gens.items():
        assert (gen.backend, gen.vocoder, gen.sample_rate, gen.hop) == (backend, vocoder, 24000, 240)
        out[backend] = gen.infer(features, f0, noise="zero")
        assert out[backend].shape == (12 * 240,) and np.isfinite(out[backend]).all()
        seeded = gen.infer(features, f0, seed=3)
        assert np.array_equal(seeded, gen.infer(features, f0, seed=3))
        assert not np.array_equal(seeded, gen.infer(features, f0, seed=4))
    ok, err, peak = _close(out["mlx"], out["torch"], 1e-4)
    assert ok, f"{vocoder}: mlx vs torch {err:.3g} (peak {peak:.3g})"


def test_mrf_margin_is_hifigans() -> None:
    mrf = model_config("v2", 48000, vocoder="MRF HiFi-GAN")
    assert decoder_margin(mrf) == decoder_margin(model_config("v2", 48000))


@pytest.mark.parametrize("rate", [24000, 32000, 40000, 48000])
def test_refinegan_margin_is_its_receptive_field(rate) -> None:
    """The walk in frames, for 48 kHz by hand: from the output to stage 0's input 6.27, and the
    pyramid level it reads (at 12 samples a frame): its conv 3/12, the decimation by 10 at 120
    (676 + 9) / 120, then 3/120 + (136 + 1) / 240 + 3/240 + (136 + 1) / 480 + 3/480: 13.13 in
    all, 15 with the rounding. The latent's path is shorter (10.27)."""
    config = model_config("v2", rate, vocoder="RefineGAN")
    margin = refinegan_margin(config)
    assert decoder_margin(config) == margin and 14 <= margin <= 20  # 19 at 24k: stage 0 runs at 10 a frame
    if rate == 48000:
        assert margin == 15
    from inference.synth.torch.refinegan import pyramid_reach, sinc_kernel

    assert all(sinc_width(r) == sinc_kernel(r)[1] for r in (2, 6, 8, 10, 12))
    assert 78 <= pyramid_reach(config.upsample_rates) <= 82  # what source() computes whole instead


@pytest.mark.parametrize("vocoder", VOCODERS)
@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_windowed_equals_one_pass(models, vocoder, backend) -> None:
    """Many windows against one pass, with the noise on (source noise and phases for the whole
    input, RefineGAN's AdaIN noise by position)."""
    gen = load_generator(models[vocoder], backend=backend)
    features, f0 = _inputs(60, seed=3)
    one_pass = gen.infer(features, f0, seed=5, window=60)
    assert len(plan_windows(60, 20, gen.margin)) == 3
    ok, err, peak = _close(gen.infer(features, f0, seed=5, window=20), one_pass, 1e-5)
    assert ok, f"{vocoder} {backend}: windowed differs from one pass by {err:.3g} (peak {peak:.3g})"
    # the check has teeth: with too little overlap the joins show
    margin = gen.margin
    try:
        gen.margin = 2
        short = gen.infer(features, f0, seed=5, window=20)
    finally:
        gen.margin = margin
    assert not _close(short, one_pass, 1e-5)[0]


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_refinegan_pyramid_top_in_pieces_equals_one_pass(models, backend, monkeypatch) -> None:
    """source() computes the pyramid's top in pieces with its reach as context: the same as whole
    (1e-5 x peak, as every windowed output here: convolutions over other lengths sum in another
    order, 2.3e-6 x peak seen with torch's CPU kernels), and visibly not with a tenth of the
    context (6e-3 x peak)."""
    port = __import__(f"inference.{'mlx' if backend == 'mlx' else 'synth.torch'}.refinegan", fromlist=["x"])
    gen = load_generator(models["RefineGAN"], backend=backend)
    dec = gen._impl.model.dec
    _, f0 = _inputs(300, seed=4)
    whole = _numpy(gen._impl.source(f0, None)[1]).reshape(-1)
    monkeypatch.setattr(port, "SOURCE_FRAMES", 60)
    pieces = _numpy(gen._impl.source(f0, None)[1]).reshape(-1)
    assert _close(pieces, whole, 1e-5)[0]
    reach = port.pyramid_reach(dec.upsample_rates)
    monkeypatch.setattr(port, "pyramid_reach", lambda rates: reach // 10)
    assert not _close(_numpy(gen._impl.source(f0, None)[1]).reshape(-1), whole, 1e-5)[0]


@pytest.mark.parametrize("backend", ["torch", "mlx"])
def test_mrf_source_in_pieces_equals_whole(models, backend, monkeypatch) -> None:
    """The 9 sines are made in pieces of frames after their phases were summed over the whole
    input: the same source as in one piece (1e-6 x peak), noise and overtone phases included."""
    port = __import__(f"inference.{'mlx' if backend == 'mlx' else 'synth.torch'}.hifigan_mrf", fromlist=["x"])
    gen = load_generator(models["MRF HiFi-GAN"], backend=backend)
    _, f0 = _inputs(300, seed=6)
    rng = np.random.default_rng(7)
    noise, phases = rng.standard_normal(300 * 240, dtype=np.float32), rng.random(8)
    whole = _numpy(gen._impl.source(f0, noise, phases)).reshape(-1)
    monkeypatch.setattr(port, "SOURCE_FRAMES", 70)
    pieces = _numpy(gen._impl.source(f0, noise, phases)).reshape(-1)
    ok, err, peak = _close(pieces, whole, 1e-6)
    assert ok, f"{backend}: {err:.3g} vs peak {peak:.3g}"
