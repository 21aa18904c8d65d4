"""Where the embedder and pitch weights are found: Replay first, then the user's folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.core import paths
from inference.core.errors import RVCError
from inference.models.weights import WEIGHTS_DIR_ENV, WeightsNotFoundError, find_weight, search_dirs


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def _transformers_folder(folder: Path, weights: str = "pytorch_model.bin") -> Path:
    _touch(folder / "config.json")
    _touch(folder / weights)
    return folder


@pytest.fixture
def dirs(fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(WEIGHTS_DIR_ENV, raising=False)
    replay = paths.replay_weights_dir()
    assert replay.is_dir() and str(replay).startswith(str(fake_home))
    return replay, tmp_path / "user1", tmp_path / "user2"


@pytest.mark.parametrize("kind,name", [("hubert", "hubert_base.pt"), ("rmvpe", "rmvpe.pt")])
def test_replay_weights_win_over_user_folders(dirs, kind, name):
    replay, user1, user2 = dirs
    expected = _touch(replay / name)
    _touch(user1 / name)
    assert find_weight(kind, [user1, user2]) == expected


@pytest.mark.parametrize("kind,name", [("hubert", "hubert_base.pt"), ("rmvpe", "rmvpe.pt")])
def test_user_folders_are_searched_in_order_after_replay(dirs, kind, name):
    _, user1, user2 = dirs
    second = _touch(user2 / name)
    assert find_weight(kind, [user1, user2]) == second
    first = _touch(user1 / name)
    assert find_weight(kind, [user1, user2]) == first


def test_environment_folder_comes_last(dirs, tmp_path, monkeypatch):
    _, user1, _ = dirs
    env_dir = tmp_path / "env"
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(env_dir))
    from_env = _touch(env_dir / "rmvpe.pt")
    assert find_weight("rmvpe", [user1]) == from_env
    assert search_dirs([user1])[-1] == env_dir
    from_user = _touch(user1 / "rmvpe.pt")
    assert find_weight("rmvpe", [user1]) == from_user


@pytest.mark.parametrize("sub", ["contentvec", "hubert_base", ""])
def test_transformers_folder_accepted_for_hubert(dirs, sub):
    _, user1, _ = dirs
    folder = _transformers_folder(user1 / sub if sub else user1, "model.safetensors")
    assert find_weight("hubert", [user1]) == folder


def test_fairseq_file_preferred_over_transformers_folder_in_the_same_place(dirs):
    _, user1, _ = dirs
    _transformers_folder(user1 / "contentvec")
    pt = _touch(user1 / "hubert_base.pt")
    assert find_weight("hubert", [user1]) == pt


def test_transformers_folder_in_replay_beats_user_file(dirs):
    replay, user1, _ = dirs
    folder = _transformers_folder(replay / "contentvec")
    _touch(user1 / "hubert_base.pt")
    assert find_weight("hubert", [user1]) == folder


def test_config_without_weights_is_not_a_model(dirs):
    _, user1, _ = dirs
    _touch(user1 / "contentvec" / "config.json")
    with pytest.raises(WeightsNotFoundError):
        find_weight("hubert", [user1])


def test_missing_weights_error_lists_every_place_and_the_expected_names(dirs, tmp_path, monkeypatch):
    replay, user1, user2 = dirs
    env_dir = tmp_path / "from-env"
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(env_dir))
    with pytest.raises(WeightsNotFoundError) as caught:
        find_weight("hubert", [user1, user2])
    message = str(caught.value)
    assert isinstance(caught.value, RVCError)
    assert "\n" not in message
    for place in (replay, user1, user2, env_dir):
        assert str(place) in message
    assert "hubert_base.pt" in message and "config.json" in message
    with pytest.raises(WeightsNotFoundError, match="rmvpe.pt") as caught:
        find_weight("rmvpe", [user1])
    assert str(replay) in str(caught.value) and str(user1) in str(caught.value)


def test_duplicate_folders_are_searched_once(dirs):
    replay, user1, _ = dirs
    assert search_dirs([user1, user1, replay]) == [replay, user1]


def test_unknown_kind_is_a_programming_error(dirs):
    with pytest.raises(ValueError):
        find_weight("crepe")  # type: ignore[arg-type]
