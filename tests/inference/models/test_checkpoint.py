"""The checkpoint reader on random-weight files in every real layout (tests/factories.py).

RVC's small model (fp16, ``weight_g``/``weight_v``, ``sr`` "40k"), the same with
``parametrizations.weight.original0/1`` and ``sr`` as an int, Applio's layout, training
checkpoints without a config (derived from the weights), Applio's three vocoders (told by
their keys), unsupported vocoders and layouts, and the broken or hostile files users meet: each
gives a one-line CheckpointError naming the file.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from inference.models.checkpoint import (
    UPSAMPLING,
    CheckpointError,
    ModelConfig,
    UnsupportedModelError,
    derive_config,
    load_checkpoint,
    parse_rate,
    read_model_info,
)
from inference.synth.torch.convert import build_synthesizer, parametrization_keys
from tests.support.voice_models import (
    _skeleton,
    config_list,
    flip_bytes,
    generator_state,
    make_corrupt_model,
    make_malicious_model,
    make_non_model_zip,
    make_old_refinegan,
    make_voice_model,
    model_config,
)

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("checkpoints")
    return {
        "rvc": make_voice_model(d / "Singer 40k.pth", "v2", 40000, True, dtype="float16", seed=1),
        "param": make_voice_model(
            d / "v1_nof0.pth", "v1", 32000, False, weight_norm="parametrizations", sr_as="int", seed=2
        ),
        "applio": make_voice_model(d / "applio.pth", "v2", 48000, True, layout="applio", dtype="float16", seed=3),
        "training": make_voice_model(d / "G_2333.pth", "v1", 48000, True, layout="training", seed=4),
    }


def _one_line(error: pytest.ExceptionInfo, name: str) -> str:
    text = str(error.value)
    assert "\n" not in text and name in text, text
    return text


def test_rvc_small_model(files) -> None:
    path = files["rvc"]
    info = read_model_info(path)
    assert (info.version, info.sample_rate, info.f0, info.speakers) == ("v2", 40000, True, 1)
    assert (info.epochs, info.info, info.vocoder, info.has_config) == (300, "300epoch", "HiFi-GAN", True)
    assert info.dtype == "float16" and info.size_bytes == path.stat().st_size and info.path == path
    assert info.author is None and info.embedder_model is None
    config, sd, info2 = load_checkpoint(path)
    expected = ModelConfig.from_list(config_list("v2", 40000), "v2", True)
    assert config == ModelConfig.from_dict({**expected.to_dict(), "spk_embed_dim": 1})  # rows of emb_g, not 109
    assert info2 == info
    raw = torch.load(path, weights_only=True)["weight"]
    assert set(sd) == set(raw)  # stored names kept: weight_g / weight_v
    assert all(v.dtype == torch.float32 for v in sd.values())
    key = "dec.ups.0.weight_v"
    assert torch.equal(sd[key], raw[key].float())


@pytest.mark.parametrize("name", ["rvc", "param", "applio", "training"])
def test_state_dict_loads_strictly_into_the_built_synthesizer(files, name) -> None:
    config, sd, _ = load_checkpoint(files[name])
    assert not any(k.startswith("enc_q.") for k in sd)
    result = build_synthesizer(config).load_state_dict(parametrization_keys(sd), strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_parametrizations_form_and_int_rate(files) -> None:
    info = read_model_info(files["param"])
    assert (info.version, info.sample_rate, info.f0, info.dtype) == ("v1", 32000, False, "float32")
    config, sd, _ = load_checkpoint(files["param"])
    assert config.hop == 320 and config.feature_dim == 256
    assert "dec.ups.0.parametrizations.weight.original1" in sd and "enc_p.emb_pitch.weight" not in sd


def test_legacy_pytorch_format(tmp_path) -> None:
    path = make_voice_model(tmp_path / "old.pth", "v1", 32000, False, seed=2, zip_format=False, dtype="float16")
    info = read_model_info(path)  # not a zip: read without mmap
    assert (info.version, info.sample_rate, info.f0, info.dtype) == ("v1", 32000, False, "float16")
    config, sd, _ = load_checkpoint(path)
    assert config == model_config("v1", 32000, False) and sd["emb_g.weight"].dtype == torch.float32


def test_both_weight_norm_forms_give_the_same_model(tmp_path) -> None:
    from inference.synth.torch.convert import load_synthesizer

    _, a = load_synthesizer(make_voice_model(tmp_path / "gv.pth", "v1", 32000, False, seed=7, weight_norm="gv"))
    _, b = load_synthesizer(
        make_voice_model(tmp_path / "p.pth", "v1", 32000, False, seed=7, weight_norm="parametrizations")
    )
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and "dec.ups.0.weight" in sa  # folded: plain weights
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_applio_layout(files) -> None:
    info = read_model_info(files["applio"])
    assert (info.version, info.sample_rate, info.f0) == ("v2", 48000, True)
    assert (info.author, info.embedder_model, info.vocoder, info.epochs) == (
        "RVC Studio tests",
        "contentvec",
        "HiFi-GAN",
        300,
    )
    config, _, _ = load_checkpoint(files["applio"])
    assert config.upsample_rates == (12, 10, 2, 2) and config.hop == 480


def test_training_checkpoint_config_is_derived(files) -> None:
    info = read_model_info(files["training"])
    assert not info.has_config and info.epochs is None
    config, sd, _ = load_checkpoint(files["training"])
    # v1 32k and v1 48k share kernel sizes: enc_q's spectrogram width (1025) tells them apart
    assert config == model_config("v1", 48000, True)


def _shapes_only(version: str, rate: int, f0: bool, with_enc_q: bool) -> dict[str, torch.Tensor]:
    """A state dict with the real keys and shapes (no data) in the stored ``weight_g/v`` form."""
    out = {}
    for key, shape in _skeleton(version, rate, f0, 3, with_enc_q):
        key = key.replace(".parametrizations.weight.original0", ".weight_g")
        out[key.replace(".parametrizations.weight.original1", ".weight_v")] = torch.empty(shape, device="meta")
    return out


@pytest.mark.parametrize("f0", [True, False], ids=["f0", "nof0"])
@pytest.mark.parametrize("version,rate", sorted(UPSAMPLING), ids=[f"{v}-{r // 1000}k" for v, r in sorted(UPSAMPLING)])
def test_config_derived_from_weights_for_every_variant(version, rate, f0) -> None:
    state = _shapes_only(version, rate, f0, with_enc_q=True)
    assert derive_config(state, {}, "G_1.pth") == model_config(version, rate, f0, speakers=3)


def test_derivation_without_enc_q_uses_the_name_or_sr_and_names_what_is_missing() -> None:
    state = _shapes_only("v1", 32000, True, with_enc_q=False)  # kernels fit both v1 32k and 48k
    with pytest.raises(CheckpointError, match="f0G_base.pth.*both 32k and 48k"):
        derive_config(state, {}, "f0G_base.pth")
    assert derive_config(state, {}, "f0G32k.pth").sample_rate == 32000
    assert derive_config(state, {"sr": "48k"}, "base.pth").upsample_rates == (10, 6, 2, 2, 2)
    # v2 32k's kernels are its own: no hint needed
    assert derive_config(_shapes_only("v2", 32000, False, False), {}, "x.pth").sample_rate == 32000
    with pytest.raises(CheckpointError, match="x.pth.*emb_phone"):
        derive_config({k: v for k, v in state.items() if not k.startswith("enc_p.emb_phone")}, {}, "x.pth")
    odd = {k: v for k, v in state.items() if not k.startswith(("dec.ups.3", "dec.ups.4"))}
    with pytest.raises(CheckpointError, match=r"x.pth.*\[16, 16, 4\].*no known sample rate"):
        derive_config(odd, {}, "x.pth")


def test_ambiguous_file_without_config_is_one_clear_error(tmp_path) -> None:
    state = generator_state("v1", 32000, True, seed=0)
    torch.save({"weight": state, "info": "0epoch"}, tmp_path / "mystery.pth")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "mystery.pth")
    assert "no config" in _one_line(error, "mystery.pth")
    torch.save({"weight": state, "sr": 32000}, tmp_path / "hinted.pth")
    assert read_model_info(tmp_path / "hinted.pth").sample_rate == 32000


def test_rates_and_config_dicts() -> None:
    assert [parse_rate(v) for v in ("40k", "48K", "32000", 40000, 48000.0)] == [40000, 48000, 32000, 40000, 48000]
    a = ModelConfig.from_list(config_list("v2", 32000, "str"), "v2", True)
    b = ModelConfig.from_list(config_list("v2", 32000, "int"), "v2", True)
    assert a == b and a.sample_rate == 32000 and a.hop == 320 and a.feature_dim == 768
    assert ModelConfig.from_dict(json.loads(json.dumps(a.to_dict()))) == a
    assert isinstance(a.resblock_dilation_sizes[0], tuple)
    with pytest.raises(ValueError, match="18"):
        ModelConfig.from_list(config_list("v2", 32000)[:17], "v2", True)


def _tiny(path: Path, **data) -> Path:
    """A small file in RVC's layout whose generator weights are a stand-in (for the error paths)."""
    weight = {"enc_p.emb_phone.weight": torch.zeros(192, 768)}
    torch.save({"weight": weight, "config": config_list("v2", 40000), "version": "v2", **data}, path)
    return path


