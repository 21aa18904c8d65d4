"""The two synthesis backends behind :class:`~inference.synth.runner.SynthRunner`.

Each backend loads a voice model and offers the same three calls on its own arrays:
``encode`` (text encoder and reversed flow, once per input), ``source`` (the decoder's sine
excitation, once per input) and ``decode`` (the decoder on one window; it returns the audio and
the frame it starts at, which is the window's start, or the first of the frames to ``keep`` when
the backend cuts the window's context away inside the decoder). ``auto`` picks MLX on
Apple Silicon and torch elsewhere.
"""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path

import numpy as np

from inference.core.errors import RVCError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "mlx", "torch")
MLX_CPU_CHUNK = 1 << 20


def _cut(cuts: bool, start: int, keep: tuple[int, int] | None) -> tuple[dict, int]:
    """The decoder's ``keep`` argument for a window from frame ``start`` (none when the decoder
    does not cut its context away: RefineGAN's), and the frame its audio then starts at."""
    if keep is None or not cuts:
        return {}, start
    return {"keep": (keep[0] - start, keep[1] - start)}, keep[0]


class SynthesisError(RVCError):
    """Bad input to the generator, or a model that cannot be run here."""


def resolve_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise SynthesisError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend == "auto":
        if sys.platform == "darwin" and platform.machine() == "arm64":
            from inference.core.runtime import mlx_available

            if mlx_available():
                return "mlx"
            log.warning("MLX is not importable on this Mac; synthesizing with torch")
        return "torch"
    return backend


class _MLXBackend:
    """Runs :class:`inference.mlx.synthesizers.Synthesizer` (channels-last arrays)."""

    name = "mlx"

    def __init__(self, path: Path, dtype: str) -> None:
        from inference.core.runtime import import_mlx

        mx = import_mlx()
        self.mx = mx
        if mx.default_device().type == mx.DeviceType.cpu:
            # MLX keeps only 32 MB of freed buffers on the CPU by default; the decoder's
            # activations are larger, and re-faulting fresh pages costs ~2x in speed.
            previous = mx.set_cache_limit(1 << 30)
            if previous > 1 << 30:
                mx.set_cache_limit(previous)
        from inference.mlx.cache import load_synthesizer

        self.config, self.model = load_synthesizer(path, dtype)
        from inference.mlx.generators import UpsamplingDecoder

        self.cuts = isinstance(self.model.dec, UpsamplingDecoder)  # decode's keep: the HiFi-GAN decoders
        # On the CPU each upsampling stage runs in pieces of about this many elements
        # (cache-sized working sets, exact); Metal prefers whole windows.
        self.chunk = MLX_CPU_CHUNK if mx.default_device().type == mx.DeviceType.cpu else None

    def encode(self, features, pitch, sid, noise):
        mx = self.mx
        phone = mx.array(features[None])
        pitch_mx = None if pitch is None else mx.array(pitch[None].astype(np.int32))
        noise_mx = None if noise is None else mx.array(noise.T[None])
        z, g = self.model.encode(phone.astype(self.model.emb_g.weight.dtype), pitch_mx, mx.array([sid]), noise_mx)
        mx.eval(z, g)
        return z, g

    def source(self, f0, noise, phases=None):
        mx = self.mx
        noise_mx = None if noise is None else mx.array(noise[None, :, None])
        extra = {} if phases is None else {"phases": phases}  # the MRF source's overtone phases
        har = self.model.dec.source(mx.array(f0[None].astype(np.float32)), noise_mx, **extra)
        mx.eval(har)
        return har

    def decode(self, z, har, g, start: int, stop: int, seed: int | None = None, keep=None) -> tuple[np.ndarray, int]:
        dec = self.model.dec
        window_har = None if har is None else dec.source_window(har, start, stop)
        extra, first = _cut(self.cuts, start, keep)
        if seed is not None:
            extra["noise"] = (seed, start)  # RefineGAN's AdaIN noise
        y = dec.decode(z[:, start:stop], window_har, g, chunk=self.chunk, **extra)
        return np.array(y.astype(self.mx.float32)).reshape(-1), first


class _TorchBackend:
    """Runs the PyTorch generator of :mod:`inference.synth.torch` (channels-first tensors)."""

    name = "torch"

    def __init__(self, path: Path, dtype: str) -> None:
        from inference.core.runtime import import_torch

        self.torch = import_torch()
        from inference.synth.torch.convert import load_synthesizer

        self.dtype = getattr(self.torch, dtype)
        self.config, self.model = load_synthesizer(path, dtype)  # weight norm folded: no per-call reparametrisation
        from inference.synth.torch.generators import UpsamplingDecoder

        self.cuts = isinstance(self.model.dec, UpsamplingDecoder)  # decode's keep: the HiFi-GAN decoders

    def encode(self, features, pitch, sid, noise):
        torch = self.torch
        with torch.inference_mode():
            phone = torch.from_numpy(features[None]).to(self.dtype)
            pitch_t = None if pitch is None else torch.from_numpy(pitch[None].astype(np.int64))
            noise_t = None if noise is None else torch.from_numpy(noise[None]).to(self.dtype)
            return self.model.encode(phone, pitch_t, torch.tensor([sid]), noise_t)

    def source(self, f0, noise, phases=None):
        torch = self.torch
        with torch.inference_mode():
            noise_t = None if noise is None else torch.from_numpy(noise[None, :, None])
            extra = {} if phases is None else {"phases": torch.from_numpy(phases)}  # the MRF overtones'
            return self.model.dec.source(torch.from_numpy(f0[None].astype(np.float32)), noise_t, **extra)

    def decode(self, z, har, g, start: int, stop: int, seed: int | None = None, keep=None) -> tuple[np.ndarray, int]:
        torch = self.torch
        dec = self.model.dec
        with torch.inference_mode():
            window_har = None if har is None else dec.source_window(har, start, stop)
            extra, first = _cut(self.cuts, start, keep)
            if seed is not None:
                extra["noise"] = (seed, start)  # RefineGAN's AdaIN noise
            y = dec.decode(z[:, :, start:stop], window_har, g, **extra)
            return y.float().numpy().reshape(-1), first


def open_backend(name: str, path: Path, dtype: str):
    """The loaded backend ``name`` (``mlx`` or ``torch``, as :func:`resolve_backend` returns)."""
    return _MLXBackend(path, dtype) if name == "mlx" else _TorchBackend(path, dtype)
