"""Voice synthesis from content features and pitch: :func:`load_generator` and the runner it returns.

Use::

    from inference.synth import load_generator
    gen = load_generator("model.pth")                  # backend="auto", dtype="float32"
    audio = gen.infer(features, f0_hz, speaker_id=0, seed=1234)

``load_generator(path, backend="auto"|"mlx"|"torch", dtype="float32"|"float16"|"bfloat16")``
reads an RVC voice model (``.pth``) and returns a :class:`SynthRunner`:

- ``"mlx"`` runs the MLX port (:mod:`inference.mlx`); its converted weights are cached, so a
  second load reads neither the ``.pth`` nor torch. ``"torch"`` runs our PyTorch generator
  (:mod:`inference.synth.torch`). ``"auto"`` picks MLX on Apple Silicon and torch elsewhere.
- ``SynthRunner.infer(features, f0_hz, speaker_id=0, *, seed=None, noise="random",
  progress=None, cancel=None) -> np.ndarray``: ``features`` ``[T, 256|768]`` float32 at 100
  frames/s (v1 models take 256, v2 768), ``f0_hz`` ``[T]`` in Hz with 0 for unvoiced frames
  (ignored, and may be None, for models without f0). Returns mono float32 audio at
  ``SynthRunner.sample_rate``, ``T * hop`` samples long. ``progress(fraction)`` is called as the
  decoder advances; a set ``cancel`` event raises :class:`inference.core.errors.Cancelled`.
- Random draws (the 0.66666-scaled latent noise, the sine source's additive noise, the MRF
  source's overtone phases) are made in numpy from ``seed`` and handed to the backend, so a
  seed gives the same audio on every run and ``noise="zero"`` is fully deterministic (both
  backends agree to float precision). RefineGAN's AdaIN noise, drawn inside its decoder at
  every layer, is drawn by the backend from a seed taken from ``seed``, in blocks keyed by
  position: reproducible and the same in any window, but not the same numbers on both backends.

Long inputs: the text encoder and flow run once over the whole input (attention is global),
the sine source runs once (its phase is a running sum; RefineGAN's source also computes the
top of its pyramid, whose kernels reach far, once), and only the decoder, which is purely
convolutional, runs in windows that overlap by more than its receptive field, so the stitched
output equals one long pass while staying in the fast, cache-friendly regime.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from inference.core.errors import check_cancel
from inference.models.config import context_margins, resblock_radius
from inference.synth.backends import SynthesisError, open_backend, resolve_backend

log = logging.getLogger(__name__)

DTYPES = ("float32", "float16", "bfloat16")
# Decoder windows in frames (100 per second), not counting the overlap; measured on 2 cores.
# torch: 200 and 300 frames took 0.78 and 0.77 of 150's time on 10 s of v2 48k once its
# convolutions ran channels-last (14 frames of overlap each side weigh less; 1000 frames lose
# the caches). 200, because a cancel waits for the window under way: the shorter of the two.
DEFAULT_WINDOW = {"mlx": 1000, "torch": 200}
MRF_OVERTONES = 8  # the MRF source's harmonics above f0, each starting at a random phase
# RefineGAN's sinc decimation (torchaudio's "kaiser_best"): the kernel reaches this many zero
# crossings each side, at a cutoff of ROLLOFF times the lower Nyquist rate
SINC_ZEROS, SINC_ROLLOFF = 64, 0.9475937167399596


def sinc_width(ratio: int) -> int:
    """Input samples RefineGAN's decimation by ``ratio`` reads on its left (``+ ratio - 1`` on its right)."""
    return math.ceil(SINC_ZEROS * ratio / SINC_ROLLOFF)


