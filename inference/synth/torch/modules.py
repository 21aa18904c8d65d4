"""WaveNet-style gated convolution stack (``WN``) used by the flow's coupling layers.

Channels-first (``[B, C, T]``), the twin of :mod:`inference.mlx.modules`; attribute names follow
the checkpoint keys (``in_layers``, ``res_skip_layers``, ``cond_layer``). Inference runs on one
unpadded sequence, so the masks of the training code (all ones here) are left out.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inference.synth.torch.conv import Conv1d

LRELU_SLOPE = 0.1


def leaky_relu(x: torch.Tensor, slope: float = LRELU_SLOPE) -> torch.Tensor:
    """``x if x > 0 else slope * x``."""
    return F.leaky_relu(x, slope)


class WN(nn.Module):
    """Dilated gated convolutions with residual and skip outputs, conditioned on a speaker."""

    def __init__(
        self,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        if gin_channels:
            self.cond_layer = Conv1d(gin_channels, 2 * hidden_channels * n_layers, 1)
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = (kernel_size * dilation - dilation) // 2
            self.in_layers.append(
                Conv1d(hidden_channels, 2 * hidden_channels, kernel_size, padding=padding, dilation=dilation)
            )
            # the last layer only feeds the skip sum, so it has half the outputs
            out = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(Conv1d(hidden_channels, out, 1))

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        h = self.hidden_channels
        if g is not None:
            g = self.cond_layer(g)
        output = None
        for i, (in_layer, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers)):
            x_in = in_layer(x)
            if g is not None:
                x_in = x_in + g[:, 2 * h * i : 2 * h * (i + 1)]
            acts = torch.tanh(x_in[:, :h]) * torch.sigmoid(x_in[:, h:])
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = x + rs[:, :h]
                skip = rs[:, h:]
            else:
                skip = rs
            output = skip if output is None else output + skip
        return output
