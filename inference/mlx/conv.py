"""Channels-last 1-D convolutions for MLX, fast on the CPU and native on Metal.

MLX's CPU convolution is a slow reference loop (a dilated one is ~100x slower than the same
work as a matrix product), while on Apple GPUs ``mx.conv1d`` is the fast path. On the CPU we
therefore compute a convolution as a sum of per-tap matrix products, accumulated with
``mx.addmm`` into one buffer: ``y = b + sum_j x[t + j*d] @ W_j``. Every shifted ``x`` is a
contiguous row range of the padded input, so nothing is copied, and BLAS does all the work.
This is exact (the same products and sums as a direct convolution, in another order). The bias,
and a tensor to add to the output (a residual, the NSF source), seed the first product's
accumulator instead of costing passes of their own: MLX's CPU element-wise ops are memory-bound.

A transposed convolution (stride ``u``, kernel ``k``) is computed in polyphase form: with the
kernel padded to ``m*u`` taps, output block ``q`` (``u`` samples) is ``sum_i x[q-i] @ W_i``
where ``W_i`` holds taps ``i*u .. i*u+u-1`` for every phase: ``m`` matrix products of width
``u*C_out`` and a reshape.

Weights are stored in MLX's layout, ``(C_out, K, C_in)``, for both layer types. The CPU path
keeps a per-layer tap-major copy, rebuilt when the weight array is replaced.
"""

from __future__ import annotations

import functools
import logging
import math
import threading

import mlx.core as mx
import mlx.nn as nn

log = logging.getLogger(__name__)

IMPLS = ("auto", "matmul", "native")


def _leaky(x: mx.array, slope: float) -> mx.array:
    return mx.maximum(x, x * slope)


@functools.cache  # (the first call happens under the import of a model, on one thread)
def _fused_leaky():
    """``_leaky`` compiled into one kernel (``mx.compile``: one pass over memory instead of a
    multiply, a maximum and a temporary; the leaky ReLUs were a fifth of the decoder's time on
    the CPU), or None where compiling fails: MLX's CPU backend builds fused kernels with the
    system's C++ compiler, which a Mac without the command-line tools lacks. Tried once."""
    fused = mx.compile(_leaky, shapeless=True)
    try:
        probe = mx.array([-2.0, 3.0])
        if mx.array_equal(fused(probe, 0.1), _leaky(probe, 0.1)).item():
            return fused
        log.info("MLX's compiled leaky ReLU disagrees with the plain one here: not used")
    except (RuntimeError, ValueError) as exc:
        log.info("MLX cannot compile the leaky ReLU here (%s): the plain one is used", exc)
    return None


_COMPILED = threading.Lock()  # a preview and a batch may build graphs at once: MLX's compile cache is one


def leaky_relu(x: mx.array, slope: float) -> mx.array:
    """``x if x > 0 else slope * x`` (bit-identical to PyTorch's for 0 < slope < 1), in one fused
    kernel where MLX can compile one."""
    fused = _fused_leaky()
    if fused is None:
        return _leaky(x, slope)
    with _COMPILED:  # only builds the graph: the work is done at evaluation, outside
        return fused(x, slope)


class _Prepared:
    """Weights re-laid out for the matmul path, remembered with the array they came from.

    A plain object (not a tuple or list) so that ``nn.Module`` keeps it out of its parameters.
    """

    def __init__(self) -> None:
        self.source: mx.array | None = None
        self.arrays: list[mx.array] = []

    def get(self, weight: mx.array, build) -> list[mx.array]:
        if self.source is not weight:
            self.arrays = build(weight)
            mx.eval(self.arrays)
            self.source = weight
        return self.arrays


def use_matmul(impl: str = "auto") -> bool:
    """True when the matmul path should run: forced, or ``auto`` on the CPU device."""
    if impl == "auto":
        return mx.default_device().type == mx.DeviceType.cpu
    if impl not in IMPLS:
        raise ValueError(f"unknown convolution implementation {impl!r}; expected one of {IMPLS}")
    return impl == "matmul"


