"""pymss behind our stage: the same stems as pymss's own API on the same file and weights, and
the guards on what it loads (no pickled code, no YAML objects, no families we do not ship)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from inference.core.errors import Cancelled
from inference.covers.mss import PymssSeparator, read_config
from inference.covers.separator import SeparationError, SeparationSettings
from tests.support.separation import make_mss_model, make_vr_model, noise_song, snr_db

CPU = SeparationSettings(device="cpu")


def library_output(checkpoint, config, model_type, mix):
    from pymss import MSSeparator

    engine = MSSeparator(
        model_type=model_type,
        model_path=str(checkpoint),
        config_path=str(config) if config else None,
        device="cpu",
        inference_params={"normalize": False, "standardize": None},
    )
    try:
        return engine.separate(mix, pbar=False)
    finally:
        engine.close()


@pytest.mark.parametrize(
    ("kind", "vocal", "rest"), [("mel_band_roformer", "vocals", "other"), ("mdx23c", "Vocals", "Instrumental")]
)
def test_mss_stems_equal_pymss_own_output(tmp_path, kind, vocal, rest):
    checkpoint, config = make_mss_model(tmp_path, kind)
    mix = noise_song(1.5).T.copy()
    reference = library_output(checkpoint, config, kind, mix)
    ours = PymssSeparator(checkpoint, "vocals", CPU, "id", config)
    try:
        stems = ours.separate(mix.T, 44100)
    finally:
        ours.close()
    assert ours.model_type == kind
    assert stems.vocal.shape == stems.accompaniment.shape == (mix.shape[1], 2)
    assert snr_db(reference[vocal], stems.vocal) >= 60.0
    assert snr_db(reference[rest], stems.accompaniment) >= 60.0


def test_vr_stems_equal_pymss_own_output_padded_to_the_songs_length(tmp_path):
    path = make_vr_model(tmp_path, "UVR-DeNoise-Lite.pth")  # VR's smallest file (18 MB): 'Noise' / 'No Noise'
    mix = noise_song(0.5).T.copy()
    reference = library_output(path, None, "vr", mix)
    ours = PymssSeparator(path, "dereverb", CPU, "id")  # a two-stem VR run; roles checked below
    named = ours._separate_stereo(mix, lambda f: None, None)
    ours.close()
    assert set(named) == set(reference) == {"Noise", "No Noise"}
    for name, audio in reference.items():
        assert audio.shape[0] < mix.shape[1]  # VR gives a few samples less
        assert snr_db(audio, named[name]) >= 60.0
    from inference.covers.separator import fit_length

    padded = fit_length(named["No Noise"], mix.shape[1])
    assert padded.shape == (mix.shape[1], 2) and np.all(padded[reference["No Noise"].shape[0] :] == 0)


def test_progress_and_cancel_through_the_library_callback(tmp_path):
    checkpoint, config = make_mss_model(tmp_path, "mel_band_roformer")
    ours = PymssSeparator(checkpoint, "vocals", CPU, "id", config)
    seen: list[float] = []
    ours.separate(noise_song(3.0), 44100, seen.append)
    assert seen[-1] == 1.0 and len(seen) > 2
    cancel = threading.Event()

    def stop(fraction: float) -> None:
        cancel.set()

    with pytest.raises(Cancelled):
        ours.separate(noise_song(3.0), 44100, stop, cancel)
    ours.close()


class _Payload:
    def __init__(self, marker) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_checkpoint_with_code_in_it_is_refused_and_never_run(tmp_path):
    checkpoint, config = make_mss_model(tmp_path, "mel_band_roformer")
    marker = tmp_path / "ran"
    state = torch.load(checkpoint, weights_only=True)
    torch.save({"state_dict": state, "payload": _Payload(marker)}, checkpoint)
    with pytest.raises(SeparationError, match="holds Python objects besides weights") as error:
        PymssSeparator(checkpoint, "vocals", CPU, "id", config)
    assert "\n" not in str(error.value)
    assert not marker.exists()
    vr = make_vr_model(tmp_path / "vr", "UVR-DeNoise-Lite.pth")
    torch.save({"payload": _Payload(marker)}, vr)
    with pytest.raises(SeparationError, match="holds Python objects"):
        PymssSeparator(vr, "dereverb", CPU, "id")
    assert not marker.exists()


def test_a_config_that_builds_python_objects_is_refused(tmp_path):
    checkpoint, config = make_mss_model(tmp_path, "mel_band_roformer")
    marker = tmp_path / "ran"
    config.write_text(config.read_text() + f"extra: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(SeparationError, match="refused: the config asks to build Python objects"):
        PymssSeparator(checkpoint, "vocals", CPU, "id", config)
    assert not marker.exists()
    assert read_config(make_mss_model(tmp_path / "ok", "bs_roformer")[1])["model"]["freqs_per_bands"][0] == 65


def test_unsupported_families_and_unknown_files_are_refused(tmp_path):
    checkpoint, config = make_mss_model(tmp_path, "mel_band_roformer")
    config.write_text("model_type: apollo\n" + config.read_text())
    with pytest.raises(SeparationError, match="apollo|not a config"):
        PymssSeparator(checkpoint, "vocals", CPU, "id", config)
    stranger = tmp_path / "my_vr_model.pth"
    stranger.write_bytes(b"\0" * 10)
    with pytest.raises(SeparationError, match="does not know by name"):
        PymssSeparator(stranger, "vocals", CPU, "id")
    broken = tmp_path / "broken.ckpt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(SeparationError, match="not a readable checkpoint"):
        PymssSeparator(broken, "vocals", CPU, "id", make_mss_model(tmp_path / "b", "mdx23c")[1])


def test_the_rvc_webuis_half_precision_deecho_model_loads_by_its_rvc_name(tmp_path):
    """The RVC WebUI keeps UVR's de-echo models in half precision under its own names: the
    network comes from the metadata we add (nout 48, 4band_v3), not from the file's size."""
    from importlib.resources import files

    from pymss_core.modules.vocal_remover import CascadedNet, ModelParameters

    params = ModelParameters(str(files("pymss_core.resources.vr_modelparams") / "4band_v3.json"))
    torch.manual_seed(0)
    net = CascadedNet(params.param["bins"] * 2, 123812, nout=48, nout_lstm=128)
    path = tmp_path / "VR-DeEchoNormal.pth"
    torch.save({k: v.half() for k, v in net.state_dict().items()}, path)
    separator = PymssSeparator(path, "dereverb", CPU, "id")  # a strict load: the layout must match
    assert separator.engine.config.training.instruments == ["No Echo", "Echo"]
    separator.close()
