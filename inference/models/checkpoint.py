"""Reading RVC voice-model checkpoints (``.pth``) safely: config, metadata and generator weights.

Every file is opened with ``torch.load(..., weights_only=True)``: a model from the internet can
hold a pickle that runs code, and the restricted unpickler refuses anything but tensors and
plain containers. Three layouts are understood (RVC_REFERENCE.md §2):

- RVC's small model: ``{"weight": state_dict, "config": [18 values], "sr", "f0", "version", "info"}``;
- Applio's, the same plus ``vocoder``, ``embedder_model``, ``author``, ``epoch``, ``speakers_id``...;
- training checkpoints (``G_*.pth``) and pretrained bases (``f0G40k.pth``):
  ``{"model": state_dict, "iteration", ...}`` without a config, which is derived from the weights.

:func:`read_model_info` is the light read the model library uses (memory-mapped: weights are
not read); :func:`load_checkpoint` returns what a synthesizer needs.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError

SUPPORTED_VOCODERS = ("HiFi-GAN",)

# Upsampling of each (version, rate) the public implementation trains (§2's table). The kernel
# sizes are stored in the weights, the rates (strides) are not: they are looked up here.
UPSAMPLING: dict[tuple[str, int], tuple[tuple[int, ...], tuple[int, ...]]] = {
    ("v1", 32000): ((10, 4, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v1", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v1", 48000): ((10, 6, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v2", 32000): ((10, 8, 2, 2), (20, 16, 4, 4)),
    ("v2", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v2", 48000): ((12, 10, 2, 2), (24, 20, 4, 4)),
}
TRAINING_ONLY_PREFIXES = ("enc_q.",)  # the posterior encoder: training checkpoints only
SPEC_CHANNELS = {32000: 513, 40000: 1025, 48000: 1025}
FEATURE_DIMS = {"v1": 256, "v2": 768}


class CheckpointError(RVCError):
    """A file that cannot be read as an RVC voice model; the message names the file."""


class UnsupportedModelError(CheckpointError):
    """A readable voice model this app cannot synthesize with (another vocoder, say)."""


@dataclass(frozen=True)
class ModelConfig:
    """The generator's hyper-parameters (the checkpoint's ``config`` list, named)."""

    version: str
    sample_rate: int
    f0: bool
    spec_channels: int = 1025
    segment_size: int = 32
    inter_channels: int = 192
    hidden_channels: int = 192
    filter_channels: int = 768
    n_heads: int = 2
    n_layers: int = 6
    kernel_size: int = 3
    p_dropout: float = 0.0
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (10, 10, 2, 2)
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    spk_embed_dim: int = 109
    gin_channels: int = 256

    @property
    def feature_dim(self) -> int:
        """Width of the content features the model takes: 256 (v1) or 768 (v2)."""
        return FEATURE_DIMS[self.version]

    @property
    def hop(self) -> int:
        """Output samples per feature frame (the product of the upsampling rates)."""
        return math.prod(self.upsample_rates)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        return cls(**_normalised(values))

    @classmethod
    def from_list(cls, values: list | tuple, version: str, f0: bool) -> ModelConfig:
        """From the checkpoint's 18-entry ``config`` list (the last is the rate: ``"40k"`` or 40000)."""
        if len(values) != 18:
            raise ValueError(f"config has {len(values)} entries, expected 18")
        names = [f.name for f in dataclasses.fields(cls)][3:]  # after version, sample_rate, f0
        fields = dict(zip(names, values[:17]))
        return cls(version=version, sample_rate=parse_rate(values[17]), f0=f0, **_normalised(fields))


