"""The HuBERT / ContentVec embedder: what was said, as 50 feature frames per second.

``load_embedder(path)`` accepts Replay's fairseq ``hubert_base.pt`` (converted once, then
cached; see :mod:`.fairseq` and :mod:`.cache`) or a transformers-format folder (``config.json``
+ ``model.safetensors`` / ``pytorch_model.bin``, ``final_proj`` in the same weights when
present). Both run on ``transformers.HubertModel``.

Features follow RVC exactly: v1 models take the output of encoder layer 9 through ``final_proj``
(768 -> 256); v2 models take the last (12th) layer's 768-dim output. No padding mask, no input
normalisation (RVC passes an all-False padding mask, which changes nothing).
"""

from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.errors import RVCError
from inference.core.runtime import import_library
from inference.features import cache
from inference.features.fairseq import EmbedderLoadError, convert_state, hubert_config, read_checkpoint

log = logging.getLogger(__name__)

V1_LAYER = 9  # RVC's output_layer for v1 models (256-dim after final_proj)
MIN_SAMPLES = 400  # the conv stack's receptive field: shorter input gives no frame
_VERSIONS = ("v1", "v2")


_IMPORT_LOCK = threading.Lock()


def hubert_classes() -> tuple[Any, Any]:
    """``(HubertConfig, HubertModel)``, imported from their own modules under a lock.

    ``from transformers import X`` goes through transformers' lazy top-level module, which is
    not safe when two threads (a preview's warm-up and a queued job) import at once: one of
    them can get "cannot import name 'HubertConfig'". Importing the concrete submodules is
    covered by Python's per-module import locks; the lock keeps the first import single.
    The first import runs in :func:`~inference.core.runtime.long_lived` (no collection pauses).
    """
    with _IMPORT_LOCK:
        configuration = import_library("transformers.models.hubert.configuration_hubert")
        modeling = import_library("transformers.models.hubert.modeling_hubert")
    return configuration.HubertConfig, modeling.HubertModel


class Embedder:
    """A loaded HuBERT model; :meth:`extract` turns 16 kHz audio into RVC features."""

    def __init__(self, model: Any, final_proj: Any | None, device: Any, source: Path) -> None:
        self.model = model
        self.final_proj = final_proj
        self.device = device
        self.source = Path(source)
        self.hidden_size = int(model.config.hidden_size)
        self.num_layers = int(model.config.num_hidden_layers)
        self._v1_model = _first_layers(model, V1_LAYER) if final_proj is not None else None

    def output_dim(self, version: str) -> int:
        """Feature width for a model ``version``: 256 (v1, through final_proj) or 768 (v2)."""
        _check_version(version)
        return int(self.final_proj.out_features) if version == "v1" else self.hidden_size

    def extract(self, audio_16k: np.ndarray, version: str) -> np.ndarray:
        """Features ``[T, 256|768]`` float32 at 50 frames/s for mono 16 kHz ``audio_16k``.

        ``T = (len(audio) - 400) // 320 + 1``, as in RVC.
        """
        import torch

        _check_version(version)
        audio = np.asarray(audio_16k, dtype=np.float32)
        if audio.ndim != 1:
            raise ValueError(f"expected mono audio of shape [samples], got shape {audio.shape}")
        if audio.shape[0] < MIN_SAMPLES:
            raise RVCError(
                f"audio too short for the embedder: {audio.shape[0]} samples at 16 kHz (at least {MIN_SAMPLES} needed)"
            )
        if version == "v1" and self.final_proj is None:
            raise RVCError(f"{self.source} has no final_proj layer, which v1 (256-dim) models need")
        if version == "v1" and self._v1_model is None:
            raise RVCError(
                f"{self.source} is not a HuBERT base-style model with {V1_LAYER}+ layers, which v1 models need"
            )
        x = torch.from_numpy(np.ascontiguousarray(audio)).to(self.device).view(1, -1)
        with torch.inference_mode():
            if version == "v1":
                feats = self.final_proj(self._v1_model(x, return_dict=True).last_hidden_state)
            else:
                feats = self.model(x, return_dict=True).last_hidden_state
        return feats[0].to("cpu", torch.float32).numpy()


def _first_layers(model: Any, layers: int) -> Any | None:
    """A HubertModel of the first ``layers`` encoder layers, sharing ``model``'s weights.

    Its last hidden state is ``model``'s ``hidden_states[layers]`` (post-LN encoder: no final
    norm), i.e. fairseq's ``output_layer=layers``, without running the layers above it (RVC's
    v1 path stops at layer 9 too). None when the model is not that kind or too shallow.
    """
    import torch

    _, model_class = hubert_classes()

    config = model.config
    if config.do_stable_layer_norm or config.num_hidden_layers < layers:
        return None
    shallow_config = copy.deepcopy(config)
    shallow_config.num_hidden_layers = layers
    with torch.device("meta"):
        shallow = model_class(shallow_config)
    keep = {
        k: v
        for k, v in model.state_dict().items()
        if not (k.startswith("encoder.layers.") and int(k.split(".")[2]) >= layers)
    }
    shallow.load_state_dict(keep, strict=True, assign=True)  # the same tensors: no extra memory
    return shallow.eval()


def _check_version(version: str) -> None:
    if version not in _VERSIONS:
        raise ValueError(f"unknown model version {version!r}; expected 'v1' or 'v2'")


def _torch_device(device: str):
    from inference.core.runtime import import_torch

    torch = import_torch()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise RVCError(f"unknown device {device!r} ({error})") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }
    if not available.get(dev.type, False):
        raise RVCError(f"device {device!r} is not available here")
    return dev


