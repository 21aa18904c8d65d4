"""Our PyTorch generator (``inference.synth.torch``): checkpoint keys, loading, folding, outputs.

The expected keys and shapes are written out in ``tests/support/checkpoint_keys.py`` from the
public architecture (RVC_REFERENCE.md §2), independently of the model code, for all 12
(version, rate) x f0 variants, training-only ``enc_q`` included; they were checked once against
the public ``SynthesizerTrnMs*NSFsid*`` classes (same sets, same shapes).
Numerical tolerances are stated per test; "identical" means bit-equal.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_torch

torch = import_torch()

from inference.models.checkpoint import load_checkpoint  # noqa: E402
from inference.models.state import WeightsMismatchError  # noqa: E402
from inference.synth.torch.convert import (  # noqa: E402
    build_synthesizer,
    convert_state_dict,
    load_arrays,
    load_synthesizer,
    parametrization_keys,
)
from inference.synth.torch.synthesizers import Synthesizer  # noqa: E402
from tests.support.checkpoint_keys import TABLE, as_gv, rvc_keys  # noqa: E402
from tests.support.voice_models import generator_state, make_voice_model, model_config, posterior_encoder  # noqa: E402

VARIANTS = [(v, r, f0) for (v, r) in TABLE for f0 in (True, False)]
IDS = [f"{v}-{r // 1000}k-{'f0' if f0 else 'nof0'}" for v, r, f0 in VARIANTS]
FRAMES = 20


@pytest.mark.parametrize("version,rate,f0", VARIANTS, ids=IDS)
def test_model_keys_are_the_checkpoints(version, rate, f0) -> None:
    with torch.device("meta"):
        model = build_synthesizer(model_config(version, rate, f0, speakers=3))
    assert as_gv(model.state_dict()) == rvc_keys(version, rate, f0, speakers=3)


@pytest.mark.parametrize("version,rate", [("v1", 32000), ("v2", 48000)])
def test_factory_writes_the_real_keys_in_both_forms(version, rate) -> None:
    real = rvc_keys(version, rate, True, enc_q=True)
    gv = generator_state(version, rate, True, weight_norm="gv", with_enc_q=True)
    assert {k: tuple(v.shape) for k, v in gv.items()} == real
    para = generator_state(version, rate, True, weight_norm="parametrizations", with_enc_q=True)
    assert as_gv(para) == real and not any(k.endswith(("weight_g", "weight_v")) for k in para)
    with torch.device("meta"):
        enc_q = posterior_encoder(model_config(version, rate, True))
    assert {f"enc_q.{k}": s for k, s in as_gv(enc_q.state_dict()).items()} == {
        k: s for k, s in real.items() if k.startswith("enc_q.")
    }


def test_loading_is_strict_and_drops_only_the_training_parts() -> None:
    config = model_config("v1", 40000, False)
    state = generator_state("v1", 40000, False, seed=1, with_enc_q=True)
    model = Synthesizer(config)
    load_arrays(model, convert_state_dict(state, model))  # weight_g/weight_v folded, enc_q.* dropped
    missing = dict(state)
    del missing["dec.ups.1.weight_g"]
    with pytest.raises(WeightsMismatchError, match="dec.ups.1: the g half is missing"):
        convert_state_dict(missing, model)
    del missing["dec.ups.1.weight_v"]
    with pytest.raises(WeightsMismatchError, match="missing weight 'dec.ups.1.weight'"):
        convert_state_dict(missing, model)
    with pytest.raises(WeightsMismatchError, match="unknown weight 'dec.extra.weight'"):
        convert_state_dict({**state, "dec.extra.weight": torch.zeros(1)}, model)
    with pytest.raises(WeightsMismatchError, match=r"emb_g.weight: shape \(2, 255\)"):
        convert_state_dict({**state, "emb_g.weight": torch.zeros(2, 255)}, model)


# -- outputs of full-size random-weight models (short inputs) --------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """One v2 40k f0 checkpoint in both weight-norm forms, and a v1 32k no-f0 one."""
    root = tmp_path_factory.mktemp("torch_synth")
    return {
        "gv": make_voice_model(root / "gv.pth", "v2", 40000, True, weight_norm="gv", seed=4),
        "para": make_voice_model(root / "para.pth", "v2", 40000, True, weight_norm="parametrizations", seed=4),
        "nof0": make_voice_model(root / "nof0.pth", "v1", 32000, False, seed=5),
    }


def _inputs(dim: int, frames: int = FRAMES, seed: int = 0):
    rng = np.random.default_rng(seed)
    phone = torch.from_numpy(rng.standard_normal((1, frames, dim)).astype(np.float32))
    f0 = (150 + 50 * rng.random((1, frames))).astype(np.float32)
    f0[:, 4:7] = 0
    pitch = torch.from_numpy(np.clip(np.round(f0 / 4), 1, 255).astype(np.int64))
    return phone, pitch, torch.from_numpy(f0)


def _audio(model, phone, pitch, f0, latent=None, source=None) -> torch.Tensor:
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]), latent)
        har = model.dec.source(f0, source) if pitch is not None else None
        return model.dec.decode(z, har, g)


def test_shapes_and_audible_output(models) -> None:
    config, model = load_synthesizer(models["gv"])
    hop = config.hop
    phone, pitch, f0 = _inputs(768)
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]), None)
        har = model.dec.source(f0, None)
        audio = model.dec.decode(z, har, g)
    assert z.shape == (1, 192, FRAMES) and g.shape == (1, 256, 1)
    assert har.shape == (1, 1, FRAMES * hop) and audio.shape == (1, 1, FRAMES * hop)
    assert torch.isfinite(audio).all() and audio.abs().max() > 1e-2
    assert not model.training and not any("parametrizations" in k for k in model.state_dict())


def test_no_f0_model(models) -> None:
    _, model = load_synthesizer(models["nof0"])
    assert not hasattr(model.dec, "m_source") and not hasattr(model.enc_p, "emb_pitch")
    phone, _, _ = _inputs(256, seed=1)
    audio = _audio(model, phone, None, None)
    assert audio.shape == (1, 1, FRAMES * 320)
    assert torch.isfinite(audio).all() and audio.abs().max() > 1e-2


def test_both_weight_norm_forms_give_identical_audio(models) -> None:
    phone, pitch, f0 = _inputs(768, seed=2)
    a = _audio(load_synthesizer(models["gv"])[1], phone, pitch, f0)
    b = _audio(load_synthesizer(models["para"])[1], phone, pitch, f0)
    assert torch.equal(a, b)


def test_zero_noise_is_deterministic_and_noise_is_used(models) -> None:
    _, model = load_synthesizer(models["gv"])
    phone, pitch, f0 = _inputs(768, seed=3)
    first = _audio(model, phone, pitch, f0)
    assert torch.equal(first, _audio(model, phone, pitch, f0))
    zeros = _audio(model, phone, pitch, f0, torch.zeros(1, 192, FRAMES), torch.zeros(1, FRAMES * 400, 1))
    assert torch.equal(first, zeros)  # None means "no draw": the same as a zero draw
    gen = torch.Generator().manual_seed(0)
    latent = torch.randn(1, 192, FRAMES, generator=gen)
    source = torch.randn(1, FRAMES * 400, 1, generator=gen)
    noisy = _audio(model, phone, pitch, f0, latent, source)
    assert torch.isfinite(noisy).all() and (noisy - first).abs().max() > 1e-3
    assert torch.equal(noisy, _audio(model, phone, pitch, f0, latent, source))


def test_decoding_in_chunks_equals_one_pass(models) -> None:
    """Each upsampling stage run in pieces with its context margin gives the one-pass samples
    (to 1e-5 x peak: the same sums, in another blocking)."""
    _, model = load_synthesizer(models["gv"])
    phone, pitch, f0 = _inputs(768, frames=40, seed=6)
    with torch.inference_mode():
        z, g = model.encode(phone, pitch, torch.tensor([0]), None)
        har = model.dec.source(f0, None)
        whole = model.dec.decode(z, har, g)
        chunked = model.dec.decode(z, har, g, chunk=1 << 12)
    assert chunked.shape == whole.shape
    assert (chunked - whole).abs().max() <= 1e-5 * whole.abs().max()


def test_loading_builds_no_random_weights_and_computes_the_same(models) -> None:
    """load_synthesizer builds the model on the meta device and assigns the file's weights (no
    random initialisation to throw away): it must compute exactly what a model built ordinarily
    and loaded by copy computes, with no tensor left without storage."""
    config, model = load_synthesizer(models["gv"])
    assert not any(t.is_meta for t in model.state_dict().values())
    eager = Synthesizer(config)
    _, state, _ = load_checkpoint(models["gv"])
    eager.load_state_dict({k: torch.from_numpy(v) for k, v in convert_state_dict(state, eager).items()})
    eager.eval()
    phone, pitch, f0 = _inputs(768, frames=8, seed=3)
    assert torch.equal(_audio(model, phone, pitch, f0), _audio(eager, phone, pitch, f0))  # no noise drawn


def test_a_tensor_the_weights_leave_unset_is_an_error() -> None:
    class Odd(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(2, 2)
            self.register_buffer("table", torch.ones(3), persistent=False)  # not in any state dict

    with torch.device("meta"):
        odd = Odd()
    arrays = {"proj.weight": np.eye(2, dtype=np.float32), "proj.bias": np.zeros(2, np.float32)}
    with pytest.raises(WeightsMismatchError, match="leave table without a value"):
        load_arrays(odd, arrays)


def test_fold_matches_the_reparametrised_model(models) -> None:
    """Folding (float64) changes outputs by at most 1e-5 x peak; the transposed conv's g is per
    input channel (axis 0), so its folded weight has that axis's norms."""
    config, state, _ = load_checkpoint(models["gv"])
    live = build_synthesizer(config)
    live.load_state_dict(parametrization_keys(state))
    live.eval()
    phone, pitch, f0 = _inputs(768, frames=8, seed=7)
    ref = _audio(live, phone, pitch, f0)
    folded = Synthesizer(config)
    load_arrays(folded, convert_state_dict(state, folded))
    assert not any("parametrizations" in k for k in folded.state_dict())
    out = _audio(folded, phone, pitch, f0)
    assert (out - ref).abs().max() <= 1e-5 * ref.abs().max()
    g = state["dec.ups.0.weight_g"].double().numpy()
    v = state["dec.ups.0.weight_v"].double().numpy()
    expected = g * v / np.sqrt((v * v).sum(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(folded.dec.ups[0].weight.detach().double().numpy(), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "stride", "padding", "dilation"),
    [(32, 32, 11, 1, 25, 5), (64, 48, 7, 1, 3, 1), (1, 16, 240, 120, 60, 1), (24, 8, 1, 1, 0, 1)],
)
def test_conv1d_runs_channels_last_on_onednn_and_equals_pytorchs(c_in, c_out, k, stride, padding, dilation) -> None:
    """Our Conv1d (2-D, channels-last on oneDNN) against nn.Conv1d on the same weights: 1e-5 x
    peak (float32, another summation order); the output's memory is [B, T, C], and a
    channels-first input gives the same numbers."""
    from inference.synth.torch.conv import Conv1d, channels_last

    torch.manual_seed(0)
    ours = Conv1d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation)
    ref = torch.nn.Conv1d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(1, c_in, 3000)
    add = torch.randn(1, c_out, (3000 + 2 * padding - dilation * (k - 1) - 1) // stride + 1)
    with torch.inference_mode():
        want = ref(x) + add
        got = ours(channels_last(x), add=add)
        assert torch.equal(ours(x, add=add), got)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())
    if torch.backends.mkldnn.is_available() and c_in > 1:  # one channel: both layouts at once
        assert got.stride(1) == 1  # channels-last: C varies fastest


