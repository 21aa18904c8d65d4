"""Embedders in the layouts users have them, found and loaded, against transformers' own forward.

For each layout (an Applio install's ``rvc/models/embedders/<dir>`` with ``pytorch_model.bin``,
a Hugging Face cache snapshot of symlinks into ``blobs/``, a custom folder with
``model.safetensors``): :func:`find_embedder` finds it, :func:`load_embedder` loads it, and its
features equal ``transformers.HubertModel.from_pretrained(folder)``'s on the same audio: the last
hidden state (v2) and layer 9 through ``final_proj`` (v1), within 1e-6 (same ops, same order).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.features import load_embedder
from inference.models.embedders import EmbedderRef, find_embedder
from tests.support.embedders import applio_embedder, hf_snapshot, transformers_folder


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 180 * t) + 0.02 * np.random.default_rng(1).standard_normal(16000)).astype(
        np.float32
    )


def transformers_reference(folder, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from transformers import HubertModel

    model, info = HubertModel.from_pretrained(folder, output_loading_info=True)
    assert not info["missing_keys"] and set(info["unexpected_keys"]) <= {"final_proj.weight", "final_proj.bias"}
    weights = folder / "pytorch_model.bin"
    if weights.exists():
        state = torch.load(weights, map_location="cpu", weights_only=True)
    else:
        from safetensors.torch import load_file

        state = load_file(str(folder / "model.safetensors"))
    final = torch.nn.Linear(*state["final_proj.weight"].shape[::-1])
    final.load_state_dict({"weight": state["final_proj.weight"], "bias": state["final_proj.bias"]})
    with torch.inference_mode():
        out = model.eval()(torch.from_numpy(audio)[None], output_hidden_states=True)
        return out.last_hidden_state[0].numpy(), final(out.hidden_states[9])[0].numpy()


@pytest.mark.parametrize("layout", ["applio", "hf-cache", "custom"])
def test_each_layout_matches_transformers(tmp_path, monkeypatch, audio, layout) -> None:
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    hub = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    if layout == "applio":
        ref, folder = EmbedderRef("spin-v2"), applio_embedder(tmp_path / "Applio", "spin-v2", seed=1)
        weights_dirs = [tmp_path / "Applio"]
    elif layout == "hf-cache":
        ref = EmbedderRef("chinese-hubert-base")
        folder = hf_snapshot(hub, "IAHispano/Applio", "Resources/embedders/chinese_hubert_base", 2, "d" * 40)
        weights_dirs = []
    else:
        ref, folder = EmbedderRef("custom", "my-vec"), tmp_path / "w" / "embedders_custom" / "my-vec"
        transformers_folder(folder, seed=3, fmt="safetensors")
        weights_dirs = [tmp_path / "w"]
    assert find_embedder(ref, weights_dirs) == folder
    embedder = load_embedder(folder)
    v2, v1 = transformers_reference(folder, audio)
    np.testing.assert_allclose(embedder.extract(audio, "v2"), v2, rtol=0, atol=1e-6)
    np.testing.assert_allclose(embedder.extract(audio, "v1"), v1, rtol=0, atol=1e-6)