def _pos_conv_style(model: Any) -> str:
    keys = model.state_dict().keys()
    return "legacy" if "encoder.pos_conv_embed.conv.weight_g" in keys else "parametrizations"


def build(config_kwargs: dict[str, Any], tensors: dict[str, Any], device: str, source: Path) -> Embedder:
    """An :class:`Embedder` from ``HubertConfig`` arguments and transformers-named tensors.

    The model is created on the meta device (no random initialisation of 95M weights) and the
    tensors are assigned in fp32; every weight of the model must be present.
    """
    from inference.core.runtime import import_torch

    torch = import_torch()
    config_class, model_class = hubert_classes()

    dev = _torch_device(device)
    config = config_class(**config_kwargs)
    with torch.device("meta"):
        model = model_class(config)
    style = _pos_conv_style(model)
    fp32 = {k: v.to(torch.float32) for k, v in tensors.items()}
    for old, new in (
        ("weight_g", "parametrizations.weight.original0"),
        ("weight_v", "parametrizations.weight.original1"),
    ):
        # folders saved by older transformers / torch name the weight-norm halves the other way
        a, b = (old, new) if style == "parametrizations" else (new, old)
        if f"encoder.pos_conv_embed.conv.{a}" in fp32:
            fp32[f"encoder.pos_conv_embed.conv.{b}"] = fp32.pop(f"encoder.pos_conv_embed.conv.{a}")
    proj_w, proj_b = fp32.pop("final_proj.weight", None), fp32.pop("final_proj.bias", None)
    fp32.pop("masked_spec_embed", None)  # training only; the config turns masking off
    expected = set(model.state_dict().keys())
    missing, unexpected = sorted(expected - fp32.keys()), sorted(fp32.keys() - expected)
    if missing or unexpected:
        raise EmbedderLoadError(
            f"{source} does not match a HuBERT model: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    try:
        model.load_state_dict(fp32, strict=True, assign=True)
    except RuntimeError as error:
        raise EmbedderLoadError(f"{source}: weights of the wrong shape ({str(error).splitlines()[-1][:200]})") from None
    model.eval().to(dev)
    final_proj = None
    if proj_w is not None:
        final_proj = torch.nn.Linear(proj_w.shape[1], proj_w.shape[0], bias=proj_b is not None, device="meta")
        state = {"weight": proj_w} | ({"bias": proj_b} if proj_b is not None else {})
        final_proj.load_state_dict(state, assign=True)
        final_proj.eval().to(dev)
    return Embedder(model, final_proj, dev, source)


def _load_fairseq(path: Path, device: str) -> Embedder:
    digest = cache.source_digest(path)
    entry = cache.read_entry(digest)
    if entry is not None:
        meta, tensors = entry
        return build(meta["hubert_config"], tensors, device, path)
    log.info("Converting the fairseq embedder %s (once; cached afterwards)", path)
    state = read_checkpoint(path)
    config_kwargs = hubert_config(state, path)
    config_class, model_class = hubert_classes()

    from inference.core.runtime import import_torch

    with import_torch().device("meta"):
        style = _pos_conv_style(model_class(config_class(**config_kwargs)))
    try:
        tensors = convert_state(state["model"], style)
    except EmbedderLoadError as error:
        raise EmbedderLoadError(f"{path}: {error}") from None
    embedder = build(config_kwargs, tensors, device, path)
    cache.write_entry(digest, {"hubert_config": config_kwargs, "source": str(path)}, tensors)
    return embedder


def _load_transformers_folder(folder: Path, device: str) -> Embedder:
    from inference.core.runtime import import_torch

    torch = import_torch()
    config_path = folder / "config.json"
    try:
        import json

        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise EmbedderLoadError(f"{config_path} is not a readable config ({error})") from None
    if not isinstance(config, dict) or config.get("model_type", "hubert") != "hubert":
        raise EmbedderLoadError(f"{config_path} does not describe a HuBERT model")
    config_class, _ = hubert_classes()

    known = set(config_class().to_dict())
    kwargs = {k: v for k, v in config.items() if k in known and k not in ("architectures", "transformers_version")}
    kwargs.update(mask_time_prob=0.0, mask_feature_prob=0.0, layerdrop=0.0)
    weights = folder / "model.safetensors"
    try:
        if weights.is_file():
            from safetensors.torch import load_file

            tensors = load_file(str(weights))
        else:
            weights = folder / "pytorch_model.bin"
            tensors = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable weights file is one user-facing error
        raise EmbedderLoadError(
            f"{weights} is not a readable weights file ({str(error).splitlines()[0][:200]})"
        ) from None
    # HubertForCTC-style checkpoints prefix the encoder with "hubert."
    tensors = {k.removeprefix("hubert."): v for k, v in tensors.items()}
    return build(kwargs, tensors, device, folder)


def load_embedder(path: Path, device: str = "cpu") -> Embedder:
    """Load the embedder at ``path``: a fairseq ``.pt`` file or a transformers-format folder.

    ``device`` is ``"cpu"``, ``"cuda"`` or ``"mps"`` (when available). Raises an
    :class:`~inference.core.errors.RVCError` subclass naming the file when it cannot be used.
    """
    path = Path(path).expanduser()
    _torch_device(device)  # fail before any conversion work
    if path.is_dir():
        from inference.models.weights import is_transformers_folder

        if not is_transformers_folder(path):
            raise EmbedderLoadError(f"{path} holds no config.json with model.safetensors or pytorch_model.bin")
        return _load_transformers_folder(path, device)
    if not path.is_file():
        raise EmbedderLoadError(f"embedder file not found: {path}")
    return _load_fairseq(path, device)
