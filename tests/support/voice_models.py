"""Random-weight RVC voice models in the exact formats users have (RVC_REFERENCE.md §2).

``make_voice_model`` takes the key names and shapes of our generator for a (version, rate, f0,
vocoder) variant, draws weights from a seed and saves them as RVC, Applio or a training run
would: the same keys, config list, metadata and dtypes (Applio's as its ``extract_model`` writes
them, its MRF HiFi-GAN and RefineGAN decoders included). No real model can be downloaded here;
these stand in for them. Helpers at the end write the broken files users also have (corrupt, a
zip that is not a model, a pickle that tries to run code, a RefineGAN from an older Applio).

Weights follow PyTorch's default initialisation (uniform within ``1/sqrt(fan_in)``, embeddings
standard normal), so the audio is finite and far from silent. Weight-norm ``g`` is the norm of
``v`` times a random factor in [0.5, 1.5]: a converter that ignored ``g`` would be caught.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import math
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from inference.models.config import SPEC_CHANNELS, UPSAMPLING, ModelConfig

G_SUFFIX, V_SUFFIX = ".parametrizations.weight.original0", ".parametrizations.weight.original1"
WN_FORMS = {
    "gv": (".weight_g", ".weight_v"),
    "parametrizations": (G_SUFFIX, V_SUFFIX),
}


def config_list(version: str, sample_rate: int, sr_as: str = "str") -> list:
    """The 18-entry ``config`` RVC stores (spk_embed_dim 109, as RVC's own configs say)."""
    rates, kernels = UPSAMPLING[(version, sample_rate)]
    rate: Any = f"{sample_rate // 1000}k" if sr_as == "str" else sample_rate
    return [
        SPEC_CHANNELS[sample_rate],
        32,
        192,
        192,
        768,
        2,
        6,
        3,
        0,
        "1",
        [3, 7, 11],
        [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        list(rates),
        512,
        list(kernels),
        109,
        256,
        rate,
    ]


def model_config(
    version: str = "v2", sample_rate: int = 40000, f0: bool = True, speakers: int = 1, vocoder: str = "HiFi-GAN"
) -> ModelConfig:
    config = ModelConfig.from_list(config_list(version, sample_rate), version, f0, vocoder)
    return ModelConfig.from_dict({**config.to_dict(), "spk_embed_dim": speakers})


@functools.lru_cache(maxsize=16)
def _skeleton(
    version: str, sample_rate: int, f0: bool, speakers: int, with_enc_q: bool, vocoder: str = "HiFi-GAN"
) -> tuple:
    """``((key, shape), ...)`` of the generator (parametrization key form), built once per variant."""
    from inference.synth.torch.convert import build_synthesizer

    config = model_config(version, sample_rate, f0, speakers, vocoder)
    with torch.no_grad(), torch.device("meta"):  # shapes only: no memory, no initialisation
        state = build_synthesizer(config).state_dict()
        shapes = [(k, tuple(v.shape)) for k, v in state.items()]
        if with_enc_q:
            shapes += [(f"enc_q.{k}", tuple(v.shape)) for k, v in posterior_encoder(config).state_dict().items()]
    return tuple(shapes)


def posterior_encoder(config: ModelConfig) -> torch.nn.Module:
    """``enc_q``, the posterior encoder only training checkpoints hold: spectrogram -> latent
    (``pre``, a 16-layer WaveNet ``enc`` with weight norm, ``proj``). Its keys and shapes only."""
    from torch import nn
    from torch.nn.utils.parametrizations import weight_norm

    from inference.synth.torch.modules import WN

    enc_q = nn.Module()
    enc_q.pre = nn.Conv1d(config.spec_channels, config.hidden_channels, 1)
    enc_q.enc = WN(config.hidden_channels, 5, 1, 16, config.gin_channels)
    for module in enc_q.enc.modules():
        if isinstance(module, nn.Conv1d):
            weight_norm(module)
    enc_q.proj = nn.Conv1d(config.hidden_channels, config.inter_channels * 2, 1)
    return enc_q


def _fan_in(shape: tuple[int, ...]) -> int:
    return shape[1] * math.prod(shape[2:]) if len(shape) > 1 else shape[0]


def _fill(shapes: tuple, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    shape_of = dict(shapes)

    def uniform(shape, bound):
        return torch.rand(shape, generator=gen).mul_(2 * bound).sub_(bound)

    out: dict[str, torch.Tensor] = {}
    for key, shape in shapes:
        leaf = key.rsplit(".", 1)[-1]
        if key.endswith(G_SUFFIX):
            continue  # after its v, below
        if leaf == "gamma":
            out[key] = torch.ones(shape)
        elif leaf == "beta":
            out[key] = torch.zeros(shape)
        elif leaf in ("emb_rel_k", "emb_rel_v"):
            out[key] = torch.randn(shape, generator=gen) * shape[-1] ** -0.5
        elif key.endswith(("emb_g.weight", "emb_pitch.weight")):
            out[key] = torch.randn(shape, generator=gen)
        elif leaf == "bias":
            base = key[: -len("bias")]
            weight = shape_of.get(base + "weight") or shape_of.get(base + V_SUFFIX[1:])
            out[key] = uniform(shape, _fan_in(weight) ** -0.5 if weight else 1.0)
        else:
            out[key] = uniform(shape, _fan_in(shape) ** -0.5)
        if key.endswith(V_SUFFIX):
            g_key = key[: -len(V_SUFFIX)] + G_SUFFIX
            v = out[key]
            axes = tuple(a for a, size in enumerate(shape_of[g_key]) if size == 1)
            norm = v.square().sum(dim=axes, keepdim=True).sqrt()
            out[g_key] = norm * (0.5 + torch.rand(norm.shape, generator=gen))
    return {k: out[k] for k, _ in shapes}


def generator_state(
    version: str = "v2",
    sample_rate: int = 40000,
    f0: bool = True,
    *,
    speakers: int = 1,
    seed: int = 0,
    weight_norm: str = "gv",
    with_enc_q: bool = False,
    vocoder: str = "HiFi-GAN",
) -> dict[str, torch.Tensor]:
    """A random generator state dict with the real key names (float32)."""
    state = _fill(_skeleton(version, int(sample_rate), bool(f0), int(speakers), bool(with_enc_q), vocoder), seed)
    g_suffix, v_suffix = WN_FORMS[weight_norm]
    out = {}
    for key, value in state.items():
        key = key.replace(G_SUFFIX, g_suffix).replace(V_SUFFIX, v_suffix)
        out[key] = value
    return out


def make_voice_model(
    path: Path | str,
    version: str = "v2",
    sample_rate: int = 40000,
    f0: bool = True,
    *,
    dtype: str | None = None,
    weight_norm: str = "gv",
    sr_as: str = "str",
    with_config: bool = True,
    layout: str = "rvc",
    vocoder: str | None = None,
    speakers: int = 1,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
    zip_format: bool = True,
) -> Path:
    """Write a random-weight voice model to ``path`` and return it.

    ``layout``: ``"rvc"`` (RVC's small model), ``"applio"`` (the dict Applio's ``extract_model``
    saves: its fields in its order, ``sr`` as an int, no ``info``), ``"training"`` (``G_*.pth``:
    the whole generator with ``enc_q`` under ``"model"``, no config). ``vocoder`` picks the
    decoder's weights (``"HiFi-GAN"``, ``"MRF HiFi-GAN"``, ``"RefineGAN"``); Applio's files and
    any given ``vocoder`` also store it as the ``vocoder`` field. ``dtype`` is the stored
    precision (default float16 for Applio's, as it saves them, else float32; RVC saves float16).
    ``extra`` is merged into the saved dict last (a key set to None is removed).
    ``zip_format=False`` writes PyTorch's legacy (pre-1.6, non-zip) format, which old models use.
    """
    if layout not in ("rvc", "applio", "training"):
        raise ValueError(f"unknown layout {layout!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = generator_state(
        version,
        sample_rate,
        f0,
        speakers=speakers,
        seed=seed,
        weight_norm=weight_norm,
        with_enc_q=layout == "training",
        vocoder=vocoder or "HiFi-GAN",
    )
    target = getattr(torch, dtype or ("float16" if layout == "applio" else "float32"))
    state = {k: v.to(target) if v.is_floating_point() else v for k, v in state.items()}
    if layout == "training":
        data: dict[str, Any] = {
            "model": state,
            "iteration": 2333,
            "learning_rate": 1e-4,
            "optimizer": {"state": {}, "param_groups": []},
        }
    elif layout == "applio":
        data = applio_fields(state, path.stem, version, sample_rate, f0, vocoder or "HiFi-GAN", speakers)
    else:
        data = {
            "weight": state,
            "info": "300epoch",
            "sr": f"{sample_rate // 1000}k" if sr_as == "str" else sample_rate,
            "f0": int(f0),
            "version": version,
        }
        if with_config:
            data["config"] = config_list(version, sample_rate, sr_as)
        if vocoder is not None:
            data["vocoder"] = vocoder
    if not with_config:
        data.pop("config", None)
    for key, value in (extra or {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    torch.save(data, path, _use_new_zipfile_serialization=zip_format)
    return path


def applio_fields(
    state: dict[str, torch.Tensor], name: str, version: str, rate: int, f0: bool, vocoder: str, speakers: int
) -> dict[str, Any]:
    """The dict Applio's ``extract_model`` saves (rvc/train/process/extract_model.py, 2026), in its
    order: ``model_hash`` is its hash of the run's name and numbers, not of the weights."""
    config = config_list(version, rate, "int")
    epoch, step = 300, 12345
    data: dict[str, Any] = OrderedDict()
    data["weight"] = state
    data["config"] = config
    data["epoch"] = epoch
    data["step"] = step
    data["sr"] = rate
    data["f0"] = bool(f0)
    data["version"] = version
    data["creation_date"] = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901).isoformat()
    data["model_hash"] = hashlib.sha256(f"{name}-{epoch}-{step}-{rate}-{version}-{config}".encode()).hexdigest()
    data["dataset_length"] = 1234.5
    data["model_name"] = name
    data["author"] = "RVC Studio tests"
    data["embedder_model"] = "contentvec"
    data["speakers_id"] = speakers
    data["vocoder"] = vocoder
    return data


# -- broken files ---------------------------------------------------------------------------------


def make_corrupt_model(path: Path | str, source: Path | str | None = None) -> Path:
    """A truncated ``.pth``: the first half of ``source`` (or of a small tensor file)."""
    path = Path(path)
    if source is None:
        torch.save({"weight": {"x": torch.zeros(1000)}}, path)
        source = path
    data = Path(source).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def flip_bytes(path, at: float = 0.5, count: int = 64) -> None:
    """Corrupt ``count`` bytes ``at`` a fraction of the file (a bad disk, a broken transfer)."""
    data = bytearray(path.read_bytes())
    start = int(len(data) * at)
    data[start : start + count] = bytes(255 - b for b in data[start : start + count])
    path.write_bytes(bytes(data))


def make_non_model_zip(path: Path | str) -> Path:
    """A valid zip archive with no PyTorch data inside (a user's zipped folder, say)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
        archive.writestr("model/notes.json", "{}")
    return path


class _RunsCode:
    """Unpickling this calls ``open(marker, "w")``, creating the file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def make_malicious_model(path: Path | str, marker: Path | str, *, zip_format: bool = True) -> Path:
    """A model-looking file whose pickle would create ``marker`` if it were ever executed."""
    path = Path(path)
    data = {
        "weight": {"enc_p.emb_phone.weight": torch.zeros(192, 768)},
        "config": config_list("v2", 40000),
        "payload": _RunsCode(Path(marker)),
    }
    torch.save(data, path, _use_new_zipfile_serialization=zip_format)  # False: PyTorch's legacy format
    return path


def make_old_refinegan(path: Path | str, sample_rate: int = 40000, seed: int = 0) -> Path:
    """A RefineGAN model as Applio saved them from March to August 2025 (its "Gen C" layout):
    ``pre_conv`` 1 -> 256 at the sample rate and strided ``downsample_blocks`` 1 -> 512/2^(i+2)
    (kernel 2 * the rates still to come), where the current layout has 1 -> 16 and 16*2^i ->
    32*2^i with kernel 7; the other keys are as now. Current Applio cannot load it either."""
    path = Path(path)
    state = generator_state("v2", sample_rate, True, seed=seed, vocoder="RefineGAN")
    gen = torch.Generator().manual_seed(seed)
    rates = UPSAMPLING[("v2", sample_rate)][0]

    def normed(name: str, *v: int) -> None:
        weight = torch.rand(v, generator=gen) - 0.5
        state[f"{name}.weight_v"] = weight
        state[f"{name}.weight_g"] = weight.square().sum(dim=(1, 2), keepdim=True).sqrt()
        state[f"{name}.bias"] = torch.zeros(v[0])

    normed("dec.pre_conv", 256, 1, 7)
    for i in range(4):
        stride = math.prod(rates[i + 1 :])
        normed(f"dec.downsample_blocks.{i}", 128 >> i, 1, 2 * stride if stride > 1 else 1)
    state = {k: v.half() for k, v in state.items()}
    data = applio_fields(state, path.stem, "v2", sample_rate, True, "RefineGAN", 1)
    data["creation_date"] = datetime.datetime(2025, 5, 6, 7, 8, 9).isoformat()
    torch.save(data, path)
    return path
