"""RMVPE pitch estimation: our torch implementation of the network RVC ships as ``rmvpe.pt``.

The network (``E2E(n_blocks=4, n_gru=1, kernel=(2, 2))`` in RVC) is a deep U-Net over a log-mel
spectrogram (5 encoder levels halving time and frequency, 4 intermediate levels, 5 decoder levels
with skip connections), a 3-channel conv, a bidirectional GRU over the 3 x 128 features of each
frame and a linear layer to 360 pitch bins with a sigmoid. Module and attribute names follow the
checkpoint's keys (``unet.encoder.layers.0.conv.0.conv.0.weight``, ``fc.0.gru.weight_ih_l0``, ...)
so the state dict loads with no renaming.

Front end: magnitude STFT (``torch.stft``, n_fft 1024, hop 160, Hann 1024, centred) projected
on librosa's HTK mel filters (128 bands, 30-8000 Hz), ``log(max(mel, 1e-5))``. Frames are padded
to a multiple of 32 for the U-Net. Decoding (:func:`decode_salience`) is RVC's local average.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from inference.core.errors import check_cancel
from inference.core.runtime import import_torch
from inference.f0 import F0Error
from inference.models.load_errors import check_intact, describe_load_error

torch = import_torch()
nn = torch.nn

SAMPLE_RATE = 16000
HOP = 160
N_FFT = 1024
N_MELS = 128
MEL_FMIN = 30.0
MEL_FMAX = 8000.0
N_BINS = 360
THRESHOLD = 0.03
# Bin i is 20*i + 1997.38 cents above 10 Hz (the centre of bin 0 is ~31.7 Hz).
CENTS_PER_BIN = 20.0
CENTS_BIN0 = 1997.3794084376191
FRAME_MULTIPLE = 32  # 5 levels of 2x pooling
# Long inputs run in segments of this many frames with CONTEXT frames of overlap on each side,
# which bounds memory (the U-Net's activations grow with length) and lets a job be cancelled.
SEGMENT_FRAMES = 4000  # 40 s
CONTEXT_FRAMES = 64


class ConvBlockRes(nn.Module):
    """Two 3x3 conv + batch norm + ReLU, plus the input (through a 1x1 conv when widths differ)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
        )
        self.shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x):
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.conv(x) + skip