@pytest.mark.parametrize("vocoder", ["BigVGAN", "HiFi-GAN v3"])
def test_unsupported_vocoder_is_named(tmp_path, vocoder) -> None:
    path = _tiny(tmp_path / "applio_other.pth", vocoder=vocoder)
    for reader in (read_model_info, load_checkpoint):
        with pytest.raises(UnsupportedModelError) as error:
            reader(path)
        assert _one_line(error, "applio_other.pth") == (
            f"applio_other.pth: unsupported vocoder {vocoder}: only HiFi-GAN, MRF HiFi-GAN and RefineGAN "
            "models can be converted"
        )


def test_older_refinegan_layout_is_refused_in_one_line(tmp_path) -> None:
    path = make_old_refinegan(tmp_path / "robot.pth")
    for reader in (read_model_info, load_checkpoint):
        with pytest.raises(UnsupportedModelError) as error:
            reader(path)
        assert _one_line(error, "robot.pth") == (
            "robot.pth: a RefineGAN model from an older Applio (before August 2025), in a layout that current "
            "Applio cannot run either"
        )
    state = torch.load(path, weights_only=True)["weight"]  # the older layouts' own keys say it too
    state = {k: v for k, v in state.items() if not k.startswith(("dec.pre_conv", "dec.downsample_blocks"))}
    state["dec.source_conv.weight"] = torch.zeros(16, 1, 7)
    torch.save({"weight": state, "config": config_list("v2", 40000), "version": "v2"}, tmp_path / "older.pth")
    with pytest.raises(UnsupportedModelError, match="older.pth: a RefineGAN model from an older Applio"):
        read_model_info(tmp_path / "older.pth")


