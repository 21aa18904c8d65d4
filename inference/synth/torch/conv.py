"""Channels-first 1-D convolutions for the torch port, with the MLX port's call signature.

The twin of :mod:`inference.mlx.conv`. These are ``nn.Conv1d`` / ``nn.ConvTranspose1d`` with
two additions:

- ``Conv1d(x, add=y)`` returns the convolution plus ``y`` (a residual, the NSF source), as the
  MLX port's does, so the two ports' modules read the same.
- On the CPU they run as 2-D convolutions in the channels-last layout: tensors keep the shape
  ``[B, C, T]``, but their memory is ``[B, T, C]`` (the MLX port's layout), and outputs come back
  that way, so the element-wise operations between two convolutions keep it too. oneDNN's 1-D
  channels-first path reorders every input into a blocked layout and back; its channels-last
  kernels do not, and the NSF generator runs 1.7x faster with them on an AVX2 CPU (the
  convolutions alone 1.2x to 2.7x, the small-channel, long ones the most). The samples are the
  same up to float32 summation order (1.4e-6 x peak on a v2 48k model). Other devices, and a
  torch built without oneDNN, keep the native 1-D convolution.

Weights keep PyTorch's layout: ``(C_out, C_in, K)`` for ``Conv1d``, ``(C_in, C_out, K)`` for
``ConvTranspose1d``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _on_onednn(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and torch.backends.mkldnn.is_available()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x [B, C, T]`` with its memory ordered ``[B, T, C]`` (no copy when it already is)."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


def _weight_2d(weight: torch.Tensor) -> torch.Tensor:
    # (O, I, K) -> (O, I, 1, K) in the channels-last layout the kernels want (a copy of a few
    # hundred kB at most: not worth a cache that could go stale when the weights are replaced)
    return weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)


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
        if _on_onednn(x):
            y = F.conv2d(
                channels_last(x).unsqueeze(2),
                _weight_2d(self.weight),
                self.bias,
                (1, self.stride[0]),
                (0, self.padding[0]),
                (1, self.dilation[0]),
            ).squeeze(2)
        else:
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The transposed convolution of ``x``."""
        if not _on_onednn(x):
            return super().forward(x)
        return F.conv_transpose2d(
            channels_last(x).unsqueeze(2), _weight_2d(self.weight), self.bias, (1, self.stride[0]), (0, self.padding[0])
        ).squeeze(2)
