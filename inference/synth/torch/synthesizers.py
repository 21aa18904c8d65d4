"""The four RVC generator variants in PyTorch: v1 (256-dim features) / v2 (768) x with / without f0.

The twin of :mod:`inference.mlx.synthesizers`. One class covers them; the variant follows from
the config (``feature_dim`` and ``f0``). The public names are kept in :data:`VARIANTS` for
messages and logs. Top-level attributes follow the checkpoint: ``enc_p`` (text encoder),
``flow`` (reversed coupling flow), ``dec`` (HiFi-GAN, NSF for f0 models, or the config's Applio
vocoder), ``emb_g`` (speaker embedding). ``enc_q`` (posterior encoder) is training-only.
"""

from __future__ import annotations

import torch
from torch import nn

from inference.synth.torch.encoders import TextEncoder
from inference.synth.torch.generators import Generator, GeneratorNSF
from inference.synth.torch.hifigan_mrf import HiFiGANMRFGenerator
from inference.synth.torch.refinegan import RefineGANGenerator
from inference.synth.torch.residuals import ResidualCouplingBlock

VARIANTS = {
    (256, True): "SynthesizerTrnMs256NSFsid",
    (768, True): "SynthesizerTrnMs768NSFsid",
    (256, False): "SynthesizerTrnMs256NSFsid_nono",
    (768, False): "SynthesizerTrnMs768NSFsid_nono",
}

LATENT_NOISE_SCALE = 0.66666


def build_decoder(c):
    """``dec`` for the config's vocoder: RVC's HiFi-GAN (NSF for f0 models), or Applio's MRF
    HiFi-GAN or RefineGAN (f0 models only), built as Applio's ``Synthesizer`` builds them."""
    vocoder = getattr(c, "vocoder", "HiFi-GAN")
    if vocoder == "RefineGAN":  # its channels are fixed; of the config it reads only these
        return RefineGANGenerator(int(c.sample_rate), c.upsample_rates, c.inter_channels, c.gin_channels)
    if vocoder == "MRF HiFi-GAN":
        return HiFiGANMRFGenerator(
            c.inter_channels,
            c.upsample_initial_channel,
            c.upsample_rates,
            c.upsample_kernel_sizes,
            c.resblock_kernel_sizes,
            c.resblock_dilation_sizes,
            c.gin_channels,
            int(c.sample_rate),
        )
    if vocoder != "HiFi-GAN":
        raise ValueError(f"unknown vocoder {vocoder!r}")
    args = (
        c.inter_channels,
        c.resblock,
        c.resblock_kernel_sizes,
        c.resblock_dilation_sizes,
        c.upsample_rates,
        c.upsample_initial_channel,
        c.upsample_kernel_sizes,
        c.gin_channels,
    )
    return GeneratorNSF(*args, sr=int(c.sample_rate)) if c.f0 else Generator(*args)


class Synthesizer(nn.Module):
    """RVC's inference graph: ``encode`` (enc_p + flow), then ``dec.source`` / ``dec.decode``.

    ``config`` is an ``inference.models.checkpoint.ModelConfig`` (or anything with the same fields).
    All tensors are channels-first: features ``[1, T, C]`` (as the embedder gives them), latents
    ``[1, inter, T]``.
    """

    def __init__(self, config) -> None:
        super().__init__()
        c = config
        self.f0 = bool(c.f0)
        self.feature_dim = int(c.feature_dim)
        self.variant = VARIANTS.get((self.feature_dim, self.f0), "Synthesizer")
        self.enc_p = TextEncoder(
            self.feature_dim,
            c.inter_channels,
            c.hidden_channels,
            c.filter_channels,
            c.n_heads,
            c.n_layers,
            c.kernel_size,
            f0=self.f0,
        )
        self.dec = build_decoder(c)
        self.flow = ResidualCouplingBlock(c.inter_channels, c.hidden_channels, 5, 1, 3, gin_channels=c.gin_channels)
        self.emb_g = nn.Embedding(c.spk_embed_dim, c.gin_channels)

    def encode(
        self,
        phone: torch.Tensor,
        pitch: torch.Tensor | None,
        sid: torch.Tensor,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior sample through the reversed flow.

        ``phone`` ``[1, T, C]``; ``pitch`` ``[1, T]`` int64 coarse pitch (None for no-f0 models);
        ``sid`` ``[1]`` int64; ``noise`` ``[1, inter, T]`` standard normal (scaled here by 0.66666)
        or None for the mean. Returns ``z`` ``[1, inter, T]`` and the speaker vector ``g`` ``[1, gin, 1]``.
        """
        g = self.emb_g(sid)[:, :, None]
        m, logs = self.enc_p(phone, pitch if self.f0 else None)
        z_p = m if noise is None else m + torch.exp(logs) * noise.to(m.dtype) * LATENT_NOISE_SCALE
        return self.flow(z_p, g, reverse=True), g
