"""WaveNet-style gated convolution stack (``WN``) used by the flow's coupling layers.

Channels-last (``[B, T, C]``); attribute names follow the checkpoint keys
(``in_layers``, ``res_skip_layers``, ``cond_layer``). Inference runs on one unpadded sequence,
so the masks of the training code (all ones here) are left out.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from inference.mlx import conv
from inference.mlx.conv import Conv1d

LRELU_SLOPE = 0.1


def leaky_relu(x: mx.array, slope: float = LRELU_SLOPE) -> mx.array:
    """``x if x > 0 else slope * x`` (bit-identical to PyTorch's for 0 < slope < 1; one fused
    kernel where MLX can compile one: :func:`inference.mlx.conv.leaky_relu`)."""
    return conv.leaky_relu(x, slope)


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
        self.in_layers = []
        self.res_skip_layers = []
        for i in range(n_layers):
            dilation = dilation_rate**i
            padding = (kernel_size * dilation - dilation) // 2
            self.in_layers.append(
                Conv1d(hidden_channels, 2 * hidden_channels, kernel_size, padding=padding, dilation=dilation)
            )
            # the last layer only feeds the skip sum, so it has half the outputs
            out = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(Conv1d(hidden_channels, out, 1))

    def __call__(self, x: mx.array, g: mx.array | None = None) -> mx.array:
        h = self.hidden_channels
        if g is not None:
            g = self.cond_layer(g)
        output = None
        for i, (in_layer, res_skip) in enumerate(zip(self.in_layers, self.res_skip_layers)):
            x_in = in_layer(x)
            if g is not None:
                x_in = x_in + g[..., 2 * h * i : 2 * h * (i + 1)]
            acts = mx.tanh(x_in[..., :h]) * mx.sigmoid(x_in[..., h:])
            rs = res_skip(acts)
            if i < self.n_layers - 1:
                x = x + rs[..., :h]
                skip = rs[..., h:]
            else:
                skip = rs
            output = skip if output is None else output + skip
        return output
