"""Whole-generator parity: MLX vs our PyTorch generator on the same checkpoint and inputs.

All 10 variants (v1 32k/40k/48k, v2 32k/48k (v2 40k shares v1 40k's decoder) ... see CONFIGS)
with random weights saved in the real format, noise set to zero, fp32: max |mlx - torch| must
be <= 1e-4 x the peak amplitude. Inputs are short (24 frames); the configs are full size.
fp16 on MLX (what Apple GPUs run) is checked at a looser 2e-2 x peak.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_mlx, import_torch

mx = import_mlx()
torch = import_torch()

from inference.f0 import coarse_f0  # noqa: E402
from inference.mlx.convert import convert_state_dict, load_arrays  # noqa: E402
from inference.mlx.synthesizers import Synthesizer  # noqa: E402
from inference.models.checkpoint import load_checkpoint  # noqa: E402
from inference.synth.torch.convert import load_synthesizer  # noqa: E402
from tests.support.voice_models import make_voice_model  # noqa: E402

# the five distinct (version, rate) configs of the RVC reference table
CONFIGS = [("v1", 32000), ("v1", 40000), ("v1", 48000), ("v2", 32000), ("v2", 48000)]
FRAMES = 24
TOLERANCE = 1e-4
FP16_TOLERANCE = 2e-2


def _inputs(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((FRAMES, dim)).astype(np.float32)
    f0 = (140 + 60 * rng.random(FRAMES)).astype(np.float32)
    f0[5:9] = 0.0  # an unvoiced stretch
    return features, f0


def _torch_audio(path, features, f0) -> np.ndarray:
    _, synth = load_synthesizer(path, "float32")
    with torch.inference_mode():
        phone = torch.from_numpy(features[None])
        has_f0 = hasattr(synth.dec, "m_source")
        pitch = torch.from_numpy(coarse_f0(f0).astype(np.int64)[None]) if has_f0 else None
        z, g = synth.encode(phone, pitch, torch.tensor([0]), None)
        har = synth.dec.source(torch.from_numpy(f0[None]), None) if has_f0 else None
        return synth.dec.decode(z, har, g).numpy().reshape(-1)


def _mlx_audio(config, state_dict, features, f0, dtype="float32") -> np.ndarray:
    model = load_arrays(Synthesizer(config), convert_state_dict(state_dict, Synthesizer(config)), dtype)
    pitch = mx.array(coarse_f0(f0).astype(np.int32)[None]) if config.f0 else None
    z, g = model.encode(mx.array(features[None]).astype(model.emb_g.weight.dtype), pitch, mx.array([0]))
    har = model.dec.source(mx.array(f0[None])) if config.f0 else None
    return np.array(model.dec.decode(z, har, g).astype(mx.float32)).reshape(-1)


@pytest.mark.parametrize("f0", [True, False], ids=["f0", "nof0"])
@pytest.mark.parametrize("version,rate", CONFIGS, ids=[f"{v}-{r // 1000}k" for v, r in CONFIGS])
def test_mlx_matches_torch(tmp_path, version, rate, f0) -> None:
    path = make_voice_model(tmp_path / "m.pth", version=version, sample_rate=rate, f0=f0, seed=rate // 1000)
    config, state_dict, _ = load_checkpoint(path)
    features, f0_hz = _inputs(config.feature_dim, seed=rate)
    ref = _torch_audio(path, features, f0_hz)
    out = _mlx_audio(config, state_dict, features, f0_hz)
    assert out.shape == ref.shape == (FRAMES * config.hop,)
    peak = float(np.abs(ref).max())
    assert peak > 1e-3, "degenerate reference output"
    err = float(np.abs(out - ref).max())
    assert err <= TOLERANCE * peak, f"max |mlx - torch| {err:.3g} > {TOLERANCE} x peak {peak:.3g}"


def test_mlx_fp16_is_close_to_torch_fp32(tmp_path) -> None:
    path = make_voice_model(tmp_path / "m.pth", version="v2", sample_rate=32000, seed=9)
    config, state_dict, _ = load_checkpoint(path)
    features, f0_hz = _inputs(config.feature_dim, seed=9)
    features, f0_hz = features[:10], f0_hz[:10]  # fp16 matmuls are slow on the CPU
    ref = _torch_audio(path, features, f0_hz)
    out = _mlx_audio(config, state_dict, features, f0_hz, dtype="float16")
    peak = float(np.abs(ref).max())
    err = float(np.abs(out - ref).max())
    assert err <= FP16_TOLERANCE * peak, f"fp16: max |diff| {err:.3g} > {FP16_TOLERANCE} x peak {peak:.3g}"
