"""Separation models with random weights in the exact formats users have, UVR's MDX-Net inference
transcribed as the tests' reference, and synthetic songs whose vocal and band are known.

- :func:`make_mdx_onnx`: an MDX-Net-shaped network (``[batch, 4, dim_f, dim_t]`` in and out, a
  masking net) exported to ONNX, as UVR's ``.onnx`` files are.
- :func:`uvr_demix`: UVR 5.6's ``SeperateMDX.demix`` / ``run_model`` and ``tfc_tdf_v3.STFT``
  transcribed with torch's STFT as UVR calls it (MIT; Anjok07 and aufr33). The product computes
  the same with its own numpy code (:mod:`inference.covers.mdx`); this is the test's reference.
- :func:`make_mss_model`: a tiny MelBand-/BS-RoFormer or MDX23C checkpoint plus its MSST YAML,
  built with pymss-core's own classes; :func:`make_vr_model`: a UVR VR-architecture ``.pth``
  under a UVR name (pymss picks the network from the name and the file's size).
- :func:`speech` (espeak-ng) and :func:`band` (fluidsynth): the parts of a synthetic song.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

TINY_MDX = {"dim_f": 256, "dim_t": 64, "n_fft": 2048}  # a 64-frame chunk is 1.5 s at 44.1 kHz


class TinyMdxNet(torch.nn.Module):
    """Shape-preserving ``[N, 4, dim_f, dim_t]`` -> same: a mask from convolutions and a frequency mix."""

    def __init__(self, dim_f: int) -> None:
        super().__init__()
        self.c1 = torch.nn.Conv2d(4, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 4, 3, padding=1)
        self.fc = torch.nn.Linear(dim_f, dim_f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.c1(x))
        h = self.c2(h).transpose(-1, -2)
        return x * torch.sigmoid(self.fc(h)).transpose(-1, -2)


class _Tfc(torch.nn.Module):
    """UVR ``lib_v5/modules.TFC_TDF`` (l convolutions, then a bottlenecked frequency mix)."""

    def __init__(self, c: int, l: int, f: int, k: int, bn: int) -> None:  # noqa: E741 - UVR's names
        super().__init__()
        nn = torch.nn
        self.tfc = nn.Sequential(
            *[nn.Sequential(nn.Conv2d(c, c, k, padding=k // 2), nn.BatchNorm2d(c), nn.ReLU()) for _ in range(l)]
        )
        self.tdf = nn.Sequential(
            nn.Linear(f, f // bn), nn.BatchNorm2d(c), nn.ReLU(), nn.Linear(f // bn, f), nn.BatchNorm2d(c), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tfc(x)
        return x + self.tdf(x)


class UvrSizeMdxNet(torch.nn.Module):
    """UVR's ``lib_v5/mdxnet.ConvTDFNet`` (MIT) at the size of its 3072-bin models: with
    ``num_blocks=11, l=3, k=3, g=48, bn=8`` its ONNX file is 66.7 MB, as UVR-MDX-NET-Voc_FT.onnx is
    (66.8 MB). The benchmarks run it for a real model's cost (its weights are random)."""

    def __init__(self, dim_f: int = 3072, num_blocks: int = 11, l: int = 3, g: int = 48, k: int = 3, bn: int = 8):  # noqa: E741
        super().__init__()
        nn = torch.nn
        self.n = num_blocks // 2
        self.first_conv = nn.Sequential(nn.Conv2d(4, g, 1), nn.BatchNorm2d(g), nn.ReLU())
        f, c = dim_f, g
        self.encoding_blocks, self.ds = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.n):
            self.encoding_blocks.append(_Tfc(c, l, f, k, bn))
            self.ds.append(nn.Sequential(nn.Conv2d(c, c + g, 2, stride=2), nn.BatchNorm2d(c + g), nn.ReLU()))
            f, c = f // 2, c + g
        self.bottleneck_block = _Tfc(c, l, f, k, bn)
        self.decoding_blocks, self.us = nn.ModuleList(), nn.ModuleList()
        for _ in range(self.n):
            self.us.append(nn.Sequential(nn.ConvTranspose2d(c, c - g, 2, stride=2), nn.BatchNorm2d(c - g), nn.ReLU()))
            f, c = f * 2, c - g
            self.decoding_blocks.append(_Tfc(c, l, f, k, bn))
        self.final_conv = nn.Conv2d(c, 4, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.first_conv(inputs).transpose(-1, -2)
        skips = []
        for block, down in zip(self.encoding_blocks, self.ds):
            x = block(x)
            skips.append(x)
            x = down(x)
        x = self.bottleneck_block(x)
        for i, (up, block) in enumerate(zip(self.us, self.decoding_blocks)):
            x = block(up(x) * skips[-i - 1])
        # a mask on the input, as TinyMdxNet does: random weights then give a vocal that is not silent
        return torch.sigmoid(self.final_conv(x.transpose(-1, -2))) * inputs


def make_mdx_onnx(path: Path, dim_f: int = 256, dim_t: int = 64, seed: int = 0, uvr_size: bool = False) -> Path:
    """A random-weight MDX-Net-shaped ``.onnx`` (input "input", static ``[batch, 4, dim_f, dim_t]``);
    ``uvr_size``: UVR's own network at its real size (:class:`UvrSizeMdxNet`) instead of a tiny one."""
    import warnings

    torch.manual_seed(seed)
    net = (UvrSizeMdxNet(dim_f) if uvr_size else TinyMdxNet(dim_f)).eval()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.randn(1, 4, dim_f, dim_t),),
            str(path),
            input_names=["input"],
            output_names=["output"],
            opset_version=17,
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            dynamo=False,
        )
    return path


