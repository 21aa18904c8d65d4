"""The HuBERT embedder: fairseq checkpoint without fairseq, transformers folders, the cache.

Two references, both on the same random weights and input:

- ``fairseq_reference``: a transcription, in float64 torch ops, of what fairseq's HubertModel
  does in ``extract_features(source, padding_mask=None, output_layer=N)`` (group-norm conv
  stack, layer norm, post_extract_proj, weight-normed positional conv with norm over dim 2,
  post-LN transformer layers, sequence padded to a multiple of 2 with masked keys), then
  ``final_proj`` for v1. Tolerance 1e-4 (fp32 against fp64, values of order 1).
- the same weights put directly into ``transformers.HubertModel`` + a ``final_proj`` Linear
  under an explicit, test-local name table. Tolerance 1e-6 (same ops, same order).
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inference.core.errors import RVCError
from inference.features import EmbedderLoadError, UnsafeCheckpointError, load_embedder
from inference.features import cache as emb_cache
from inference.features import embedder as emb_model
from tests.support.features import (
    CONV_LAYERS,
    SIZES,
    make_fairseq_hubert,
    make_transformers_hubert,
    registered_modules,
    transformers_config_kwargs,
)
from tests.support.voice_models import flip_bytes

TINY_HEADS = SIZES["tiny"][2]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "cache"
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(target))
    return target / "embedder"


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("hubert") / "hubert_base.pt"
    return path, make_fairseq_hubert(path, seed=1, size="tiny", style="hydra")


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    # one second: 49 frames, an odd count, so fairseq's pad-to-multiple-of-2 path is exercised
    rng = np.random.default_rng(7)
    t = np.arange(16000) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(16000)).astype(np.float32)


def fairseq_reference(sd: dict, audio: np.ndarray, output_layer: int, heads: int, v1: bool) -> np.ndarray:
    """fairseq HubertModel.extract_features (+ final_proj for v1), transcribed in float64."""
    w = {k: v.to(torch.float64) for k, v in sd.items()}
    x = torch.from_numpy(audio).to(torch.float64)[None, None, :]
    for i, (_, stride) in enumerate(CONV_LAYERS):
        x = F.conv1d(x, w[f"feature_extractor.conv_layers.{i}.0.weight"], stride=stride)
        if i == 0:
            gn_w = w["feature_extractor.conv_layers.0.2.weight"]
            x = F.group_norm(x, gn_w.shape[0], gn_w, w["feature_extractor.conv_layers.0.2.bias"])
        x = F.gelu(x)
    x = x.transpose(1, 2)
    x = F.layer_norm(x, x.shape[-1:], w["layer_norm.weight"], w["layer_norm.bias"])
    x = F.linear(x, w["post_extract_proj.weight"], w["post_extract_proj.bias"])
    v, g = w["encoder.pos_conv.0.weight_v"], w["encoder.pos_conv.0.weight_g"]
    kernel = v.shape[2]
    conv_w = g * v / v.norm(dim=(0, 1), keepdim=True)  # weight_norm(dim=2)
    pc = F.conv1d(
        x.transpose(1, 2), conv_w, w["encoder.pos_conv.0.bias"], padding=kernel // 2, groups=x.shape[-1] // v.shape[1]
    )
    if kernel % 2 == 0:  # SamePad
        pc = pc[:, :, :-1]
    x = x + F.gelu(pc).transpose(1, 2)
    dim = x.shape[-1]
    x = F.layer_norm(x, (dim,), w["encoder.layer_norm.weight"], w["encoder.layer_norm.bias"])
    frames = x.shape[1]
    pad = frames % 2  # required_seq_len_multiple = 2, padded keys masked out
    x = F.pad(x, (0, 0, 0, pad))
    key_mask = torch.zeros(x.shape[1], dtype=torch.float64)
    key_mask[frames:] = float("-inf")
    hd = dim // heads
    for n in range(output_layer):
        p = f"encoder.layers.{n}."

        def proj(name: str, t: torch.Tensor, p: str = p) -> torch.Tensor:
            return F.linear(t, w[p + f"self_attn.{name}.weight"], w[p + f"self_attn.{name}.bias"])

        q = proj("q_proj", x) * hd**-0.5
        k, val = proj("k_proj", x), proj("v_proj", x)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(1, -1, heads, hd).transpose(1, 2)

        att = torch.softmax(split(q) @ split(k).transpose(-1, -2) + key_mask, dim=-1) @ split(val)
        x = x + proj("out_proj", att.transpose(1, 2).reshape(1, -1, dim))
        x = F.layer_norm(x, (dim,), w[p + "self_attn_layer_norm.weight"], w[p + "self_attn_layer_norm.bias"])
        ff = F.linear(
            F.gelu(F.linear(x, w[p + "fc1.weight"], w[p + "fc1.bias"])), w[p + "fc2.weight"], w[p + "fc2.bias"]
        )
        x = F.layer_norm(x + ff, (dim,), w[p + "final_layer_norm.weight"], w[p + "final_layer_norm.bias"])
    x = x[:, :frames]
    if v1:
        x = F.linear(x, w["final_proj.weight"], w["final_proj.bias"])
    return x[0].numpy()


# fairseq name -> transformers name, written out here independently of the loader's table
def _hf_name(key: str) -> str | None:
    if key in ("mask_emb", "label_embs_concat"):
        return None
    table = {
        "layer_norm.weight": "feature_projection.layer_norm.weight",
        "layer_norm.bias": "feature_projection.layer_norm.bias",
        "post_extract_proj.weight": "feature_projection.projection.weight",
        "post_extract_proj.bias": "feature_projection.projection.bias",
        "encoder.pos_conv.0.bias": "encoder.pos_conv_embed.conv.bias",
        "encoder.pos_conv.0.weight_g": "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
        "encoder.pos_conv.0.weight_v": "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
        "feature_extractor.conv_layers.0.2.weight": "feature_extractor.conv_layers.0.layer_norm.weight",
        "feature_extractor.conv_layers.0.2.bias": "feature_extractor.conv_layers.0.layer_norm.bias",
    }
    if key in table:
        return table[key]
    if key.startswith("feature_extractor.conv_layers."):
        return key.replace(".0.weight", ".conv.weight")
    if key.startswith("encoder.layers."):
        for old, new in (
            ("self_attn_layer_norm", "layer_norm"),
            ("self_attn.", "attention."),
            ("fc1", "feed_forward.intermediate_dense"),
            ("fc2", "feed_forward.output_dense"),
        ):
            key = key.replace(old, new)
    return key


def transformers_reference(sd: dict, audio: np.ndarray, size: str = "tiny") -> tuple[np.ndarray, np.ndarray]:
    """(v1, v2) features from the same weights loaded straight into transformers.HubertModel."""
    from transformers import HubertConfig, HubertModel

    model = HubertModel(HubertConfig(**transformers_config_kwargs(size), mask_time_prob=0.0)).eval()
    hf = {_hf_name(k): v.float() for k, v in sd.items() if _hf_name(k) and not k.startswith("final_proj")}
    model.load_state_dict(hf, strict=True)
    final = torch.nn.Linear(sd["final_proj.weight"].shape[1], sd["final_proj.weight"].shape[0])
    final.load_state_dict({"weight": sd["final_proj.weight"].float(), "bias": sd["final_proj.bias"].float()})
    with torch.inference_mode():
        out = model(torch.from_numpy(audio)[None], output_hidden_states=True)
        return final(out.hidden_states[9])[0].numpy(), out.last_hidden_state[0].numpy()


@pytest.mark.parametrize("style", ["hydra", "legacy", "argparse"])
def test_fairseq_checkpoint_matches_fairseq_semantics_and_transformers(tmp_path, cache_dir, audio, style):
    path = tmp_path / "hubert_base.pt"
    sd = make_fairseq_hubert(path, seed=3, size="tiny", style=style)
    embedder = load_embedder(path)
    v1, v2 = embedder.extract(audio, "v1"), embedder.extract(audio, "v2")
    assert v1.shape == (49, SIZES["tiny"][4]) and v2.shape == (49, SIZES["tiny"][0])
    assert v1.dtype == np.float32 and v2.dtype == np.float32
    ref1 = fairseq_reference(sd, audio, 9, TINY_HEADS, v1=True)
    ref2 = fairseq_reference(sd, audio, 12, TINY_HEADS, v1=False)
    np.testing.assert_allclose(v1, ref1, rtol=0, atol=1e-4)
    np.testing.assert_allclose(v2, ref2, rtol=0, atol=1e-4)
    hf1, hf2 = transformers_reference(sd, audio)
    np.testing.assert_allclose(v1, hf1, rtol=0, atol=1e-6)
    np.testing.assert_allclose(v2, hf2, rtol=0, atol=1e-6)
    # v1 really is layer 9 through final_proj, not a slice of layer 12
    assert not np.allclose(v1, fairseq_reference(sd, audio, 12, TINY_HEADS, v1=True), atol=1e-3)


def test_second_load_uses_cache_without_reading_the_source(tiny_ckpt, cache_dir, audio, monkeypatch):
    path, _ = tiny_ckpt
    first = load_embedder(path).extract(audio, "v1")
    assert len(list(cache_dir.glob("*.safetensors"))) == 1

    def forbidden(*args, **kwargs):
        raise AssertionError("the source checkpoint was read again")

    monkeypatch.setattr(emb_model, "read_checkpoint", forbidden)
    monkeypatch.setattr(emb_cache, "sha256_file", forbidden)  # not even hashed again
    np.testing.assert_array_equal(load_embedder(path).extract(audio, "v1"), first)


@pytest.mark.parametrize("damage", ["weights-bytes", "weights-truncated", "meta-garbage", "meta-other-version"])
def test_corrupt_cache_entry_is_rebuilt(tiny_ckpt, cache_dir, audio, monkeypatch, damage):
    path, _ = tiny_ckpt
    expected = load_embedder(path).extract(audio, "v2")
    (weights,) = cache_dir.glob("*.safetensors")
    meta = weights.with_suffix(".json")
    if damage == "weights-bytes":
        data = bytearray(weights.read_bytes())
        data[-100] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "weights-truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "meta-garbage":
        meta.write_text("{not json", encoding="utf-8")
    else:
        meta.write_text(meta.read_text(encoding="utf-8").replace('"converter_version": 1', '"converter_version": 0'))
    calls = []
    real = emb_model.read_checkpoint
    monkeypatch.setattr(emb_model, "read_checkpoint", lambda p: calls.append(p) or real(p))
    np.testing.assert_array_equal(load_embedder(path).extract(audio, "v2"), expected)
    assert calls == [path]
    digest = emb_cache.source_digest(path)
    assert emb_cache.read_entry(digest) is not None  # the rebuilt entry is valid again


def test_loading_from_replay_never_writes_there(fake_home, cache_dir, audio):
    from inference.core import paths

    target = paths.replay_weights_dir() / "hubert_base.pt"
    make_fairseq_hubert(target, seed=4, size="tiny")
    before = sorted(p.relative_to(paths.replay_root()) for p in paths.replay_root().rglob("*"))
    mtime = target.stat().st_mtime_ns
    load_embedder(target).extract(audio[:4000], "v2")
    after = sorted(p.relative_to(paths.replay_root()) for p in paths.replay_root().rglob("*"))
    assert after == before and target.stat().st_mtime_ns == mtime
    assert any(cache_dir.glob("*.safetensors"))


class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Exec:
    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


@pytest.mark.parametrize("container", ["zip", "legacy", "raw-pickle"])
@pytest.mark.parametrize("payload", ["os.system", "exec"])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, cache_dir, container, payload):
    marker = tmp_path / "PWNED"
    evil = _System(f"touch '{marker}'") if payload == "os.system" else _Exec(f"open({str(marker)!r}, 'w').write('x')")
    state = {"args": None, "cfg": {"model": {"x": evil}}, "model": {"post_extract_proj.weight": torch.zeros(2, 2)}}
    path = tmp_path / "hubert_base.pt"
    if container == "raw-pickle":
        path.write_bytes(pickle.dumps(state, protocol=2))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=(container == "zip"))
    with pytest.raises(RVCError) as caught:
        load_embedder(path)
    assert not marker.exists()
    if container != "raw-pickle":
        assert isinstance(caught.value, UnsafeCheckpointError)
        assert ("system" if payload == "os.system" else "exec") in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert not list(cache_dir.glob("*.safetensors"))
    # the payload is live: an unrestricted load runs it (so the check above can fail)
    if container == "raw-pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()


def test_payload_under_an_allowed_package_name_gets_an_inert_stand_in(tmp_path, cache_dir, monkeypatch, audio):
    """Names from fairseq/omegaconf become stand-ins; a real function of that name never runs."""
    import sys
    import types

    marker = tmp_path / "PWNED"

    def touch(*_args):
        marker.write_text("ran")

    module = types.ModuleType("fairseq.utils")
    module.import_user_module = touch
    touch.__module__, touch.__qualname__ = "fairseq.utils", "import_user_module"

    class Hook:
        def __reduce__(self):
            return (touch, ("payload",))

    path = tmp_path / "hubert_base.pt"
    from tests.support.features import fairseq_hubert_state

    sd = fairseq_hubert_state(5, "tiny")
    monkeypatch.setitem(sys.modules, "fairseq", types.ModuleType("fairseq"))
    monkeypatch.setitem(sys.modules, "fairseq.utils", module)
    with registered_modules():
        torch.save(
            {
                "args": None,
                "cfg": {"model": {"encoder_attention_heads": TINY_HEADS}},
                "extra_state": Hook(),
                "model": sd,
            },
            path,
        )
    # the real function stays importable while loading: it still must not be called
    embedder = load_embedder(path)
    assert not marker.exists()
    assert embedder.extract(audio[:4000], "v2").shape == (12, SIZES["tiny"][0])


def test_transformers_folder_matches_direct_transformers(tmp_path, audio):
    from transformers import HubertConfig, HubertModel

    results = []
    for fmt, legacy in (("safetensors", True), ("bin", False)):
        folder = tmp_path / f"contentvec-{fmt}"
        sd = make_transformers_hubert(folder, seed=9, fmt=fmt, legacy_weight_norm=legacy)
        embedder = load_embedder(folder)
        model = HubertModel(HubertConfig.from_pretrained(folder)).eval()
        hf = {
            k.replace("conv.weight_g", "conv.parametrizations.weight.original0").replace(
                "conv.weight_v", "conv.parametrizations.weight.original1"
            ): v
            for k, v in sd.items()
            if not k.startswith("final_proj")
        }
        hf.pop("masked_spec_embed", None)
        model.load_state_dict(hf, strict=False)
        final = torch.nn.Linear(*sd["final_proj.weight"].shape[::-1])
        final.load_state_dict({"weight": sd["final_proj.weight"], "bias": sd["final_proj.bias"]})
        with torch.inference_mode():
            out = model(torch.from_numpy(audio)[None], output_hidden_states=True)
            ref1, ref2 = final(out.hidden_states[9])[0].numpy(), out.last_hidden_state[0].numpy()
        np.testing.assert_allclose(embedder.extract(audio, "v1"), ref1, rtol=0, atol=1e-6)
        np.testing.assert_allclose(embedder.extract(audio, "v2"), ref2, rtol=0, atol=1e-6)
        results.append(embedder.extract(audio, "v2"))
    np.testing.assert_array_equal(results[0], results[1])  # same seed, two formats, same model


def test_folder_without_final_proj_serves_v2_only(tmp_path, audio):
    folder = tmp_path / "hubert_base"
    make_transformers_hubert(folder, seed=2, final_proj=False)
    embedder = load_embedder(folder)
    assert embedder.extract(audio, "v2").shape == (49, SIZES["tiny"][0])
    with pytest.raises(RVCError, match="final_proj"):
        embedder.extract(audio, "v1")


@pytest.mark.parametrize("samples", [400, 719, 720, 16001])
def test_frame_count_follows_the_conv_stack(tiny_ckpt, cache_dir, samples):
    embedder = load_embedder(tiny_ckpt[0])
    audio = np.random.default_rng(samples).standard_normal(samples).astype(np.float32) * 0.1
    assert embedder.extract(audio, "v2").shape[0] == (samples - 400) // 320 + 1


def test_bad_inputs_give_clear_errors(tiny_ckpt, cache_dir, tmp_path):
    embedder = load_embedder(tiny_ckpt[0])
    with pytest.raises(RVCError, match="too short"):
        embedder.extract(np.zeros(399, np.float32), "v1")
    with pytest.raises(ValueError, match="mono"):
        embedder.extract(np.zeros((2, 16000), np.float32), "v1")
    with pytest.raises(ValueError, match="v3"):
        embedder.extract(np.zeros(16000, np.float32), "v3")
    junk = tmp_path / "junk.pt"
    for seed in range(20):  # random bytes trip torch's unpickler in many ways: each is one clear line
        junk.write_bytes(random.Random(seed).randbytes(4096))
        with pytest.raises(EmbedderLoadError, match="junk.pt") as error:
            load_embedder(junk)
        assert "\n" not in str(error.value) and "weights_only" not in str(error.value)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(tiny_ckpt[0].read_bytes()[:2000])  # an interrupted download
    with pytest.raises(EmbedderLoadError, match=r"cut\.pt cannot be loaded: the file is incomplete"):
        load_embedder(cut)
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(tiny_ckpt[0].read_bytes())
    flip_bytes(flipped, at=0.6)
    with pytest.raises(EmbedderLoadError, match=r"flipped\.pt cannot be loaded: the file is damaged"):
        load_embedder(flipped)
    with pytest.raises(EmbedderLoadError, match="not found"):
        load_embedder(tmp_path / "missing.pt")
    if not torch.cuda.is_available():
        with pytest.raises(RVCError, match="cuda"):
            load_embedder(tiny_ckpt[0], device="cuda")


def test_real_size_checkpoint_smoke(tmp_path, cache_dir):
    """HuBERT base shapes (95M weights, fp16 like Replay's file): loads and gives RVC's widths."""
    path = tmp_path / "hubert_base.pt"
    make_fairseq_hubert(path, seed=0, size="base")
    # Replay's file is 189,507,909 bytes; ours has the same tensors, so nearly the same size
    assert abs(path.stat().st_size - 189_507_909) / 189_507_909 < 0.01
    embedder = load_embedder(path)
    audio = np.random.default_rng(0).standard_normal(8000).astype(np.float32) * 0.1
    v1, v2 = embedder.extract(audio, "v1"), embedder.extract(audio, "v2")
    assert v1.shape == (24, 256) and v2.shape == (24, 768)
    assert np.isfinite(v1).all() and np.isfinite(v2).all()
    # the 9-layer v1 model shares the full model's weights: no second copy of 95M parameters
    full = {k: p.data_ptr() for k, p in embedder.model.named_parameters()}
    shallow = dict(embedder._v1_model.named_parameters())
    assert len(shallow) > 100 and all(full[k] == p.data_ptr() for k, p in shallow.items())


_THREADED_LOAD = """
import sys, threading
from pathlib import Path
from inference.features import load_embedder
errors = []
def load():
    try:
        load_embedder(Path(sys.argv[1]))
    except Exception as error:
        errors.append(repr(error))
threads = [threading.Thread(target=load) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
sys.exit(1 if errors else 0)
"""


def test_embedders_load_on_several_threads_at_once_in_a_fresh_process(tiny_ckpt, cache_dir):
    # A preview's warm-up and a queued job can import transformers at the same moment; through
    # transformers' lazy top-level module one of them used to fail ("cannot import name
    # 'HubertConfig'"). It needs a process where transformers was never imported.
    import subprocess
    import sys

    path, _ = tiny_ckpt
    env = {**os.environ, "RVC_STUDIO_CACHE_DIR": str(cache_dir.parent)}
    done = subprocess.run(
        [sys.executable, "-c", _THREADED_LOAD, str(path)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
