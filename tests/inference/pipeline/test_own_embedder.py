"""A model is converted with its own embedder or not at all; features are cached per embedder.

A fake Replay tree (RVC's model, default embedder: Replay's hubert_base.pt) plus an Applio model
trained with ``japanese-hubert-base``. Without that embedder the Applio model is refused before
any work (and the default embedder is never loaded for it); with it in an Applio install chosen
as the weights folder, it converts with that embedder, and the same input is analysed again
(the analysis key holds the embedder's weights digest).
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.models.embedders import EmbedderNotFoundError
from inference.models.library import ModelLibrary
from inference.pipeline import ConversionParams, Converter
from inference.pipeline.chunking import ChunkSettings
from inference.pipeline.job import ConversionError
from tests.support.embedders import WIDE, applio_embedder
from tests.support.pipeline import build_replay, voice
from tests.support.voice_models import make_voice_model

PARAMS = ConversionParams(backend="torch", deterministic=True, f0_method="harvest")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("own-embedder")
    replay = build_replay(root, models={"v2f0": ("v2", 32000, True)}, index_vectors=200)
    kenji = make_voice_model(
        replay / "models" / "Kenji" / "Kenji.pth",
        "v2",
        32000,
        layout="applio",
        seed=21,
        extra={"embedder_model": "japanese-hubert-base"},
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVC_STUDIO_REPLAY_DIR", str(replay))
        yield dict(root=root, replay=replay, kenji=kenji)


def test_converted_with_its_own_embedder_or_not_at_all(tree) -> None:
    root, audio = tree["root"], voice(1.0, 16000)
    models = {m.name: m for m in ModelLibrary(cache_path=root / "lib.json").scan()}
    assert models["Kenji"].embedder == "japanese-hubert-base" and not models["Kenji"].ok
    assert models["v2f0"].embedder == "contentvec" and models["v2f0"].ok
    conv = Converter(cache_dir=root / "cache", chunk=ChunkSettings(x_pad=0.2))
    with pytest.raises(EmbedderNotFoundError, match="^Kenji needs the japanese-hubert-base embedder; not found in"):
        conv.convert_array(audio, 16000, tree["kenji"], PARAMS)  # a path: the checkpoint says which
    with pytest.raises(ConversionError, match="cannot be used: needs the japanese-hubert-base embedder"):
        conv.convert_array(audio, 16000, models["Kenji"], PARAMS)  # the library's view says so already
    assert conv.stats["embed"] == 0 and conv._embedder is None  # the default was never put in its place

    applio = root / "Applio"
    folder = applio_embedder(applio, "japanese_hubert_base", seed=5, size=WIDE)
    models = {m.name: m for m in ModelLibrary(cache_path=root / "lib.json", weights_dirs=[applio]).scan()}
    assert models["Kenji"].ok, models["Kenji"].problems
    conv = Converter(weights_dirs=[applio], cache_dir=root / "cache", chunk=ChunkSettings(x_pad=0.2))
    default, _ = conv.convert_array(audio, 16000, models["v2f0"], PARAMS)
    assert conv._embedder[0] == tree["replay"] / "weights" / "hubert_base.pt" and conv.stats["embed"] == 1
    own, sr = conv.convert_array(audio, 16000, models["Kenji"], PARAMS)
    assert conv._embedder[0] == folder, "Kenji must be converted with its own embedder"
    assert conv.stats["embed"] == 2, "the same input is analysed again with another embedder"
    again, _ = conv.convert_array(audio, 16000, models["Kenji"], PARAMS)
    assert conv.stats["embed"] == 2 and np.array_equal(own, again)  # its own analysis is cached
    assert sr == 32000 and np.all(np.isfinite(own)) and own.shape == default.shape
