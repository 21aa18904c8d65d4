"""Relative-position multi-head self-attention encoder (the text encoder's core), channels-last.

Names follow the checkpoint keys: ``encoder.attn_layers.N.{conv_q,conv_k,conv_v,conv_o,
emb_rel_k,emb_rel_v}``, ``norm_layers_1/2.N.{gamma,beta}``, ``ffn_layers.N.{conv_1,conv_2}``.

Relative positions are limited to ``window_size`` on either side; the learned embeddings have
``2*window_size+1`` rows shared by all heads. Scores for relative offsets outside the window
are zero, so we compute the ``2W+1`` in-window logits and place them on the band of the
``[T, T]`` score matrix (and read the band back out of the attention weights for the values),
with no intermediate larger than the ``[T, T]`` scores themselves.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn

from inference.mlx.conv import Conv1d


class LayerNorm(nn.Module):
    """Layer norm over channels with the checkpoint's parameter names ``gamma``/``beta``."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = mx.ones((channels,))
        self.beta = mx.zeros((channels,))

    def __call__(self, x: mx.array) -> mx.array:
        return mx.fast.layer_norm(x, self.gamma, self.beta, self.eps)


def band_to_square(band: mx.array) -> mx.array:
    """``[..., T, 2W+1]`` relative logits (offset ``o`` at column ``o+W``) -> ``[..., T, T]``.

    Entry ``[i, j]`` of the result is ``band[i, j-i+W]`` when ``|j-i| <= W`` and 0 elsewhere.
    Skew by reshaping: rows of length ``T+2W+1`` read with rows of length ``T+2W`` shift row
    ``i`` right by ``i``, so ``band[i, c]`` lands in column ``i + c = j + W``.
    """
    *lead, t, width = band.shape
    w = (width - 1) // 2
    n = len(lead)
    padded = mx.pad(band, [(0, 0)] * n + [(0, 0), (0, t)])  # [..., T, T+2W+1]
    flat = padded.reshape(*lead, t * (t + 2 * w + 1))[..., : t * (t + 2 * w)]
    return flat.reshape(*lead, t, t + 2 * w)[..., w : w + t]


def square_to_band(square: mx.array, w: int) -> mx.array:
    """Inverse of :func:`band_to_square`: ``[..., T, T]`` -> ``[..., T, 2W+1]`` (0 off the matrix).

    Entry ``[i, o+W]`` is ``square[i, i+o]``: pad W columns each side, then read rows of length
    ``T+2W`` as rows of length ``T+2W+1`` (row ``i`` shifts left by ``i``).
    """
    *lead, t, _ = square.shape
    n = len(lead)
    padded = mx.pad(square, [(0, 0)] * n + [(0, 0), (w, w)])  # [..., T, T+2W]
    flat = mx.pad(padded.reshape(*lead, t * (t + 2 * w)), [(0, 0)] * n + [(0, t)])
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
        self.emb_rel_k = mx.zeros((1, 2 * window_size + 1, self.k_channels))
        self.emb_rel_v = mx.zeros((1, 2 * window_size + 1, self.k_channels))

    def _heads(self, x: mx.array) -> mx.array:
        b, t, _ = x.shape
        return x.reshape(b, t, self.n_heads, self.k_channels).transpose(0, 2, 1, 3)

    def __call__(self, x: mx.array) -> mx.array:
        b, t, _ = x.shape
        q = self._heads(self.conv_q(x)) / math.sqrt(self.k_channels)
        k = self._heads(self.conv_k(x))
        v = self._heads(self.conv_v(x))
        scores = q @ k.transpose(0, 1, 3, 2)
        rel_logits = q @ self.emb_rel_k.transpose(0, 2, 1)  # [b, h, t, 2W+1]
        scores = scores + band_to_square(rel_logits)
        p_attn = mx.softmax(scores, axis=-1, precise=True)
        out = p_attn @ v + square_to_band(p_attn, self.window_size) @ self.emb_rel_v
        out = out.transpose(0, 2, 1, 3).reshape(b, t, self.n_heads * self.k_channels)
        return self.conv_o(out)


class FFN(nn.Module):
    """Two convolutions with ReLU between, "same" padding (left (k-1)//2, right k//2)."""

    def __init__(self, in_channels: int, out_channels: int, filter_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv_1 = Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = Conv1d(filter_channels, out_channels, kernel_size)

    def _pad(self, x: mx.array) -> mx.array:
        k = self.kernel_size
        if k == 1:
            return x
        return mx.pad(x, [(0, 0), ((k - 1) // 2, k // 2), (0, 0)])

    def __call__(self, x: mx.array) -> mx.array:
        x = mx.maximum(self.conv_1(self._pad(x)), 0.0)
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
        self.attn_layers = [
            MultiHeadAttention(hidden_channels, hidden_channels, n_heads, window_size) for _ in range(n_layers)
        ]
        self.norm_layers_1 = [LayerNorm(hidden_channels) for _ in range(n_layers)]
        self.ffn_layers = [FFN(hidden_channels, hidden_channels, filter_channels, kernel_size) for _ in range(n_layers)]
        self.norm_layers_2 = [LayerNorm(hidden_channels) for _ in range(n_layers)]

    def __call__(self, x: mx.array) -> mx.array:
        for attn, norm1, ffn, norm2 in zip(self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2):
            x = norm1(x + attn(x))
            x = norm2(x + ffn(x))
        return x
