"""UVR's MDX-Net ``.onnx`` models through onnxruntime, computed as Ultimate Vocal Remover does.

Our own code for what UVR 5.6 does around the network (``separate.py``'s ``SeperateMDX.demix`` /
``run_model`` and ``lib_v5/tfc_tdf_v3.STFT``; UVR is MIT-licensed, written by Anjok07 and aufr33):

- the mix (44.1 kHz stereo) gets ``n_fft // 2`` zeros in front and enough zeros behind to fill
  whole chunks of ``hop * (dim_t - 1)`` samples; chunks start every ``chunk - n_fft`` samples
  (UVR's "Default" overlap) or every ``(1 - overlap) * chunk``;
- each chunk: STFT (periodic Hann window of ``n_fft``, hop 1024, centred, reflect-padded), the
  first ``dim_f`` bins packed as ``[1, 4, dim_f, dim_t]`` (L.re, L.im, R.re, R.im), the lowest
  three bins zeroed, the network run, the missing bins zero-filled, inverse STFT;
  UVR's "Standard" denoise runs the network on the negated input too and averages;
- each chunk's output is weighted by a Hann window of its length and the sum divided by the sum
  of the windows; the padding is cut away;
- the model's primary stem is that times ``compensate``; the other stem is the mix minus it.

The parameters (``dim_f``, ``dim_t``, ``n_fft``, ``compensate``, the primary stem) come from
UVR's table keyed by the MD5 of the file's last 10,000 KiB (:mod:`inference.covers.mdx_models`),
from a UVR ``model_data`` folder beside the file, or from the caller (an unknown model).
Only numpy is needed here besides onnxruntime (no torch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft

from inference.core.errors import check_cancel
from inference.covers.separator import ModelSeparator, Progress, SeparationError, SeparationSettings

log = logging.getLogger(__name__)

HOP = 1024
HASH_TAIL_BYTES = 10000 * 1024  # UVR hashes the last 10,000 KiB of a model file


@dataclass(frozen=True)
class MdxParams:
    """One MDX-Net model's shape and output: UVR's ``model_data`` fields."""

    dim_f: int
    dim_t: int
    n_fft: int
    compensate: float = 1.0
    primary_stem: str = "Vocals"
    karaoke: bool = False

    def __post_init__(self) -> None:
        if self.n_fft <= 0 or self.n_fft % 2 or not 0 < self.dim_f <= self.n_fft // 2 + 1 or self.dim_t < 2:
            raise SeparationError(
                f"impossible MDX-Net parameters: dim_f {self.dim_f}, dim_t {self.dim_t}, n_fft {self.n_fft}"
            )

    @classmethod
    def from_uvr(cls, entry: tuple | dict) -> MdxParams:
        """From a :data:`MDX_MODEL_DATA` tuple or a UVR ``model_data`` dict."""
        if isinstance(entry, dict):
            entry = (
                entry["compensate"],
                entry["mdx_dim_f_set"],
                entry["mdx_dim_t_set"],
                entry["mdx_n_fft_scale_set"],
                entry["primary_stem"],
            ) + (("karaoke",) if entry.get("is_karaoke") else ())
        compensate, dim_f, dim_t_log2, n_fft, primary, *rest = entry
        return cls(int(dim_f), 2 ** int(dim_t_log2), int(n_fft), float(compensate), str(primary), "karaoke" in rest)

    @property
    def secondary_stem(self) -> str:
        return {"Vocals": "Instrumental", "Instrumental": "Vocals"}.get(self.primary_stem, f"No {self.primary_stem}")


def uvr_hash(path: Path) -> str:
    """UVR's model key: the MD5 of the file's last 10,000 KiB (of the whole file if smaller)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - HASH_TAIL_BYTES))
        return hashlib.md5(handle.read()).hexdigest()


def lookup_params(path: Path, digest: str | None = None) -> MdxParams | None:
    """UVR's parameters of the model at ``path``, or None when UVR does not know its hash."""
    from inference.covers.mdx_models import MDX_MODEL_DATA

    digest = digest or uvr_hash(path)
    if digest in MDX_MODEL_DATA:
        return MdxParams.from_uvr(MDX_MODEL_DATA[digest])
    # UVR's own layout: MDX_Net_Models/<model>.onnx beside model_data/<hash>.json or model_data.json
    folder = path.parent / "model_data"
    for candidate, key in ((folder / f"{digest}.json", None), (folder / "model_data.json", digest)):
        try:
            data = json.loads(candidate.read_text(encoding="utf-8"))
            entry = data if key is None else data.get(key)
            if isinstance(entry, dict) and "mdx_dim_f_set" in entry:
                return MdxParams.from_uvr(entry)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return None