@pytest.mark.parametrize("vocoder", ["MRF HiFi-GAN", "RefineGAN"])
def test_applio_vocoders_are_read_and_told_by_their_keys(tmp_path, vocoder) -> None:
    applio = make_voice_model(tmp_path / "a.pth", "v2", 32000, layout="applio", vocoder=vocoder, seed=1)
    config, state, info = load_checkpoint(applio)
    assert (config.vocoder, info.vocoder, config.hop, config.upsample_rates) == (vocoder, vocoder, 320, (10, 8, 2, 2))
    result = build_synthesizer(config).load_state_dict(parametrization_keys(state), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # no vocoder field (RVC's layout, or a field spelled otherwise): the keys say which it is
    unnamed = make_voice_model(tmp_path / "u.pth", "v2", 32000, vocoder=vocoder, extra={"vocoder": None}, seed=1)
    assert read_model_info(unnamed).vocoder == vocoder
    spelled = vocoder.lower().replace("-", "").replace(" ", "_")
    other = make_voice_model(tmp_path / "s.pth", "v2", 32000, vocoder=vocoder, extra={"vocoder": spelled})
    assert read_model_info(other).vocoder == vocoder
    # a field that contradicts the weights is a broken file, said in one line
    wrong = make_voice_model(tmp_path / "w.pth", "v2", 32000, extra={"vocoder": vocoder})
    with pytest.raises(CheckpointError) as error:
        read_model_info(wrong)
    message = f"w.pth: its vocoder field says {vocoder} but its weights are a HiFi-GAN decoder"
    assert _one_line(error, "w.pth") == message


@pytest.mark.parametrize("vocoder", ["MRF HiFi-GAN", "RefineGAN"])
def test_training_checkpoints_carry_no_vocoder_field(tmp_path, vocoder) -> None:
    """G_*.pth: the keys tell the decoder; MRF's kernels tell the rate, RefineGAN's weights do
    not (the same at every rate): enc_q's width narrows it to 24k or 32k, the name decides."""
    path = make_voice_model(tmp_path / "G_2333.pth", "v2", 32000, layout="training", vocoder=vocoder, seed=2)
    assert "vocoder" not in torch.load(path, weights_only=True)
    if vocoder == "MRF HiFi-GAN":
        assert load_checkpoint(path)[0] == model_config("v2", 32000, vocoder=vocoder)
        return
    with pytest.raises(CheckpointError) as error:
        read_model_info(path)
    assert _one_line(error, "G_2333.pth") == (
        "G_2333.pth: no config, and its RefineGAN decoder fits both 24k and 32k; put the rate in the file "
        "name (e.g. 48k)"
    )
    path.rename(tmp_path / "G_32k_2333.pth")
    config, _, info = load_checkpoint(tmp_path / "G_32k_2333.pth")
    assert config == model_config("v2", 32000, vocoder=vocoder) and not info.has_config


def test_what_applio_cannot_build_is_refused(tmp_path) -> None:
    no_f0 = make_voice_model(tmp_path / "nof0.pth", "v2", 40000, False, layout="applio", vocoder="RefineGAN")
    with pytest.raises(UnsupportedModelError, match="nof0.pth: a RefineGAN model without pitch guidance"):
        read_model_info(no_f0)
    withdrawn = _tiny(tmp_path / "mrf44k.pth", vocoder="MRF HiFi-GAN")
    data = torch.load(withdrawn, weights_only=True)
    data["config"][12] = [10, 10, 2.205, 2]
    data["config"][17] = 44100
    torch.save(data, withdrawn)
    with pytest.raises(UnsupportedModelError) as error:
        read_model_info(withdrawn)
    assert "[10, 10, 2.205, 2] are not whole numbers" in _one_line(error, "mrf44k.pth")


def test_hifigan_spelled_otherwise_is_supported(tmp_path) -> None:
    path = make_voice_model(tmp_path / "m.pth", "v1", 32000, False, extra={"vocoder": "hifigan"})
    assert read_model_info(path).vocoder == "HiFi-GAN"


def test_config_that_contradicts_the_weights(tmp_path) -> None:
    weight = {"enc_p.emb_phone.weight": torch.zeros(192, 768)}
    weight.update({f"dec.ups.{i}.weight_v": torch.zeros(1, 1, k) for i, k in enumerate((16, 16, 4, 4))})
    torch.save({"weight": weight, "config": config_list("v2", 48000), "version": "v2"}, tmp_path / "odd.pth")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "odd.pth")
    assert "[24, 20, 4, 4]" in _one_line(error, "odd.pth")


