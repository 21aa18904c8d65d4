"""``rvc-studio --self-test``: import and exercise every heavy dependency, open no window.

Run from a checkout (``python -m app.main --self-test``) or inside the built bundle
(``"RVC Studio.app/Contents/MacOS/RVC Studio" --self-test``, see ``make app-smoke``). In the
bundle this is what proves py2app copied everything the app loads at run time: MLX with its
Metal library, torch, faiss, libsndfile, FFmpeg (PyAV, with its MP3/AAC/Opus encoders, and Qt's
multimedia plugin), stftpitchshift, the transformers model code, pyworld, the FCPE weights shipped
in ``torchfcpe``, the Qt plugins.

Each check does a tiny real computation and compares it with a value known in advance, so a
library that imports but is broken (a missing dylib loaded lazily, a missing metallib) fails.
The result is one line on stdout; tracebacks of failed checks go to stderr.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

SAMPLE_RATE = 16_000
TONE_HZ = 200.0
FCPE_ASSET = Path("assets") / "fcpe_c_v001.pt"


@dataclass
class Context:
    """What the checks share: a scratch folder, a short test tone and the Qt application."""

    tmp: Path
    tone: np.ndarray = field(
        default_factory=lambda: (0.5 * np.sin(2 * np.pi * TONE_HZ * np.arange(SAMPLE_RATE // 4) / SAMPLE_RATE)).astype(
            np.float32
        )
    )
    wav: Path | None = None
    qt_app: object | None = None


Check = tuple[str, Callable[[Context], str]]


class CheckFailed(AssertionError):
    """A check ran but its result was wrong."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_qt(ctx: Context) -> str:
    """A QGuiApplication (offscreen unless a platform is forced) and the plugins the app loads."""
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the self-test opens no window
    import PySide6
    from PySide6.QtCore import QCoreApplication, QLibraryInfo, qInstallMessageHandler
    from PySide6.QtGui import QGuiApplication

    # Qt's multimedia back end logs each optional library it does not find; keep the report clean.
    qInstallMessageHandler(lambda *_args: None)
    app = QCoreApplication.instance() or QGuiApplication(["RVC Studio self-test"])
    ctx.qt_app = app
    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    native = {"darwin": "libqcocoa.dylib", "linux": "libqxcb.so"}.get(sys.platform)
    if native:
        _expect(
            (plugins / "platforms" / native).is_file(), f"platform plugin missing: {plugins / 'platforms' / native}"
        )
    media = plugins / "multimedia"
    _expect(media.is_dir() and any(media.iterdir()), f"no Qt multimedia plugin in {media}")
    return f"qt {PySide6.__version__} {app.platformName() if hasattr(app, 'platformName') else 'core'}"


def check_mlx(ctx: Context) -> str:
    """A matmul and a conv1d on MLX's default device (Metal on Apple Silicon), checked with numpy."""
    from inference.core.runtime import import_mlx

    mx = import_mlx()
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 8)).astype(np.float32)
    b = rng.standard_normal((8, 3)).astype(np.float32)
    got = np.array(mx.matmul(mx.array(a), mx.array(b)))
    _expect(np.allclose(got, a @ b, atol=1e-4), "mlx matmul differs from numpy")
    signal = rng.standard_normal(32).astype(np.float32)
    kernel = rng.standard_normal(5).astype(np.float32)
    # MLX conv1d is channels-last: (batch, length, channels) and (out, k, in).
    conv = np.array(mx.conv1d(mx.array(signal)[None, :, None], mx.array(kernel)[None, :, None]))
    expected = np.correlate(signal, kernel, mode="valid")
    _expect(np.allclose(conv[0, :, 0], expected, atol=1e-4), "mlx conv1d differs from numpy")
    device = mx.default_device()
    kind = "gpu" if device.type == mx.DeviceType.gpu else "cpu"
    import mlx

    version = getattr(mlx, "__version__", None) or getattr(mx, "__version__", "?")
    return f"mlx {kind} {version}"