def refinegan_margin(config) -> int:
    """Frames of context each side that a window of the RefineGAN decoder needs.

    Its source's pyramid top (the frame-rate level, whose kernels reach ~80 frames) comes
    precomputed for the whole input (``dec.source``), so a window reads: from the output back
    through ``conv_post`` (3 samples), each stage's parallel residual block (``input_conv`` 3 +
    residual blocks 60 samples, at its output rate) and linear upsampling (1 input sample), to
    the latent through ``mel_conv`` (3 frames), and at each stage to the pyramid level it
    concatenates, which reads the source through the levels below: each one's sinc kernel
    (``width + ratio - 1`` samples on its longer side) and 7-tap convs. Rounded up, plus one.
    """
    rates = list(config.upsample_rates)
    ratios = rates[::-1]  # the pyramid's decimations, bottom up
    level_rate = [math.prod(rates)]  # samples per frame of each level
    for r in ratios:
        level_rate.append(level_rate[-1] // r)
    reach = [3 / level_rate[0]]  # level 0: pre_conv
    for i, r in enumerate(ratios[:3]):
        reach.append(reach[-1] + (sinc_width(r) + r - 1) / level_rate[i] + 3 / level_rate[i + 1])
    rate = level_rate[0]
    radius = 3 / rate  # conv_post
    worst = 0.0
    for i in reversed(range(len(rates))):
        radius += 63 / rate  # stage i's block, at its output rate; it reads pyramid level 3 - i
        worst = max(worst, radius + reach[3 - i])
        rate //= rates[i]
        radius += 1 / rate  # the stage's linear upsampling
    return math.ceil(max(worst, radius + 3)) + 1


def decoder_margin(config) -> int:
    """Frames of context each side that the decoder needs (its receptive-field radius).

    HiFi-GAN and MRF HiFi-GAN (the same stages): walks the decoder backwards, in samples at each
    stage's rate: ``conv_post`` (radius 3), each stage's residual blocks, the noise
    convolution's edge (2 samples), the transposed conv's kernel mapped to the input rate, and
    ``conv_pre`` (3 frames). Rounded up generously. RefineGAN: :func:`refinegan_margin`.
    """
    if getattr(config, "vocoder", "HiFi-GAN") == "RefineGAN":
        return refinegan_margin(config)
    block = resblock_radius(config.resblock, config.resblock_kernel_sizes, config.resblock_dilation_sizes)
    stages = zip(config.upsample_kernel_sizes, config.upsample_rates)
    return context_margins(3, stages, block)[0] + 3 + 1


def plan_windows(n_frames: int, window: int, margin: int) -> list[tuple[int, int, int, int]]:
    """Cut ``n_frames`` into decoder windows: ``(start, stop, keep_from, keep_to)`` in frames.

    The kept parts are ``window`` frames long, the last one what is left, tiling
    ``[0, n_frames)``; each window adds ``margin`` frames of context either side (less at the
    input's own ends), so the work is ``n_frames + 2 * margin`` per join. Every window but the
    first and last has the same length, whatever the input's: oneDNN builds its kernels for each
    new shape (0.15 to 0.3 s for a 1 to 2 s window on 2 cores) and reuses them for a shape it has
    seen, so one length serves every piece of every file. An input that fits in one window with
    its margins is one pass.
    """
    if n_frames <= window + 2 * margin:
        return [(0, n_frames, 0, n_frames)]
    return _windows([*range(0, n_frames, window), n_frames], n_frames, margin)


def _windows(bounds: list[int], n_frames: int, margin: int) -> list[tuple[int, int, int, int]]:
    return [(max(0, a - margin), min(n_frames, b + margin), a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def plan_stream(
    n_frames: int, window: int, margin: int, first: int, start: int = 0, stop: int | None = None
) -> list[tuple[int, int, int, int]]:
    """Decoder windows for streaming: like :func:`plan_windows`, but the kept parts begin at frame
    ``start`` and end at ``stop`` (frames outside are skipped; context is still read from them)
    and the first one is only ``first`` frames long, so the first sound comes after a short
    window's work; the rest are ``window`` long, the last one what is left."""
    stop = n_frames if stop is None else max(0, min(int(stop), n_frames))
    start = max(0, min(int(start), stop))
    bounds = [start]
    if 0 < first and start + first < stop:
        bounds.append(start + int(first))
    bounds += [*range(bounds[-1] + window, stop, window), stop]
    return _windows(bounds, n_frames, margin)


class SynthRunner:
    """A loaded voice model on one backend: ``infer`` turns features + pitch into audio.

    Backend-neutral: it draws the noise, checks the inputs, and runs the backend's ``encode`` and
    ``source`` once and its ``decode`` window by window (see the module docstring).
    """

    def __init__(self, backend_impl, path: Path, dtype: str, window: int | None = None) -> None:
        self._impl = backend_impl
        self.config = backend_impl.config
        self.backend: str = backend_impl.name
        self.dtype = dtype
        self.path = path
        self.sample_rate: int = int(self.config.sample_rate)
        self.hop: int = int(self.config.hop)
        self.vocoder: str = getattr(self.config, "vocoder", "HiFi-GAN")
        self.margin: int = decoder_margin(self.config)
        self.window: int = window or DEFAULT_WINDOW[self.backend]

    def __repr__(self) -> str:
        return f"SynthRunner({self.path.name!r}, backend={self.backend!r}, dtype={self.dtype!r}, sr={self.sample_rate})"

    def _check_inputs(self, features, f0_hz) -> tuple[np.ndarray, np.ndarray | None]:
        features = np.asarray(features, dtype=np.float32)
        width = int(self.config.feature_dim)
        if features.ndim != 2 or features.shape[1] != width or features.shape[0] < 1:
            raise SynthesisError(
                f"features must be [frames, {width}] for this {self.config.version} model, got shape {features.shape}"
            )
        if not self.config.f0:
            return features, None
        if f0_hz is None:
            raise SynthesisError(f"{self.path.name} is pitch-conditioned: f0_hz is required")
        f0 = np.asarray(f0_hz, dtype=np.float32).reshape(-1)
        if f0.shape[0] != features.shape[0]:
            raise SynthesisError(f"f0 has {f0.shape[0]} frames but the features have {features.shape[0]}")
        if not np.all(np.isfinite(f0)):
            raise SynthesisError("f0 contains NaN or infinite values")
        return features, f0

    def infer(
        self,
        features: np.ndarray,
        f0_hz: np.ndarray | None,
        speaker_id: int = 0,
        *,
        seed: int | None = None,
        noise: str = "random",
        progress: Callable[[float], None] | None = None,
        cancel=None,
        window: int | None = None,
    ) -> np.ndarray:
        """Synthesize mono float32 audio at ``self.sample_rate`` (``T * hop`` samples).

        ``noise="random"`` draws the latent and source noise from ``seed`` (None: fresh
        entropy); ``noise="zero"`` uses none. ``window`` overrides the decoder window (frames).
        """
        state = self._encode(features, f0_hz, speaker_id, seed, noise, cancel)
        n_frames = state[0].shape[0]
        plan = plan_windows(n_frames, window or self.window, self.margin)
        out = np.empty(n_frames * self.hop, dtype=np.float32)
        for i, (frame, audio) in enumerate(self._decode(state, plan, cancel)):
            out[frame * self.hop : frame * self.hop + audio.shape[0]] = audio
            if progress is not None:
                progress((i + 1) / len(plan))
        return out

    def stream(
        self,
        features: np.ndarray,
        f0_hz: np.ndarray | None,
        speaker_id: int = 0,
        *,
        seed: int | None = None,
        noise: str = "random",
        cancel=None,
        first: int = 50,
        start: int = 0,
        stop: int | None = None,
        window: int | None = None,
        timings: list[float] | None = None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        """The same audio as :meth:`infer`, window by window as it is made: ``(first frame, audio)``
        in order, from frame ``start`` to ``stop`` (default: the end; the frames around are still
        read as context); the first window is ``first`` frames long (the first sound
        comes sooner). The noise is drawn for the whole input, so a seed gives :meth:`infer`'s
        samples (to float precision: the windows are cut elsewhere). ``timings``, when given,
        gets each window's decoding seconds before the window is yielded (the work that repeats
        per window; the input's one-off encoding is not in them): what a player predicts from."""
        state = self._encode(features, f0_hz, speaker_id, seed, noise, cancel)
        plan = plan_stream(state[0].shape[0], window or self.window, self.margin, first, start, stop)
        yield from self._decode(state, plan, cancel, timings)

    def _encode(self, features, f0_hz, speaker_id: int, seed: int | None, noise: str, cancel) -> tuple:
        """Check the inputs, draw the noise, run the text encoder, flow and sine source once."""
        features, f0 = self._check_inputs(features, f0_hz)
        n_speakers = int(self.config.spk_embed_dim)
        if not 0 <= int(speaker_id) < n_speakers:
            raise SynthesisError(f"speaker_id {speaker_id} out of range: this model has {n_speakers} speaker(s)")
        if noise not in ("random", "zero"):
            raise SynthesisError(f"noise must be 'random' or 'zero', got {noise!r}")
        n_frames = features.shape[0]
        latent_noise = source_noise = phases = decoder_seed = None
        if noise == "random":
            rng = np.random.default_rng(seed)
            latent_noise = rng.standard_normal((int(self.config.inter_channels), n_frames), dtype=np.float32)
            if f0 is not None:
                source_noise = rng.standard_normal(n_frames * self.hop, dtype=np.float32)
            if self.vocoder == "MRF HiFi-GAN":
                phases = rng.random(MRF_OVERTONES)
            if self.vocoder == "RefineGAN":
                decoder_seed = int(rng.integers(1 << 62))
        pitch = None
        if f0 is not None:
            from inference.f0 import coarse_f0

            pitch = np.asarray(coarse_f0(f0), dtype=np.int64)
        check_cancel(cancel)
        z, g = self._impl.encode(features, pitch, int(speaker_id), latent_noise)
        har = None if f0 is None else self._impl.source(f0, source_noise, phases)
        return features, z, g, har, decoder_seed

    def _decode(
        self, state: tuple, plan: list[tuple[int, int, int, int]], cancel, timings: list[float] | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """``(first kept frame, its audio)`` of each planned window, checked before it leaves."""
        _features, z, g, har, decoder_seed = state
        hop = self.hop
        for start, stop, keep_from, keep_to in plan:
            check_cancel(cancel)
            began = time.perf_counter()
            y, first = self._impl.decode(z, har, g, start, stop, decoder_seed, keep=(keep_from, keep_to))
            audio = np.ascontiguousarray(y[(keep_from - first) * hop : (keep_to - first) * hop], dtype=np.float32)
            if not np.isfinite(audio).all():  # e.g. float16 overflowing on a GPU: never written as audio
                hint = " (try float32)" if self.dtype != "float32" else ""
                raise SynthesisError(
                    f"{self.path.name} produced invalid samples (NaN or infinite) on the "
                    f"{self.backend} backend in {self.dtype}{hint}"
                )
            if timings is not None:
                timings.append(time.perf_counter() - began)
            yield keep_from, audio


def load_generator(path: os.PathLike | str, backend: str = "auto", dtype: str = "float32") -> SynthRunner:
    """Load a voice model for synthesis. See the module docstring for the contract."""
    source = Path(path).expanduser()
    if dtype not in DTYPES:
        raise SynthesisError(f"unsupported dtype {dtype!r}; expected one of {', '.join(DTYPES)}")
    chosen = resolve_backend(backend)
    if not source.is_file():
        raise SynthesisError(f"voice model not found: {source}")
    impl = open_backend(chosen, source, dtype)
    generator = SynthRunner(impl, source, dtype)
    log.info("loaded %r", generator)
    return generator
