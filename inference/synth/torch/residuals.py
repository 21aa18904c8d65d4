"""HiFi-GAN residual blocks and the flow's residual coupling layers (channels-first).

The twin of :mod:`inference.mlx.residuals`. Attribute names follow the checkpoint keys:
``convs1``/``convs2`` (ResBlock1), ``convs`` (ResBlock2), ``flow.flows.{0,2,4,6}.{pre,enc,post}``
with parameter-free flips in between.
"""

from __future__ import annotations

import torch
from torch import nn

from inference.synth.torch.conv import Conv1d
from inference.synth.torch.modules import LRELU_SLOPE, WN, leaky_relu


def _same(kernel_size: int, dilation: int) -> int:
    return (kernel_size * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """Three (dilated conv, conv) pairs, each added back to its input.

    ``slope`` is the leaky ReLU's: 0.1 in HiFi-GAN, 0.2 in RefineGAN's residual blocks.
    """

    def __init__(self, channels: int, kernel_size: int = 3, dilation=(1, 3, 5), slope: float = LRELU_SLOPE) -> None:
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList(
            Conv1d(channels, channels, kernel_size, padding=_same(kernel_size, d), dilation=d) for d in dilation
        )
        self.convs2 = nn.ModuleList(
            Conv1d(channels, channels, kernel_size, padding=_same(kernel_size, 1)) for _ in dilation
        )

    def forward(self, x: torch.Tensor, x_act: torch.Tensor | None = None) -> torch.Tensor:
        """``x_act``: ``leaky_relu(x)`` when the caller has it (a stage's blocks share one input)."""
        for i, (c1, c2) in enumerate(zip(self.convs1, self.convs2)):
            act = x_act if i == 0 and x_act is not None else leaky_relu(x, self.slope)
            x = c2(c1(act, slope=self.slope), add=x)
        return x


class ResBlock2(nn.Module):
    """Two dilated convs, each added back to its input."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation=(1, 3)) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            Conv1d(channels, channels, kernel_size, padding=_same(kernel_size, d), dilation=d) for d in dilation
        )

    def forward(self, x: torch.Tensor, x_act: torch.Tensor | None = None) -> torch.Tensor:
        """``x_act``: ``leaky_relu(x)`` when the caller has it (a stage's blocks share one input)."""
        for i, c in enumerate(self.convs):
            act = x_act if i == 0 and x_act is not None else leaky_relu(x, LRELU_SLOPE)
            x = c(act, add=x)
        return x


class Flip(nn.Module):
    """Reverses the channel order (no parameters; keeps the flow's list indices as in the checkpoint)."""

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        return torch.flip(x, [1])


class ResidualCouplingLayer(nn.Module):
    """Mean-only affine coupling: the second half of the channels is shifted by a WN of the first."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"coupling layer channels must be even, got {channels}")
        self.half_channels = channels // 2
        self.pre = Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = WN(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels)
        self.post = Conv1d(hidden_channels, self.half_channels, 1)

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        x0, x1 = x[:, : self.half_channels], x[:, self.half_channels :]
        m = self.post(self.enc(self.pre(x0), g))
        x1 = x1 - m if reverse else x1 + m
        return torch.cat([x0, x1], dim=1)


class ResidualCouplingBlock(nn.Module):
    """``n_flows`` coupling layers, each followed by a flip; inference runs it in reverse."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_flows: int = 4,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(
                ResidualCouplingLayer(
                    channels, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels=gin_channels
                )
            )
            self.flows.append(Flip())

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None, reverse: bool = True) -> torch.Tensor:
        flows = reversed(self.flows) if reverse else self.flows
        for flow in flows:
            x = flow(x, g, reverse=reverse)
        return x
