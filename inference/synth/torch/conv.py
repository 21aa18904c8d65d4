"""Channels-first 1-D convolutions for the torch port, with the MLX port's call signature.

The twin of :mod:`inference.mlx.conv`. These are ``nn.Conv1d`` / ``nn.ConvTranspose1d`` with
two additions:

- ``Conv1d(x, add=y)`` returns the convolution plus ``y`` (a residual, the NSF source), as the
  MLX port's does, so the two ports' modules read the same; ``Conv1d(x, slope=s)`` returns it
  through a leaky ReLU of slope ``s`` (after the ``add``).
- On the CPU they run as 2-D convolutions in the channels-last layout: tensors keep the shape
  ``[B, C, T]``, but their memory is ``[B, T, C]`` (the MLX port's layout), and outputs come back
  that way, so the element-wise operations between two convolutions keep it too. oneDNN's 1-D
  channels-first path reorders every input into a blocked layout and back; its channels-last
  kernels do not, and the NSF generator runs 1.7x faster with them on an AVX2 CPU (the
  convolutions alone 1.2x to 2.7x, the small-channel, long ones the most). The samples are the
  same up to float32 summation order (1.4e-6 x peak on a v2 48k model). Other devices, and a
  torch built without oneDNN, keep the native 1-D convolution.

With oneDNN, the ``add`` and the leaky ReLU run inside the convolution (its post-ops, the
kernels ``torch.compile`` fuses into: ``mkldnn::_convolution_pointwise``) instead of as passes of
their own over the output: the residual blocks' element-wise passes were a fifth of the
generator's time, memory-bound. The samples are the same bits. Those kernels are internal to
torch, so they are checked once per process against the plain path on a small input
(:func:`fused_kernels`), used only for float32 without autograd, and skipped if they are missing,
raise, or disagree.

Weights keep PyTorch's layout: ``(C_out, C_in, K)`` for ``Conv1d``, ``(C_in, C_out, K)`` for
``ConvTranspose1d``.
"""

from __future__ import annotations

import functools
import logging

import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger(__name__)


def _on_onednn(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and torch.backends.mkldnn.is_available()


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x [B, C, T]`` with its memory ordered ``[B, T, C]`` (no copy when it already is)."""
    return x.transpose(1, 2).contiguous().transpose(1, 2)


def _weight_2d(weight: torch.Tensor) -> torch.Tensor:
    # (O, I, K) -> (O, I, 1, K) in the channels-last layout the kernels want (a copy of a few
    # hundred kB at most: not worth a cache that could go stale when the weights are replaced)
    return weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _then(y: torch.Tensor, add: torch.Tensor | None, slope: float | None) -> torch.Tensor:
    """A convolution's output ``y``, plus ``add``, through a leaky ReLU of slope ``slope``."""
    if add is not None:
        y = y + add
    return y if slope is None else F.leaky_relu(y, slope)


def _plain(x, weight, bias, stride, padding, dilation, add, slope):
    return _then(F.conv2d(x, weight, bias, (1, stride), (0, padding), (1, dilation)), add, slope)


def _fused(x, weight, bias, stride, padding, dilation, add, slope):
    """``_plain``'s result from one oneDNN kernel; ``add`` or ``slope`` (or both) given."""
    geometry = ([0, padding], [1, stride], [1, dilation], 1)
    if add is None:
        return torch.ops.mkldnn._convolution_pointwise(x, weight, bias, *geometry, "leaky_relu", [slope], "")
    y = torch.ops.mkldnn._convolution_pointwise.binary(x, add, weight, bias, *geometry, "add", None, None, [], None)
    return _then(y, None, slope)  # oneDNN fuses no leaky ReLU after an add


@functools.cache
def fused_kernels() -> bool:
    """True when oneDNN's fused convolution kernels run here and match the plain path (checked once)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        gen = torch.Generator().manual_seed(0)
        with torch.inference_mode():
            x = torch.randn(1, 6, 1, 40, generator=gen).contiguous(memory_format=torch.channels_last)
            add = torch.randn(1, 5, 1, 40, generator=gen).contiguous(memory_format=torch.channels_last)
            w = torch.randn(5, 6, 1, 3, generator=gen).contiguous(memory_format=torch.channels_last)
            b = torch.randn(5, generator=gen)
            for extra in ((None, 0.1), (add, None), (add, 0.2)):
                want = _plain(x, w, b, 1, 2, 2, *extra)
                got = _fused(x, w, b, 1, 2, 2, *extra)
                if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-5, atol=1e-5):
                    log.info("oneDNN's fused convolutions disagree with the plain path here: not used")
                    return False
    except (RuntimeError, AttributeError, TypeError) as exc:  # missing or unsupported: the plain path
        log.info("oneDNN's fused convolutions are not available (%s): not used", exc)
        return False
    return True


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

    def forward(self, x: torch.Tensor, add: torch.Tensor | None = None, slope: float | None = None) -> torch.Tensor:
        """The convolution of ``x``, plus ``add`` (the output's shape) when given, through a leaky
        ReLU of slope ``slope`` when given."""
        if not _on_onednn(x):
            return _then(super().forward(x), add, slope)
        args = (
            channels_last(x).unsqueeze(2),
            _weight_2d(self.weight),
            self.bias,
            self.stride[0],
            self.padding[0],
            self.dilation[0],
        )
        if (add is not None or slope is not None) and self._can_fuse(x, add):
            return _fused(*args, None if add is None else channels_last(add).unsqueeze(2), slope).squeeze(2)
        return _plain(*args, None if add is None else add.unsqueeze(2), slope).squeeze(2)

    def _can_fuse(self, x: torch.Tensor, add: torch.Tensor | None) -> bool:
        if x.dtype != torch.float32 or self.weight.dtype != torch.float32 or self.groups != 1:
            return False
        if torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad):
            return False  # the fused kernels have no backward
        if add is not None:
            (k,), (s,), (p,), (d,) = self.kernel_size, self.stride, self.padding, self.dilation
            length = (x.shape[2] + 2 * p - d * (k - 1) - 1) // s + 1
            if add.dtype != torch.float32 or tuple(add.shape) != (x.shape[0], self.out_channels, length):
                return False  # a broadcast add: the plain path
        return fused_kernels()


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