def check_torch(ctx: Context) -> str:
    """A conv1d through torch's own kernels, checked with numpy; names the MPS device if any."""
    from inference.core.runtime import import_torch

    torch = import_torch()
    rng = np.random.default_rng(1)
    signal = rng.standard_normal(64).astype(np.float32)
    kernel = rng.standard_normal(7).astype(np.float32)
    with torch.inference_mode():
        out = torch.nn.functional.conv1d(torch.from_numpy(signal)[None, None], torch.from_numpy(kernel)[None, None])
    _expect(
        np.allclose(out[0, 0].numpy(), np.correlate(signal, kernel, mode="valid"), atol=1e-4),
        "torch conv1d differs from numpy",
    )
    mps = getattr(torch.backends, "mps", None)
    extra = " mps" if mps is not None and mps.is_available() else ""
    return f"torch {torch.__version__.split('+')[0]}{extra}"


def check_faiss(ctx: Context) -> str:
    """A flat L2 index finds each stored vector as its own nearest neighbour."""
    import faiss

    vectors = np.random.default_rng(2).standard_normal((32, 16)).astype(np.float32)
    index = faiss.IndexFlatL2(16)
    index.add(vectors)
    distances, ids = index.search(vectors[[3, 17]], 2)
    _expect(
        ids[:, 0].tolist() == [3, 17] and np.allclose(distances[:, 0], 0, atol=1e-4),
        f"faiss search returned {ids.tolist()}",
    )
    return f"faiss {faiss.__version__}"


def check_soundfile(ctx: Context) -> str:
    """Write the test tone as 16-bit WAV and read it back (libsndfile)."""
    import soundfile as sf

    ctx.wav = ctx.tmp / "tone.wav"
    sf.write(ctx.wav, ctx.tone, SAMPLE_RATE, subtype="PCM_16")
    data, rate = sf.read(ctx.wav, dtype="float32")
    _expect(
        rate == SAMPLE_RATE and np.allclose(data, ctx.tone, atol=1 / 16384), "soundfile round trip changed the audio"
    )
    return f"soundfile {sf.__version__}"


def check_av(ctx: Context) -> str:
    """Decode that WAV with PyAV's FFmpeg and count the samples."""
    import av

    _expect(ctx.wav is not None, "no WAV to open (the soundfile check failed first)")
    with av.open(str(ctx.wav)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        rate = stream.rate
    _expect(rate == SAMPLE_RATE and samples == len(ctx.tone), f"av decoded {samples} samples at {rate} Hz")
    return f"av {av.__version__}"


def check_encoders(ctx: Context) -> str:
    """PyAV's bundled FFmpeg encodes mp3, m4a and ogg (Opus) through our writer, and they decode
    back to the tone's length (within one codec frame)."""
    from inference.audio import load_audio
    from inference.audio.encode import ENCODED_FORMATS, EncodedWriter

    for fmt, codec in ENCODED_FORMATS.items():
        with EncodedWriter(ctx.tmp / f"tone.{fmt}", SAMPLE_RATE, fmt) as writer:
            writer.write(ctx.tone)
        decoded = load_audio(writer.path, sr=None)
        expected = len(ctx.tone) * writer.sample_rate / SAMPLE_RATE
        _expect(abs(decoded.shape[0] - expected) <= codec.frame, f"{fmt} decoded to {decoded.shape[0]} samples")
    return "encoders " + "/".join(ENCODED_FORMATS)


def check_formant(ctx: Context) -> str:
    """stftpitchshift (installed without its plotting dependencies) shifts formants."""
    from inference.audio.formant import formant_shift

    shifted = formant_shift(ctx.tone, 1.2, 1.0)
    _expect(shifted.shape == ctx.tone.shape and bool(np.all(np.isfinite(shifted))), "formant shift failed")
    return "stftpitchshift"


def check_librosa(ctx: Context) -> str:
    """librosa's mel filter bank (numba and lazy loading included) has the documented shape."""
    import librosa

    mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=512, n_mels=40)
    _expect(mel.shape == (40, 257) and np.all(mel >= 0) and mel.sum() > 0, f"mel filter bank shape {mel.shape}")
    return f"librosa {librosa.__version__}"


