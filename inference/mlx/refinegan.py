"""Applio's RefineGAN decoder ``dec`` (after Applio, MIT): a source pyramid feeding upsampling stages.

Channels-last. Attribute names follow the checkpoint keys (``m_source.merge.0``, ``pre_conv``,
``downsample_blocks``, ``mel_conv``, ``cond``, ``upsample_conv_blocks.{i}.input_conv`` /
``.blocks.{b}.{0,1,2}``, ``conv_post``).

- :meth:`RefineGANGenerator.source` (once per input): f0 interpolated linearly to the sample
  rate, one sine whose phase runs over the whole input, merged by ``merge.0`` and tanh.
- :meth:`RefineGANGenerator.decode` (on any window): the source goes through ``pre_conv`` and
  down a pyramid (at each level a leaky ReLU, a windowed-sinc decimation by the next rate and a
  conv doubling the channels); the latent through ``mel_conv`` (+ ``cond``); then 4 stages of
  linear upsampling, the pyramid level of that rate concatenated, and a parallel residual block.

Whole, the pyramid would hold ~50 floats per output sample, so it is computed per window from
the window's source, except its top: the last level's sinc kernel is long (811 taps, ~68
frames), so :meth:`RefineGANGenerator.source` computes that level's output (256 values a frame)
once for the whole input, in pieces with ~80 frames of context. A window then needs only
:func:`inference.synth.runner.decoder_margin`'s ~16 frames for its kept part to equal one pass.
Every AdaIN adds noise ``N(0,1) * weight[c]``; here it is drawn in blocks keyed by (seed, layer,
position), so any window draws the same noise as one pass does.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from inference.mlx.conv import Conv1d
from inference.mlx.generators import NOISE_STD, SINE_AMP
from inference.mlx.modules import leaky_relu
from inference.mlx.residuals import ResBlock1

LRELU_SLOPE = 0.2
# torchaudio.functional.resample's sinc interpolation as RefineGAN calls it ("kaiser_best")
SINC_ZEROS, SINC_ROLLOFF, SINC_BETA = 64, 0.9475937167399596, 14.769656459379492
NOISE_BLOCK_FRAMES = 16  # AdaIN noise is drawn per 16 frames of each layer
SOURCE_FRAMES = 1000  # frames of the pyramid's top computed at once (plus its context)
STAGE_RADIUS = 63  # output samples each side a stage's block reads: input_conv 3 + residual blocks 60
_MASK64 = (1 << 64) - 1


def sinc_kernel(ratio: int) -> tuple[np.ndarray, int]:
    """``(taps [2*width + ratio], width)``: torchaudio's Kaiser-windowed sinc for decimating by
    ``ratio``, computed in float64. Output ``j`` is ``sum_m x[j*ratio + m] * taps[m + width]``
    for ``m`` in ``[-width, width + ratio)``, with zeros outside the signal."""
    width = math.ceil(SINC_ZEROS * ratio / SINC_ROLLOFF)
    t = np.clip(np.arange(-width, width + ratio, dtype=np.float64) / ratio * SINC_ROLLOFF, -SINC_ZEROS, SINC_ZEROS)
    window = np.i0(SINC_BETA * np.sqrt(1 - (t / SINC_ZEROS) ** 2)) / np.i0(SINC_BETA)
    return np.sinc(t) * window * (SINC_ROLLOFF / ratio), width


def upsample_linear(x: mx.array, ratio: int) -> mx.array:
    """``[B, T, C]`` -> ``[B, T*ratio, C]``: PyTorch's linear interpolation (align_corners=False,
    edges held), computed per phase: output ``q*ratio + p`` mixes inputs ``q-1, q, q+1`` with
    weights that depend only on ``p``, so the result is the same at any offset of a window."""
    d = (np.arange(ratio) + 0.5) / ratio - 0.5  # where each phase falls between input samples
    weights = np.stack([np.maximum(-d, 0), 1 - np.abs(d), np.maximum(d, 0)]).astype(np.float32)
    w = mx.array(weights).astype(x.dtype)[:, :, None]  # [3, ratio, 1]
    padded = mx.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
    prev, cur, nxt = padded[:, :-2, None], padded[:, 1:-1, None], padded[:, 2:, None]
    y = prev * w[0] + cur * w[1] + nxt * w[2]
    return y.reshape(x.shape[0], x.shape[1] * ratio, x.shape[2])


def _block_key(seed: int, site: int, block: int) -> int:
    """A 63-bit seed for one block of one layer's noise (splitmix64's finaliser on the three)."""
    z = (seed * 0x9E3779B97F4A7C15 + site * 0xBF58476D1CE4E5B9 + block * 0x94D049BB133111EB + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


def positional_normal(seed: int, site: int, start: int, length: int, channels: int, block: int) -> mx.array:
    """Standard normal noise ``[1, length, channels]`` for samples ``start .. start+length`` of
    layer ``site``: drawn per ``block`` samples from a key of (seed, site, block index), so the
    values at a sample do not depend on the window that asks for them."""
    first, last = start // block, (start + length - 1) // block
    parts = [
        mx.random.normal((block, channels), key=mx.random.key(_block_key(seed, site, k)))
        for k in range(first, last + 1)
    ]
    offset = start - first * block
    return mx.concatenate(parts, axis=0)[None, offset : offset + length, :]


class SourceModuleRefineGAN(nn.Module):
    """One sine from the linearly interpolated f0, merged by ``merge.0`` (1 -> 1, no bias) and tanh."""

    def __init__(self, sampling_rate: int) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.merge = [nn.Linear(1, 1, bias=False)]

    def __call__(self, f0: mx.array, upp: int, noise: mx.array | None = None) -> mx.array:
        """f0 ``[B, T]`` Hz -> ``[B, T*upp, 1]``; ``noise`` ``[B, T*upp, 1]`` standard normal or None.

        The phase is the running sum of ``(f0 / sr) mod 1`` over every sample, in float64 on the
        host (MLX sums in float32), reduced mod 1: exact to float32 rounding at any length.
        Samples whose interpolated f0 is above 0 are voiced (the ramps into unvoiced frames
        included, as in the reference).
        """
        b = f0.shape[0]
        f0s = upsample_linear(f0.astype(mx.float32)[:, :, None], upp)[:, :, 0]  # [B, N]
        rad = (f0s / self.sampling_rate) % 1.0
        phase = mx.array((np.cumsum(np.array(rad, dtype=np.float64), axis=1) % 1.0).astype(np.float32))
        uv = (f0s > 0).astype(mx.float32)
        excitation = mx.sin(phase * (2 * math.pi)) * SINE_AMP * uv
        if noise is not None:
            excitation = excitation + (uv * NOISE_STD + (1 - uv) * (SINE_AMP / 3)) * noise.reshape(b, -1)
        merge = self.merge[0]
        return mx.tanh(merge(excitation[..., None].astype(merge.weight.dtype)))


class SincDownsample:
    """torchaudio's ``resample(x, ratio, 1)`` for an integer ``ratio`` (no weights: not a module).

    As matrix products (fast on MLX's CPU, fine on Metal): ``P`` consecutive outputs read
    ``P*ratio`` new input samples, so the input is cut in blocks of that many, and a few
    ``[P*ratio, P]`` matrices holding the kernel at the ``P`` shifts give ``P`` outputs per row.
    """

    def __init__(self, ratio: int) -> None:
        taps, self.width = sinc_kernel(ratio)
        self.ratio = ratio
        self.phases = max(1, 384 // ratio)  # outputs per block
        size = self.phases * ratio
        count = -(-(len(taps) + size - ratio) // size)
        matrix = np.zeros((count * size, self.phases))
        for p in range(self.phases):
            matrix[p * ratio : p * ratio + len(taps), p] = taps
        self.blocks = [mx.array(matrix[i * size : (i + 1) * size].astype(np.float32)) for i in range(count)]

    def __call__(self, x: mx.array) -> mx.array:
        """``[B, N, C]`` -> ``[B, ceil(N / ratio), C]``."""
        b, n, c = x.shape
        size = self.phases * self.ratio
        n_out = -(-n // self.ratio)
        rows = -(-n_out // self.phases)
        m = len(self.blocks)
        total = (rows + m - 1) * size
        signal = mx.pad(x.transpose(0, 2, 1).reshape(b * c, n), [(0, 0), (self.width, total - self.width - n)])
        blocks = signal.reshape(b * c, rows + m - 1, size)
        y = blocks[:, 0:rows] @ self.blocks[0].astype(x.dtype)
        for i in range(1, m):
            y = mx.addmm(y, blocks[:, i : i + rows], self.blocks[i].astype(x.dtype))
        return y.reshape(b, c, rows * self.phases)[:, :, :n_out].transpose(0, 2, 1)


class AdaIN(nn.Module):
    """``leaky_relu(x + noise * weight[c], 0.2)``: per-channel scaled noise (no normalisation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = mx.zeros((channels,))

    def __call__(self, x: mx.array, noise: mx.array | None = None) -> mx.array:
        if noise is not None:
            x = x + noise * self.weight
        return leaky_relu(x, LRELU_SLOPE)


class ParallelResBlock(nn.Module):
    """``input_conv``, then the mean of three (AdaIN, residual block, AdaIN) branches, kernels 3, 7, 11."""

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes=(3, 7, 11), dilation=(1, 3, 5)) -> None:
        super().__init__()
        self.input_conv = Conv1d(in_channels, out_channels, 7, padding=3)
        self.blocks = [
            [AdaIN(out_channels), ResBlock1(out_channels, k, dilation, slope=LRELU_SLOPE), AdaIN(out_channels)]
            for k in kernel_sizes
        ]

    def __call__(self, x: mx.array, noise=None) -> mx.array:
        """``noise(branch, which, channels, length)``: the AdaIN noise (None: none)."""
        x = self.input_conv(x)
        c, n = x.shape[2], x.shape[1]
        out = None
        for b, (ada_in, block, ada_out) in enumerate(self.blocks):
            y = ada_in(x, None if noise is None else noise(b, 0, c, n).astype(x.dtype))
            y = ada_out(block(y), None if noise is None else noise(b, 1, c, n).astype(x.dtype))
            out = y if out is None else out + y
        return out / len(self.blocks)


def pyramid_reach(upsample_rates) -> int:
    """Frames of source each side that the pyramid's top (``downsample_blocks.3``'s output, at
    the frame rate) reads: its conv (3 frames), then each level's sinc kernel (``width + ratio - 1``
    input samples on its longer side) and the 7-tap conv before it, at that level's rate."""
    reach, rate = 3.0, 1
    for r in upsample_rates:  # the levels from the top: decimation by u0 at u0 samples per frame, ...
        rate *= r
        reach += (sinc_kernel(r)[1] + r - 1 + 3) / rate
    return math.ceil(reach) + 1


class RefineGANGenerator(nn.Module):
    """Applio's RefineGAN (4 stages, 512 channels at the top): ``source(f0)`` once, then
    ``decode(x, source, g)`` on any window with enough context."""

    def __init__(self, sample_rate: int, upsample_rates, num_mels: int = 192, gin_channels: int = 256) -> None:
        super().__init__()
        if len(upsample_rates) != 4:
            raise ValueError(f"RefineGAN has 4 upsampling stages, got rates {list(upsample_rates)}")
        self.upsample_rates = list(upsample_rates)
        self.upp = math.prod(upsample_rates)
        self.m_source = SourceModuleRefineGAN(sample_rate)
        self.pre_conv = Conv1d(1, 16, 7, padding=3)
        self.downsample_blocks = [Conv1d(16 << i, 32 << i, 7, padding=3) for i in range(4)]
        self._resamplers = [SincDownsample(r) for r in reversed(self.upsample_rates)]
        self.mel_conv = Conv1d(num_mels, 256, 7, padding=3)
        if gin_channels:
            self.cond = Conv1d(gin_channels, 256, 1)
        self.upsample_conv_blocks = [ParallelResBlock(ch + ch // 4, ch // 2) for ch in (512 >> i for i in range(4))]
        self.conv_post = Conv1d(32, 1, 7, padding=3, bias=False)

    def _pyramid(self, har: mx.array, top: bool) -> tuple[list[mx.array], mx.array | None]:
        """The source's levels ``[B, N / ..., 16*2^i]`` (each after its leaky ReLU), and the top
        ``[B, T, 256]`` when asked for."""
        h = self.pre_conv(har)
        downs = []
        for i, (block, resample) in enumerate(zip(self.downsample_blocks, self._resamplers)):
            h = leaky_relu(h, LRELU_SLOPE)
            downs.append(h)
            if i < 3 or top:
                h = block(resample(h))
        return downs, h if top else None

    def source(self, f0: mx.array, noise: mx.array | None = None) -> tuple[mx.array, mx.array]:
        """f0 ``[B, T]`` Hz -> ``(excitation [B, T*hop, 1], pyramid top [B, T, 256])``; ``noise``
        ``[B, T*hop, 1]`` or None.

        The top is the one part of the pyramid whose kernels reach far (~80 frames): it is small
        (256 values a frame), so it is computed here once, in pieces of :data:`SOURCE_FRAMES`
        with that much context, and windows of :meth:`decode` need only a short margin.
        """
        har = self.m_source(f0, self.upp, noise)
        frames, reach = f0.shape[1], pyramid_reach(self.upsample_rates)
        tops = []
        for s0 in range(0, frames, SOURCE_FRAMES):
            e0 = min(frames, s0 + SOURCE_FRAMES)
            a, b = max(0, s0 - reach), min(frames, e0 + reach)
            top = self._pyramid(har[:, a * self.upp : b * self.upp].astype(self.pre_conv.weight.dtype), True)[1]
            tops.append(top[:, s0 - a : e0 - a])
            mx.eval(tops[-1])  # one piece's levels at a time
        return har, mx.concatenate(tops, axis=1)

    def source_window(self, source: tuple[mx.array, mx.array], start: int, stop: int):
        """The part of :meth:`source`'s output that frames ``start .. stop`` decode from."""
        har, top = source
        return har[:, start * self.upp : stop * self.upp], top[:, start:stop]

    def _adain_noise(self, noise: tuple[int, int] | None, stage: int, start: int):
        """The AdaIN noise of stage ``stage`` for its output samples from ``start`` of the window on."""
        if noise is None:
            return None
        seed, first_frame = noise
        samples_per_frame = math.prod(self.upsample_rates[: stage + 1])
        start += first_frame * samples_per_frame
        block = NOISE_BLOCK_FRAMES * samples_per_frame

        def draw(branch: int, which: int, channels: int, length: int) -> mx.array:
            return positional_normal(seed, (stage * 3 + branch) * 2 + which, start, length, channels, block)

        return draw

    def stage(self, i: int, x: mx.array, down: mx.array, noise=None, start: int = 0) -> mx.array:
        """Upsampling stage ``i``: ``x`` (the previous stage's output) and the pyramid level of this
        stage's rate, ``down``, aligned with it; ``start``: the output's first sample in the window."""
        y = mx.concatenate([upsample_linear(leaky_relu(x, LRELU_SLOPE), self.upsample_rates[i]), down], axis=2)
        return self.upsample_conv_blocks[i](y, self._adain_noise(noise, i, start))

    def decode(
        self,
        x: mx.array,
        source: tuple[mx.array, mx.array] | None = None,
        g: mx.array | None = None,
        chunk: int | None = None,
        noise: tuple[int, int] | None = None,
    ) -> mx.array:
        """Latent ``[B, T, C]`` and :meth:`source`'s output for these frames -> audio ``[B, T*hop, 1]``.

        ``noise`` ``(seed, first frame)`` draws the AdaIN noise for a window starting at that
        frame of the input (None: none). ``chunk`` (elements of a stage's widest activation, e.g.
        ``1 << 20``) runs each stage in pieces with enough context to give the same samples.
        """
        if source is None:
            raise ValueError("the RefineGAN decoder needs its source (call source() first)")
        har, top = source
        downs, _ = self._pyramid(har.astype(x.dtype), False)
        mel = self.mel_conv(x)
        if g is not None and "cond" in self:
            mel = mel + self.cond(g)
        x = mx.concatenate([mel, top.astype(x.dtype)], axis=2)
        for i, u in enumerate(self.upsample_rates):
            down = downs[-1 - i]
            n_in = x.shape[1]
            if chunk is None or n_in * u * down.shape[2] * 5 <= 2 * chunk:
                x = self.stage(i, x, down, noise)
                continue
            step = max(1, chunk // (u * down.shape[2] * 5))  # input samples per piece
            margin = -(-STAGE_RADIUS // u) + 2  # + the linear upsampling's sample, rounded up
            pieces = []
            for s0 in range(0, n_in, step):
                e0 = min(n_in, s0 + step)
                a, b = max(0, s0 - margin), min(n_in, e0 + margin)
                y = self.stage(i, x[:, a:b], down[:, a * u : b * u], noise, a * u)
                pieces.append(y[:, (s0 - a) * u : (e0 - a) * u])
            x = mx.concatenate(pieces, axis=1)
        return mx.tanh(self.conv_post(leaky_relu(x, LRELU_SLOPE)))
