"""The same checks on your own Replay folder: real voice models, real HuBERT and RMVPE weights.

    RVC_STUDIO_TEST_REPLAY_DIR="$HOME/Library/Application Support/Replay/com.replay.Replay" make test

Real weights cannot be had on CI, so every other test uses random-weight files in the real
formats. With ``RVC_STUDIO_TEST_REPLAY_DIR`` naming a Replay data root (``models/``, ``weights/``),
this module runs on those files instead: every model is listed with its facts or its reason,
up to ``RVC_STUDIO_TEST_MAX_MODELS`` (default 3) usable models convert a short voiced signal with
both backends, which must agree, and nothing inside the folder changes. Without the variable the
same tests run on a generated tree in the real formats (with one corrupt model), so this code
runs on every test run. Everything the app writes goes to a temporary HOME.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ENV = "RVC_STUDIO_TEST_REPLAY_DIR"
MAX_MODELS = int(os.environ.get("RVC_STUDIO_TEST_MAX_MODELS", "3"))
SECONDS = 1.5
# MLX vs torch on the whole pipeline, deterministic mode: the synthesizer's parity tolerance
TOLERANCE = 1e-4

FAKE_MODELS = {"Lead Vocal (v2)": ("v2", 40000, True), "Narrator v1": ("v1", 32000, False)}


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root``: relative path -> (size, mtime in ns)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size if name in files else 0, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """Replay's data root to check (yours, or a generated one), with the app's folders elsewhere."""
    home = tmp_path_factory.mktemp("user-files-home")
    given = os.environ.get(ENV)
    if given:
        root = Path(given).expanduser()
        if not (root / "models").is_dir():
            pytest.fail(f"{ENV}={given}: expected Replay's data root, a folder holding models/ and weights/")
    else:
        from tests.support.pipeline import build_replay
        from tests.support.voice_models import make_corrupt_model

        root = build_replay(tmp_path_factory.mktemp("user-files"), models=FAKE_MODELS)
        (root / "models" / "Broken").mkdir()
        make_corrupt_model(root / "models" / "Broken" / "Broken.pth")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in (
            ("HOME", ""),
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_DATA_HOME", ".local/share"),
            ("RVC_STUDIO_CACHE_DIR", "cache"),
            ("RVC_STUDIO_DATA_DIR", "data"),
            ("RVC_STUDIO_LOG_DIR", "logs"),
        ):
            mp.setenv(var, str(home / sub))
        mp.setenv("RVC_STUDIO_REPLAY_DIR", str(root))
        yield root


@pytest.fixture(autouse=True)
def untouched(replay):
    """Each test leaves Replay's folder exactly as it found it (RVC Studio never writes there)."""
    before = _snapshot(replay)
    yield
    after = _snapshot(replay)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"changed inside Replay's folder: {changed[:10]}"


@pytest.fixture(scope="module")
def models(replay):
    from inference.models.library import ModelLibrary

    return ModelLibrary().scan()


def _usable(models):
    usable = sorted((m for m in models if m.ok), key=lambda m: m.name.lower())[:MAX_MODELS]
    assert usable, "no usable voice model in " + ", ".join(f"{m.name}: {m.problems}" for m in models)
    return usable


def test_every_model_is_listed_with_its_facts_or_its_reason(replay, models) -> None:
    folders = sorted(p.name for p in (replay / "models").iterdir() if p.is_dir() and any(p.rglob("*.pth")))
    assert sorted({Path(m.model_path).relative_to(replay / "models").parts[0] for m in models}) == folders
    for m in models:
        if m.ok:
            assert m.version in ("v1", "v2") and m.sample_rate in (32000, 40000, 48000), m
            assert m.index_path is None or m.index_width == m.feature_width or m.problems, m
        else:
            assert m.problems and all(p.strip() and "\n" not in p and "Traceback" not in p for p in m.problems), m
    if not os.environ.get(ENV):  # the generated tree: exactly what was put there
        assert sorted(m.name for m in models if m.ok) == sorted(FAKE_MODELS)
        broken = [m for m in models if not m.ok]
        assert [m.name for m in broken] == ["Broken"] and "the file is incomplete" in broken[0].problems[0]


def test_the_embedder_and_rmvpe_weights_load_and_analyse(replay) -> None:
    from inference.f0 import F0Estimators
    from inference.features import load_embedder
    from inference.models.weights import find_weight
    from tests.support.pipeline import voice

    audio = voice(SECONDS, seed=1)
    embedder = load_embedder(find_weight("hubert", ()))
    for version, width in (("v1", 256), ("v2", 768)):
        features = embedder.extract(audio, version)
        frames = (audio.shape[0] - 400) // 320 + 1  # RVC's count at 50 frames/s
        assert features.shape == (frames, width) and np.all(np.isfinite(features)), version
    f0 = F0Estimators(()).estimate(audio, "rmvpe", n_frames=int(SECONDS * 100))
    assert f0.shape == (int(SECONDS * 100),) and np.all(np.isfinite(f0)) and np.all(f0 >= 0)


def test_usable_models_convert_alike_on_mlx_and_torch(replay, models, tmp_path) -> None:
    from inference.pipeline import ConversionParams, Converter
    from tests.support.pipeline import voice

    song = tmp_path / "song.wav"
    sf.write(song, voice(SECONDS, seed=2), 16000)
    converter = Converter()
    for model in _usable(models):
        outs = {}
        for backend in ("torch", "mlx"):
            params = ConversionParams(
                pitch=3, index_rate=0.5, backend=backend, deterministic=True, sample_format="FLOAT"
            )
            result = converter.convert_file(song, model, tmp_path / backend, params)
            audio, rate = sf.read(result.output_path, dtype="float32")
            assert rate == model.sample_rate and abs(audio.shape[0] / rate - SECONDS) < 0.02, (model.name, backend)
            assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 1e-3, (model.name, backend)
            outs[backend] = audio
        peak = float(np.abs(outs["torch"]).max())
        err = float(np.abs(outs["mlx"] - outs["torch"]).max())
        assert err <= TOLERANCE * peak, f"{model.name}: max |mlx - torch| {err:.3g} > {TOLERANCE} x peak {peak:.3g}"
