"""Applio's MRF HiFi-GAN decoder ``dec`` (after Applio, MIT): HiFi-GAN stages fed by a 9-harmonic source.

Channels-first, the twin of :mod:`inference.mlx.hifigan_mrf`. Attribute names follow the
checkpoint keys (``conv_pre``, ``upsamples``, ``noise_convs``, ``mrfs.{i}.{j}.layers.{l}.conv1/2``,
``m_source.l_linear``, ``conv_post``, ``cond``). Against RVC's NSF decoder
(:mod:`.generators`) the stages are the same computation; what differs:

- the source sums 9 harmonics ``k * f0`` (f0 repeated over each frame's samples), each with its
  own phase running over the whole input, merged by ``l_linear`` (9 -> 1, with bias) and tanh;
  the overtones start at random phases (``phases``), the fundamental at 0;
- ``conv_pre`` and ``conv_post`` are weight-normed in the file (folded at load) and ``conv_post``
  has a bias; the residual blocks are named ``mrfs``/``layers``/``conv1``/``conv2``.

The additive noise is drawn once per sample, not once per harmonic: ``l_linear`` mixes 9
independent normal draws ``e_k`` into ``sum_k w_k e_k``, which is distributed exactly as
``|w| * e`` for one normal ``e``, so a ``[B, T*hop, 1]`` draw gives the same distribution.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inference.models.config import resblock_radius
from inference.synth.torch.conv import Conv1d, ConvTranspose1d
from inference.synth.torch.generators import NOISE_STD, SINE_AMP, UpsamplingDecoder
from inference.synth.torch.modules import LRELU_SLOPE, leaky_relu

HARMONICS = 8  # overtones above the fundamental
SOURCE_FRAMES = 2048  # frames of the source built at once: [B, frames*hop, 9] float32 at a time
_SPLIT = 4096.0  # the increment's first 12 fractional bits: (j+1) * hi is exact in float32


def frame_phases(f0: torch.Tensor, upp: int, sampling_rate: int, phases: torch.Tensor | None = None):
    """``(rad, starts)``, both ``[B, T, 9]`` float32: each harmonic's step per sample in cycles,
    ``(k * f0 / sr) mod 1`` computed in float32 as the reference does (constant within a frame),
    and its phase at each frame's first sample: a float64 running sum over the whole input plus
    the initial ``phases`` ``[9]`` (0 for the fundamental), reduced mod 1."""
    k = torch.arange(1, HARMONICS + 2, dtype=torch.float32)
    rad = (f0.to(torch.float32)[..., None] * k) / sampling_rate % 1.0
    rad64 = rad.to(torch.float64) * upp
    starts = torch.cumsum(rad64, dim=1) - rad64
    if phases is not None:
        starts = starts + phases.to(torch.float64)
    return rad, (starts % 1.0).to(torch.float32)


def sines(rad: torch.Tensor, starts: torch.Tensor, voiced: torch.Tensor, upp: int) -> torch.Tensor:
    """Frames of :func:`frame_phases` (and their voicing ``[B, T]``) -> ``[B, T*upp, 9]`` sines.

    The phase at sample ``j`` of a frame is its start plus ``(j+1) * rad``; that product is split
    as ``hi + lo`` (``hi`` on a 2^-12 grid, so ``(j+1) * hi`` and its fraction are exact in
    float32, ``(j+1) * lo`` is below 1/16), which keeps the phase within ~1e-7 cycles of the
    exact sum at any length.
    """
    b, t, _ = rad.shape
    hi = torch.round(rad * _SPLIT) / _SPLIT
    lo = rad - hi
    steps = torch.arange(1, upp + 1, dtype=torch.float32)[:, None]  # [upp, 1]
    product = steps * hi[:, :, None, :]
    within = (product - torch.floor(product)) + steps * lo[:, :, None, :]  # [B, T, upp, 9]
    phase = (starts[:, :, None, :] + within) % 1.0
    out = torch.sin(phase * (2 * math.pi)) * SINE_AMP * voiced.to(torch.float32)[:, :, None, None]
    return out.reshape(b, t * upp, HARMONICS + 1)


def harmonic_sines(f0: torch.Tensor, upp: int, sampling_rate: int, phases: torch.Tensor | None = None) -> torch.Tensor:
    """The 9 sines of the MRF source, unvoiced samples zero: ``[B, T]`` Hz -> ``[B, T*upp, 9]``."""
    rad, starts = frame_phases(f0, upp, sampling_rate, phases)
    return sines(rad, starts, f0 > 0, upp)


class SourceModuleMRF(nn.Module):
    """The 9 harmonic sines (plus noise) merged to one channel by ``l_linear`` and tanh."""

    def __init__(self, sampling_rate: int) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.l_linear = nn.Linear(HARMONICS + 1, 1)

    def forward(
        self, f0: torch.Tensor, upp: int, noise: torch.Tensor | None = None, phases: torch.Tensor | None = None
    ) -> torch.Tensor:
        """f0 ``[B, T]`` -> ``[B, T*upp, 1]``; ``noise`` ``[B, T*upp, 1]`` standard normal or None.

        The frames' phases are summed over the whole input first; the sines (9 values a sample)
        are then made :data:`SOURCE_FRAMES` frames at a time.
        """
        w = self.l_linear.weight
        rad, starts = frame_phases(f0, upp, self.sampling_rate, phases)
        pieces = []
        for t0 in range(0, f0.shape[1], SOURCE_FRAMES):
            part = slice(t0, t0 + SOURCE_FRAMES)
            voiced = f0[:, part] > 0
            merged = self.l_linear(sines(rad[:, part], starts[:, part], voiced, upp).to(w.dtype))
            if noise is not None:
                uv = torch.repeat_interleave(voiced.to(w.dtype), upp, dim=1)[..., None]
                amp = (uv * NOISE_STD + (1 - uv) * (SINE_AMP / 3)) * torch.linalg.vector_norm(w)
                merged = merged + amp * noise[:, t0 * upp : t0 * upp + uv.shape[1]].to(w.dtype)
            pieces.append(torch.tanh(merged))
        return torch.cat(pieces, dim=1)


class MRFLayer(nn.Module):
    """A dilated conv and a conv, added back to the input (HiFi-GAN's ResBlock1 pair)."""

    def __init__(self, channels: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        padding = (kernel_size * dilation - dilation) // 2
        self.conv1 = Conv1d(channels, channels, kernel_size, padding=padding, dilation=dilation)
        self.conv2 = Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor, x_act: torch.Tensor | None = None) -> torch.Tensor:
        act = leaky_relu(x, LRELU_SLOPE) if x_act is None else x_act
        return self.conv2(self.conv1(act, slope=LRELU_SLOPE), add=x)


class MRFBlock(nn.Module):
    """One kernel size's layers, one per dilation, in sequence."""

    def __init__(self, channels: int, kernel_size: int, dilations) -> None:
        super().__init__()
        self.layers = nn.ModuleList(MRFLayer(channels, kernel_size, d) for d in dilations)

    def forward(self, x: torch.Tensor, x_act: torch.Tensor | None = None) -> torch.Tensor:
        """``x_act``: ``leaky_relu(x)`` when the caller has it (a stage's blocks share one input)."""
        for i, layer in enumerate(self.layers):
            x = layer(x, x_act if i == 0 else None)
        return x


class HiFiGANMRFGenerator(UpsamplingDecoder):
    """Applio's MRF HiFi-GAN: ``source(f0)`` once, then ``decode(x, har, g)`` on any window."""

    def __init__(
        self,
        in_channel: int,
        upsample_initial_channel: int,
        upsample_rates,
        upsample_kernel_sizes,
        resblock_kernel_sizes,
        resblock_dilations,
        gin_channels: int,
        sample_rate: int,
    ) -> None:
        super().__init__()
        if any(u % 2 for u in upsample_rates):
            raise ValueError(f"MRF HiFi-GAN with odd upsampling rates is not supported: {list(upsample_rates)}")
        self.num_kernels = len(resblock_kernel_sizes)
        self.upsample_rates = list(upsample_rates)
        self.upp = math.prod(upsample_rates)
        self.resblock_radius = resblock_radius("1", resblock_kernel_sizes, resblock_dilations)
        self.m_source = SourceModuleMRF(sample_rate)
        self.conv_pre = Conv1d(in_channel, upsample_initial_channel, 7, padding=3)
        self.upsamples = nn.ModuleList()
        self.noise_convs = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            self.upsamples.append(ConvTranspose1d(ch * 2, ch, k, u, padding=(k - u) // 2))
            stride = math.prod(upsample_rates[i + 1 :])
            if stride > 1:  # the reference's kernel 2s - s%2 and padding (kernel - s)//2, for even s
                self.noise_convs.append(Conv1d(1, ch, 2 * stride, stride=stride, padding=stride // 2))
            else:
                self.noise_convs.append(Conv1d(1, ch, 1))
            self.mrfs.append(
                nn.ModuleList(MRFBlock(ch, rk, rd) for rk, rd in zip(resblock_kernel_sizes, resblock_dilations))
            )
        self.conv_post = Conv1d(ch, 1, 7, padding=3)
        if gin_channels:
            self.cond = Conv1d(gin_channels, upsample_initial_channel, 1)

    def upsampler(self, i: int) -> ConvTranspose1d:
        return self.upsamples[i]

    def source(
        self, f0: torch.Tensor, noise: torch.Tensor | None = None, phases: torch.Tensor | None = None
    ) -> torch.Tensor:
        """f0 ``[B, T]`` Hz -> excitation ``[B, 1, T*hop]``; ``noise`` ``[B, T*hop, 1]`` standard
        normal, ``phases`` ``[8]`` the overtones' initial phases in cycles (None: zero)."""
        if phases is not None:
            phases = torch.cat([torch.zeros(1, dtype=torch.float64), phases.to(torch.float64).reshape(-1)])
        return self.m_source(f0, self.upp, noise, phases).transpose(1, 2)

    def stage(self, i: int, x: torch.Tensor, har_source: torch.Tensor | None = None) -> torch.Tensor:
        x = self.upsamples[i](leaky_relu(x, LRELU_SLOPE))
        x = self.noise_convs[i](har_source.to(x.dtype), add=x)
        x_act = leaky_relu(x, LRELU_SLOPE)  # every block starts with it
        xs = None
        for block in self.mrfs[i]:
            y = block(x, x_act)
            xs = y if xs is None else xs + y
        return xs / self.num_kernels

    def decode(
        self,
        x: torch.Tensor,
        har_source: torch.Tensor | None = None,
        g: torch.Tensor | None = None,
        chunk: int | None = None,
        keep: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Latent ``[B, C, T]`` and source ``[B, 1, T*hop]`` -> audio ``[B, 1, T*hop]`` (``keep``:
        see :meth:`UpsamplingDecoder.decode`)."""
        if har_source is None:
            raise ValueError("the MRF decoder needs the harmonic source (call source() first)")
        return self._decode(x, har_source, g, chunk, keep)