@dataclass
class ModelInfo:
    """What the library shows about a model, read without loading its weights."""

    path: Path
    version: str
    sample_rate: int
    f0: bool
    speakers: int
    epochs: int | None = None
    info: str = ""
    author: str | None = None
    embedder_model: str | None = None
    embedder_model_custom: str | None = None
    vocoder: str = "HiFi-GAN"
    has_config: bool = True
    dtype: str = "float32"
    size_bytes: int = 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("resblock_kernel_sizes", "upsample_rates", "upsample_kernel_sizes"):
        if key in out:
            out[key] = tuple(int(v) for v in out[key])
    if "resblock_dilation_sizes" in out:
        out["resblock_dilation_sizes"] = tuple(tuple(int(d) for d in row) for row in out["resblock_dilation_sizes"])
    if "resblock" in out:
        out["resblock"] = str(out["resblock"])
    for key in (
        "spec_channels",
        "segment_size",
        "inter_channels",
        "hidden_channels",
        "filter_channels",
        "n_heads",
        "n_layers",
        "kernel_size",
        "upsample_initial_channel",
        "spk_embed_dim",
        "gin_channels",
    ):
        if key in out:
            out[key] = int(out[key])
    if "p_dropout" in out:
        out["p_dropout"] = float(out["p_dropout"])
    return out


def parse_rate(value: Any) -> int:
    """``"40k"`` / ``"40000"`` / ``40000`` -> 40000."""
    if isinstance(value, bool):
        raise ValueError(f"not a sample rate: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    if text.endswith("k"):
        return int(float(text[:-1]) * 1000)
    return int(float(text))


# -- opening files -------------------------------------------------------------------------------


def _torch_load(path: Path, mmap: bool) -> Any:
    """``torch.load`` with the restricted unpickler; every failure becomes a CheckpointError."""
    from inference.core.runtime import import_torch
    from inference.models.load_errors import describe_load_error

    torch = import_torch()
    name = path.name
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{name}: the file is empty")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=bool(mmap and zipfile.is_zipfile(path)))
    except Exception as error:  # noqa: BLE001 - a hostile or odd file never yields a traceback
        failure = describe_load_error(path, error)
    if failure.refused:
        raise CheckpointError(f"{name}: refused to load: {failure.reason}, so it is not a plain RVC voice model")
    raise CheckpointError(f"{name}: {failure.reason}")


def _is_tensor(value: Any) -> bool:
    """A torch tensor, or the shape-and-dtype stand-in of :mod:`inference.models.structure`."""
    return hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "is_floating_point")