class ResEncoderBlock(nn.Module):
    """``n_blocks`` residual blocks, then (on the encoder path) 2x2 average pooling."""

    def __init__(self, in_ch: int, out_ch: int, n_blocks: int, pool: bool) -> None:
        super().__init__()
        widths = [in_ch] + [out_ch] * n_blocks
        self.conv = nn.ModuleList(ConvBlockRes(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.pool = nn.AvgPool2d(2) if pool else None

    def forward(self, x):
        for block in self.conv:
            x = block(x)
        return x


class Encoder(nn.Module):
    def __init__(self, n_levels: int, n_blocks: int, width: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        widths = [1] + [width * 2**i for i in range(n_levels)]
        self.layers = nn.ModuleList(ResEncoderBlock(a, b, n_blocks, pool=True) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x):
        """Returns the bottom of the U and the pre-pooling output of each level (the skips)."""
        skips = []
        x = self.bn(x)
        for level in self.layers:
            x = level(x)
            skips.append(x)
            x = level.pool(x)
        return x, skips


class Intermediate(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, n_levels: int, n_blocks: int) -> None:
        super().__init__()
        widths = [in_ch] + [out_ch] * n_levels
        self.layers = nn.ModuleList(
            ResEncoderBlock(a, b, n_blocks, pool=False) for a, b in zip(widths[:-1], widths[1:])
        )

    def forward(self, x):
        for level in self.layers:
            x = level(x)
        return x


class ResDecoderBlock(nn.Module):
    """2x transposed-conv upsampling, concatenation with the skip, residual blocks."""

    def __init__(self, in_ch: int, out_ch: int, n_blocks: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.ConvTranspose2d(in_ch, out_ch, 3, stride=2, padding=1, output_padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
        )
        widths = [out_ch * 2] + [out_ch] * n_blocks
        self.conv2 = nn.ModuleList(ConvBlockRes(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x, skip):
        x = torch.cat((self.conv1(x), skip), dim=1)
        for block in self.conv2:
            x = block(x)
        return x


class Decoder(nn.Module):
    def __init__(self, in_ch: int, n_levels: int, n_blocks: int) -> None:
        super().__init__()
        widths = [in_ch // 2**i for i in range(n_levels + 1)]
        self.layers = nn.ModuleList(ResDecoderBlock(a, b, n_blocks) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, x, skips):
        for level, skip in zip(self.layers, reversed(skips)):
            x = level(x, skip)
        return x


class DeepUnet(nn.Module):
    def __init__(self, n_blocks: int, n_levels: int, n_inter: int, width: int) -> None:
        super().__init__()
        bottom = width * 2**n_levels  # 512 for the real model
        self.encoder = Encoder(n_levels, n_blocks, width)
        self.intermediate = Intermediate(bottom // 2, bottom, n_inter, n_blocks)
        self.decoder = Decoder(bottom, n_levels, n_blocks)

    def forward(self, x):
        x, skips = self.encoder(x)
        return self.decoder(self.intermediate(x), skips)


class BiGRU(nn.Module):
    def __init__(self, in_features: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(in_features, hidden, num_layers=1, batch_first=True, bidirectional=True)

    def forward(self, x):
        return self.gru(x)[0]


class E2E(nn.Module):
    """The RMVPE network: log-mel ``[B, 128, T]`` (T a multiple of 32) -> salience ``[B, T, 360]``."""

    def __init__(self, n_blocks: int = 4, n_levels: int = 5, n_inter: int = 4, width: int = 16) -> None:
        super().__init__()
        self.unet = DeepUnet(n_blocks, n_levels, n_inter, width)
        self.cnn = nn.Conv2d(width, 3, 3, padding=1)
        self.fc = nn.Sequential(BiGRU(3 * N_MELS, 256), nn.Linear(512, N_BINS), nn.Dropout(0.25), nn.Sigmoid())

    def forward(self, mel):
        x = self.cnn(self.unet(mel.transpose(-1, -2).unsqueeze(1)))  # [B, 3, T, 128]
        return self.fc(x.transpose(1, 2).flatten(-2))


class MelFrontEnd(nn.Module):
    """Log-mel spectrogram ``[B, 128, len // 160 + 1]`` of 16 kHz audio ``[B, samples]``."""

    def __init__(self) -> None:
        super().__init__()
        from inference.core.runtime import import_library

        filters = import_library("librosa.filters")  # numba comes with it: see long_lived
        basis = filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=MEL_FMIN, fmax=MEL_FMAX, htk=True)
        self.register_buffer("mel_basis", torch.from_numpy(basis).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    def forward(self, audio):
        spec = torch.stft(
            audio,
            N_FFT,
            hop_length=HOP,
            win_length=N_FFT,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        mel = torch.matmul(self.mel_basis, spec.abs())
        return torch.log(torch.clamp(mel, min=1e-5))


def decode_salience(salience: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """RVC's decoding of a ``[T, 360]`` salience to Hz (0 = unvoiced), float32 ``[T]``.

    Per frame: the salience-weighted mean of the cents of the 9 bins centred on the arg-max
    (bins outside 0..359 count as zero weight); frames whose peak is ``<= threshold`` are
    unvoiced; ``f0 = 10 * 2**(cents / 1200)``.
    """
    sal = np.asarray(salience, dtype=np.float32)
    if sal.ndim != 2 or sal.shape[1] != N_BINS:
        raise F0Error(f"RMVPE salience must have shape [frames, {N_BINS}], got {sal.shape}")
    if sal.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    centre = np.argmax(sal, axis=1)
    padded = np.pad(sal, ((0, 0), (4, 4)))
    cents = np.pad(CENTS_PER_BIN * np.arange(N_BINS) + CENTS_BIN0, (4, 4))
    cols = centre[:, None] + np.arange(9)[None, :]  # window [centre-4, centre+4] in padded bins
    weights = np.take_along_axis(padded, cols, axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cents = (weights * cents[cols]).sum(axis=1) / weights.sum(axis=1)
    voiced = sal.max(axis=1) > threshold
    f0 = np.where(voiced, 10.0 * np.power(2.0, np.where(voiced, mean_cents, 0.0) / 1200.0), 0.0)
    return f0.astype(np.float32)


class RMVPE:
    """A loaded RMVPE model. :meth:`salience` and :meth:`estimate` take mono 16 kHz audio."""

    def __init__(self, model: E2E, device: str = "cpu", source: Path | None = None) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.mel = MelFrontEnd().to(self.device)
        self.source = source

    def log_mel(self, audio_16k: np.ndarray):
        """The network's input ``[1, 128, len // 160 + 1]`` (short input zero-padded for the STFT)."""
        audio = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
        n_frames = audio.shape[0] // HOP + 1
        if audio.shape[0] <= N_FFT // 2:  # reflect padding needs more samples than n_fft / 2
            audio = np.pad(audio, (0, N_FFT // 2 + 1 - audio.shape[0]))
        x = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device)[None]
        with torch.inference_mode():
            return self.mel(x)[..., :n_frames]

    def salience(self, audio_16k: np.ndarray, cancel=None) -> np.ndarray:
        """Per-frame salience ``[len // 160 + 1, 360]`` as float32 numpy."""
        mel = self.log_mel(audio_16k)
        n_frames = mel.shape[-1]
        out = []
        with torch.inference_mode():
            for start in range(0, n_frames, SEGMENT_FRAMES):
                check_cancel(cancel)
                stop = min(start + SEGMENT_FRAMES, n_frames)
                # Context starts on the 32-frame grid so the U-Net pools the same frames together
                # as in one whole run (and the last piece ends with the same padding).
                lo = max(0, start - CONTEXT_FRAMES) // FRAME_MULTIPLE * FRAME_MULTIPLE
                hi = min(n_frames, stop + CONTEXT_FRAMES)
                out.append(self._run(mel[..., lo:hi])[start - lo : stop - lo])
        check_cancel(cancel)
        return np.concatenate(out, axis=0) if out else np.zeros((0, N_BINS), np.float32)

    def _run(self, mel) -> np.ndarray:
        """The network on one piece of mel, zero-padded on the right to a multiple of 32 frames."""
        n = mel.shape[-1]
        pad = -n % FRAME_MULTIPLE
        with torch.inference_mode():
            if pad:
                mel = torch.nn.functional.pad(mel, (0, pad))
            return self.model(mel.float())[0, :n].float().cpu().numpy()

    def estimate(self, audio_16k: np.ndarray, threshold: float = THRESHOLD, cancel=None) -> np.ndarray:
        """F0 in Hz ``[len // 160 + 1]`` (0 = unvoiced), as RVC's ``infer_from_audio``."""
        return decode_salience(self.salience(audio_16k, cancel=cancel), threshold)


def load_rmvpe(path: PathLike | str, device: str = "cpu") -> RMVPE:
    """Load ``rmvpe.pt`` (a plain state dict) with ``weights_only=True``; never runs pickled code."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise F0Error(f"RMVPE weights not found: {path}") from None
    except Exception as exc:  # noqa: BLE001 - an unreadable or unsafe pickle: one line, no traceback
        failure = describe_load_error(path, exc)
        if failure.refused:
            raise F0Error(f"refused to load RMVPE weights {path}: {failure.reason}; nothing in it was run") from None
        raise F0Error(f"cannot read RMVPE weights {path}: {failure.reason}") from None
    if (reason := check_intact(path)) is not None:  # torch does not check the weights' checksums
        raise F0Error(f"cannot read RMVPE weights {path}: {reason}")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise F0Error(f"{path} is not an RMVPE state dict (found {type(state).__name__})")
    with torch.device("meta"):  # no random initialisation to throw away: every weight is the file's
        model = E2E()
    _load_state(model, state, path)
    return RMVPE(model, device=device, source=path)


def _load_state(model: E2E, state: dict, path: Path) -> None:
    """Strict load into ``model`` built on the meta device (the file's tensors are assigned, in
    float32), except that BatchNorm's ``num_batches_tracked`` counters may be absent."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        detail = []
        if missing:
            detail.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            detail.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise F0Error(f"{path} is not an RMVPE checkpoint: keys {', '.join(detail)}")
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise F0Error(f"{path}: {key} has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}")
    floats = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()}
    model.load_state_dict(floats, strict=False, assign=True)
    for module in model.modules():  # the counters the file left out (only training reads them)
        if isinstance(module, nn.BatchNorm2d) and module.num_batches_tracked.is_meta:
            module.num_batches_tracked = torch.zeros((), dtype=torch.long)


def find_and_load_rmvpe(weights_dirs: Sequence[PathLike | str] = (), device: str = "cpu") -> RMVPE:
    """Find ``rmvpe.pt`` (Replay's weights folder, then ``weights_dirs``) and load it."""
    from inference.models.weights import find_weight

    return load_rmvpe(find_weight("rmvpe", weights_dirs), device=device)
