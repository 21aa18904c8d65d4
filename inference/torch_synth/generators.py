"""HiFi-GAN decoders ``dec`` in PyTorch: the NSF one (sine source from f0) and the plain one.

As in :mod:`inference.mlx.generators`, the NSF decoder is split into :meth:`GeneratorNSF.source`
(the harmonic excitation of the whole f0 curve: its phase is a running sum) and
:meth:`Generator.decode` (purely convolutional, so a window with enough context gives the same
samples as one pass). ``forward`` runs both, as the public generator does.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from inference.torch_synth.layers import LRELU_SLOPE, ResBlock1, ResBlock2

SINE_AMP = 0.1
NOISE_STD = 0.003


def sine_excitation(f0: torch.Tensor, upp: int, sampling_rate: int, noise: torch.Tensor | None = None) -> torch.Tensor:
    """f0 ``[B, T]`` Hz -> sine source ``[B, T*upp, 1]`` before the merge layer.

    Voiced frames carry a sine of amplitude 0.1 plus noise of std 0.003, unvoiced ones noise of
    std 0.1/3 only. ``noise`` is the standard-normal draw ``[B, T*upp, 1]`` (None: no noise).
    The fundamental's initial phase is 0 (the public generator randomises only overtones, and
    RVC uses none). The phase is summed per sample, with the integer wraps of the frame-level
    (linearly interpolated) phase subtracted so float32 keeps its precision.
    """
    f0 = f0.to(torch.float32)
    b, t = f0.shape
    rad = (f0 / sampling_rate) % 1.0
    coarse = F.interpolate((torch.cumsum(rad, dim=1) * upp)[:, None], size=t * upp, mode="linear",
                           align_corners=True)[:, 0] % 1.0
    shift = torch.zeros_like(coarse)
    shift[:, 1:] = -((coarse[:, 1:] - coarse[:, :-1]) < 0).to(torch.float32)
    phase = torch.cumsum(torch.repeat_interleave(rad, upp, dim=1) + shift, dim=1)
    uv = torch.repeat_interleave((f0 > 0).to(torch.float32), upp, dim=1)
    out = torch.sin(phase * 2 * math.pi) * SINE_AMP * uv
    if noise is not None:
        amp = uv * NOISE_STD + (1 - uv) * (SINE_AMP / 3)
        out = out + amp * noise.reshape(b, t * upp).to(torch.float32)
    return out[..., None]


class SourceModuleHnNSF(nn.Module):
    """The sine source merged to one channel by ``l_linear`` and tanh."""

    def __init__(self, sampling_rate: int) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.l_linear = nn.Linear(1, 1)

    def forward(self, f0: torch.Tensor, upp: int, noise: torch.Tensor | None = None) -> torch.Tensor:
        sine = sine_excitation(f0, upp, self.sampling_rate, noise)
        return torch.tanh(self.l_linear(sine.to(self.l_linear.weight.dtype)))


class Generator(nn.Module):
    """Plain HiFi-GAN (no-f0 models): ``decode(x [B, C, T], None, g) -> [B, 1, T*hop]``."""

    def __init__(self, initial_channel: int, resblock: str, resblock_kernel_sizes, resblock_dilation_sizes,
                 upsample_rates, upsample_initial_channel: int, upsample_kernel_sizes, gin_channels: int = 0) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.upp = math.prod(upsample_rates)
        self.conv_pre = nn.Conv1d(initial_channel, upsample_initial_channel, 7, padding=3)
        block = ResBlock1 if str(resblock) == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = upsample_initial_channel
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(weight_norm(nn.ConvTranspose1d(ch * 2, ch, k, u, padding=(k - u) // 2)))
            for rk, rd in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(block(ch, rk, rd))
        self.conv_post = nn.Conv1d(ch, 1, 7, padding=3, bias=False)
        if gin_channels:
            self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1)

    def _source_at(self, i: int, har: torch.Tensor | None) -> torch.Tensor | None:
        return None

    def decode(self, x: torch.Tensor, har: torch.Tensor | None = None, g: torch.Tensor | None = None) -> torch.Tensor:
        """Latent ``[B, inter, T]`` (and source ``[B, 1, T*hop]``) -> audio ``[B, 1, T*hop]``."""
        x = self.conv_pre(x)
        if g is not None and hasattr(self, "cond"):
            x = x + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            source = self._source_at(i, har)
            if source is not None:
                x = x + source
            xs = self.resblocks[i * self.num_kernels](x)
            for j in range(1, self.num_kernels):
                xs = xs + self.resblocks[i * self.num_kernels + j](x)
            x = xs / self.num_kernels
        # the last activation uses PyTorch's default slope 0.01, as the public generator does
        return torch.tanh(self.conv_post(F.leaky_relu(x)))

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(x, None, g)


class GeneratorNSF(Generator):
    """HiFi-GAN with a neural source filter: the excitation enters every upsampling stage."""

    def __init__(self, initial_channel: int, resblock: str, resblock_kernel_sizes, resblock_dilation_sizes,
                 upsample_rates, upsample_initial_channel: int, upsample_kernel_sizes, gin_channels: int,
                 sr: int) -> None:
        super().__init__(initial_channel, resblock, resblock_kernel_sizes, resblock_dilation_sizes, upsample_rates,
                         upsample_initial_channel, upsample_kernel_sizes, gin_channels)
        self.m_source = SourceModuleHnNSF(sr)
        self.noise_convs = nn.ModuleList()
        for i in range(len(upsample_rates)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            if i + 1 < len(upsample_rates):
                stride = math.prod(upsample_rates[i + 1:])
                self.noise_convs.append(nn.Conv1d(1, ch, stride * 2, stride=stride, padding=stride // 2))
            else:
                self.noise_convs.append(nn.Conv1d(1, ch, 1))

    def source(self, f0: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """f0 ``[B, T]`` Hz -> harmonic excitation ``[B, 1, T*hop]``; ``noise`` ``[B, T*hop, 1]`` or None."""
        return self.m_source(f0, self.upp, noise).transpose(1, 2)

    def _source_at(self, i: int, har: torch.Tensor | None) -> torch.Tensor:
        if har is None:
            raise ValueError("the NSF decoder needs the harmonic source (call source() first)")
        return self.noise_convs[i](har.to(self.noise_convs[i].weight.dtype))

    def forward(self, x: torch.Tensor, f0: torch.Tensor, g: torch.Tensor | None = None,
                noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(x, self.source(f0, noise), g)