# --- STFT as torch.stft / torch.istft compute it (center=True, reflect padding, onesided) ---------


def _hann(n_fft: int) -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)


def stft(x: np.ndarray, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """``x``: ``[rows, samples]`` -> complex ``[rows, n_fft // 2 + 1, 1 + samples // hop]``."""
    half = n_fft // 2
    padded = np.pad(x, ((0, 0), (half, half)), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]
    # scipy's FFT keeps float32 as numpy's does, and is about 4x faster on these 7680-point frames
    return scipy.fft.rfft(frames * window, axis=-1).transpose(0, 2, 1)


def istft(spec: np.ndarray, n_fft: int, hop: int, window: np.ndarray) -> np.ndarray:
    """The inverse of :func:`stft`: ``[rows, bins, frames]`` -> ``[rows, hop * (frames - 1)]``."""
    rows, _, count = spec.shape
    pieces = scipy.fft.irfft(spec.transpose(0, 2, 1), n=n_fft, axis=-1).astype(np.float32) * window
    out = np.zeros((rows, n_fft + hop * (count - 1)), np.float32)
    norm = np.zeros(out.shape[1], np.float32)
    square = window * window
    for i in range(count):
        out[:, i * hop : i * hop + n_fft] += pieces[:, i]
        norm[i * hop : i * hop + n_fft] += square
    out /= np.where(norm > 1e-11, norm, 1.0)
    half = n_fft // 2
    return out[:, half : out.shape[1] - half]


class MdxOnnxSeparator(ModelSeparator):
    """A UVR MDX-Net ``.onnx`` model (see the module docstring)."""

    family = "mdx_onnx"

    def __init__(
        self,
        path: Path,
        purpose: str,
        settings: SeparationSettings,
        identity: str,
        params: MdxParams | None = None,
        digest: str | None = None,
    ) -> None:
        super().__init__(path, purpose, settings, identity)
        self.params = params or lookup_params(self.path, digest)
        if self.params is None:
            raise SeparationError(
                f"{self.path}: an MDX-Net model Ultimate Vocal Remover does not know "
                f"(hash {digest or uvr_hash(self.path)}); its dim_f, dim_t and n_fft are needed"
            )
        self.session = _session(self.path, settings.device)
        inputs = self.session.get_inputs()
        self._input = inputs[0].name
        shape = list(inputs[0].shape)
        if len(shape) != 4 or any(
            isinstance(got, int) and got != want
            for got, want in zip(shape[1:], (4, self.params.dim_f, self.params.dim_t))
        ):
            raise SeparationError(
                f"{self.path}: the network takes {shape}, but its parameters say "
                f"[batch, 4, {self.params.dim_f}, {self.params.dim_t}]"
            )
        self._window = _hann(self.params.n_fft)

    def _run_model(self, part: np.ndarray, options=None) -> np.ndarray:
        """One chunk ``[2, chunk]`` -> the network's estimate ``[2, chunk]`` (UVR's ``run_model``)."""
        p = self.params
        spec = stft(part, p.n_fft, HOP, self._window)  # [2, bins, dim_t]
        packed = np.stack([spec.real, spec.imag], axis=1).reshape(1, 4, spec.shape[1], spec.shape[2])
        packed = np.ascontiguousarray(packed[:, :, : p.dim_f], dtype=np.float32)
        packed[:, :, :3, :] = 0.0

        def run(x: np.ndarray) -> np.ndarray:
            return self.session.run(None, {self._input: x}, options)[0]

        pred = -run(-packed) * 0.5 + run(packed) * 0.5 if self.settings.denoise else run(packed)
        full = np.zeros((4, p.n_fft // 2 + 1, pred.shape[-1]), np.float32)
        full[:, : p.dim_f] = pred[0]
        full = full.reshape(2, 2, full.shape[1], full.shape[2])
        return istft(full[:, 0] + 1j * full[:, 1], p.n_fft, HOP, self._window)

    def demix(self, mix: np.ndarray, progress: Progress | None = None, cancel=None) -> np.ndarray:
        """The network's primary stem of ``mix`` (``[2, samples]``), before ``compensate``."""
        p = self.params
        trim = p.n_fft // 2
        chunk = HOP * (p.dim_t - 1)
        gen = chunk - 2 * trim
        if gen <= 0:
            raise SeparationError(f"{self.path}: n_fft {p.n_fft} is too large for dim_t {p.dim_t}")
        pad = gen + trim - mix.shape[-1] % gen
        mixture = np.concatenate([np.zeros((2, trim), np.float32), mix, np.zeros((2, pad), np.float32)], axis=1)
        overlap = self.settings.overlap
        step = chunk - p.n_fft if overlap is None else int((1 - overlap) * chunk)
        total = mixture.shape[-1]
        result = np.zeros((2, total), np.float32)
        divider = np.zeros((1, total), np.float32)  # the same for both channels
        starts = range(0, total, max(1, step))
        with _RunOptions(cancel) as options:
            for k, start in enumerate(starts):
                if k == len(starts) - 1:  # hand the arena's memory back after the song's last chunk
                    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
                self._chunk(mixture, result, divider, start, chunk, options, cancel)
                if progress is not None:
                    progress((k + 1) / len(starts))
        del mixture
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(result, divider, out=result)  # the window's zeros fall in the padding, cut away below
        return result[:, trim:-trim][:, : mix.shape[-1]]

    def _chunk(self, mixture, result, divider, start: int, chunk: int, options, cancel) -> None:
        """One chunk of UVR's loop: run the model, window the output, add it up."""
        check_cancel(cancel)
        total = mixture.shape[-1]
        overlap = self.settings.overlap
        end = min(start + chunk, total)
        n = end - start
        part = mixture[:, start:end]
        if n < chunk:
            part = np.concatenate([part, np.zeros((2, chunk - n), np.float32)], axis=1)
        try:
            out = self._run_model(part, options)
        except Exception:
            check_cancel(cancel)  # the run was stopped by the cancel event: that is no failure
            raise
        if overlap == 0:
            divider[:, start:end] += 1.0
            result[:, start:end] += out[:, :n]
        else:
            window = np.hanning(n).astype(np.float32)
            result[:, start:end] += out[:, :n] * window
            divider[:, start:end] += window

    def _separate_stereo(self, mix: np.ndarray, progress: Progress, cancel) -> dict[str, np.ndarray]:
        primary = self.demix(mix, progress, cancel)
        primary *= np.float32(self.params.compensate)  # in place: a 5-minute song's stem is 106 MB
        return {self.params.primary_stem: primary, self.params.secondary_stem: mix - primary}


class _RunOptions:
    """onnxruntime ``RunOptions`` for one song. When there is a ``cancel`` event, a watcher thread
    sets their ``terminate`` flag as soon as it is set, so a cancel stops a chunk's network run at
    once instead of after it (seconds on a CPU)."""

    def __init__(self, cancel) -> None:
        self.cancel = cancel
        self.done = threading.Event()
        self.options = None

    def __enter__(self):
        import onnxruntime as ort

        self.options = ort.RunOptions()
        if self.cancel is not None:
            threading.Thread(target=self._watch, name="mdx-cancel", daemon=True).start()
        return self.options

    def _watch(self) -> None:
        while not self.done.is_set():
            if self.cancel.wait(0.05):
                self.options.terminate = True
                return

    def __exit__(self, *exc) -> None:
        self.done.set()


def providers(device: str) -> list[str]:
    """onnxruntime's execution providers: CoreML (the Apple GPU / Neural Engine) on macOS when
    the wheel has it and ``device`` is ``auto``; the CPU everywhere as the fallback."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    chosen = []
    if device == "auto" and sys.platform == "darwin" and "CoreMLExecutionProvider" in available:
        chosen.append("CoreMLExecutionProvider")
    return [*chosen, "CPUExecutionProvider"]


def _session(path: Path, device: str):
    try:
        import onnxruntime as ort
    except ImportError:
        raise SeparationError("onnxruntime is not installed; it runs MDX-Net .onnx models") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # The arena stays (without it a chunk costs 10-20 % more CPU, measured), but without the
    # memory pattern it holds about half as much (~1.2 GB for a UVR-size network instead of
    # ~2.3 GB), and the last chunk of a song shrinks it back (demix): nothing stays held.
    options.enable_mem_pattern = False
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers(device))
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own types: any failure means unusable
        detail = " ".join(str(error).split())[:160]
        raise SeparationError(f"{path}: not a usable ONNX model ({detail})") from None