@pytest.mark.parametrize(("add", "slope"), [(False, 0.1), (True, None), (True, 0.2)])
@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "stride", "padding", "dilation"),
    [(32, 32, 11, 1, 25, 5), (64, 48, 7, 1, 3, 1), (1, 16, 240, 120, 60, 1)],
)
def test_conv1d_fuses_the_add_and_leaky_relu_on_onednn(
    monkeypatch, c_in, c_out, k, stride, padding, dilation, add, slope
):
    """With oneDNN (torch's x86 and arm64 wheels) the residual add and the leaky ReLU run inside
    the convolution: the fused kernels are taken, and the result equals nn.Conv1d, + add, then
    F.leaky_relu on the same weights to 1e-5 x peak (float32, another summation order)."""
    from inference.synth.torch import conv

    if not torch.backends.mkldnn.is_available():
        pytest.skip("this torch has no oneDNN")
    assert conv.fused_kernels()  # on this machine's torch they run and agree
    calls = []
    fused = conv._fused
    monkeypatch.setattr(conv, "_fused", lambda *a: calls.append(1) or fused(*a))
    torch.manual_seed(2)
    ours = conv.Conv1d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation)
    ref = torch.nn.Conv1d(c_in, c_out, k, stride=stride, padding=padding, dilation=dilation)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(1, c_in, 3000)
    y = torch.randn(1, c_out, (3000 + 2 * padding - dilation * (k - 1) - 1) // stride + 1) if add else None
    with torch.inference_mode():
        want = ref(x) if y is None else ref(x) + y
        want = want if slope is None else torch.nn.functional.leaky_relu(want, slope)
        got = ours(x, add=y, slope=slope)
    assert calls == [1]
    assert got.shape == want.shape
    assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())