def _seed(bias: mx.array | None, add: mx.array | None) -> mx.array | None:
    """What the output starts from before the products: bias, ``add``, both or neither."""
    if bias is None or add is None:
        return add if bias is None else bias
    return add + bias


def _first(seed: mx.array | None, x: mx.array, w: mx.array) -> mx.array:
    return x @ w if seed is None else mx.addmm(seed, x, w)


def conv1d_taps(
    x: mx.array,
    taps: list[mx.array],
    bias: mx.array | None,
    padding: int,
    dilation: int,
    add: mx.array | None = None,
) -> mx.array:
    """Stride-1 convolution of ``x`` ``[B, T, Cin]`` with per-tap weights ``taps[j]`` ``[Cin, Cout]``, plus ``add``."""
    k = len(taps)
    t_out = x.shape[1] + 2 * padding - dilation * (k - 1)
    if padding:
        x = mx.pad(x, [(0, 0), (padding, padding), (0, 0)])
    y = _first(_seed(bias, add), x[:, 0:t_out, :], taps[0])
    for j in range(1, k):
        start = j * dilation
        y = mx.addmm(y, x[:, start : start + t_out, :], taps[j])
    return y


def conv1d_strided(
    x: mx.array,
    blocks: list[mx.array],
    bias: mx.array | None,
    stride: int,
    padding: int,
    k: int,
    add: mx.array | None = None,
) -> mx.array:
    """Convolution with ``stride > 1``: the input is cut in ``stride``-sample blocks.

    ``blocks[i]`` ``[stride*Cin, Cout]`` holds taps ``i*stride .. i*stride+stride-1`` (zero past
    ``k``); output ``t`` is ``sum_i block[t+i] @ blocks[i]``.
    """
    b, t_in, c_in = x.shape
    t_out = (t_in + 2 * padding - k) // stride + 1
    m = len(blocks)
    needed = (t_out + m - 1) * stride
    right = needed - t_in - padding
    if right >= 0:
        x = mx.pad(x, [(0, 0), (padding, right), (0, 0)])
    else:  # samples past the last window are never read
        x = mx.pad(x, [(0, 0), (padding, 0), (0, 0)])[:, :needed, :]
    xb = x.reshape(b, t_out + m - 1, stride * c_in)
    y = _first(_seed(bias, add), xb[:, 0:t_out, :], blocks[0])
    for i in range(1, m):
        y = mx.addmm(y, xb[:, i : i + t_out, :], blocks[i])
    return y


def conv_transpose1d_phases(
    x: mx.array, phases: list[mx.array], bias: mx.array | None, stride: int, padding: int, k: int
) -> mx.array:
    """Transposed convolution in polyphase form; ``phases[i]`` is ``[Cin, stride*Cout]``."""
    b, t_in, _ = x.shape
    m = len(phases)
    c_out = phases[0].shape[1] // stride
    t_out = (t_in - 1) * stride + k - 2 * padding
    if m > 1:
        x = mx.pad(x, [(0, 0), (m - 1, m - 1), (0, 0)])
    n_blocks = t_in + m - 1
    # block q = sum_i x[q - i] @ W_i; in the padded input x[q - i] sits at row q + m - 1 - i.
    # Column (r, o) of a block is output channel o, so the bias repeats once per phase r.
    seed = None if bias is None else mx.tile(bias, stride)
    y = _first(seed, x[:, m - 1 : m - 1 + n_blocks, :], phases[0])
    for i in range(1, m):
        start = m - 1 - i
        y = mx.addmm(y, x[:, start : start + n_blocks, :], phases[i])
    return y.reshape(b, n_blocks * stride, c_out)[:, padding : padding + t_out, :]


