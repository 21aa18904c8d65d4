"""Block-level parity: each MLX block against our PyTorch block on the same weights and input.

The torch blocks (``inference.synth.torch``) get weight norm as parametrizations on every
convolution, as checkpoints store it; their state dict goes through the real converter
(``convert_state_dict``: float64 fold, transposes chosen by MLX layer type, strict keys) into the
MLX block, exactly as a checkpoint does. Weight-norm
``g`` is rescaled away from ``||v||`` so a fold that ignored ``g`` would fail.

Tolerance (fp32): max |mlx - torch| <= 1e-5 x peak + 1e-6 for every block, stated per test
where looser. Inputs are channels-first for torch and channels-last for MLX.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_mlx, import_torch

mx = import_mlx()
torch = import_torch()

from inference.mlx import attentions as mlx_attn  # noqa: E402
from inference.mlx import generators as mlx_gen  # noqa: E402
from inference.mlx import modules as mlx_mod  # noqa: E402
from inference.mlx import residuals as mlx_res  # noqa: E402
from inference.mlx.convert import convert_state_dict, load_arrays  # noqa: E402
from inference.synth.torch import attentions as torch_attn  # noqa: E402
from inference.synth.torch import generators as torch_gen  # noqa: E402
from inference.synth.torch import modules as torch_mod  # noqa: E402
from inference.synth.torch import residuals as torch_res  # noqa: E402

RTOL = 1e-5


def assert_close(mine: np.ndarray, ref: np.ndarray, rtol: float = RTOL, atol: float = 1e-6) -> None:
    assert mine.shape == ref.shape, (mine.shape, ref.shape)
    peak = float(np.abs(ref).max())
    assert peak > 1e-3, "degenerate reference output"
    err = float(np.abs(mine - ref).max())
    assert err <= rtol * peak + atol, f"max |mlx - torch| {err:.3g} > {rtol} x peak {peak:.3g} + {atol}"


def to_mlx(x: np.ndarray) -> mx.array:
    """``[B, C, T]`` numpy -> ``[B, T, C]`` MLX."""
    return mx.array(np.ascontiguousarray(x.transpose(0, 2, 1)))


def from_mlx(y: mx.array) -> np.ndarray:
    return np.array(y).transpose(0, 2, 1)


def share_weights(ref, block, seed: int):
    """Perturb ``ref``'s weights from ``seed`` (g off ||v||, non-zero biases) and load them into ``block``."""
    from torch.nn.utils.parametrizations import weight_norm

    for module in list(ref.modules()):
        if isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
            weight_norm(module)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if name.endswith("original0"):  # g: a factor in [0.5, 1.5] of the norm it starts at
                p.mul_(0.5 + torch.rand(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    ref.eval()
    return load_arrays(block, convert_state_dict(ref.state_dict(), block))


def signal(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def run_torch(module, *args) -> np.ndarray:
    with torch.inference_mode():
        return module(*(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)).numpy()


@pytest.mark.parametrize("kernel", [3, 7, 11])
def test_resblock1(kernel) -> None:
    ref = torch_res.ResBlock1(16, kernel, (1, 3, 5))
    block = share_weights(ref, mlx_res.ResBlock1(16, kernel, (1, 3, 5)), seed=kernel)
    x = signal((1, 16, 150), seed=kernel)
    assert_close(from_mlx(block(to_mlx(x))), run_torch(ref, x))


def test_resblock2() -> None:
    ref = torch_res.ResBlock2(16, 3, (1, 3))
    block = share_weights(ref, mlx_res.ResBlock2(16, 3, (1, 3)), seed=2)
    x = signal((1, 16, 120), seed=2)
    assert_close(from_mlx(block(to_mlx(x))), run_torch(ref, x))


@pytest.mark.parametrize("with_speaker", [True, False], ids=["cond", "nocond"])
def test_wavenet(with_speaker) -> None:
    """The flow's WN (kernel 5, 3 layers), speaker-conditioned or not; dilation rate 2 exercises dilations."""
    ref = torch_mod.WN(16, 5, 2, 3, gin_channels=8)
    block = share_weights(ref, mlx_mod.WN(16, 5, 2, 3, gin_channels=8), seed=5)
    x = signal((1, 16, 90), seed=5)
    g = signal((1, 8, 1), seed=6) if with_speaker else None
    with torch.inference_mode():
        expected = ref(torch.from_numpy(x), None if g is None else torch.from_numpy(g)).numpy()
    out = block(to_mlx(x), None if g is None else to_mlx(g))
    assert_close(from_mlx(out), expected)


@pytest.mark.parametrize("frames", [1, 7, 21, 40], ids=lambda t: f"T{t}")
def test_relative_attention(frames) -> None:
    """Shorter than the window (7), exactly 2W+1 (21), longer (40), and a single frame."""
    ref = torch_attn.MultiHeadAttention(16, 16, 2, window_size=10)
    block = share_weights(ref, mlx_attn.MultiHeadAttention(16, 16, 2, window_size=10), seed=frames)
    x = signal((1, 16, frames), seed=frames)
    assert_close(from_mlx(block(to_mlx(x))), run_torch(ref, x))


def test_attention_encoder_stack() -> None:
    """Two layers of attention, layer norm (gamma/beta) and the kernel-3 FFN with its uneven padding."""
    ref = torch_attn.Encoder(16, 32, 2, 2, 3)
    block = share_weights(ref, mlx_attn.Encoder(16, 32, 2, 2, 3), seed=11)
    with torch.no_grad():  # layer norms away from the identity
        for name, p in ref.named_parameters():
            if name.endswith(("gamma", "beta")):
                p.add_(0.2 * torch.randn(p.shape, generator=torch.Generator().manual_seed(len(name))))
    block = load_arrays(block, convert_state_dict(ref.state_dict(), block))
    x = signal((1, 16, 33), seed=11)
    assert_close(from_mlx(block(to_mlx(x))), run_torch(ref, x))


def test_reversed_flow() -> None:
    """4 coupling layers with flips, run in reverse as at inference, speaker-conditioned."""
    ref = torch_res.ResidualCouplingBlock(8, 16, 5, 1, 3, gin_channels=8)
    block = share_weights(ref, mlx_res.ResidualCouplingBlock(8, 16, 5, 1, 3, gin_channels=8), seed=4)
    x = signal((1, 8, 50), seed=4)
    g = signal((1, 8, 1), seed=7)
    with torch.inference_mode():
        expected = ref(torch.from_numpy(x), torch.from_numpy(g), reverse=True).numpy()
        forward = ref(torch.from_numpy(x), torch.from_numpy(g), reverse=False).numpy()
    out = from_mlx(block(to_mlx(x), to_mlx(g), reverse=True))
    assert_close(out, expected)
    assert np.abs(forward - expected).max() > 1e-2  # the direction matters: the test can tell them apart


def _f0_curve(frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / 100.0
    f0 = 120 + 200 * t / t[-1] + 20 * np.sin(2 * np.pi * 3 * t) + rng.uniform(-2, 2, frames)
    f0[frames // 3 : frames // 3 + 12] = 0.0  # an unvoiced stretch
    f0[-5:] = 0.0
    return f0.astype(np.float32)[None]


@pytest.mark.parametrize("rate,upp", [(32000, 320), (48000, 480)])
@pytest.mark.parametrize("noisy", [False, True], ids=["zero-noise", "noise"])
def test_sine_source(rate, upp, noisy) -> None:
    """2 s of f0 (a glide with vibrato and unvoiced stretches): the phase is a running sum over
    the whole input, so this checks the accumulation too. Tolerance 1e-4 x peak (the sine's 0.1):
    float32 phases of up to ~10^3 cycles in torch vs MLX's float64 frame starts."""
    f0 = _f0_curve(200, seed=upp)
    noise = signal((1, 200 * upp, 1), seed=rate) if noisy else None
    with torch.inference_mode():
        expected = torch_gen.sine_excitation(
            torch.from_numpy(f0), upp, rate, None if noise is None else torch.from_numpy(noise)
        ).numpy()
    out = np.array(mlx_gen.sine_excitation(mx.array(f0), upp, rate, None if noise is None else mx.array(noise)))
    assert out.shape == expected.shape == (1, 200 * upp, 1)
    assert_close(out, expected, rtol=1e-4, atol=0)
    unvoiced = slice(200 // 3 * upp + upp, (200 // 3 + 11) * upp)
    if not noisy:  # unvoiced frames are silent without noise, voiced ones carry the 0.1 sine
        assert np.abs(expected[0, unvoiced]).max() == 0.0
        assert abs(np.abs(expected).max() - 0.1) < 1e-3


def test_source_module_merge() -> None:
    """``m_source``: the sine through ``l_linear`` and tanh, the harmonic source the decoder takes."""
    ref = torch_gen.SourceModuleHnNSF(40000)
    with torch.no_grad():
        ref.l_linear.weight.fill_(-3.0)
        ref.l_linear.bias.fill_(0.05)
    block = mlx_gen.SourceModuleHnNSF(40000)
    block = load_arrays(block, convert_state_dict(ref.state_dict(), block))
    f0 = _f0_curve(50, seed=1)
    noise = signal((1, 50 * 400, 1), seed=3)
    with torch.inference_mode():
        expected = ref(torch.from_numpy(f0), 400, torch.from_numpy(noise)).numpy()
    out = np.array(block(mx.array(f0), 400, mx.array(noise)))
    assert_close(out, expected, rtol=1e-4, atol=0)