def test_conv1d_falls_back_to_the_plain_path_without_the_fused_kernels(monkeypatch) -> None:
    """Fused kernels that raise (a torch without them) are found out by the one-off check and not
    used; a convolution that needs gradients, or adds a broadcast tensor, never takes them. Each
    gives nn.Conv1d's numbers (1e-5 x peak)."""
    from inference.synth.torch import conv

    def broken(*_args):
        raise RuntimeError("mkldnn::_convolution_pointwise is not available")

    torch.manual_seed(3)
    ours = conv.Conv1d(16, 16, 3, padding=1)
    ref = torch.nn.Conv1d(16, 16, 3, padding=1)
    ref.load_state_dict(ours.state_dict())
    x, y = torch.randn(1, 16, 500), torch.randn(1, 16, 500)

    def expected(add):
        with torch.inference_mode():
            return torch.nn.functional.leaky_relu(ref(x) + add, 0.1)

    def close(got, want) -> bool:
        return got.shape == want.shape and float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())

    conv.fused_kernels.cache_clear()
    monkeypatch.setattr(conv, "_fused", broken)
    try:
        assert not conv.fused_kernels()
        with torch.inference_mode():
            assert close(ours(x, add=y, slope=0.1), expected(y))
    finally:
        conv.fused_kernels.cache_clear()
    got = ours(x, add=y, slope=0.1)  # autograd on: the plain path, and it has a backward
    assert close(got.detach(), expected(y))
    got.sum().backward()
    assert ours.weight.grad is not None and torch.isfinite(ours.weight.grad).all()
    with torch.inference_mode():  # a per-channel add broadcast over time
        assert close(ours(x, add=y[:, :, :1], slope=0.1), expected(y[:, :, :1]))


@pytest.mark.parametrize(("c_in", "c_out", "k", "stride"), [(512, 256, 24, 12), (64, 32, 4, 2)])
def test_conv_transpose1d_equals_pytorchs(c_in, c_out, k, stride) -> None:
    """Our ConvTranspose1d against nn.ConvTranspose1d on the same weights: 1e-5 x peak."""
    from inference.synth.torch.conv import ConvTranspose1d

    torch.manual_seed(1)
    ours = ConvTranspose1d(c_in, c_out, k, stride, padding=(k - stride) // 2)
    ref = torch.nn.ConvTranspose1d(c_in, c_out, k, stride, padding=(k - stride) // 2)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(1, c_in, 200)
    with torch.inference_mode():
        want, got = ref(x), ours(x)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())