def test_broken_files_are_clear_errors(tmp_path, files) -> None:
    cases = {
        "truncated.pth": lambda p: make_corrupt_model(p, files["param"]),
        "random.pth": lambda p: p.write_bytes(random.Random(7).randbytes(4096)),
        "empty.pth": lambda p: p.write_bytes(b""),
        "folder.zip.pth": make_non_model_zip,
        "list.pth": lambda p: torch.save([1, 2, 3], p),
        "other.pth": lambda p: torch.save({"state_dict": {"conv.weight": torch.zeros(2)}}, p),
        "rmvpe_like.pth": lambda p: torch.save({"weight": {"unet.conv.weight": torch.zeros(2)}}, p),
    }
    messages = {}
    for name, write in cases.items():
        path = tmp_path / name
        write(path)
        for reader in (read_model_info, load_checkpoint):
            with pytest.raises(CheckpointError) as error:
                reader(path)
            messages[name] = _one_line(error, name)
    assert "empty" in messages["empty.pth"]
    assert messages["truncated.pth"] == (
        "truncated.pth: the file is incomplete (cut short, as by an interrupted "
        "download or copy); download or copy it again"
    )
    assert "corrupt or not a PyTorch file" in messages["random.pth"]
    flipped = tmp_path / "flipped.pth"
    flipped.write_bytes(files["param"].read_bytes())
    flip_bytes(flipped, at=0.6)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(flipped)  # the listing may read only the structure; a conversion reads it all
    assert _one_line(error, "flipped.pth").startswith("flipped.pth: the file is damaged (")
    ckpt = torch.load(files["param"], weights_only=True)
    key = next(k for k in ckpt["weight"] if k.startswith("dec.ups.1"))
    ckpt["weight"][key].view(-1)[3] = float("nan")  # a training run that diverged
    torch.save(ckpt, tmp_path / "diverged.pth")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "diverged.pth")
    assert _one_line(error, "diverged.pth") == (
        f"diverged.pth: the model is broken: NaN or infinite values in 1 of its weights ({key})"
    )
    assert "zip archive that is not a PyTorch model" in messages["folder.zip.pth"]
    for name in ("list.pth", "other.pth", "rmvpe_like.pth"):
        assert "not an RVC voice model" in messages[name]
    with pytest.raises(CheckpointError, match="not found"):
        read_model_info(tmp_path / "missing.pth")


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy-pickle"])
def test_code_in_a_pickle_is_never_run(tmp_path, zip_format) -> None:
    marker = tmp_path / "payload-ran"
    path = make_malicious_model(tmp_path / "evil.pth", marker, zip_format=zip_format)
    for reader in (read_model_info, load_checkpoint):
        with pytest.raises(CheckpointError) as error:
            reader(path)
        assert "refused" in _one_line(error, "evil.pth")
        assert not marker.exists()
    # the payload is real: an unrestricted load runs it (so the check above has teeth)
    torch.load(path, weights_only=False)
    assert marker.exists()


PROBE = """
import sys
from inference.models.checkpoint import load_checkpoint, read_model_info
import torch
def peak_mb():  # this process's own peak RSS (ru_maxrss would include the parent's, kept across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = peak_mb()
info = read_model_info(sys.argv[1])
after_info = peak_mb()
config, sd, _ = load_checkpoint(sys.argv[1])
print(after_info - base, peak_mb() - after_info)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from Linux's /proc")
def test_model_info_maps_the_weights_without_reading_them(files) -> None:
    """Peak memory: the info read stays far below the weights' size; a full load does not."""
    path = files["applio"]  # 58 MB of fp16 weights, 116 MB once loaded as fp32
    size_mb = path.stat().st_size / 2**20
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    info_mb, load_mb = map(float, proc.stdout.split())
    assert info_mb < 0.2 * size_mb, f"read_model_info raised peak memory by {info_mb:.0f} MB"
    assert load_mb > size_mb, f"load_checkpoint raised it by only {load_mb:.0f} MB: the probe measures nothing"
