"""Fixtures shared by the command line's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.voice_models import make_voice_model


@pytest.fixture(scope="session")
def replay_tree(tmp_path_factory) -> Path:
    """Replay's layout with a random-weight hubert_base.pt and one v2 f0 model with its index
    (no rmvpe.pt: the test uses Harvest, which needs no weights)."""
    from tests.support.features import make_index
    from tests.support.pipeline import make_pipeline_hubert

    replay = tmp_path_factory.mktemp("home") / "Replay" / "com.replay.Replay"
    (replay / "weights").mkdir(parents=True)
    make_pipeline_hubert(replay / "weights" / "hubert_base.pt")
    make_voice_model(replay / "models" / "Singer" / "Singer.pth", "v2", 32000, True, seed=1)
    make_index(replay / "models" / "Singer" / "added_IVF8_Flat_nprobe_1_Singer_v2.index", 768, 300, seed=0)
    return replay


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """A user's model folder with one random-weight v2 model, ``Alice``."""
    root = tmp_path_factory.mktemp("models")
    make_voice_model(root / "Alice" / "model.pth", "v2", 40000, True, dtype="float16")
    return root


@pytest.fixture
def base(tmp_path, models_dir) -> list:
    return ["--model", "Alice", "--models-dir", models_dir, "-o", tmp_path / "out"]
