"""Reading RVC voice-model checkpoints (``.pth``) safely: config, metadata and generator weights.

Every file is opened with ``torch.load(..., weights_only=True)``: a model from the internet can
hold a pickle that runs code, and the restricted unpickler refuses anything but tensors and
plain containers. Three layouts are understood (RVC_REFERENCE.md §2):

- RVC's small model: ``{"weight": state_dict, "config": [18 values], "sr", "f0", "version", "info"}``;
- Applio's, the same plus ``vocoder``, ``embedder_model``, ``author``, ``epoch``, ``speakers_id``...;
- training checkpoints (``G_*.pth``) and pretrained bases (``f0G40k.pth``):
  ``{"model": state_dict, "iteration", ...}`` without a config, which is derived from the weights.

The decoder (HiFi-GAN, or Applio's MRF HiFi-GAN and RefineGAN) is told by the weights' keys and
the ``vocoder`` field (:mod:`inference.models.vocoders`).

:func:`read_model_info` is the light read the model library uses (memory-mapped: weights are
not read); :func:`load_checkpoint` returns what a synthesizer needs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError
from inference.models.config import FEATURE_DIMS, SPEC_CHANNELS, UPSAMPLING, ModelConfig, parse_rate
from inference.models.vocoders import (
    HIFIGAN,
    REFINEGAN,
    SUPPORTED_VOCODERS,
    UPSAMPLER_KEYS,
    canonical,
    config_problem,
    layout_problem,
    vocoder_from_keys,
)

TRAINING_ONLY_PREFIXES = ("enc_q.",)  # the posterior encoder: training checkpoints only


class CheckpointError(RVCError):
    """A file that cannot be read as an RVC voice model; the message names the file."""


class UnsupportedModelError(CheckpointError):
    """A readable voice model this app cannot synthesize with (another vocoder, say)."""


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
    vocoder: str = HIFIGAN
    has_config: bool = True
    dtype: str = "float32"
    size_bytes: int = 0


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


def _ups_kernels(state: dict[str, Any], vocoder: str = HIFIGAN) -> tuple[int, ...]:
    """Kernel sizes of the decoder's transposed convolutions (RefineGAN has none)."""
    prefix = UPSAMPLER_KEYS.get(vocoder)
    kernels = []
    i = 0
    while prefix and (shape := _weight_shape(state, f"{prefix}.{i}.weight")) is not None:
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
    match = re.search(r"(24|32|40|48)k", name.lower())
    return int(match.group(1)) * 1000 if match else None


def derive_config(state: dict[str, Any], meta: Mapping[str, Any], name: str, vocoder: str | None = None) -> ModelConfig:
    """The config of a checkpoint stored without one, read off the weights (§2).

    HiFi-GAN and MRF decoders store their kernel sizes, which tell most rates apart; RefineGAN's
    weights are the same at every rate, so the posterior encoder's width, ``sr`` or the file name
    must say it.
    """
    version = _version_from_weights(state)
    if version is None:
        raise CheckpointError(f"{name}: no config, and enc_p.emb_phone.weight is missing or not 256/768 wide")
    vocoder = vocoder or vocoder_from_keys(state) or HIFIGAN
    f0 = "enc_p.emb_pitch.weight" in state or any(k.startswith("dec.m_source.") for k in state)
    kernels = _ups_kernels(state, vocoder)
    spec = _weight_shape(state, "enc_q.pre.weight")
    candidates = [
        rate for (v, rate), (_, k) in UPSAMPLING.items() if v == version and (vocoder == REFINEGAN or k == kernels)
    ]
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
                ("fits both " if len(candidates) == 2 else "fits ")
                + ", ".join(f"{r // 1000}k" for r in candidates[:-1])
                + f" and {candidates[-1] // 1000}k; put the rate in the file name (e.g. 48k)"
            )
        )
        upsampling = "its RefineGAN decoder" if vocoder == REFINEGAN else f"its upsampling (kernels {list(kernels)})"
        raise CheckpointError(f"{name}: no config, and {upsampling} {what}")
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
        vocoder=vocoder,
    )


def _whole_rates(raw: list | tuple, name: str) -> None:
    """Applio's short-lived 44.1 kHz configs had a rate of 2.205: refused, never rounded."""
    rates = raw[12] if len(raw) == 18 else None
    if isinstance(rates, (list, tuple)) and any(isinstance(u, float) and not float(u).is_integer() for u in rates):
        raise UnsupportedModelError(
            f"{name}: upsampling rates {list(rates)} are not whole numbers (Applio's withdrawn 44.1 kHz "
            "models); it cannot be converted"
        )


def _config(state: dict[str, Any], meta: Mapping[str, Any], name: str, vocoder: str) -> tuple[ModelConfig, bool]:
    """``(config, had_config)``; the weights have the last word on version, f0 and speakers."""
    raw = meta.get("config")
    if not isinstance(raw, (list, tuple)):
        config, had = derive_config(state, meta, name, vocoder), False
    else:
        config, had = _stored_config(state, meta, name, vocoder, raw), True
    if (problem := config_problem(config.vocoder, config.f0, config.upsample_rates)) is not None:
        raise UnsupportedModelError(f"{name}: {problem}")
    return config, had


def _stored_config(
    state: dict[str, Any], meta: Mapping[str, Any], name: str, vocoder: str, raw: list | tuple
) -> ModelConfig:
    version = _version_from_weights(state) or str(meta.get("version", "v1"))
    if version not in FEATURE_DIMS:
        raise CheckpointError(f"{name}: unknown model version {version!r} (expected v1 or v2)")
    stored_f0 = meta.get("f0", 1)
    f0 = "enc_p.emb_pitch.weight" in state if state else bool(int(stored_f0))
    _whole_rates(raw, name)
    try:
        config = ModelConfig.from_list(list(raw), version, f0, vocoder)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{name}: unreadable config ({error})") from None
    kernels = _ups_kernels(state, vocoder)
    if kernels and kernels != config.upsample_kernel_sizes:
        raise CheckpointError(
            f"{name}: its config says upsampling kernels {list(config.upsample_kernel_sizes)} "
            f"but the weights have {list(kernels)}"
        )
    speakers = _weight_shape(state, "emb_g.weight")
    if speakers and speakers[0] != config.spk_embed_dim:
        config = dataclasses.replace(config, spk_embed_dim=speakers[0])
    return config


def _vocoder(state: dict[str, Any], meta: Mapping[str, Any], name: str) -> str:
    """The decoder the file holds: its keys, checked against Applio's ``vocoder`` field when present."""
    stored = _text(meta, "vocoder")
    from_keys = vocoder_from_keys(state)
    vocoder = from_keys or HIFIGAN
    if stored is not None:
        named = canonical(stored)
        if named is None:  # checked first: another vocoder's weights need not fit ours at all
            raise UnsupportedModelError(
                f"{name}: unsupported vocoder {stored}: only {', '.join(SUPPORTED_VOCODERS[:-1])} "
                f"and {SUPPORTED_VOCODERS[-1]} models can be converted"
            )
        if from_keys is not None and from_keys != named:
            raise CheckpointError(f"{name}: its vocoder field says {named} but its weights are a {from_keys} decoder")
        vocoder = named
    if from_keys is not None:
        problem = layout_problem(vocoder, state, lambda layer: _weight_shape(state, layer))
        if problem is not None:
            raise UnsupportedModelError(f"{name}: {problem}")
    return vocoder


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
    vocoder = _vocoder(state, meta, path.name)  # "hifigan" is reported as "HiFi-GAN"
    config, had_config = _config(state, meta, path.name, vocoder)
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
        vocoder=config.vocoder,
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
