"""Turning what the checkpoint reader reports into a VoiceModel (no model files needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.models.library.model import VoiceModel
from inference.models.library.scanner import _fill, _one_line


def blank() -> VoiceModel:
    return VoiceModel(id="x", name="x", source="folder", root="/r", model_path="/r/x.pth")


@pytest.mark.parametrize(
    ("info", "epochs"),
    [
        ({"info": "300epoch"}, 300),
        ({"info": "12 Epochs"}, 12),
        ({"info": "300epoch", "epochs": 7}, 7),
        ({"info": "trained well"}, None),
    ],
)
def test_epochs_from_the_reader_or_rvc_info_text(info, epochs):
    model = blank()
    _fill(model, {"version": "v2", "sample_rate": 40000, **info})
    assert model.epochs == epochs and model.ok and model.problems == []


def test_unsupported_vocoder_and_version_make_a_model_unusable():
    model = blank()
    _fill(model, {"version": "v2", "sample_rate": 40000, "vocoder": "BigVGAN"})
    assert (model.ok, model.problems) == (False, ["unsupported vocoder BigVGAN"])
    for vocoder in ("HiFi-GAN", "MRF HiFi-GAN", "RefineGAN"):  # Applio's three are usable
        model = blank()
        _fill(model, {"version": "v2", "sample_rate": 32000, "vocoder": vocoder})
        assert (model.ok, model.problems, model.vocoder) == (True, [], vocoder)
    model = blank()
    _fill(model, {"version": "v3", "sample_rate": 40000, "vocoder": None})
    assert (model.ok, model.problems, model.vocoder) == (False, ["unsupported model version 'v3'"], "HiFi-GAN")


def test_messages_lose_the_path_prefix_and_line_breaks():
    path = Path("/m/Zoë (v2)/model.pth")
    assert _one_line("/m/Zoë (v2)/model.pth: not a voice model\n  (no weight)", path) == "not a voice model (no weight)"
    assert _one_line("model.pth: truncated", path) == "truncated"
    assert _one_line("", path) == "unknown error"
