"""FCPE pitch: the real model and weights that ship inside the ``torchfcpe`` wheel (MIT).

``torchfcpe`` imports ``torchaudio`` at import time, only for ``torchaudio.transforms.Resample``
in its mel front end, which is used only when the input's rate differs from the model's
16 kHz. torchaudio is not a dependency of this app, so :func:`_import_torchfcpe` imports the
package with a stand-in ``torchaudio`` module in ``sys.modules`` for the duration of that import
only; the stand-in's ``Resample`` resamples with librosa. The checkpoint is read with
``weights_only=True``. Settings follow RVC: local arg-max decoding, threshold 0.006.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import types
from pathlib import Path

import numpy as np

from inference.core.errors import check_cancel
from inference.core.runtime import import_torch
from inference.f0 import F0Error

torch = import_torch()

SAMPLE_RATE = 16000
THRESHOLD = 0.006  # RVC's FCPE threshold (torchfcpe's default too)
DECODER = "local_argmax"
WEIGHTS_NAME = "fcpe_c_v001.pt"

_import_lock = threading.Lock()


class _LibrosaResample(torch.nn.Module):
    """Stand-in for ``torchaudio.transforms.Resample``: ``[..., samples]`` resampled with librosa."""

    def __init__(self, orig_freq: int = 16000, new_freq: int = 16000, **_ignored) -> None:
        super().__init__()
        self.orig_freq = int(orig_freq)
        self.new_freq = int(new_freq)

    def forward(self, waveform):
        from inference.core.runtime import import_library

        if self.orig_freq == self.new_freq:
            return waveform
        core = import_library("librosa.core")  # numba comes with it: see long_lived
        data = waveform.detach().cpu().numpy().astype(np.float32)
        out = core.resample(data, orig_sr=self.orig_freq, target_sr=self.new_freq, axis=-1)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(waveform.device)


def _import_torchfcpe() -> types.ModuleType:
    """``torchfcpe.models_infer``, imported without torchaudio (see the module docstring)."""
    loaded = sys.modules.get("torchfcpe.models_infer")
    if loaded is not None:
        return loaded
    with _import_lock:
        saved = {name: sys.modules.get(name) for name in ("torchaudio", "torchaudio.transforms")}
        standin = types.ModuleType("torchaudio")
        transforms = types.ModuleType("torchaudio.transforms")
        transforms.Resample = _LibrosaResample
        standin.transforms = transforms
        injected = saved["torchaudio"] is None
        if injected:
            sys.modules["torchaudio"] = standin
            sys.modules["torchaudio.transforms"] = transforms
        try:
            import torchfcpe.models_infer as models_infer
        except ImportError as exc:
            raise F0Error(f"FCPE is unavailable: the torchfcpe package cannot be imported ({exc})") from None
        finally:
            if injected:
                # Leave no trace: other code probing for torchaudio must not find the stand-in.
                for name, module in saved.items():
                    if sys.modules.get(name) in (standin, transforms):
                        if module is None:
                            del sys.modules[name]
                        else:
                            sys.modules[name] = module
        return models_infer


def bundled_weights_path() -> Path:
    """Path of the FCPE checkpoint inside the installed torchfcpe package (found without importing it)."""
    spec = importlib.util.find_spec("torchfcpe")
    if spec is None or not spec.submodule_search_locations:
        raise F0Error("FCPE is unavailable: the torchfcpe package is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "assets" / WEIGHTS_NAME
    if not path.is_file():
        raise F0Error(f"FCPE weights not found at {path} (torchfcpe installation incomplete)")
    return path


class FCPE:
    """The loaded FCPE model; :meth:`estimate` takes mono 16 kHz audio."""

    def __init__(self, infer_model, device: str = "cpu") -> None:
        self.model = infer_model
        self.device = torch.device(device)

    def estimate(self, audio_16k: np.ndarray, threshold: float = THRESHOLD, cancel=None) -> np.ndarray:
        """F0 in Hz ``[len // 160 + 1]`` float32, 0 = unvoiced."""
        audio = np.asarray(audio_16k, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if peak > 1.0:
            # torchfcpe prints a warning for samples outside [-1, 1]; a gain change moves every
            # log-mel bin by the same amount and leaves the pitch alone.
            audio = audio / peak
        check_cancel(cancel)
        wav = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device)[None, :, None]
        with torch.inference_mode():
            f0 = self.model(wav, SAMPLE_RATE, decoder_mode=DECODER, threshold=threshold)
        f0 = f0[0, :, 0].float().cpu().numpy()
        # Unvoiced frames decode to 10 * 2**(-inf) = 0; keep any NaN out as well.
        return np.nan_to_num(f0, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def load_fcpe(device: str = "cpu") -> FCPE:
    """Build torchfcpe's inference model on its bundled weights (read with ``weights_only=True``)."""
    models_infer = _import_torchfcpe()
    path = bundled_weights_path()
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        config = ckpt["config_dict"]
        state = ckpt["model"]
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file raises, the user reads one line
        raise F0Error(f"cannot read FCPE weights {path}: {str(exc).splitlines()[0][:200]}") from None
    # Inference: no dropout (torchfcpe's own loader does the same for its bundled model).
    config["model"]["conv_dropout"] = 0.0
    config["model"]["atten_dropout"] = 0.0
    # torchfcpe prints a warning for this unset option; its default (False) is what the model uses.
    config["model"].setdefault("use_harmonic_emb", False)
    from torchfcpe.tools import DotDict

    try:
        model = models_infer.InferCFNaiveMelPE(DotDict(config), state)
    except Exception as exc:  # noqa: BLE001 - torchfcpe's own errors, named in one line
        raise F0Error(f"cannot build FCPE from {path}: {str(exc).splitlines()[0][:200]}") from None
    return FCPE(model.to(torch.device(device)).eval(), device=device)