class Conv1d(nn.Module):
    """A 1-D convolution on ``[B, T, C]`` with PyTorch's semantics (zero padding, dilation, stride).

    ``weight`` is ``(C_out, K, C_in)``; ``impl`` picks the path ("auto": matmul on the CPU).
    """

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
        super().__init__()
        if stride > 1 and dilation > 1:
            raise ValueError("Conv1d: stride and dilation both above 1 are not supported")
        self.weight = mx.zeros((out_channels, kernel_size, in_channels))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.impl = "auto"
        self._prepared = _Prepared()

    def _build_taps(self, w: mx.array) -> list[mx.array]:
        c_out, k, c_in = w.shape
        if self.stride == 1:
            wt = w.transpose(1, 2, 0)  # [k, Cin, Cout]
            return [mx.contiguous(wt[j]) for j in range(k)]
        s = self.stride
        m = math.ceil(k / s)
        wp = mx.pad(w, [(0, 0), (0, m * s - k), (0, 0)])  # [Cout, m*s, Cin]
        wp = wp.reshape(c_out, m, s * c_in).transpose(1, 2, 0)  # [m, s*Cin, Cout]
        return [mx.contiguous(wp[i]) for i in range(m)]

    def _taps(self) -> list[mx.array]:
        return self._prepared.get(self.weight, self._build_taps)

    def __call__(self, x: mx.array, add: mx.array | None = None, slope: float | None = None) -> mx.array:
        """The convolution of ``x``, plus ``add`` (the output's shape) when given, through a leaky
        ReLU of slope ``slope`` when given (the torch port fuses it into the convolution)."""
        bias = self.get("bias") if "bias" in self else None
        if use_matmul(self.impl):
            k = self.weight.shape[1]
            if self.stride == 1:
                y = conv1d_taps(x, self._taps(), bias, self.padding, self.dilation, add)
            else:
                y = conv1d_strided(x, self._taps(), bias, self.stride, self.padding, k, add)
        else:
            y = mx.conv1d(x, self.weight, stride=self.stride, padding=self.padding, dilation=self.dilation)
            seed = _seed(bias, add)
            y = y if seed is None else y + seed
        return y if slope is None else leaky_relu(y, slope)


class ConvTranspose1d(nn.Module):
    """A 1-D transposed convolution on ``[B, T, C]`` (PyTorch semantics); weight ``(C_out, K, C_in)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.weight = mx.zeros((out_channels, kernel_size, in_channels))
        if bias:
            self.bias = mx.zeros((out_channels,))
        self.stride = stride
        self.padding = padding
        self.impl = "auto"
        self._prepared = _Prepared()

    def _build_phases(self, w: mx.array) -> list[mx.array]:
        c_out, k, c_in = w.shape
        s = self.stride
        m = math.ceil(k / s)
        wp = mx.pad(w, [(0, 0), (0, m * s - k), (0, 0)])  # [Cout, m*s, Cin]
        # phase matrix i: [Cin, s*Cout], column (r, o) = tap i*s + r of output channel o
        wp = wp.reshape(c_out, m, s, c_in).transpose(1, 3, 2, 0).reshape(m, c_in, s * c_out)
        return [mx.contiguous(wp[i]) for i in range(m)]

    def _phases(self) -> list[mx.array]:
        return self._prepared.get(self.weight, self._build_phases)

    def __call__(self, x: mx.array) -> mx.array:
        bias = self.get("bias") if "bias" in self else None
        k = self.weight.shape[1]
        if use_matmul(self.impl):
            return conv_transpose1d_phases(x, self._phases(), bias, self.stride, self.padding, k)
        y = mx.conv_transpose1d(x, self.weight, stride=self.stride, padding=self.padding)
        return y if bias is None else y + bias


def set_conv_impl(module: nn.Module, impl: str) -> None:
    """Force every convolution under ``module`` onto one path ("auto", "matmul" or "native")."""
    if impl not in IMPLS:
        raise ValueError(f"unknown convolution implementation {impl!r}; expected one of {IMPLS}")
    for _, child in module.named_modules():
        if isinstance(child, (Conv1d, ConvTranspose1d)):
            child.impl = impl
