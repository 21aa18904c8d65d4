"""Applio's MRF HiFi-GAN and RefineGAN decoders in our PyTorch port: keys, files, outputs.

The expected keys and shapes are written out in ``tests/support/checkpoint_keys.py`` from
Applio's architecture, independently of the model code. The outputs are compared with a
functional reference written here from the same description (plain ``torch.nn.functional``
calls on the folded weights; torchaudio's resampling kernel by its own float32 recipe; phases
as float64 running sums over every sample), with every random draw off: ``REFERENCE_TOL`` x
peak. ``scripts/check_against_applio.py`` compares the port with Applio's own classes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.core.runtime import import_torch

torch = import_torch()
F = torch.nn.functional

from inference.models.checkpoint import load_checkpoint, read_model_info  # noqa: E402
from inference.synth.torch.convert import build_synthesizer, load_synthesizer  # noqa: E402
from inference.synth.torch.hifigan_mrf import harmonic_sines  # noqa: E402
from inference.synth.torch.refinegan import SincDownsample, upsample_linear  # noqa: E402
from tests.support.checkpoint_keys import APPLIO_V2, applio_keys, as_gv  # noqa: E402
from tests.support.voice_models import make_voice_model, model_config  # noqa: E402

VOCODERS = ("MRF HiFi-GAN", "RefineGAN")
RATES = (24000, 32000, 40000, 48000)
FRAMES = 16
REFERENCE_TOL = 1e-5


# -- the functional reference (noise off) ----------------------------------------------------------


def _folded(state: dict, name: str) -> torch.Tensor:
    if name + ".weight" in state:
        return state[name + ".weight"].double()
    g, v = state[name + ".weight_g"].double(), state[name + ".weight_v"].double()
    return g * v / v.flatten(1).norm(dim=1).reshape(-1, 1, 1)


def _conv(state, name, x, **kw) -> torch.Tensor:
    bias = state.get(name + ".bias")
    return F.conv1d(x, _folded(state, name).float(), None if bias is None else bias.float(), **kw)


def _resample_down(x: torch.Tensor, r: int) -> torch.Tensor:
    """torchaudio.functional.resample(x, r, 1, 64, 0.9475937167399596, "sinc_interp_kaiser",
    14.769656459379492), its kernel computed in float32 as torchaudio computes it."""
    base, zeros, beta = 0.9475937167399596, 64, 14.769656459379492
    width = math.ceil(zeros * r / base)
    t = (torch.arange(-width, width + r, dtype=torch.float32) / r * base).clamp(-zeros, zeros)
    window = torch.i0(beta * torch.sqrt(1 - (t / zeros) ** 2)) / torch.i0(torch.tensor(beta))
    t = t * math.pi
    kernel = torch.where(t == 0, torch.tensor(1.0), t.sin() / t) * (window * (base / r))
    b, c, n = x.shape
    y = F.conv1d(F.pad(x.reshape(b * c, 1, n), (width, width + r)), kernel[None, None], stride=r)
    return y[..., : math.ceil(n / r)].reshape(b, c, -1)


def _sines(f0s: torch.Tensor, rate: int, harmonics: int) -> torch.Tensor:
    """``[B, N]`` sample-rate f0 -> ``[B, N, harmonics+1]`` sines (0.1, unvoiced 0), float64 phases."""
    k = torch.arange(1, harmonics + 2, dtype=torch.float32)
    rad = (f0s[..., None] * k / rate % 1.0).double()
    phase = torch.cumsum(rad, dim=1) % 1.0
    return torch.sin(2 * math.pi * phase).float() * 0.1 * (f0s > 0).float()[..., None]


def reference_refinegan(state, z, f0, g, rates, rate) -> torch.Tensor:
    hop = math.prod(rates)
    f0s = F.interpolate(f0[:, None], size=f0.shape[1] * hop, mode="linear")[:, 0]
    har = torch.tanh(_sines(f0s, rate, 0) @ state["dec.m_source.merge.0.weight"].float().T).transpose(1, 2)
    x, downs = _conv(state, "dec.pre_conv", har, padding=3), []
    for i, r in enumerate(reversed(rates)):
        x = F.leaky_relu(x, 0.2)
        downs.append(x)
        x = _conv(state, f"dec.downsample_blocks.{i}", _resample_down(x, r), padding=3)
    x = torch.cat([_conv(state, "dec.mel_conv", z, padding=3) + _conv(state, "dec.cond", g), x], dim=1)
    for i, r in enumerate(rates):
        x = F.interpolate(F.leaky_relu(x, 0.2), scale_factor=r, mode="linear")
        stage = f"dec.upsample_conv_blocks.{i}"
        x = _conv(state, f"{stage}.input_conv", torch.cat([x, downs[3 - i]], dim=1), padding=3)
        branches = []
        for b, k in enumerate((3, 7, 11)):
            y = F.leaky_relu(x, 0.2)  # AdaIN without noise
            for j, d in enumerate((1, 3, 5)):
                pair = f"{stage}.blocks.{b}.1.convs"
                t = _conv(state, f"{pair}1.{j}", F.leaky_relu(y, 0.2), padding=d * (k - 1) // 2, dilation=d)
                y = y + _conv(state, f"{pair}2.{j}", F.leaky_relu(t, 0.2), padding=(k - 1) // 2)
            branches.append(F.leaky_relu(y, 0.2))
        x = torch.stack(branches).mean(0)
    return torch.tanh(_conv(state, "dec.conv_post", F.leaky_relu(x, 0.2), padding=3))


def reference_mrf(state, z, f0, g, rates, kernels, rate) -> torch.Tensor:
    hop = math.prod(rates)
    sines = _sines(torch.repeat_interleave(f0, hop, dim=1), rate, 8)
    linear = state["dec.m_source.l_linear.weight"].float(), state["dec.m_source.l_linear.bias"].float()
    har = torch.tanh(F.linear(sines, *linear)).transpose(1, 2)
    x = _conv(state, "dec.conv_pre", z, padding=3) + _conv(state, "dec.cond", g)
    for i, (u, k) in enumerate(zip(rates, kernels)):
        up = _folded(state, f"dec.upsamples.{i}").float()
        x = F.conv_transpose1d(F.leaky_relu(x, 0.1), up, state[f"dec.upsamples.{i}.bias"].float(), u, (k - u) // 2)
        s = math.prod(rates[i + 1 :])
        x = x + _conv(state, f"dec.noise_convs.{i}", har, stride=s, padding=s // 2 if s > 1 else 0)
        total = 0
        for j, rk in enumerate((3, 7, 11)):
            y = x
            for n, d in enumerate((1, 3, 5)):
                layer = f"dec.mrfs.{i}.{j}.layers.{n}"
                t = _conv(state, f"{layer}.conv1", F.leaky_relu(y, 0.1), padding=d * (rk - 1) // 2, dilation=d)
                y = y + _conv(state, f"{layer}.conv2", F.leaky_relu(t, 0.1), padding=rk // 2)
            total = total + y
        x = total / 3
    return torch.tanh(_conv(state, "dec.conv_post", F.leaky_relu(x, 0.01), padding=3))


# -- keys and files ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vocoder", VOCODERS)
@pytest.mark.parametrize("rate", RATES)
def test_model_keys_are_applios(vocoder, rate) -> None:
    with torch.device("meta"):
        model = build_synthesizer(model_config("v2", rate, True, speakers=2, vocoder=vocoder))
    assert as_gv(model.state_dict()) == applio_keys(vocoder, rate, speakers=2)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("applio")
    return {
        (v, rate): make_voice_model(root / f"{v[:3]}{rate}.pth", "v2", rate, layout="applio", vocoder=v, seed=rate)
        for v in VOCODERS
        for rate in (32000, 40000, 48000)
    }


@pytest.mark.parametrize("vocoder", VOCODERS)
def test_files_are_as_extract_model_saves_them(files, vocoder) -> None:
    path = files[(vocoder, 48000)]
    data = torch.load(path, weights_only=True)
    assert list(data) == [
        "weight", "config", "epoch", "step", "sr", "f0", "version", "creation_date", "model_hash",
        "dataset_length", "model_name", "author", "embedder_model", "speakers_id", "vocoder",
    ]  # fmt: skip
    assert (data["sr"], data["f0"], data["version"], data["vocoder"]) == (48000, True, "v2", vocoder)
    assert data["config"][-1] == 48000 and data["config"][12] == [12, 10, 2, 2]
    assert {k: tuple(v.shape) for k, v in data["weight"].items()} == applio_keys(vocoder, 48000)
    assert {v.dtype for v in data["weight"].values()} == {torch.float16}
    info = read_model_info(path)
    assert (info.vocoder, info.sample_rate, info.version, info.f0) == (vocoder, 48000, "v2", True)
    assert info.dtype == "float16"
    config, _, _ = load_checkpoint(path)
    assert config.vocoder == vocoder and config.hop == 480


# -- outputs ---------------------------------------------------------------------------------------


def _inputs(frames: int = FRAMES, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    phone = torch.randn(1, frames, 768, generator=gen)
    f0 = 120 + 250 * torch.rand(1, frames, generator=gen)
    f0[:, 5:8] = 0  # an unvoiced stretch
    pitch = torch.clamp(torch.round(f0 / 4), 1, 255).long()
    return phone, pitch, f0


@pytest.mark.parametrize("vocoder", VOCODERS)
@pytest.mark.parametrize("rate", (32000, 40000, 48000))
def test_decoder_matches_the_functional_reference(files, vocoder, rate) -> None:
    config, model = load_synthesizer(files[(vocoder, rate)])
    _, state, _ = load_checkpoint(files[(vocoder, rate)])
    phone, pitch, f0 = _inputs(seed=rate)
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]))
        out = model.dec.decode(z, model.dec.source(f0), g)
        rates, kernels = APPLIO_V2[rate]
        if vocoder == "RefineGAN":
            ref = reference_refinegan(state, z, f0, g, rates, rate)
        else:
            ref = reference_mrf(state, z, f0, g, rates, kernels, rate)
    assert out.shape == ref.shape == (1, 1, FRAMES * config.hop)
    peak = float(ref.abs().max())
    assert peak > 1e-3, "degenerate reference output"
    err = float((out - ref).abs().max())
    assert err <= REFERENCE_TOL * peak, f"{vocoder} {rate}: max |diff| {err:.3g} vs peak {peak:.3g}"


@pytest.mark.parametrize("vocoder", VOCODERS)
def test_noise_is_used_and_none_means_none(files, vocoder) -> None:
    _, model = load_synthesizer(files[(vocoder, 40000)])
    phone, pitch, f0 = _inputs(seed=3)
    n = FRAMES * 400
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]))
        quiet = model.dec.decode(z, model.dec.source(f0), g)
        assert torch.equal(quiet, model.dec.decode(z, model.dec.source(f0, torch.zeros(1, n, 1)), g))
        noise = torch.randn(1, n, 1, generator=torch.Generator().manual_seed(1))
        loud = model.dec.decode(z, model.dec.source(f0, noise), g)
        assert (loud - quiet).abs().max() > 1e-4
        if vocoder == "RefineGAN":  # AdaIN noise: seeded, and only where asked for
            a = model.dec.decode(z, model.dec.source(f0), g, noise=(7, 0))
            assert torch.equal(a, model.dec.decode(z, model.dec.source(f0), g, noise=(7, 0)))
            assert (a - quiet).abs().max() > 1e-4
        else:  # the overtones' initial phases
            phases = torch.rand(8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
            shifted = model.dec.decode(z, model.dec.source(f0, None, phases), g)
            assert (shifted - quiet).abs().max() > 1e-4


def test_refinegan_decoding_in_chunks_equals_one_pass(files) -> None:
    """Each stage run in pieces with its context (and the AdaIN noise drawn by position) gives the
    one-pass samples, to 1e-5 x peak."""
    _, model = load_synthesizer(files[("RefineGAN", 40000)])
    phone, pitch, f0 = _inputs(frames=24, seed=6)
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]))
        source = model.dec.source(f0)
        whole = model.dec.decode(z, source, g, noise=(3, 5))
        chunked = model.dec.decode(z, source, g, chunk=1 << 13, noise=(3, 5))
    assert chunked.shape == whole.shape
    assert (chunked - whole).abs().max() <= 1e-5 * whole.abs().max()


# -- the building blocks against torch's own operations --------------------------------------------


@pytest.mark.parametrize("ratio", [2, 6, 8, 10, 12])
def test_sinc_decimation_is_torchaudios(ratio) -> None:
    """Our float64 kernel vs torchaudio's float32 recipe: within 1e-6 x peak."""
    x = torch.randn(2, 3, 40 * ratio + 7, generator=torch.Generator().manual_seed(ratio))
    ref = _resample_down(x, ratio)
    out = SincDownsample(ratio)(x)
    assert out.shape == ref.shape == (2, 3, math.ceil(x.shape[-1] / ratio))
    assert float((out - ref).abs().max()) <= 1e-6 * float(ref.abs().max())


