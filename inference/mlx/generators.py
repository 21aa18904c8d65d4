"""HiFi-GAN decoders ``dec``: the NSF one (sine excitation from f0) and the plain one (no-f0 models).

:class:`UpsamplingDecoder` holds what they share with Applio's MRF HiFi-GAN (``hifigan_mrf``).

Channels-last. Attribute names follow the checkpoint keys (``conv_pre``, ``ups``, ``resblocks``,
``noise_convs``, ``m_source.l_linear``, ``conv_post``, ``cond``).

The NSF decoder is split in two calls so that long inputs can be decoded in windows:
:meth:`GeneratorNSF.source` turns the whole f0 curve into the harmonic excitation once (its
phase is a running sum over the whole input), and :meth:`GeneratorNSF.decode` is purely
convolutional, so any window of it with enough context gives the same samples as one pass.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from inference.mlx.conv import Conv1d, ConvTranspose1d
from inference.mlx.modules import LRELU_SLOPE, leaky_relu
from inference.mlx.residuals import ResBlock1, ResBlock2
from inference.models.config import context_margins, resblock_radius, upsampling_margin

SINE_AMP = 0.1
NOISE_STD = 0.003


def sine_excitation(f0: mx.array, upp: int, sampling_rate: int, noise: mx.array | None = None) -> mx.array:
    """The NSF sine source before the merge layer: ``[B, T]`` Hz -> ``[B, T*upp, 1]`` float32.

    Unvoiced frames (f0 <= 0) carry only noise; voiced ones a sine of amplitude 0.1 plus noise of
    std 0.003. ``noise`` is a standard-normal draw ``[B, T*upp, 1]`` or None for none (the
    random initial phase of the public generator is always 0 for the fundamental, the only
    harmonic RVC uses).

    The public generator sums the per-sample phase increment over the whole input (with
    integer wraps subtracted, which ``sin`` ignores); PyTorch's CPU cumsum accumulates in double
    precision, MLX's in float32, which drifts by ~1e-3 over a few seconds. So the phase is
    built in two exact-enough parts: the phase at each frame start, a cumulative sum over
    frames taken in float64 on the host (T values) and reduced mod 1, plus ``(j+1) * rad``
    within the frame (the increment is constant inside a frame).
    """
    f0 = f0.astype(mx.float32)
    b, t = f0.shape
    n = t * upp
    rad = (f0 / sampling_rate) % 1.0  # cycles per sample, per frame (float32, as the reference)
    rad64 = np.array(rad, dtype=np.float64)
    starts = np.cumsum(rad64 * upp, axis=1) - rad64 * upp  # phase at each frame's first sample
    starts = mx.array((starts % 1.0).astype(np.float32))
    steps = mx.arange(1, upp + 1, dtype=mx.float32)
    phase = (starts[..., None] + rad[..., None] * steps).reshape(b, n)
    sine = mx.sin(phase * 2 * math.pi) * SINE_AMP
    uv = mx.repeat((f0 > 0).astype(mx.float32), upp, axis=1)
    out = sine * uv
    if noise is not None:
        noise_amp = uv * NOISE_STD + (1 - uv) * (SINE_AMP / 3)
        out = out + noise_amp * noise.reshape(b, n).astype(mx.float32)
    return out[..., None]


class SourceModuleHnNSF(nn.Module):
    """Sine excitation merged to one channel by ``l_linear`` and tanh."""

    def __init__(self, sampling_rate: int) -> None:
        super().__init__()
        self.sampling_rate = sampling_rate
        self.l_linear = nn.Linear(1, 1)

    def __call__(self, f0: mx.array, upp: int, noise: mx.array | None = None) -> mx.array:
        sine = sine_excitation(f0, upp, self.sampling_rate, noise)
        return mx.tanh(self.l_linear(sine.astype(self.l_linear.weight.dtype)))


class UpsamplingDecoder(nn.Module):
    """What the HiFi-GAN decoders share: ``conv_pre`` (+ ``cond``), upsampling stages run whole or
    in chunks, ``conv_post``. Subclasses build the layers under their checkpoint's names and say
    which transposed convolution is stage ``i``'s (:meth:`upsampler`) and what a stage does."""

    upp: int
    resblock_radius: int  # samples of context each side that the residual blocks of one stage read

    def upsampler(self, i: int) -> ConvTranspose1d:
        raise NotImplementedError

    def stage(self, i: int, x: mx.array, har_source: mx.array | None = None) -> mx.array:
        raise NotImplementedError

    def stage_margin(self, i: int, after: int = 0) -> int:
        """Input samples of context each side for stage ``i``'s output to be exact in a chunk, or
        exact ``after`` samples further out (what the layers after the stage read)."""
        up = self.upsampler(i)
        return upsampling_margin(up.weight.shape[1], up.stride, self.resblock_radius, after)

    def keep_margins(self) -> list[int]:
        """Samples of context each side, at each stage's output rate, that the layers after the
        stage read: what a window's stage output must keep around the frames it decodes."""
        ups = [self.upsampler(i) for i in range(len(self.upsample_rates))]
        stages = [(up.weight.shape[1], up.stride) for up in ups]
        return context_margins((self.conv_post.weight.shape[1] - 1) // 2, stages, self.resblock_radius)[1:]

    def _run_stages(
        self,
        x: mx.array,
        har_source: mx.array | None,
        chunk: int | None,
        keep: tuple[int, int] | None = None,
    ) -> tuple[mx.array, int]:
        """The stages' output and its first sample's index in the window's output. With ``keep``
        (frames of the window), each stage's output is cut to what the later layers need for
        those frames: a window's margin is read at the frame rate, not worked at every rate."""
        samples_per_frame, first = 1, 0
        margins = self.keep_margins() if keep is not None else None
        for i in range(len(self.upsample_rates)):
            up = self.upsampler(i)
            u = up.stride
            n_in = x.shape[1]
            har_step = self.upp // samples_per_frame  # source samples per stage-input sample
            source = har_source
            if har_source is not None and keep is not None:  # aligned with x
                source = har_source[:, first * har_step : (first + n_in) * har_step]
            exact_length = up.weight.shape[1] - 2 * up.padding == u
            if chunk is None or n_in * u * x.shape[2] <= 2 * chunk or not exact_length:
                x = self.stage(i, x, source)
            else:
                step = max(1, chunk // (u * up.weight.shape[0]))  # input samples per chunk
                margin = self.stage_margin(i)
                pieces = []
                for s0 in range(0, n_in, step):
                    e0 = min(n_in, s0 + step)
                    a, b = max(0, s0 - margin), min(n_in, e0 + margin)
                    har = None if source is None else source[:, a * har_step : b * har_step]
                    y = self.stage(i, x[:, a:b], har)
                    pieces.append(y[:, (s0 - a) * u : (e0 - a) * u])
                x = mx.concatenate(pieces, axis=1)
            samples_per_frame *= u
            first *= u
            if margins is not None:
                a = max(first, keep[0] * samples_per_frame - margins[i])
                b = min(first + x.shape[1], keep[1] * samples_per_frame + margins[i])
                x, first = x[:, a - first : b - first], a
        return x, first

    def _decode(self, x, har_source, g, chunk, keep) -> mx.array:
        y, first = self._run_stages(self._pre(x, g), har_source, chunk, keep)
        y = self._post(y)
        if keep is None:
            return y
        return y[:, keep[0] * self.upp - first : keep[1] * self.upp - first]

    def source_window(self, source: mx.array, start: int, stop: int) -> mx.array:
        """The part of the source (one value per output sample) that frames ``start .. stop`` decode from."""
        return source[:, start * self.upp : stop * self.upp]

    def _pre(self, x: mx.array, g: mx.array | None) -> mx.array:
        x = self.conv_pre(x)
        if g is not None and "cond" in self:
            x = x + self.cond(g)
        return x

    def _post(self, x: mx.array) -> mx.array:
        # the last activation uses PyTorch's default slope 0.01, not LRELU_SLOPE
        return mx.tanh(self.conv_post(leaky_relu(x, 0.01)))

    def decode(
        self,
        x: mx.array,
        har_source: mx.array | None = None,
        g: mx.array | None = None,
        chunk: int | None = None,
        keep: tuple[int, int] | None = None,
    ) -> mx.array:
        """Latent ``[B, T, C]`` -> audio ``[B, T*hop, 1]``.

        ``chunk`` (elements of a stage's output, e.g. ``1 << 18``) runs each upsampling stage in
        pieces with enough context to give the same samples: smaller working sets, less time.
        ``keep`` (``(first, stop)`` frames of ``x``) returns only those frames' audio, the rest of
        ``x`` being context: the same samples, with the context worked at the lower rates only.
        """
        return self._decode(x, har_source, g, chunk, keep)


class Generator(UpsamplingDecoder):
    """Plain HiFi-GAN (no-f0 models): ``decode(x [B,T,C], g) -> [B, T*hop, 1]``."""

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes,
        resblock_dilation_sizes,
        upsample_rates,
        upsample_initial_channel: int,
        upsample_kernel_sizes,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.upsample_rates = list(upsample_rates)
        self.upp = math.prod(upsample_rates)
        self.conv_pre = Conv1d(initial_channel, upsample_initial_channel, 7, padding=3)
        block = ResBlock1 if str(resblock) == "1" else ResBlock2
        self.resblock_radius = resblock_radius(resblock, resblock_kernel_sizes, resblock_dilation_sizes)
        self.ups = []
        self.resblocks = []
        ch = upsample_initial_channel
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            self.ups.append(ConvTranspose1d(ch * 2, ch, k, u, padding=(k - u) // 2))
            for rk, rd in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(block(ch, rk, rd))
        self.conv_post = Conv1d(ch, 1, 7, padding=3, bias=False)
        if gin_channels:
            self.cond = Conv1d(gin_channels, upsample_initial_channel, 1)

    def upsampler(self, i: int) -> ConvTranspose1d:
        return self.ups[i]

    def _resblocks(self, i: int, x: mx.array) -> mx.array:
        xs = None
        x_act = leaky_relu(x, LRELU_SLOPE)  # every block starts with it
        for j in range(self.num_kernels):
            y = self.resblocks[i * self.num_kernels + j](x, x_act)
            xs = y if xs is None else xs + y
        return xs / self.num_kernels

    def stage(self, i: int, x: mx.array, har_source: mx.array | None = None) -> mx.array:
        """Upsampling stage ``i``: ``[B, N, C]`` -> ``[B, N*u, C/2]``; ``har_source`` aligned with ``x``."""
        return self._resblocks(i, self.ups[i](leaky_relu(x, LRELU_SLOPE)))


class GeneratorNSF(Generator):
    """HiFi-GAN with a neural source filter: the sine excitation enters every upsampling stage."""

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes,
        resblock_dilation_sizes,
        upsample_rates,
        upsample_initial_channel: int,
        upsample_kernel_sizes,
        gin_channels: int,
        sr: int,
    ) -> None:
        super().__init__(
            initial_channel,
            resblock,
            resblock_kernel_sizes,
            resblock_dilation_sizes,
            upsample_rates,
            upsample_initial_channel,
            upsample_kernel_sizes,
            gin_channels,
        )
        self.m_source = SourceModuleHnNSF(sr)
        self.noise_convs = []
        for i in range(len(upsample_rates)):
            ch = upsample_initial_channel // (2 ** (i + 1))
            if i + 1 < len(upsample_rates):
                stride = math.prod(upsample_rates[i + 1 :])
                self.noise_convs.append(Conv1d(1, ch, stride * 2, stride=stride, padding=stride // 2))
            else:
                self.noise_convs.append(Conv1d(1, ch, 1))

    def source(self, f0: mx.array, noise: mx.array | None = None) -> mx.array:
        """f0 ``[B, T]`` in Hz -> harmonic excitation ``[B, T*hop, 1]``; ``noise`` as in :func:`sine_excitation`."""
        return self.m_source(f0, self.upp, noise)

    def stage(self, i: int, x: mx.array, har_source: mx.array | None = None) -> mx.array:
        x = self.ups[i](leaky_relu(x, LRELU_SLOPE))
        return self._resblocks(i, self.noise_convs[i](har_source.astype(x.dtype), add=x))

    def decode(
        self,
        x: mx.array,
        har_source: mx.array | None = None,
        g: mx.array | None = None,
        chunk: int | None = None,
        keep: tuple[int, int] | None = None,
    ) -> mx.array:
        """Latent ``[B, T, C]`` and source ``[B, T*hop, 1]`` -> audio ``[B, T*hop, 1]`` (see Generator)."""
        if har_source is None:
            raise ValueError("the NSF decoder needs the harmonic source (call source() first)")
        return self._decode(x, har_source, g, chunk, keep)
