"""Building blocks of the RVC generator in PyTorch, channels-first (``[B, C, T]``).

Attribute names follow the checkpoint keys. Weight-normed convolutions use
``torch.nn.utils.parametrizations.weight_norm`` (keys ``parametrizations.weight.original0/1``);
:func:`inference.torch_synth.fold_weight_norm` folds them into plain weights for inference.
Inference runs on one unpadded sequence, so the training code's masks (all ones) are left out.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

LRELU_SLOPE = 0.1


def same_padding(kernel_size: int, dilation: int = 1) -> int:
    return (kernel_size * dilation - dilation) // 2


def wn_conv(in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1, padding: int | None = None) -> nn.Conv1d:
    pad = same_padding(kernel_size, dilation) if padding is None else padding
    return weight_norm(nn.Conv1d(in_ch, out_ch, kernel_size, dilation=dilation, padding=pad))


class LayerNorm(nn.Module):
    """Layer norm over the channel axis with the checkpoint's names ``gamma``/``beta``."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.transpose(1, -1), (x.shape[1],), self.gamma, self.beta, self.eps)
        return y.transpose(1, -1)


class MultiHeadAttention(nn.Module):
    """Self-attention with relative-position keys and values within ``window_size`` either side."""

    def __init__(self, channels: int, out_channels: int, n_heads: int, window_size: int = 10) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.k_channels = channels // n_heads
        self.window_size = window_size
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        std = self.k_channels**-0.5
        self.emb_rel_k = nn.Parameter(torch.randn(1, 2 * window_size + 1, self.k_channels) * std)
        self.emb_rel_v = nn.Parameter(torch.randn(1, 2 * window_size + 1, self.k_channels) * std)

    def _offsets(self, t: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """``[T, T]`` column of each (query i, key j) in the ``2W+1`` table, and its in-window mask."""
        pos = torch.arange(t, device=device)
        rel = pos[None, :] - pos[:, None] + self.window_size
        inside = (rel >= 0) & (rel <= 2 * self.window_size)
        return rel.clamp(0, 2 * self.window_size), inside

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        h, d = self.n_heads, self.k_channels
        q = self.conv_q(x).view(b, h, d, t).transpose(2, 3) / math.sqrt(d)  # [b, h, t, d]
        k = self.conv_k(x).view(b, h, d, t).transpose(2, 3)
        v = self.conv_v(x).view(b, h, d, t).transpose(2, 3)
        col, inside = self._offsets(t, x.device)
        # Logits against the relative keys, spread to (query, key) pairs; zero outside the window.
        rel_logits = q @ self.emb_rel_k[0].transpose(0, 1)  # [b, h, t, 2W+1]
        local = torch.gather(rel_logits, 3, col.expand(b, h, t, t)) * inside
        p_attn = torch.softmax(q @ k.transpose(2, 3) + local, dim=-1)
        # Attention weights gathered per relative offset, then summed over the relative values.
        w = self.window_size
        pos = torch.arange(t, device=x.device)
        key = pos[:, None] + torch.arange(-w, w + 1, device=x.device)[None, :]  # [t, 2W+1]
        valid = (key >= 0) & (key < t)
        band = torch.gather(p_attn, 3, key.clamp(0, t - 1).expand(b, h, t, 2 * w + 1)) * valid
        out = p_attn @ v + band @ self.emb_rel_v[0]
        return self.conv_o(out.transpose(2, 3).reshape(b, c, t))


class FFN(nn.Module):
    """Conv, ReLU, conv, with "same" padding (left ``(k-1)//2``, right ``k//2``)."""

    def __init__(self, in_channels: int, out_channels: int, filter_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, out_channels, kernel_size)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size
        return x if k == 1 else F.pad(x, ((k - 1) // 2, k // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_2(self._pad(torch.relu(self.conv_1(self._pad(x)))))


class Encoder(nn.Module):
    """``n_layers`` of (attention, add & norm, FFN, add & norm)."""

    def __init__(self, hidden: int, filter_channels: int, n_heads: int, n_layers: int, kernel_size: int,
                 window_size: int = 10) -> None:
        super().__init__()
        self.attn_layers = nn.ModuleList(
            MultiHeadAttention(hidden, hidden, n_heads, window_size) for _ in range(n_layers))
        self.norm_layers_1 = nn.ModuleList(LayerNorm(hidden) for _ in range(n_layers))
        self.ffn_layers = nn.ModuleList(FFN(hidden, hidden, filter_channels, kernel_size) for _ in range(n_layers))
        self.norm_layers_2 = nn.ModuleList(LayerNorm(hidden) for _ in range(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, norm1, ffn, norm2 in zip(self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2):
            x = norm1(x + attn(x))
            x = norm2(x + ffn(x))
        return x


class WN(nn.Module):
    """WaveNet: dilated gated convolutions with residual and skip outputs, speaker-conditioned."""

    def __init__(self, hidden: int, kernel_size: int, dilation_rate: int, n_layers: int, gin_channels: int = 0) -> None:
        super().__init__()
        self.hidden = hidden
        self.n_layers = n_layers
        if gin_channels:
            self.cond_layer = weight_norm(nn.Conv1d(gin_channels, 2 * hidden * n_layers, 1))
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(n_layers):
            self.in_layers.append(wn_conv(hidden, 2 * hidden, kernel_size, dilation=dilation_rate**i))
            # the last layer feeds only the skip sum, so it has half the outputs
            out = 2 * hidden if i < n_layers - 1 else hidden
            self.res_skip_layers.append(weight_norm(nn.Conv1d(hidden, out, 1)))

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden
        cond = self.cond_layer(g) if g is not None and hasattr(self, "cond_layer") else None
        output = torch.zeros_like(x)
        for i, (in_layer, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers)):
            x_in = in_layer(x)
            if cond is not None:
                x_in = x_in + cond[:, 2 * h * i : 2 * h * (i + 1)]
            acts = torch.tanh(x_in[:, :h]) * torch.sigmoid(x_in[:, h:])
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = x + rs[:, :h]
                output = output + rs[:, h:]
            else:
                output = output + rs
        return output


class ResBlock1(nn.Module):
    """Three (dilated conv, conv) pairs, each added back to its input."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation=(1, 3, 5)) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(wn_conv(channels, channels, kernel_size, dilation=d) for d in dilation)
        self.convs2 = nn.ModuleList(wn_conv(channels, channels, kernel_size) for _ in dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE)) + x
        return x


class ResBlock2(nn.Module):
    """Two dilated convs, each added back to its input."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation=(1, 3)) -> None:
        super().__init__()
        self.convs = nn.ModuleList(wn_conv(channels, channels, kernel_size, dilation=d) for d in dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c in self.convs:
            x = c(F.leaky_relu(x, LRELU_SLOPE)) + x
        return x
