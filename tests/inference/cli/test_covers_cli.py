"""The cover commands: ``convert --separate``, ``separate``, ``download`` and ``weights``."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference import cli
from inference.covers import catalog
from tests.support.http_server import PAYLOAD, Server
from tests.support.voice_models import make_voice_model

RATE = 44100


class Identity:
    """A converter stand-in: ``convert_array`` gives the vocal back (mono) at its own rate."""

    def __init__(self, **_kwargs) -> None:
        pass

    def convert_array(self, audio, sr, model, params, progress=None, cancel=None):
        return np.asarray(audio, np.float32).mean(axis=1), sr


@pytest.fixture
def setup(fake_home, tmp_path, monkeypatch):
    """No separation model anywhere (offline), a voice model ``Alice``, a stereo song."""
    monkeypatch.setenv("AUDIO_SEPARATOR_MODEL_DIR", str(tmp_path / "no-audio-separator"))
    monkeypatch.setenv("PYMSS_MODEL_DIR", str(tmp_path / "no-pymss"))
    models = tmp_path / "voices"
    make_voice_model(models / "Alice" / "model.pth", "v2", 40000, True, dtype="float16")
    rng = np.random.default_rng(0)
    song = tmp_path / "song.wav"
    sf.write(song, (0.2 * rng.standard_normal((RATE, 2))).astype(np.float32), RATE, subtype="FLOAT")
    return dict(models=models, song=song, out=tmp_path / "out", home=fake_home)


def run(argv, capsys, **factories):
    code = cli.main([str(a) for a in argv], **factories)
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    return code, out, err


def test_convert_separate_without_weights_offline_says_what_where_and_how(setup, capsys):
    argv = ["convert", setup["song"], "-m", "Alice", "--models-dir", setup["models"], "-o", setup["out"], "--separate"]
    code, out, err = run(argv, capsys)
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("rvc-studio: Could not find the separation model UVR-MDX-NET-Voc_FT.onnx; download it")
    for place in ("com.replay.Replay", "Ultimate Vocal Remover", "uvr5_weights", "no-pymss", "separation"):
        assert place in lines[0]
    assert "rvc-studio download UVR-MDX-NET-Voc_FT" in lines[0]
    assert not setup["out"].exists()  # nothing written


def test_cover_options_need_separate(setup, capsys):
    argv = ["convert", setup["song"], "-m", "Alice", "--models-dir", setup["models"], "-o", setup["out"], "--stems"]
    code, _, err = run(argv, capsys)
    assert code == 1 and err.strip() == "rvc-studio: --stems needs --separate (it makes a cover)"
    code, _, err = run([*argv[:-1], "--separate", "--vocal-gain", "40"], capsys)
    assert code == 2 and "--vocal-gain: 40 is out of range (-24 to 12 dB)" in err


def test_convert_separate_writes_the_cover_and_its_stems(setup, known_tiny, capsys):
    argv = ["convert", setup["song"], "-m", "Alice", "--models-dir", setup["models"], "-o", setup["out"]]
    argv += ["--separate", "--stems", "--separator-model", known_tiny, "--format", "flac", "--bit-depth", "24"]
    code, out, err = run(argv, capsys, converter_factory=lambda **kw: Identity())
    assert code == 0, err
    written = [Path(line) for line in out.splitlines()]
    assert [p.name for p in written] == [
        "song (Alice).flac",
        "song (Alice) - vocal.flac",
        "song (Alice) - converted vocal.flac",
        "song (Alice) - accompaniment.flac",
    ]
    for path in written:
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.frames) == (RATE, 1 if "converted" in path.name else 2, RATE)
    assert "Separating" in err and "Converting" in err and "Mixing" in err


def test_separate_writes_two_stems_per_song_and_reports_json(setup, known_tiny, capsys):
    models = setup["home"] / "sep"
    models.mkdir()
    shutil.copy(known_tiny, models / "UVR-MDX-NET-Voc_FT.onnx")
    argv = ["separate", setup["song"], "-o", setup["out"], "--separator-dir", models, "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    (report,) = json.loads(out)
    assert report["model"] == "UVR-MDX-NET-Voc_FT.onnx" and report["cached"] is False
    assert sorted(Path(p).name for p in report["stems"].values()) == ["song - accompaniment.wav", "song - vocal.wav"]
    vocal, rate = sf.read(report["stems"]["vocal"], always_2d=True)
    assert rate == RATE and vocal.shape == (RATE, 2)
    code, out, _ = run(argv, capsys)
    (again,) = json.loads(out)
    assert again["cached"] is True and again["stems"]["vocal"].endswith("song - vocal (2).wav")


def test_separate_without_a_model_writes_nothing(setup, capsys):
    code, out, err = run(["separate", setup["song"], "-o", setup["out"]], capsys)
    assert code == 1 and out == "" and "rvc-studio download UVR-MDX-NET-Voc_FT" in err
    assert not setup["out"].exists()


@pytest.fixture
def served(monkeypatch):
    server = Server()
    item = catalog.Downloadable(
        "Tiny", "tiny.onnx", server.url, len(PAYLOAD), hashlib.sha256(PAYLOAD).hexdigest(), "vocals", "test", "MIT"
    )
    monkeypatch.setattr(catalog, "DOWNLOADS", {"Tiny": item})
    yield server, item
    server.close()


def test_download_fetches_into_our_data_folder(setup, served, capsys):
    server, item = served
    code, out, err = run(["download", "tiny"], capsys)
    assert code == 0, err
    path = Path(out.strip())
    assert path == catalog.downloads_dir() / "tiny.onnx" and path.read_bytes() == PAYLOAD
    assert "Downloading tiny.onnx" in err and "100%" in err
    code, out, _ = run(["download"], capsys)
    assert code == 0 and out.startswith("Tiny: test; 1 MB;")


def test_download_refuses_a_wrong_checksum_and_unknown_names(setup, served, capsys, monkeypatch):
    server, item = served
    monkeypatch.setitem(catalog.DOWNLOADS, "Tiny", catalog.Downloadable(**{**item.__dict__, "sha256": "0" * 64}))
    code, out, err = run(["download", "Tiny"], capsys)
    assert code == 1 and "checksum mismatch" in err.strip().splitlines()[-1]
    assert not catalog.downloads_dir().exists() or list(catalog.downloads_dir().iterdir()) == []
    code, _, err = run(["download", "Nope"], capsys)
    assert code == 1 and "no downloadable model called 'Nope'" in err
    server.status = 500
    monkeypatch.setitem(catalog.DOWNLOADS, "Tiny", item)
    code, _, err = run(["download", "Tiny"], capsys)
    assert code == 1 and "the server answered 500" in err


def test_weights_lists_what_was_found_and_where(setup, known_tiny, capsys):
    models = setup["home"] / "sep"
    models.mkdir()
    shutil.copy(known_tiny, models / "Kim_Vocal_2.onnx")
    code, out, _ = run(["weights", "--separator-dir", models, "--json"], capsys)
    assert code == 0
    found = json.loads(out)
    assert [w["kind"] for w in found["weights"]] == ["hubert", "rmvpe"]
    (model,) = found["separation"]
    assert (model["name"], model["family"], model["purpose"], model["place"]) == (
        "Kim_Vocal_2",
        "mdx_onnx",
        "vocals",
        "your folder",
    )
    assert {m["name"] for m in found["missing"]} == set(catalog.DOWNLOADS)
    code, out, _ = run(["weights", "--separator-dir", models], capsys)
    assert "Kim_Vocal_2" in out and "rvc-studio download UVR-MDX-NET-Voc_FT" in out and "Searched:" in out


def _embedder_served(tmp_path, monkeypatch, pinned: bool = True):
    """A tiny transformers-format embedder served from 127.0.0.1 under the catalogue name ``tiny``."""
    from dataclasses import dataclass

    from inference.models import embedders
    from tests.support.features import make_transformers_hubert

    source = tmp_path / "published"
    make_transformers_hubert(source, seed=3, fmt="bin")
    files = {f"/{p.name}": p.read_bytes() for p in source.iterdir()}
    server = Server(files=files)

    @dataclass(frozen=True)
    class Local(embedders.EmbedderSpec):
        def url(self, file: str) -> str:
            return f"{server.base}/{file}"

    pins = tuple(
        embedders.PinnedFile(name[1:], len(data), hashlib.sha256(data).hexdigest() if pinned else None)
        for name, data in sorted(files.items())
    )
    monkeypatch.setattr(embedders, "CATALOGUE", {"tiny": Local("tiny", "tiny_hubert", "a test embedder", pins)})
    return server, files


def test_download_fetches_a_pinned_embedder_that_then_loads(setup, tmp_path, monkeypatch, capsys):
    from inference.features import load_embedder
    from inference.models import embedders

    server, files = _embedder_served(tmp_path, monkeypatch)
    try:
        code, out, _ = run(["download"], capsys)
        assert code == 0 and "tiny (embedder): a test embedder" in out
        code, out, err = run(["download", "TINY"], capsys)
        assert code == 0, err
        folder = Path(out.strip())
        assert folder == embedders.downloads_dir() / "tiny_hubert"
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == {k[1:]: v for k, v in files.items()}
        assert "Downloading the tiny embedder" in err and "100%" in err
        assert load_embedder(folder).extract(np.zeros(16000, np.float32), "v2").shape[-1] > 0
    finally:
        server.close()


def test_an_embedder_without_pinned_checksums_is_never_fetched(setup, tmp_path, monkeypatch, capsys):
    server, _ = _embedder_served(tmp_path, monkeypatch, pinned=False)
    try:
        code, out, err = run(["download", "tiny"], capsys)
        assert code == 1 and out == ""
        assert "cannot be downloaded by RVC Studio yet" in err and len(err.strip().splitlines()) == 1
        assert server.ranges == []  # nothing was asked of the server
    finally:
        server.close()
