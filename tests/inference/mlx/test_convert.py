"""The converter: weight-norm folding, transposes by layer type, and strict key checks.

Checkpoints are random-weight files in the real formats (tests/factories.py) read by the
project's checkpoint reader, exactly as users' files are.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_mlx, import_torch

mx = import_mlx()
torch = import_torch()

from inference.mlx.convert import convert_state_dict, load_arrays  # noqa: E402
from inference.mlx.synthesizers import Synthesizer  # noqa: E402
from inference.models.checkpoint import load_checkpoint  # noqa: E402
from inference.models.state import WeightsMismatchError, fold_weight_norm, to_numpy  # noqa: E402
from tests.support.voice_models import make_voice_model  # noqa: E402


@pytest.fixture(scope="module")
def v2_file(tmp_path_factory):
    return make_voice_model(tmp_path_factory.mktemp("conv") / "v2.pth", version="v2", sample_rate=40000, seed=1)


@pytest.fixture(scope="module")
def v2(v2_file):
    config, state_dict, _info = load_checkpoint(v2_file)
    return config, state_dict


def test_every_weight_converts_with_its_layer_transpose(v2) -> None:
    config, sd = v2
    model = Synthesizer(config)
    arrays = convert_state_dict(sd, model)
    # a ConvTranspose1d: torch (in, out, k) -> MLX (out, k, in), g per input channel
    up = fold_weight_norm(to_numpy(sd["dec.ups.0.weight_g"]), to_numpy(sd["dec.ups.0.weight_v"]))
    np.testing.assert_array_equal(arrays["dec.ups.0.weight"], up.transpose(1, 2, 0).astype(np.float32))
    # a weight-normed Conv1d: (out, in, k) -> (out, k, in)
    name = "dec.resblocks.4.convs1.2"
    c1 = fold_weight_norm(to_numpy(sd[name + ".weight_g"]), to_numpy(sd[name + ".weight_v"]))
    np.testing.assert_array_equal(arrays[name + ".weight"], c1.transpose(0, 2, 1).astype(np.float32))
    # a plain Conv1d, a Linear, an Embedding and a relative-position table
    np.testing.assert_array_equal(arrays["dec.conv_pre.weight"], to_numpy(sd["dec.conv_pre.weight"]).transpose(0, 2, 1))
    np.testing.assert_array_equal(arrays["enc_p.emb_phone.weight"], to_numpy(sd["enc_p.emb_phone.weight"]))
    np.testing.assert_array_equal(arrays["emb_g.weight"], to_numpy(sd["emb_g.weight"]))
    key = "enc_p.encoder.attn_layers.0.emb_rel_k"
    np.testing.assert_array_equal(arrays[key], to_numpy(sd[key]))
    assert all(a.dtype == np.float32 for a in arrays.values())
    load_arrays(model, arrays)  # strict load accepts the full set


def test_unknown_key_is_an_error_naming_it(v2) -> None:
    config, sd = v2
    bad = dict(sd)
    bad["dec.extra_layer.weight"] = torch.zeros(3)
    with pytest.raises(WeightsMismatchError, match="dec.extra_layer.weight"):
        convert_state_dict(bad, Synthesizer(config))


def test_missing_key_is_an_error_naming_it(v2) -> None:
    config, sd = v2
    bad = {k: v for k, v in sd.items() if k != "dec.conv_post.weight"}
    with pytest.raises(WeightsMismatchError, match="dec.conv_post.weight"):
        convert_state_dict(bad, Synthesizer(config))


def test_half_a_weight_norm_pair_is_an_error(v2) -> None:
    config, sd = v2
    bad = {k: v for k, v in sd.items() if k != "flow.flows.2.enc.in_layers.1.weight_v"}
    with pytest.raises(WeightsMismatchError, match="flow.flows.2.enc.in_layers.1"):
        convert_state_dict(bad, Synthesizer(config))


def test_wrong_shape_is_an_error_naming_it(v2) -> None:
    config, sd = v2
    bad = dict(sd)
    bad["enc_p.proj.weight"] = torch.zeros(10, 192, 1)
    with pytest.raises(WeightsMismatchError, match="enc_p.proj.weight"):
        convert_state_dict(bad, Synthesizer(config))


def test_both_weight_norm_storages_convert_alike(tmp_path, v2) -> None:
    config, sd = v2
    other = make_voice_model(
        tmp_path / "param.pth", version="v2", sample_rate=40000, seed=1, weight_norm="parametrizations"
    )
    config2, sd2, _ = load_checkpoint(other)
    a = convert_state_dict(sd, Synthesizer(config))
    b = convert_state_dict(sd2, Synthesizer(config2))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-6, atol=1e-7, err_msg=key)


def test_training_checkpoint_drops_the_posterior_encoder(tmp_path) -> None:
    path = make_voice_model(tmp_path / "G_100.pth", version="v1", sample_rate=32000, layout="training", seed=2)
    config, sd, _ = load_checkpoint(path)
    arrays = convert_state_dict(sd, Synthesizer(config))
    assert not any(k.startswith("enc_q.") for k in arrays)


def test_fold_uses_float64_then_casts(v2) -> None:
    """fp16 checkpoints: folding in fp16 would differ from the float64 fold beyond fp32 rounding."""
    _, sd = v2
    g, v = to_numpy(sd["dec.ups.1.weight_g"]), to_numpy(sd["dec.ups.1.weight_v"])
    exact = fold_weight_norm(g, v)
    norm = np.sqrt((v.astype(np.float64) ** 2).sum(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(exact, g.astype(np.float64) * v / norm, rtol=1e-12)
