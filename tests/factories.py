"""Random-weight RVC voice models in the exact formats users have (RVC_REFERENCE.md §2).

``make_voice_model`` builds our generator for a (version, rate, f0) variant, draws its weights
from a seed and saves them as RVC, Applio or a training run would: the same keys, config list,
metadata and dtypes. No real model can be downloaded here; these stand in for them.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import torch

from inference.checkpoint import SPEC_CHANNELS, UPSAMPLING, ModelConfig

WN_FORMS = {
    "gv": (".weight_g", ".weight_v"),
    "parametrizations": (".parametrizations.weight.original0", ".parametrizations.weight.original1"),
}


def config_list(version: str, sample_rate: int, sr_as: str = "str") -> list:
    """The 18-entry ``config`` RVC stores (spk_embed_dim 109, as RVC's own configs say)."""
    rates, kernels = UPSAMPLING[(version, sample_rate)]
    rate: Any = f"{sample_rate // 1000}k" if sr_as == "str" else sample_rate
    return [SPEC_CHANNELS[sample_rate], 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11],
            [[1, 3, 5], [1, 3, 5], [1, 3, 5]], list(rates), 512, list(kernels), 109, 256, rate]


def generator_state(version: str = "v2", sample_rate: int = 40000, f0: bool = True, *, speakers: int = 1,
                    seed: int = 0, weight_norm: str = "gv", with_enc_q: bool = False) -> dict[str, torch.Tensor]:
    """A random generator state dict with the real key names (float32)."""
    from inference.torch_synth import build_synthesizer
    from inference.torch_synth.synthesizers import training_parts

    config = ModelConfig.from_list(config_list(version, sample_rate), version, f0)
    config = ModelConfig.from_dict({**config.to_dict(), "spk_embed_dim": speakers})
    torch.manual_seed(seed)
    model = build_synthesizer(config)
    state = dict(model.state_dict())
    if with_enc_q:
        state.update({f"enc_q.{k}": v for k, v in training_parts(config).state_dict().items()})
    g_suffix, v_suffix = WN_FORMS[weight_norm]
    out = {}
    for key, value in state.items():
        key = key.replace(".parametrizations.weight.original0", g_suffix)
        key = key.replace(".parametrizations.weight.original1", v_suffix)
        out[key] = value.detach().clone()
    return out


def make_voice_model(
    path: Path | str,
    version: str = "v2",
    sample_rate: int = 40000,
    f0: bool = True,
    *,
    dtype: str = "float32",
    weight_norm: str = "gv",
    sr_as: str = "str",
    with_config: bool = True,
    layout: str = "rvc",
    vocoder: str | None = None,
    speakers: int = 1,
    seed: int = 0,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a random-weight voice model to ``path`` and return it.

    ``layout``: ``"rvc"`` (RVC's small model), ``"applio"`` (its extra metadata, ``sr`` as an
    int), ``"training"`` (``G_*.pth``: the whole generator with ``enc_q`` under ``"model"``, no
    config). ``dtype`` is the stored precision (RVC saves float16).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = generator_state(version, sample_rate, f0, speakers=speakers, seed=seed, weight_norm=weight_norm,
                            with_enc_q=layout == "training")
    target = getattr(torch, dtype)
    state = {k: v.to(target) if v.is_floating_point() else v for k, v in state.items()}
    if layout == "training":
        data: dict[str, Any] = {"model": state, "iteration": 2333, "learning_rate": 1e-4,
                                "optimizer": {"state": {}, "param_groups": []}}
    else:
        if layout == "applio":
            sr_as = "int"
        data = {"weight": state, "info": "300epoch", "sr": f"{sample_rate // 1000}k" if sr_as == "str" else sample_rate,
                "f0": int(f0), "version": version}
        if with_config:
            data["config"] = config_list(version, sample_rate, sr_as)
        if layout == "applio":
            data.update(epoch=300, step=12345, model_name=path.stem, author="RVC Studio tests",
                        embedder_model="contentvec", vocoder=vocoder or "HiFi-GAN", speakers_id=speakers,
                        creation_date=datetime.datetime(2026, 1, 2).isoformat(), overtrain_info="None")
        elif vocoder is not None:
            data["vocoder"] = vocoder
    data.update(extra or {})
    torch.save(data, path)
    return path
