"""The RVC generator (``SynthesizerTrnMs{256,768}NSFsid`` and the ``_nono`` variants) in PyTorch.

Top-level parts and their checkpoint keys: ``enc_p`` (text encoder), ``flow`` (coupling flow,
run in reverse), ``dec`` (HiFi-GAN, NSF for f0 models), ``emb_g`` (speakers). ``enc_q``, the
posterior encoder, exists only in training checkpoints; :class:`PosteriorEncoder` is here so
tests can write such files in the real layout, and the synthesizer never holds it.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inference.torch_synth.generators import Generator, GeneratorNSF
from inference.torch_synth.layers import WN, Encoder

LATENT_NOISE_SCALE = 0.66666
_WN_RENAMES = ((".weight_g", ".parametrizations.weight.original0"), (".weight_v", ".parametrizations.weight.original1"))


def parametrization_keys(state_dict) -> dict:
    """``X.weight_g``/``X.weight_v`` renamed to ``X.parametrizations.weight.original0/1``."""
    out = {}
    for key, value in state_dict.items():
        for old, new in _WN_RENAMES:
            if key.endswith(old):
                key = key[: -len(old)] + new
                break
        out[key] = value
    return out


class TextEncoder(nn.Module):
    """``emb_phone`` (+ ``emb_pitch``) -> relative attention encoder -> ``proj`` to mean and log-scale."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, filter_channels: int, n_heads: int,
                 n_layers: int, kernel_size: int, f0: bool = True) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden = hidden
        self.emb_phone = nn.Linear(in_channels, hidden)
        if f0:
            self.emb_pitch = nn.Embedding(256, hidden)
        self.encoder = Encoder(hidden, filter_channels, n_heads, n_layers, kernel_size)
        self.proj = nn.Conv1d(hidden, out_channels * 2, 1)

    def forward(self, phone: torch.Tensor, pitch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``phone`` ``[B, T, in]``, ``pitch`` ``[B, T]`` (1..255) -> ``(m, logs)`` each ``[B, out, T]``."""
        x = self.emb_phone(phone)
        if pitch is not None:
            x = x + self.emb_pitch(pitch)
        x = F.leaky_relu(x * math.sqrt(self.hidden), 0.1).transpose(1, 2)
        stats = self.proj(self.encoder(x))
        return stats[:, : self.out_channels], stats[:, self.out_channels:]


class ResidualCouplingLayer(nn.Module):
    """Mean-only coupling: the second half of the channels is shifted by a WaveNet of the first."""

    def __init__(self, channels: int, hidden: int, kernel_size: int, dilation_rate: int, n_layers: int,
                 gin_channels: int = 0) -> None:
        super().__init__()
        self.half = channels // 2
        self.pre = nn.Conv1d(self.half, hidden, 1)
        self.enc = WN(hidden, kernel_size, dilation_rate, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden, self.half, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        x0, x1 = x[:, : self.half], x[:, self.half:]
        m = self.post(self.enc(self.pre(x0), g))
        return torch.cat([x0, x1 - m if reverse else x1 + m], dim=1)


class Flip(nn.Module):
    """Reverses the channel order (no parameters: it keeps the checkpoint's flow indices)."""

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        return torch.flip(x, [1])


class ResidualCouplingBlock(nn.Module):
    def __init__(self, channels: int, hidden: int, kernel_size: int, dilation_rate: int, n_layers: int,
                 n_flows: int = 4, gin_channels: int = 0) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(ResidualCouplingLayer(channels, hidden, kernel_size, dilation_rate, n_layers, gin_channels))
            self.flows.append(Flip())

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        for flow in (reversed(self.flows) if reverse else self.flows):
            x = flow(x, g, reverse=reverse)
        return x


class PosteriorEncoder(nn.Module):
    """``enc_q``: spectrogram -> latent. Training only; kept for writing training checkpoints."""

    def __init__(self, in_channels: int, out_channels: int, hidden: int, gin_channels: int = 0) -> None:
        super().__init__()
        self.pre = nn.Conv1d(in_channels, hidden, 1)
        self.enc = WN(hidden, 5, 1, 16, gin_channels)
        self.proj = nn.Conv1d(hidden, out_channels * 2, 1)


class Synthesizer(nn.Module):
    """RVC's inference graph: :meth:`encode` (enc_p + reversed flow), then ``dec.source`` / ``dec.decode``."""

    def __init__(self, config) -> None:
        super().__init__()
        c = config
        self.f0 = bool(c.f0)
        self.enc_p = TextEncoder(c.feature_dim, c.inter_channels, c.hidden_channels, c.filter_channels, c.n_heads,
                                 c.n_layers, c.kernel_size, f0=self.f0)
        dec_args = (c.inter_channels, c.resblock, c.resblock_kernel_sizes, c.resblock_dilation_sizes,
                    c.upsample_rates, c.upsample_initial_channel, c.upsample_kernel_sizes, c.gin_channels)
        self.dec = GeneratorNSF(*dec_args, sr=int(c.sample_rate)) if self.f0 else Generator(*dec_args)
        self.flow = ResidualCouplingBlock(c.inter_channels, c.hidden_channels, 5, 1, 3, gin_channels=c.gin_channels)
        self.emb_g = nn.Embedding(c.spk_embed_dim, c.gin_channels)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Loads either stored weight-norm form (``weight_g``/``weight_v`` or the parametrization's)."""
        return super().load_state_dict(parametrization_keys(state_dict), strict=strict, assign=assign)

    def encode(self, phone: torch.Tensor, pitch: torch.Tensor | None, sid: torch.Tensor,
               noise: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``phone`` ``[1, T, C]``, ``pitch`` ``[1, T]`` int64 or None, ``sid`` ``[1]``, ``noise``
        ``[1, inter, T]`` standard normal (scaled here by 0.66666) or None for the mean ->
        ``z`` ``[1, inter, T]`` and the speaker vector ``g`` ``[1, gin, 1]``."""
        g = self.emb_g(sid)[:, :, None]
        m, logs = self.enc_p(phone, pitch if self.f0 else None)
        z_p = m if noise is None else m + torch.exp(logs) * noise.to(m.dtype) * LATENT_NOISE_SCALE
        return self.flow(z_p, g, reverse=True), g

    def forward(self, phone: torch.Tensor, pitch: torch.Tensor | None, f0_hz: torch.Tensor | None,
                sid: torch.Tensor, latent_noise: torch.Tensor | None = None,
                source_noise: torch.Tensor | None = None) -> torch.Tensor:
        """One pass over the whole input, as the public ``infer``: audio ``[1, 1, T*hop]``."""
        z, g = self.encode(phone, pitch, sid, latent_noise)
        har = self.dec.source(f0_hz, source_noise) if self.f0 else None
        return self.dec.decode(z, har, g)


def training_parts(config) -> nn.Module:
    """The posterior encoder of a training checkpoint for ``config`` (``enc_q.*`` keys)."""
    return PosteriorEncoder(config.spec_channels, config.inter_channels, config.hidden_channels, config.gin_channels)