def check_scipy(ctx: Context) -> str:
    """A low-pass filter leaves the 200 Hz tone and removes a 6 kHz one."""
    import scipy
    from scipy import signal

    t = np.arange(len(ctx.tone)) / SAMPLE_RATE
    high = 0.5 * np.sin(2 * np.pi * 6000 * t)
    sos = signal.butter(6, 1000, fs=SAMPLE_RATE, output="sos")
    middle = slice(500, -500)  # away from the edge transients of filtfilt's padding
    kept = signal.sosfiltfilt(sos, ctx.tone.astype(np.float64))[middle]
    removed = signal.sosfiltfilt(sos, high)[middle]
    _expect(abs(np.std(kept) - 0.5 / np.sqrt(2)) < 0.01 and np.std(removed) < 1e-3, "scipy low-pass filter misbehaved")
    return f"scipy {scipy.__version__}"


def check_transformers(ctx: Context) -> str:
    """A tiny randomly initialised HuBERT runs on 0.1 s of audio (no download)."""
    import torch
    import transformers

    from inference.features.embedder import hubert_classes

    config_class, model_class = hubert_classes()

    config = config_class(
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8, 8),
        conv_kernel=(10, 3),
        conv_stride=(5, 2),
        num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2,
    )
    torch.manual_seed(0)
    model = model_class(config).eval()
    with torch.inference_mode():
        hidden = model(torch.from_numpy(ctx.tone[None, :1600])).last_hidden_state
    # Frames after the two convolutions: (1600 - 10) // 5 + 1 = 319, then (319 - 3) // 2 + 1 = 159.
    _expect(
        tuple(hidden.shape) == (1, 159, 16) and bool(torch.isfinite(hidden).all()),
        f"hubert output {tuple(hidden.shape)}",
    )
    return f"transformers {transformers.__version__}"


def check_safetensors(ctx: Context) -> str:
    """Save and load a tensor file."""
    import safetensors
    from safetensors.numpy import load_file, save_file

    path = ctx.tmp / "t.safetensors"
    tensors = {"w": np.arange(12, dtype=np.float32).reshape(3, 4)}
    save_file(tensors, str(path))
    loaded = load_file(str(path))
    _expect(np.array_equal(loaded["w"], tensors["w"]), "safetensors round trip changed the tensor")
    return f"safetensors {safetensors.__version__}"


def check_pyworld(ctx: Context) -> str:
    """Harvest finds the pitch of a 200 Hz voice-like signal within 3 %."""
    import pyworld

    # Harvest calls a pure sine unvoiced; seven harmonics with a 1/k slope read as a voice.
    t = np.arange(len(ctx.tone)) / SAMPLE_RATE
    voiced_signal = sum(0.3 / k * np.sin(2 * np.pi * TONE_HZ * k * t) for k in range(1, 8))
    f0, _t = pyworld.harvest(voiced_signal, SAMPLE_RATE, f0_floor=50.0, f0_ceil=1100.0, frame_period=10)
    voiced = f0[f0 > 0]
    _expect(
        len(voiced) > 5 and abs(float(np.median(voiced)) - TONE_HZ) < 0.03 * TONE_HZ,
        f"harvest median f0 {np.median(voiced) if len(voiced) else 0:.1f} Hz",
    )
    return f"pyworld {getattr(pyworld, '__version__', '')}".strip()


