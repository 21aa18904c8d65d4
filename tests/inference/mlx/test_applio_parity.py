"""Applio's MRF HiFi-GAN and RefineGAN on MLX vs our PyTorch port, on the same checkpoints.

Full-size random-weight models saved as Applio saves them (fp16, ``weight_g``/``weight_v``),
v2 at 24, 32, 40 and 48 kHz, short inputs (16 frames), every random draw off, fp32: max
|mlx - torch| must be within ``TOLERANCE`` x the peak (1e-5; measured 6e-7 to 1.3e-6). fp16 on
MLX (what Apple GPUs run) within ``FP16_TOLERANCE`` (1e-2; measured 1.5e-4 to 7.3e-4). The
blocks that are new here (RefineGAN's sinc decimation and linear upsampling, the MRF harmonic
source) are checked on their own at 1e-6. The converted weights are cached as for HiFi-GAN
models.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_mlx, import_torch

mx = import_mlx()
torch = import_torch()

from inference.f0 import coarse_f0  # noqa: E402
from inference.mlx import cache  # noqa: E402
from inference.mlx import hifigan_mrf as mlx_mrf  # noqa: E402
from inference.mlx import refinegan as mlx_refinegan  # noqa: E402
from inference.mlx.convert import convert_state_dict, load_arrays  # noqa: E402
from inference.mlx.synthesizers import Synthesizer  # noqa: E402
from inference.models.checkpoint import load_checkpoint  # noqa: E402
from inference.synth.torch import hifigan_mrf as torch_mrf  # noqa: E402
from inference.synth.torch import refinegan as torch_refinegan  # noqa: E402
from inference.synth.torch.convert import load_synthesizer  # noqa: E402
from tests.support.voice_models import make_voice_model  # noqa: E402

VOCODERS = ("MRF HiFi-GAN", "RefineGAN")
RATES = (24000, 32000, 40000, 48000)
FRAMES = 16
TOLERANCE = 1e-5
FP16_TOLERANCE = 1e-2


def _inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((FRAMES, 768)).astype(np.float32)
    f0 = (120 + 250 * rng.random(FRAMES)).astype(np.float32)
    f0[5:8] = 0.0  # an unvoiced stretch
    return features, f0


def _torch_audio(path, features, f0) -> np.ndarray:
    _, synth = load_synthesizer(path)
    with torch.inference_mode():
        pitch = torch.from_numpy(coarse_f0(f0).astype(np.int64)[None])
        z, g = synth.encode(torch.from_numpy(features[None]), pitch, torch.tensor([0]))
        return synth.dec.decode(z, synth.dec.source(torch.from_numpy(f0[None])), g).numpy().reshape(-1)


def _mlx_audio(model, features, f0) -> np.ndarray:
    pitch = mx.array(coarse_f0(f0).astype(np.int32)[None])
    z, g = model.encode(mx.array(features[None]).astype(model.emb_g.weight.dtype), pitch, mx.array([0]))
    return np.array(model.dec.decode(z, model.dec.source(mx.array(f0[None])), g).astype(mx.float32)).reshape(-1)


@pytest.mark.parametrize("vocoder", VOCODERS)
@pytest.mark.parametrize("rate", RATES, ids=[f"{r // 1000}k" for r in RATES])
def test_mlx_matches_torch(tmp_path, vocoder, rate) -> None:
    path = make_voice_model(tmp_path / "m.pth", "v2", rate, True, layout="applio", vocoder=vocoder, seed=rate // 1000)
    config, state_dict, _ = load_checkpoint(path)
    assert config.vocoder == vocoder
    features, f0 = _inputs(seed=rate)
    ref = _torch_audio(path, features, f0)
    model = Synthesizer(config)
    out = _mlx_audio(load_arrays(model, convert_state_dict(state_dict, model)), features, f0)
    assert out.shape == ref.shape == (FRAMES * config.hop,)
    peak = float(np.abs(ref).max())
    assert peak > 1e-3, "degenerate reference output"
    err = float(np.abs(out - ref).max())
    assert err <= TOLERANCE * peak, f"{vocoder} {rate}: max |mlx - torch| {err:.3g} > {TOLERANCE} x peak {peak:.3g}"


@pytest.mark.parametrize("vocoder", VOCODERS)
def test_mlx_fp16_is_close_to_torch_fp32(tmp_path, vocoder) -> None:
    path = make_voice_model(tmp_path / "m.pth", "v2", 32000, True, layout="applio", vocoder=vocoder, seed=9)
    config, state_dict, _ = load_checkpoint(path)
    features, f0 = _inputs(seed=9)
    ref = _torch_audio(path, features, f0)
    model = Synthesizer(config)
    out = _mlx_audio(load_arrays(model, convert_state_dict(state_dict, model), "float16"), features, f0)
    peak = float(np.abs(ref).max())
    err = float(np.abs(out - ref).max())
    assert err <= FP16_TOLERANCE * peak, f"fp16: max |diff| {err:.3g} > {FP16_TOLERANCE} x peak {peak:.3g}"


@pytest.mark.parametrize("ratio", [2, 6, 8, 10, 12])
def test_sinc_decimation(ratio) -> None:
    x = np.random.default_rng(ratio).standard_normal((2, 3, 50 * ratio + 5)).astype(np.float32)
    ref = torch_refinegan.SincDownsample(ratio)(torch.from_numpy(x)).numpy()
    out = np.array(mlx_refinegan.SincDownsample(ratio)(mx.array(x.transpose(0, 2, 1)))).transpose(0, 2, 1)
    assert out.shape == ref.shape
    assert np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


@pytest.mark.parametrize("ratio", [2, 12, 480])
def test_linear_upsampling(ratio) -> None:
    x = np.random.default_rng(ratio).standard_normal((1, 5, 21)).astype(np.float32)
    ref = torch_refinegan.upsample_linear(torch.from_numpy(x), ratio).numpy()
    out = np.array(mlx_refinegan.upsample_linear(mx.array(x.transpose(0, 2, 1)), ratio)).transpose(0, 2, 1)
    assert np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


def test_harmonic_source() -> None:
    rng = np.random.default_rng(0)
    f0 = (100 + 900 * rng.random((1, 300))).astype(np.float32)
    f0[:, 40:60] = 0
    phases = rng.random(9)
    ref = torch_mrf.harmonic_sines(torch.from_numpy(f0), 400, 40000, torch.from_numpy(phases)).numpy()
    out = np.array(mlx_mrf.harmonic_sines(mx.array(f0), 400, 40000, phases))
    assert np.abs(out - ref).max() <= 1e-6 * 0.1


def test_adain_noise_is_the_same_in_any_window() -> None:
    """Noise drawn for samples 1000..1500 equals that part of a draw for 0..3000 (blocks of 64)."""
    whole = np.array(mlx_refinegan.positional_normal(5, 3, 0, 3000, 4, 64))
    part = np.array(mlx_refinegan.positional_normal(5, 3, 1000, 500, 4, 64))
    assert np.array_equal(part, whole[:, 1000:1500]) and abs(float(whole.std()) - 1) < 0.05
    other = np.array(mlx_refinegan.positional_normal(5, 4, 0, 3000, 4, 64))
    assert not np.allclose(other, whole)
    t_whole = torch_refinegan.positional_normal(5, 3, 0, 3000, 4, 64).numpy()
    t_part = torch_refinegan.positional_normal(5, 3, 1000, 500, 4, 64).numpy()
    assert np.array_equal(t_part, t_whole[:, :, 1000:1500]) and abs(float(t_whole.std()) - 1) < 0.05


def test_refinegan_decoding_in_chunks_equals_one_pass(tmp_path) -> None:
    """The CPU path runs each stage in pieces: the same samples as whole stages (1e-5 x peak),
    the AdaIN noise included (drawn by position)."""
    path = make_voice_model(tmp_path / "m.pth", "v2", 40000, True, layout="applio", vocoder="RefineGAN", seed=6)
    config, state_dict, _ = load_checkpoint(path)
    model = load_arrays(Synthesizer(config), convert_state_dict(state_dict, Synthesizer(config)))
    features, f0 = _inputs(seed=6)
    z, g = model.encode(mx.array(features[None]), mx.array(coarse_f0(f0).astype(np.int32)[None]), mx.array([0]))
    source = model.dec.source(mx.array(f0[None]))
    whole = np.array(model.dec.decode(z, source, g, noise=(3, 5)))
    chunked = np.array(model.dec.decode(z, source, g, chunk=1 << 13, noise=(3, 5)))
    assert chunked.shape == whole.shape
    assert np.abs(chunked - whole).max() <= 1e-5 * np.abs(whole).max()


@pytest.mark.parametrize("vocoder", VOCODERS)
def test_converted_weights_are_cached(tmp_path, monkeypatch, vocoder) -> None:
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = make_voice_model(tmp_path / "m.pth", "v2", 32000, True, layout="applio", vocoder=vocoder, seed=4)
    config, model = cache.load_synthesizer(path)
    entry = cache.read_entry(cache.source_digest(path))
    assert entry is not None and entry[0]["vocoder"] == vocoder and entry[0] == config.to_dict()

    import inference.models.checkpoint as checkpoint

    def forbidden(*_a, **_k):
        raise AssertionError("the .pth was read although the cache entry is valid")

    monkeypatch.setattr(checkpoint, "load_checkpoint", forbidden)
    config2, model2 = cache.load_synthesizer(path)
    assert config2 == config and config2.vocoder == vocoder
    features, f0 = _inputs(seed=1)
    assert np.array_equal(_mlx_audio(model, features, f0), _mlx_audio(model2, features, f0))