def _split(data: Any, name: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``(state_dict, metadata, layout)`` from a loaded checkpoint."""
    if not isinstance(data, dict):
        raise CheckpointError(f"{name}: not an RVC voice model (the file holds a {type(data).__name__}, not a dict)")
    if isinstance(data.get("weight"), dict):
        state, meta, layout = data["weight"], data, "rvc"
    elif isinstance(data.get("model"), dict):
        state, meta, layout = data["model"], {k: v for k, v in data.items() if k != "model"}, "training"
    elif "enc_p.emb_phone.weight" in data:
        return data, {}, "state_dict"
    else:
        keys = ", ".join(sorted(map(str, data))[:6])
        raise CheckpointError(f"{name}: not an RVC voice model (no generator weights; keys: {keys})")
    if "enc_p.emb_phone.weight" not in state:  # another network's weights (an embedder, a pitch model)
        raise CheckpointError(
            f"{name}: not an RVC voice model (its {len(state)} weights have no enc_p.emb_phone.weight)"
        )
    return state, meta, layout


def _weight_shape(state: dict[str, Any], key: str) -> tuple[int, ...] | None:
    for candidate in (
        key,
        key[: -len(".weight")] + ".weight_v",
        key[: -len(".weight")] + ".parametrizations.weight.original1",
    ):
        value = state.get(candidate)
        if _is_tensor(value):
            return tuple(value.shape)
    return None


def _version_from_weights(state: dict[str, Any]) -> str | None:
    shape = _weight_shape(state, "enc_p.emb_phone.weight")
    if shape is None or len(shape) != 2:
        return None
    return {256: "v1", 768: "v2"}.get(shape[1])


def _ups_kernels(state: dict[str, Any]) -> tuple[int, ...]:
    kernels = []
    i = 0
    while (shape := _weight_shape(state, f"dec.ups.{i}.weight")) is not None:
        kernels.append(shape[-1])
        i += 1
    return tuple(kernels)


def _rate_hint(name: str, meta: Mapping[str, Any]) -> int | None:
    for key in ("sr", "sample_rate"):
        if key in meta:
            try:
                return parse_rate(meta[key])
            except (TypeError, ValueError):
                pass
    match = re.search(r"(32|40|48)k", name.lower())
    return int(match.group(1)) * 1000 if match else None


def derive_config(state: dict[str, Any], meta: Mapping[str, Any], name: str) -> ModelConfig:
    """The config of a checkpoint stored without one, read off the weights (§2)."""
    version = _version_from_weights(state)
    if version is None:
        raise CheckpointError(f"{name}: no config, and enc_p.emb_phone.weight is missing or not 256/768 wide")
    f0 = "enc_p.emb_pitch.weight" in state or any(k.startswith("dec.m_source.") for k in state)
    kernels = _ups_kernels(state)
    spec = _weight_shape(state, "enc_q.pre.weight")
    candidates = [rate for (v, rate), (_, k) in UPSAMPLING.items() if v == version and k == kernels]
    if spec is not None and len(spec) == 3:
        candidates = [r for r in candidates if SPEC_CHANNELS[r] == spec[1]]
    hint = _rate_hint(name, meta)
    if len(candidates) > 1 and hint in candidates:
        candidates = [hint]
    if len(candidates) != 1:
        what = (
            "matches no known sample rate"
            if not candidates
            else (
                "fits both "
                + " and ".join(f"{r // 1000}k" for r in candidates)
                + "; put the rate in the file name (e.g. 48k)"
            )
        )
        raise CheckpointError(f"{name}: no config, and its upsampling (kernels {list(kernels)}) {what}")
    rate = candidates[0]
    rates, kernel_sizes = UPSAMPLING[(version, rate)]
    speakers = _weight_shape(state, "emb_g.weight")
    return ModelConfig(
        version=version,
        sample_rate=rate,
        f0=f0,
        spec_channels=SPEC_CHANNELS[rate],
        upsample_rates=rates,
        upsample_kernel_sizes=kernel_sizes,
        spk_embed_dim=speakers[0] if speakers else 109,
    )


def _config(state: dict[str, Any], meta: Mapping[str, Any], name: str) -> tuple[ModelConfig, bool]:
    """``(config, had_config)``; the weights have the last word on version, f0 and speakers."""
    raw = meta.get("config")
    if not isinstance(raw, (list, tuple)):
        return derive_config(state, meta, name), False
    version = _version_from_weights(state) or str(meta.get("version", "v1"))
    if version not in FEATURE_DIMS:
        raise CheckpointError(f"{name}: unknown model version {version!r} (expected v1 or v2)")
    stored_f0 = meta.get("f0", 1)
    f0 = "enc_p.emb_pitch.weight" in state if state else bool(int(stored_f0))
    try:
        config = ModelConfig.from_list(list(raw), version, f0)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{name}: unreadable config ({error})") from None
    kernels = _ups_kernels(state)
    if kernels and kernels != config.upsample_kernel_sizes:
        raise CheckpointError(
            f"{name}: its config says upsampling kernels {list(config.upsample_kernel_sizes)} "
            f"but the weights have {list(kernels)}"
        )
    speakers = _weight_shape(state, "emb_g.weight")
    if speakers and speakers[0] != config.spk_embed_dim:
        config = dataclasses.replace(config, spk_embed_dim=speakers[0])
    return config, True


def _epochs(meta: Mapping[str, Any]) -> int | None:
    for key in ("epoch", "epochs"):
        value = meta.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    match = re.search(r"(\d+)\s*epoch", str(meta.get("info", "")), re.IGNORECASE)
    return int(match.group(1)) if match else None


def _text(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return str(value) if isinstance(value, (str, int, float)) and str(value).strip() else None


def _squash(name: str) -> str:
    """``"HiFi-GAN"``, ``"hifigan"``, ``"HiFi GAN"`` -> ``"hifigan"``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _structure(path: Path) -> Any:
    """The checkpoint's object graph with tensor shapes only: torch-free when the file allows."""
    from inference.models.structure import MetaUnavailable, read_structure

    try:
        return read_structure(path)
    except MetaUnavailable:  # not a plain torch zip: torch.load decides (and words the error)
        return _torch_load(path, mmap=True)


def _read(path: os.PathLike | str, mmap: bool, light: bool = False) -> tuple[ModelConfig, dict[str, Any], ModelInfo]:
    path = Path(path).expanduser()
    data = _structure(path) if light else _torch_load(path, mmap)
    state, meta, layout = _split(data, path.name)
    vocoder = _text(meta, "vocoder") or "HiFi-GAN"
    known = {_squash(v): v for v in SUPPORTED_VOCODERS}
    vocoder = known.get(_squash(vocoder), vocoder)  # "hifigan" is reported as "HiFi-GAN"
    if vocoder not in SUPPORTED_VOCODERS:
        # checked before the config: another vocoder's weights need not fit ours at all
        raise UnsupportedModelError(
            f"{path.name}: unsupported vocoder {vocoder}: only HiFi-GAN models can be converted"
        )
    config, had_config = _config(state, meta, path.name)
    probe = state.get("enc_p.emb_phone.weight")
    dtype = str(probe.dtype).replace("torch.", "") if _is_tensor(probe) else "float32"
    info = ModelInfo(
        path=path,
        version=config.version,
        sample_rate=config.sample_rate,
        f0=config.f0,
        speakers=config.spk_embed_dim,
        epochs=_epochs(meta),
        info=str(meta.get("info", "") or ""),
        author=_text(meta, "author"),
        embedder_model=_text(meta, "embedder_model"),
        embedder_model_custom=_text(meta, "embedder_model_custom"),
        vocoder=vocoder,
        has_config=had_config,
        dtype=dtype,
        size_bytes=path.stat().st_size,
    )
    return config, state, info


def read_model_info(path: os.PathLike | str, mmap: bool = True) -> ModelInfo:
    """Metadata of a voice model, without reading its weights.

    A plain ``torch.save`` zip is read by :mod:`inference.models.structure` (no torch import, a few
    milliseconds); anything else through ``torch.load(weights_only=True)``, memory-mapped
    when ``mmap``. Corrupt weight bytes show only when the model is loaded for a conversion.
    """
    return _read(path, mmap, light=mmap)[2]


def load_checkpoint(path: os.PathLike | str) -> tuple[ModelConfig, dict[str, Any], ModelInfo]:
    """``(config, generator state dict, info)``.

    The state dict keeps the stored key names (weight norm as ``weight_g``/``weight_v`` or
    ``parametrizations.weight.original0/1``), drops the training-only posterior encoder
    (``enc_q.*``) and holds float32 tensors.
    """
    import torch

    from inference.models.load_errors import check_intact

    config, state, info = _read(path, mmap=False)
    if (reason := check_intact(info.path)) is not None:  # torch does not check the weights' checksums
        raise CheckpointError(f"{info.path.name}: {reason}")
    weights: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(TRAINING_ONLY_PREFIXES):
            continue
        if not _is_tensor(value):
            raise CheckpointError(f"{info.path.name}: weight {key!r} is not a tensor")
        weights[key] = value.to(torch.float32) if value.is_floating_point() else value
    broken = [
        key for key, value in weights.items() if value.is_floating_point() and not bool(torch.isfinite(value).all())
    ]
    if broken:  # a training run that diverged (fp16 overflow) saves such weights: they synthesise silence or noise
        raise CheckpointError(
            f"{info.path.name}: the model is broken: NaN or infinite values in {len(broken)} of "
            f"its weights ({broken[0]}{', ...' if len(broken) > 1 else ''})"
        )
    return config, weights, info