# --- the reference: UVR's code semantics, with torch.stft as UVR calls it -------------------------


def _uvr_stft(x: torch.Tensor, n_fft: int, hop: int, dim_f: int, window: torch.Tensor) -> torch.Tensor:
    batch, c, t = x.shape
    spec = torch.stft(x.reshape(-1, t), n_fft=n_fft, hop_length=hop, window=window, center=True, return_complex=True)
    spec = torch.view_as_real(spec).permute(0, 3, 1, 2)
    spec = spec.reshape(batch, c, 2, -1, spec.shape[-1]).reshape(batch, c * 2, -1, spec.shape[-1])
    return spec[..., :dim_f, :]


def _uvr_istft(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor) -> torch.Tensor:
    batch, c, f, t = x.shape
    n = n_fft // 2 + 1
    x = torch.cat([x, torch.zeros(batch, c, n - f, t)], -2)
    x = x.reshape(batch, c // 2, 2, n, t).reshape(-1, 2, n, t).permute(0, 2, 3, 1)
    x = x[..., 0] + x[..., 1] * 1.0j
    x = torch.istft(x, n_fft=n_fft, hop_length=hop, window=window, center=True)
    return x.reshape(batch, 2, -1)


def uvr_demix(
    run, mix: np.ndarray, n_fft: int, dim_f: int, dim_t: int, overlap=None, denoise=False, hop: int = 1024
) -> np.ndarray:
    """UVR's ``demix(mix)`` before ``compensate``; ``run(x)`` is the network on a numpy array and
    ``overlap`` None is UVR's "Default" (step = chunk - n_fft)."""
    window = torch.hann_window(n_fft, periodic=True)
    trim = n_fft // 2
    chunk_size = hop * (dim_t - 1)
    gen_size = chunk_size - 2 * trim
    pad = gen_size + trim - (mix.shape[-1] % gen_size)
    mixture = np.concatenate((np.zeros((2, trim), dtype="float32"), mix, np.zeros((2, pad), dtype="float32")), 1)
    step = chunk_size - n_fft if overlap is None else int((1 - overlap) * chunk_size)
    result = np.zeros((1, 2, mixture.shape[-1]), dtype=np.float32)
    divider = np.zeros((1, 2, mixture.shape[-1]), dtype=np.float32)
    for i in range(0, mixture.shape[-1], step):
        start, end = i, min(i + chunk_size, mixture.shape[-1])
        chunk_size_actual = end - start
        window_t = None if overlap == 0 else np.tile(np.hanning(chunk_size_actual)[None, None, :], (1, 2, 1))
        mix_part_ = mixture[:, start:end]
        if end != i + chunk_size:
            mix_part_ = np.concatenate((mix_part_, np.zeros((2, i + chunk_size - end), dtype="float32")), axis=-1)
        mix_part = torch.tensor(np.array([mix_part_]), dtype=torch.float32)
        with torch.no_grad():
            spek = _uvr_stft(mix_part, n_fft, hop, dim_f, window)
            spek[:, :, :3, :] *= 0
            spec_pred = -run(-spek.numpy()) * 0.5 + run(spek.numpy()) * 0.5 if denoise else run(spek.numpy())
            tar_waves = _uvr_istft(torch.tensor(spec_pred), n_fft, hop, window).numpy()
        if window_t is not None:
            tar_waves[..., :chunk_size_actual] *= window_t
            divider[..., start:end] += window_t
        else:
            divider[..., start:end] += 1
        result[..., start:end] += tar_waves[..., : end - start]
    with np.errstate(divide="ignore", invalid="ignore"):
        tar_waves = result / divider
    return np.concatenate(np.vstack([tar_waves])[:, :, trim:-trim], axis=-1)[:, : mix.shape[-1]]


def onnx_runner(path: Path):
    """``run(x) -> y`` for the reference: the same ONNX file on onnxruntime's CPU provider."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]


# --- pymss's formats ------------------------------------------------------------------------------

MSS_CONFIGS = {
    "mel_band_roformer": """audio: {chunk_size: 44100, dim_f: 1024, dim_t: 101, hop_length: 441, n_fft: 2048,
  num_channels: 2, sample_rate: 44100, min_mean_abs: 0.0}
model: {dim: 16, depth: 1, stereo: true, num_stems: 1, time_transformer_depth: 1, freq_transformer_depth: 1,
  num_bands: 8, dim_head: 8, heads: 2, attn_dropout: 0, ff_dropout: 0, flash_attn: true, dim_freqs_in: 1025,
  sample_rate: 44100, stft_n_fft: 2048, stft_hop_length: 441, stft_win_length: 2048, stft_normalized: false,
  mask_estimator_depth: 1, multi_stft_resolution_loss_weight: 1.0,
  multi_stft_resolutions_window_sizes: !!python/tuple [4096, 2048, 1024, 512, 256],
  multi_stft_hop_size: 147, multi_stft_normalized: false}
training: {batch_size: 1, instruments: [vocals, other], target_instrument: vocals, use_amp: true}
inference: {batch_size: 1, dim_t: 101, num_overlap: 2}
""",
    "bs_roformer": """audio: {chunk_size: 44100, num_channels: 2, sample_rate: 44100}
model: {dim: 16, depth: 1, stereo: true, num_stems: 1, time_transformer_depth: 1, freq_transformer_depth: 1,
  freqs_per_bands: !!python/tuple [65, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64],
  dim_head: 8, heads: 2, attn_dropout: 0.0, ff_dropout: 0.0, flash_attn: true, stft_n_fft: 2048,
  stft_hop_length: 441, stft_win_length: 2048, stft_normalized: false, mask_estimator_depth: 1}
training: {instruments: [vocals, other], target_instrument: vocals}
inference: {batch_size: 1, num_overlap: 2}
""",
    "mdx23c": """audio: {chunk_size: 65024, dim_f: 512, dim_t: 128, hop_length: 512, n_fft: 2048, num_channels: 2,
  sample_rate: 44100, min_mean_abs: 0.0}
model: {act: gelu, bottleneck_factor: 2, growth: 8, norm: InstanceNorm, num_blocks_per_scale: 1,
  num_channels: 8, num_scales: 2, num_subbands: 4, scale: [2, 2]}
training: {instruments: [Vocals, Instrumental], target_instrument: null}
inference: {batch_size: 1, dim_t: 128, num_overlap: 2}
""",
}


def make_mss_model(folder: Path, kind: str = "mel_band_roformer", name: str | None = None, seed: int = 0):
    """``(checkpoint, config)``: a random-weight MSS model as MSST and the RVC WebUI ship them."""
    from pymss_core import get_model_from_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"tiny_{kind}"
    config = folder / f"{name}.yaml"
    config.write_text(MSS_CONFIGS[kind], encoding="utf-8")
    torch.manual_seed(seed)
    model, _ = get_model_from_config(kind, str(config))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.02 * torch.randn_like(p))
    checkpoint = folder / f"{name}.ckpt"
    torch.save(model.state_dict(), checkpoint)
    return checkpoint, config


def make_vr_model(folder: Path, name: str = "UVR-DeNoise-Lite.pth", seed: int = 0) -> Path:
    """A random-weight UVR VR ``.pth`` under ``name`` (about 18 MB for UVR-DeNoise-Lite)."""
    from importlib.resources import files

    from pymss.modules.vocal_remover.vr_models import VR_MODEL_METADATA
    from pymss_core.modules.vocal_remover import CascadedNet, ModelParameters

    meta = VR_MODEL_METADATA[name]
    params = ModelParameters(str(files("pymss_core.resources.vr_modelparams") / f"{meta['vr_model_param']}.json"))
    torch.manual_seed(seed)
    net = CascadedNet(params.param["bins"] * 2, 31191, nout=meta.get("nout", 32), nout_lstm=meta.get("nout_lstm", 128))
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), path)
    return path


# --- a synthetic song -----------------------------------------------------------------------------


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speech(text: str = "la la la, sing me a song of the sea", rate: int = 44100) -> np.ndarray:
    """espeak-ng's voice saying ``text``, mono float32 at ``rate``."""
    import soundfile as sf

    from inference.audio import resample

    with tempfile.TemporaryDirectory(prefix="rvc-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "-s", "150", text], check=True, capture_output=True, timeout=60)
        audio, sr = sf.read(wav, dtype="float32")
    audio = audio if audio.ndim == 1 else audio.mean(axis=1)
    return resample(0.5 * audio / max(1e-6, float(np.abs(audio).max())), sr, rate)


def band(seconds: float, rate: int = 44100) -> np.ndarray:
    """A stereo band (fluidsynth piano chords, panned) of ``seconds``, ``[frames, 2]`` float32."""
    from inference.audio import resample
    from tests.support.audio import render_notes

    notes, _ = render_notes((48, 55, 52, 57, 53, 60), note_s=0.45, gap_s=0.05, program=0, fade_s=0.02)
    notes = resample(notes, 16000, rate)
    frames = int(seconds * rate)
    mono = np.resize(notes, frames).astype(np.float32)
    delayed = np.roll(mono, int(0.013 * rate))
    return np.stack([0.3 * mono, 0.25 * delayed], axis=1).astype(np.float32)


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """How far ``estimate`` is from ``reference``, in dB (inf when identical)."""
    reference, estimate = np.asarray(reference, np.complex128), np.asarray(estimate, np.complex128)
    noise = float(np.sum(np.abs(reference - estimate) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(np.abs(reference) ** 2)) / noise)


def noise_song(seconds: float, rate: int = 44100, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.2 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
