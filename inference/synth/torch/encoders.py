"""The text (content) encoder ``enc_p``: features (+ coarse pitch) -> prior mean and log-scale.

The twin of :mod:`inference.mlx.encoders`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inference.synth.torch.attentions import Encoder
from inference.synth.torch.conv import Conv1d
from inference.synth.torch.modules import leaky_relu


class TextEncoder(nn.Module):
    """``emb_phone`` (+ ``emb_pitch`` for f0 models) -> attention encoder -> ``proj`` to 2 x out."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int,
        f0: bool = True,
    ) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.hidden_channels = hidden_channels
        self.emb_phone = nn.Linear(in_channels, hidden_channels)
        if f0:
            self.emb_pitch = nn.Embedding(256, hidden_channels)
        self.encoder = Encoder(hidden_channels, filter_channels, n_heads, n_layers, kernel_size)
        self.proj = Conv1d(hidden_channels, out_channels * 2, 1)

    def forward(self, phone: torch.Tensor, pitch: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``phone`` ``[B, T, in]``, ``pitch`` ``[B, T]`` int (1..255) -> ``(m, logs)`` each ``[B, out, T]``."""
        x = self.emb_phone(phone)
        if pitch is not None:
            if not hasattr(self, "emb_pitch"):
                raise ValueError("this model has no pitch input (a no-f0 model); pass pitch=None")
            x = x + self.emb_pitch(pitch)
        x = leaky_relu(x * math.sqrt(self.hidden_channels), 0.1).transpose(1, 2)
        x = self.encoder(x)
        stats = self.proj(x)
        return stats[:, : self.out_channels], stats[:, self.out_channels :]
