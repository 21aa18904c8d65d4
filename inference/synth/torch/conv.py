"""Channels-first 1-D convolutions for the torch port, with the MLX port's call signature.

The twin of :mod:`inference.mlx.conv`. PyTorch's own convolutions are fast on every device, so
these are ``nn.Conv1d`` / ``nn.ConvTranspose1d`` with one addition: ``Conv1d(x, add=y)``
returns the convolution plus ``y`` (a residual, the NSF source), as the MLX port's does, so the
two ports' modules read the same. Weights keep PyTorch's layout: ``(C_out, C_in, K)`` for
``Conv1d``, ``(C_in, C_out, K)`` for ``ConvTranspose1d``.
"""

from __future__ import annotations

import torch
from torch import nn


class Conv1d(nn.Conv1d):
    """A 1-D convolution on ``[B, C, T]``; ``add`` (the output's shape) is added when given."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=bias
        )

    def forward(self, x: torch.Tensor, add: torch.Tensor | None = None) -> torch.Tensor:
        """The convolution of ``x``, plus ``add`` (the output's shape) when given."""
        y = super().forward(x)
        return y if add is None else y + add


class ConvTranspose1d(nn.ConvTranspose1d):
    """A 1-D transposed convolution on ``[B, C, T]``; weight ``(C_in, C_out, K)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
