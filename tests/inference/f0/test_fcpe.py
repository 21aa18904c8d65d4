"""FCPE from the torchfcpe wheel, loaded without torchaudio (accuracy: test_accuracy.py)."""

from __future__ import annotations

import importlib.util
import sys
import threading

import numpy as np
import pytest
import torch

from inference.core.errors import Cancelled


@pytest.fixture(scope="module")
def fcpe(estimators):
    return estimators.load("fcpe")


def test_loaded_without_torchaudio(fcpe):
    assert "torchaudio" not in sys.modules and "torchaudio.transforms" not in sys.modules
    # The stand-in is gone: a probe for torchaudio sees what is really installed (nothing here).
    assert importlib.util.find_spec("torchaudio") is None
    assert not fcpe.model.training
    from inference.f0.fcpe import bundled_weights_path

    assert bundled_weights_path().name == "fcpe_c_v001.pt"


def test_uses_the_bundled_weights(fcpe):
    from inference.f0.fcpe import bundled_weights_path

    ckpt = torch.load(bundled_weights_path(), map_location="cpu", weights_only=True)
    loaded = fcpe.model.model.state_dict()
    # torch's weight-norm parametrization stores weight_g / weight_v as original0 / original1.
    renamed = {
        "output_proj.weight_g": "output_proj.parametrizations.weight.original0",
        "output_proj.weight_v": "output_proj.parametrizations.weight.original1",
    }
    assert len(ckpt["model"]) == len(loaded) == 73
    for key, value in ckpt["model"].items():
        assert torch.equal(loaded[renamed.get(key, key)], value), key


def test_standin_resample_is_librosa(fcpe):
    """torchfcpe's own resampling path (other input rates) runs on the librosa stand-in."""
    import librosa

    rng = np.random.default_rng(0)
    audio_44k = 0.3 * np.sin(2 * np.pi * 330 * np.arange(22050) / 44100) + 0.01 * rng.standard_normal(22050)
    audio_44k = audio_44k.astype(np.float32)
    mel_44k = fcpe.model.wav2mel(torch.from_numpy(audio_44k)[None, :, None], 44100)
    audio_16k = librosa.resample(audio_44k, orig_sr=44100, target_sr=16000)
    mel_16k = fcpe.model.wav2mel(torch.from_numpy(audio_16k)[None, :, None], 16000)
    n = min(mel_44k.shape[1], mel_16k.shape[1])
    np.testing.assert_allclose(mel_44k[:, :n].numpy(), mel_16k[:, :n].numpy(), atol=1e-5)


def test_frames_and_loud_input(fcpe, sung, capfd):
    audio = sung[0][:16000]
    f0 = fcpe.estimate(audio)
    assert f0.shape == (101,) and f0.dtype == np.float32 and np.all(np.isfinite(f0))
    capfd.readouterr()
    loud = fcpe.estimate(audio * 8.0)  # peaks above 1: torchfcpe would print a warning
    assert capfd.readouterr().out == ""
    np.testing.assert_allclose(loud, fcpe.estimate(audio / np.abs(audio).max()), rtol=1e-6)


def test_cancel(fcpe):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        fcpe.estimate(np.zeros(16000, np.float32), cancel=cancel)
