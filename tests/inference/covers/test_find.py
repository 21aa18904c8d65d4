"""Finding separation models where users have them (read-only), and the one-line message when
there is none."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from inference.covers import catalog
from inference.covers.find import SeparatorNotFound, find_model, scan, search_places
from tests.support.separation import make_mss_model


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def places(fake_home, known_tiny, tmp_path):
    """Models in Replay's folder, UVR's app, the RVC WebUI and a user folder (plus decoys)."""
    replay = fake_home / "Replay" / "com.replay.Replay"
    stems = replay / "stems" / "mdx"
    stems.mkdir(parents=True)
    shutil.copy(known_tiny, stems / "UVR-MDX-NET-Voc_FT.onnx")  # identified by its UVR hash
    (replay / "models" / "uvr-deecho-dereverb").mkdir(parents=True)
    (replay / "models" / "uvr-deecho-dereverb" / "UVR-DeEcho-DeReverb.pth").write_bytes(b"vr")  # by its name
    (replay / "models" / "Alice").mkdir()
    (replay / "models" / "Alice" / "model.pth").write_bytes(b"a voice model")  # not a separator
    (replay / "outputs").mkdir()
    shutil.copy(known_tiny, replay / "outputs" / "never-looked-at.onnx")
    uvr = fake_home / "Applications" / "Ultimate Vocal Remover.app" / "Contents" / "Resources" / "models"
    (uvr / "MDX_Net_Models").mkdir(parents=True)
    (uvr / "MDX_Net_Models" / "Kim_Vocal_2.onnx").write_bytes(known_tiny.read_bytes() + b"\0")  # by its name
    rvc = fake_home / "Retrieval-based-Voice-Conversion-WebUI" / "assets"
    make_mss_model(rvc / "pymss_weights", "bs_roformer", name="model_bs_roformer_ep_317_sdr_12.9755")
    (rvc / "uvr5_weights").mkdir(parents=True)
    (rvc / "uvr5_weights" / "notes.txt").write_text("not a model")
    mine = tmp_path / "mine"
    make_mss_model(mine, "mel_band_roformer", name="my_dereverb_model")
    return fake_home, replay, mine


def test_models_are_found_in_every_place_and_voice_models_are_not(places):
    home, replay, mine = places
    found = {m.path.name: m for m in scan([mine])}
    assert set(found) == {
        "UVR-MDX-NET-Voc_FT.onnx",
        "UVR-DeEcho-DeReverb.pth",
        "Kim_Vocal_2.onnx",
        "model_bs_roformer_ep_317_sdr_12.9755.ckpt",
        "my_dereverb_model.ckpt",
    }
    voc = found["UVR-MDX-NET-Voc_FT.onnx"]
    assert (voc.family, voc.purpose, voc.place) == ("mdx_onnx", "vocals", "Replay") and voc.uvr_hash
    assert (found["UVR-DeEcho-DeReverb.pth"].family, found["UVR-DeEcho-DeReverb.pth"].purpose) == ("vr", "dereverb")
    assert found["Kim_Vocal_2.onnx"].place == "Ultimate Vocal Remover"
    bs = found["model_bs_roformer_ep_317_sdr_12.9755.ckpt"]
    assert (bs.family, bs.purpose, bs.place) == ("mss", "vocals", "RVC WebUI") and bs.config.suffix == ".yaml"
    assert found["my_dereverb_model.ckpt"].place == "your folder"


def test_nothing_is_written_inside_replays_folder(places):
    _home, replay, mine = places
    before = snapshot(replay)
    scan([mine])
    find_model(None, "vocals", [mine])
    assert snapshot(replay) == before


def test_the_default_wins_then_the_best_model_the_user_has(places):
    home, replay, mine = places
    assert find_model(None, "vocals", [mine]).path.name == "UVR-MDX-NET-Voc_FT.onnx"
    (replay / "stems" / "mdx" / "UVR-MDX-NET-Voc_FT.onnx").unlink()
    assert find_model(None, "vocals", [mine]).path.name == "Kim_Vocal_2.onnx"  # next in preference
    assert find_model("model_bs_roformer_ep_317_sdr_12.9755", "vocals").family == "mss"  # by name
    assert find_model(None, "dereverb").path.name == "UVR-DeEcho-DeReverb.pth"
    path = mine / "my_dereverb_model.ckpt"
    assert find_model(str(path)).path == path  # a file named directly


def test_a_missing_model_names_the_file_every_place_and_the_download(fake_home):
    with pytest.raises(SeparatorNotFound) as error:
        find_model(None, "vocals", ["/nowhere/else"])
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("Could not find the separation model UVR-MDX-NET-Voc_FT.onnx; download it (67 MB, into ")
    for place in search_places(["/nowhere/else"]):
        assert str(place.folder) in message
    assert "rvc-studio download UVR-MDX-NET-Voc_FT" in message
    assert str(catalog.downloads_dir()) in message
    with pytest.raises(SeparatorNotFound, match="de-reverb model Reverb_HQ_By_FoxJoy.onnx"):
        find_model(None, "dereverb")
    with pytest.raises(SeparatorNotFound, match="Could not find the separation model Nope"):
        find_model("Nope", "vocals")


def test_downloads_land_in_our_data_folder_and_are_found(fake_home, known_tiny):
    target = catalog.downloads_dir() / "UVR-MDX-NET-Voc_FT.onnx"
    assert str(target).startswith(os.environ["RVC_STUDIO_DATA_DIR"])
    target.parent.mkdir(parents=True)
    shutil.copy(known_tiny, target)
    model = find_model(None, "vocals")
    assert model.path == target and model.place == "RVC Studio downloads"


def test_the_vr_names_we_list_are_names_pymss_knows():
    from inference.covers.mss import vr_names

    assert set(catalog.VR_PURPOSES) <= vr_names()
    assert catalog.DEFAULTS["vocals"] in catalog.DOWNLOADS and catalog.DEFAULTS["dereverb"] in catalog.DOWNLOADS


def test_the_pinned_defaults_are_the_models_uvr_knows():
    from inference.covers.mdx_models import MDX_MODEL_DATA

    # Voc_FT's UVR key and FoxJoy's, with UVR's parameters for them
    assert MDX_MODEL_DATA["77d07b2667ddf05b9e3175941b4454a0"] == (1.021, 3072, 8, 7680, "Vocals")
    assert MDX_MODEL_DATA["cd5b2989ad863f116c855db1dfe24e39"] == (1.035, 3072, 9, 6144, "Reverb")
    for item in catalog.DOWNLOADS.values():
        assert len(item.sha256) == 64 and int(item.sha256, 16) and item.size > 10_000_000
        assert item.url.startswith("https://")
