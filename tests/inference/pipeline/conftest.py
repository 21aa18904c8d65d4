"""A fake Replay tree with one model of each kind, a song, and a converter on them (per module)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from inference.pipeline import Converter
from tests.support.pipeline import PAD, SONG_S, build_replay, voice


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    replay = build_replay(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVC_STUDIO_REPLAY_DIR", str(replay))
        from inference.models.library import ModelLibrary

        models = {m.name: m for m in ModelLibrary().scan()}
        assert sorted(models) == ["v1f0", "v1nof0", "v2f0", "v2nof0"] and all(
            m.ok and m.index_path for m in models.values()
        )
        inputs = root / "inputs"
        inputs.mkdir()
        # 44.1 kHz stereo 16-bit: decoding downmixes and resamples
        stereo = np.stack([voice(SONG_S, 44100), 0.5 * voice(SONG_S, 44100, seed=1)], axis=1)
        sf.write(inputs / "song.wav", stereo, 44100, subtype="PCM_16")
        yield dict(root=root, replay=replay, models=models, song=inputs / "song.wav", out=root / "out")


@pytest.fixture(scope="module")
def conv(tree):
    converter = Converter(cache_dir=tree["root"] / "cache", chunk=PAD)
    calls: list[str] = []
    estimate = converter.estimators.estimate

    def spy(audio, method, *args, **kwargs):
        calls.append(method)
        return estimate(audio, method, *args, **kwargs)

    converter.estimators.estimate = spy
    converter.f0_calls = calls
    return converter