def check_torchfcpe_asset(ctx: Context) -> str:
    """The FCPE weights ship inside the torchfcpe package (not imported: it pulls torchaudio)."""
    spec = importlib.util.find_spec("torchfcpe")
    _expect(spec is not None and bool(spec.submodule_search_locations), "torchfcpe is not installed")
    asset = Path(list(spec.submodule_search_locations)[0]) / FCPE_ASSET
    _expect(asset.is_file() and asset.stat().st_size > 100_000, f"FCPE weights missing: {asset}")
    return f"fcpe {asset.stat().st_size // 1_000_000} MB"


def check_qt_multimedia(ctx: Context) -> str:
    """Qt's multimedia back end loads: a player with an audio output is available and decodes WAV."""
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaFormat, QMediaPlayer

    _expect(ctx.qt_app is not None, "no Qt application (the qt check failed first)")
    output = QAudioOutput()
    player = QMediaPlayer()
    player.setAudioOutput(output)
    _expect(player.isAvailable(), "QMediaPlayer has no multimedia back end")
    decodable = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    _expect(QMediaFormat.FileFormat.Wave in decodable, "Qt multimedia cannot decode WAV")
    outputs = len(QMediaDevices.audioOutputs())
    player.deleteLater()
    output.deleteLater()
    return f"qt multimedia ({outputs} outputs)"


def check_pyqtgraph(ctx: Context) -> str:
    """pyqtgraph imports over PySide6 and builds a pen."""
    import pyqtgraph

    pen = pyqtgraph.mkPen("c", width=2)
    _expect(pen.width() == 2, "pyqtgraph.mkPen ignored its width")
    return f"pyqtgraph {pyqtgraph.__version__}"


def check_gui_modules(ctx: Context) -> str:
    """The app's own GUI modules import (they are loaded at start-up, not by the checks above)."""
    import app.application
    import app.ui.main_window

    _expect(bool(app.application.BUNDLE_ID), "app.application has no bundle id")
    return "gui"


CHECKS: tuple[Check, ...] = (
    ("qt", check_qt),
    ("mlx", check_mlx),
    ("torch", check_torch),
    ("faiss", check_faiss),
    ("soundfile", check_soundfile),
    ("av", check_av),
    ("encoders", check_encoders),
    ("formant", check_formant),
    ("librosa", check_librosa),
    ("scipy", check_scipy),
    ("transformers", check_transformers),
    ("safetensors", check_safetensors),
    ("pyworld", check_pyworld),
    ("torchfcpe", check_torchfcpe_asset),
    ("qt multimedia", check_qt_multimedia),
    ("pyqtgraph", check_pyqtgraph),
    ("gui", check_gui_modules),
)


def run_self_test(checks: Sequence[Check] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run every check; print one report line to ``out``. Returns 0 if all passed, else 1."""
    out = out or sys.stdout
    err = err or sys.stderr
    from inference.core.runtime import prepare_process

    prepare_process()
    started = time.perf_counter()
    passed: list[str] = []
    failed: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rvc-studio-selftest-") as tmp:
        ctx = Context(tmp=Path(tmp))
        for name, check in CHECKS if checks is None else checks:
            try:
                passed.append(check(ctx))
            except Exception as exc:  # noqa: BLE001 - every failure is reported, none stops the rest
                summary = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                failed.append(
                    f"{name} ({type(exc).__name__}: {summary})" if summary else f"{name} ({type(exc).__name__})"
                )
                print(f"self-test: check {name!r} failed:", file=err)
                traceback.print_exc(file=err)
    elapsed = time.perf_counter() - started
    where = f"{platform.system().lower()} {platform.machine()}"
    if failed:
        print(
            f"self-test: FAILED {'; '.join(failed)} ({len(passed)} of {len(passed) + len(failed)} checks ok, "
            f"{where}) in {elapsed:.1f} s",
            file=out,
        )
        return 1
    print(f"self-test: ok ({', '.join(passed)}; {where}) in {elapsed:.1f} s", file=out)
    return 0