@pytest.mark.parametrize("ratio", [2, 10, 12, 400])
def test_linear_upsampling_is_torchs(ratio) -> None:
    x = torch.randn(1, 4, 33, generator=torch.Generator().manual_seed(ratio))
    ref = F.interpolate(x, scale_factor=ratio, mode="linear")
    out = upsample_linear(x, ratio)
    assert out.shape == ref.shape
    assert float((out - ref).abs().max()) <= 2e-6 * float(ref.abs().max())


def test_harmonic_phases_stay_exact_over_long_inputs() -> None:
    """The MRF source's split phase (frame starts in float64, within-frame products exact) against
    a float64 running sum over every sample: 1e-6 x the 0.1 amplitude after 60 s at 48 kHz."""
    frames, hop, rate = 6000, 480, 48000
    f0 = (110 + 990 * torch.rand(1, frames, generator=torch.Generator().manual_seed(0))).float()
    f0[:, 100:200] = 0
    tail = slice(frames - 50, frames)
    out = harmonic_sines(f0, hop, rate)[:, (frames - 50) * hop :]
    k = torch.arange(1, 10, dtype=torch.float32)
    rad = ((f0[..., None] * k) / rate % 1.0).double()  # float32 increments, as the reference makes them
    start = (torch.cumsum(rad * hop, dim=1) - rad * hop)[:, tail]
    steps = torch.arange(1, hop + 1, dtype=torch.float64)[:, None]
    phase = (start[:, :, None, :] + steps * rad[:, tail, None, :]) % 1.0
    ref = (torch.sin(2 * math.pi * phase) * 0.1).reshape(1, -1, 9).float()
    assert float((out - ref).abs().max()) <= 1e-7
    assert np.isfinite(out.numpy()).all()
