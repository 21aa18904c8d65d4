"""Relative-position multi-head self-attention encoder (the text encoder's core), channels-first.

The twin of :mod:`inference.mlx.attentions`. Names follow the checkpoint keys:
``encoder.attn_layers.N.{conv_q,conv_k,conv_v,conv_o,emb_rel_k,emb_rel_v}``,
``norm_layers_1/2.N.{gamma,beta}``, ``ffn_layers.N.{conv_1,conv_2}``.

Relative positions are limited to ``window_size`` on either side; the learned embeddings have
``2*window_size+1`` rows shared by all heads. Scores for relative offsets outside the window
are zero, so we compute the ``2W+1`` in-window logits and place them on the band of the
``[T, T]`` score matrix (and read the band back out of the attention weights for the values),
with no intermediate larger than the ``[T, T]`` scores themselves.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from inference.synth.torch.conv import Conv1d


class LayerNorm(nn.Module):
    """Layer norm over channels with the checkpoint's parameter names ``gamma``/``beta``."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.transpose(1, -1), (x.shape[1],), self.gamma, self.beta, self.eps)
        return y.transpose(1, -1)


def band_to_square(band: torch.Tensor) -> torch.Tensor:
    """``[..., T, 2W+1]`` relative logits (offset ``o`` at column ``o+W``) -> ``[..., T, T]``.

    Entry ``[i, j]`` of the result is ``band[i, j-i+W]`` when ``|j-i| <= W`` and 0 elsewhere.
    Skew by reshaping: rows of length ``T+2W+1`` read with rows of length ``T+2W`` shift row
    ``i`` right by ``i``, so ``band[i, c]`` lands in column ``i + c = j + W``.
    """
    *lead, t, width = band.shape
    w = (width - 1) // 2
    padded = F.pad(band, (0, t))  # [..., T, T+2W+1]
    flat = padded.reshape(*lead, t * (t + 2 * w + 1))[..., : t * (t + 2 * w)]
    return flat.reshape(*lead, t, t + 2 * w)[..., w : w + t]


def square_to_band(square: torch.Tensor, w: int) -> torch.Tensor:
    """Inverse of :func:`band_to_square`: ``[..., T, T]`` -> ``[..., T, 2W+1]`` (0 off the matrix).

    Entry ``[i, o+W]`` is ``square[i, i+o]``: pad W columns each side, then read rows of length
    ``T+2W`` as rows of length ``T+2W+1`` (row ``i`` shifts left by ``i``).
    """
    *lead, t, _ = square.shape
    padded = F.pad(square, (w, w))  # [..., T, T+2W]
    flat = F.pad(padded.reshape(*lead, t * (t + 2 * w)), (0, t))
    return flat.reshape(*lead, t, t + 2 * w + 1)[..., : 2 * w + 1]


class MultiHeadAttention(nn.Module):
    """Self-attention with relative position keys and values (window ``window_size``)."""

    def __init__(self, channels: int, out_channels: int, n_heads: int, window_size: int = 10) -> None:
        super().__init__()
        if channels % n_heads:
            raise ValueError(f"channels {channels} not divisible by n_heads {n_heads}")
        self.n_heads = n_heads
        self.k_channels = channels // n_heads
        self.window_size = window_size
        self.conv_q = Conv1d(channels, channels, 1)
        self.conv_k = Conv1d(channels, channels, 1)
        self.conv_v = Conv1d(channels, channels, 1)
        self.conv_o = Conv1d(channels, out_channels, 1)
        self.emb_rel_k = nn.Parameter(torch.zeros(1, 2 * window_size + 1, self.k_channels))
        self.emb_rel_v = nn.Parameter(torch.zeros(1, 2 * window_size + 1, self.k_channels))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        return x.reshape(b, self.n_heads, self.k_channels, t).transpose(2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t = x.shape
        q = self._heads(self.conv_q(x)) / math.sqrt(self.k_channels)
        k = self._heads(self.conv_k(x))
        v = self._heads(self.conv_v(x))
        scores = q @ k.transpose(2, 3)
        rel_logits = q @ self.emb_rel_k.transpose(1, 2)  # [b, h, t, 2W+1]
        scores = scores + band_to_square(rel_logits)
        p_attn = torch.softmax(scores, dim=-1)
        out = p_attn @ v + square_to_band(p_attn, self.window_size) @ self.emb_rel_v
        out = out.transpose(2, 3).reshape(b, self.n_heads * self.k_channels, t)
        return self.conv_o(out)


class FFN(nn.Module):
    """Two convolutions with ReLU between, "same" padding (left (k-1)//2, right k//2)."""

    def __init__(self, in_channels: int, out_channels: int, filter_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv_1 = Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = Conv1d(filter_channels, out_channels, kernel_size)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        if k == 1:
            return x
        return F.pad(x, ((k - 1) // 2, k // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_1(self._pad(x)))
        return self.conv_2(self._pad(x))


class Encoder(nn.Module):
    """``n_layers`` of (attention, add & norm, FFN, add & norm)."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int = 1,
        window_size: int = 10,
    ) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(
            MultiHeadAttention(hidden_channels, hidden_channels, n_heads, window_size) for _ in range(n_layers)
        )
        self.norm_layers_1 = nn.ModuleList(LayerNorm(hidden_channels) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(
            FFN(hidden_channels, hidden_channels, filter_channels, kernel_size) for _ in range(n_layers)
        )
        self.norm_layers_2 = nn.ModuleList(LayerNorm(hidden_channels) for _ in range(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, norm1, ffn, norm2 in zip(self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2):
            x = norm1(x + attn(x))
            x = norm2(x + ffn(x))
        return x
