"""Random-weight files in the exact real formats of the embedder and the feature index.

No real weights can be downloaded here, so tests (and ``benchmarks/features.py``) build:

- :func:`make_fairseq_hubert`: a checkpoint laid out like Replay's ``hubert_base.pt``: a
  ``torch.save`` dict with ``args``, ``cfg``, ``model``, ``optimizer_history``, ``task_state``
  (holding a fairseq ``Dictionary``) and ``extra_state``; the model's keys, shapes, fp16 dtype
  and weight-norm layout (``encoder.pos_conv.0.weight_g/_v``, norm over dim 2) are fairseq's.
  ``style="hydra"`` writes ``args=None`` and a plain-dict ``cfg`` (what fairseq >= 2021 saves);
  ``style="legacy"`` writes an ``argparse.Namespace`` and omegaconf ``DictConfig`` objects;
  ``style="argparse"`` only the Namespace (fairseq before hydra, 2020).
  fairseq and omegaconf are not installed, so their classes are stand-ins registered under
  their real module paths only while pickling: the file names ``fairseq.data.dictionary.
  Dictionary``, ``omegaconf.dictconfig.DictConfig``, ... exactly as a real one does.
- :func:`make_transformers_hubert`: a transformers-format folder (``config.json`` + weights
  with ``final_proj``), as RVC's ``assets/hubert_base`` and Applio's ``contentvec``.
- :func:`make_index`: a faiss ``IVF{n},Flat`` index, trained and filled, nprobe 1, as RVC's
  ``added_IVF*_Flat_nprobe_1_*.index``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import types
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

# name: (embed, ffn, heads, conv channels, final_dim, conv_pos, conv_pos_groups, layers)
SIZES = {
    "base": (768, 3072, 12, 512, 256, 128, 16, 12),  # HuBERT base, as in hubert_base.pt
    "tiny": (32, 64, 4, 32, 16, 16, 4, 12),  # same structure, fast; 12 layers so layer 9 exists
}
CONV_LAYERS = [(10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)]  # (kernel, stride)
NUM_CLASSES = 504  # 500 k-means units + 4 special symbols: label_embs_concat rows


def _conv_spec(channels: int) -> str:
    return f"[({channels},10,5)] + [({channels},3,2)] * 4 + [({channels},2,2)] * 2"


def fairseq_model_settings(size: str = "base") -> dict[str, Any]:
    """``cfg["model"]`` of a HuBERT base pre-training run (fairseq's HubertConfig fields)."""
    embed, ffn, heads, channels, final_dim, conv_pos, groups, layers = SIZES[size]
    return {
        "_name": "hubert",
        "label_rate": 50,
        "extractor_mode": "default",
        "encoder_layers": layers,
        "encoder_embed_dim": embed,
        "encoder_ffn_embed_dim": ffn,
        "encoder_attention_heads": heads,
        "activation_fn": "gelu",
        "layer_type": "transformer",
        "dropout": 0.1,
        "attention_dropout": 0.1,
        "activation_dropout": 0.0,
        "encoder_layerdrop": 0.05,
        "dropout_input": 0.1,
        "dropout_features": 0.1,
        "final_dim": final_dim,
        "untie_final_proj": False,
        "layer_norm_first": False,
        "conv_feature_layers": _conv_spec(channels),
        "conv_bias": False,
        "logit_temp": 0.1,
        "target_glu": False,
        "feature_grad_mult": 0.1,
        "mask_length": 10,
        "mask_prob": 0.8,
        "mask_selection": "static",
        "mask_other": 0.0,
        "no_mask_overlap": False,
        "mask_min_space": 1,
        "mask_channel_length": 10,
        "mask_channel_prob": 0.0,
        "mask_channel_selection": "static",
        "mask_channel_other": 0.0,
        "no_mask_channel_overlap": False,
        "mask_channel_min_space": 1,
        "conv_pos": conv_pos,
        "conv_pos_groups": groups,
        "latent_temp": [2.0, 0.5, 0.999995],
        "skip_masked": False,
        "skip_nomask": False,
        "checkpoint_activations": False,
        "required_seq_len_multiple": 2,
    }


def _task_settings() -> dict[str, Any]:
    return {
        "_name": "hubert_pretraining",
        "data": "/checkpoint/data/librispeech/960h",
        "fine_tuning": False,
        "labels": ["km"],
        "label_dir": "/checkpoint/labels/iter2",
        "label_rate": 50,
        "sample_rate": 16000,
        "normalize": False,
        "enable_padding": False,
        "max_keep_size": None,
        "max_sample_size": 250000,
        "min_sample_size": 32000,
        "single_target": False,
        "random_crop": True,
        "pad_audio": False,
    }


def fairseq_hubert_state(seed: int, size: str = "base", dtype=None) -> OrderedDict[str, Any]:
    """A random HuBERT state dict with fairseq's key names, order, shapes and weight norm."""
    import torch

    embed, ffn, _, channels, final_dim, conv_pos, groups, layers = SIZES[size]
    dtype = dtype or torch.float16
    g = torch.Generator().manual_seed(seed)

    def randn(*shape: int, std: float) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * std

    def linear(prefix: str, n_in: int, n_out: int) -> None:
        sd[f"{prefix}.weight"] = randn(n_out, n_in, std=n_in**-0.5)
        sd[f"{prefix}.bias"] = randn(n_out, std=0.02)

    def norm(prefix: str, n: int) -> None:
        sd[f"{prefix}.weight"] = 1.0 + randn(n, std=0.1)
        sd[f"{prefix}.bias"] = randn(n, std=0.1)

    sd: OrderedDict[str, Any] = OrderedDict()
    # parameters registered on HubertModel itself come first in its state_dict
    sd["mask_emb"] = torch.rand(embed, generator=g)
    sd["label_embs_concat"] = randn(NUM_CLASSES, final_dim, std=1.0)
    n_in = 1
    for i, (kernel, _) in enumerate(CONV_LAYERS):
        sd[f"feature_extractor.conv_layers.{i}.0.weight"] = randn(channels, n_in, kernel, std=(n_in * kernel) ** -0.5)
        if i == 0:  # Fp32GroupNorm(dim, dim) after the first conv only ("default" mode)
            norm("feature_extractor.conv_layers.0.2", channels)
        n_in = channels
    linear("post_extract_proj", channels, embed)
    v = randn(embed, embed // groups, conv_pos, std=(4.0 / (conv_pos * embed)) ** 0.5)
    sd["encoder.pos_conv.0.bias"] = randn(embed, std=0.02)
    # weight_norm(dim=2): g holds one norm per kernel tap, over every other axis
    sd["encoder.pos_conv.0.weight_g"] = v.norm(dim=(0, 1), keepdim=True) * (1.0 + randn(1, 1, conv_pos, std=0.1))
    sd["encoder.pos_conv.0.weight_v"] = v
    for n in range(layers):
        p = f"encoder.layers.{n}"
        for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
            linear(f"{p}.self_attn.{proj}", embed, embed)
        norm(f"{p}.self_attn_layer_norm", embed)
        linear(f"{p}.fc1", embed, ffn)
        linear(f"{p}.fc2", ffn, embed)
        norm(f"{p}.final_layer_norm", embed)
    norm("encoder.layer_norm", embed)
    norm("layer_norm", channels)
    linear("final_proj", embed, final_dim)
    return OrderedDict((k, t.to(dtype).contiguous()) for k, t in sd.items())


# --- stand-ins for fairseq / omegaconf classes, pickled under their real module paths --------


def _stand_in(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return type(name, (), {"__module__": module, "__qualname__": name})


Dictionary = _stand_in("fairseq.data.dictionary.Dictionary")
DictConfig = _stand_in("omegaconf.dictconfig.DictConfig")
ListConfig = _stand_in("omegaconf.listconfig.ListConfig")
ContainerMetadata = _stand_in("omegaconf.base.ContainerMetadata")
Metadata = _stand_in("omegaconf.base.Metadata")
AnyNode = _stand_in("omegaconf.nodes.AnyNode")
STAND_INS = (Dictionary, DictConfig, ListConfig, ContainerMetadata, Metadata, AnyNode)


@contextlib.contextmanager
def registered_modules(classes: tuple[type, ...] = STAND_INS):
    """Make ``classes`` importable under their ``__module__`` while pickling, then undo it."""
    added: list[str] = []
    try:
        for cls in classes:
            parts = cls.__module__.split(".")
            for i in range(1, len(parts) + 1):
                name = ".".join(parts[:i])
                if name not in sys.modules:
                    sys.modules[name] = types.ModuleType(name)
                    added.append(name)
            setattr(sys.modules[cls.__module__], cls.__qualname__, cls)
        yield
    finally:
        for name in added:
            sys.modules.pop(name, None)


def _new(cls: type, **attrs: Any) -> Any:
    obj = cls.__new__(cls)
    obj.__dict__.update(attrs)
    return obj


def fairseq_dictionary(n_units: int = NUM_CLASSES - 4) -> Any:
    symbols = ["<s>", "<pad>", "</s>", "<unk>"] + [str(i) for i in range(n_units)]
    return _new(
        Dictionary,
        bos_word="<s>",
        unk_word="<unk>",
        pad_word="<pad>",
        eos_word="</s>",
        symbols=symbols,
        count=[1] * 4 + [1000] * n_units,
        indices={s: i for i, s in enumerate(symbols)},
        bos_index=0,
        pad_index=1,
        eos_index=2,
        unk_index=3,
        nspecial=4,
    )


def to_dictconfig(value: Any, parent: Any = None, key: Any = None) -> Any:
    """A nested omegaconf-2.0-style object graph (what ``OmegaConf.create`` builds) for ``value``."""
    from typing import Any as AnyType

    if isinstance(value, dict):
        node = _new(DictConfig, _parent=parent)
        node.__dict__["_metadata"] = _new(
            ContainerMetadata,
            ref_type=AnyType,
            object_type=dict,
            optional=True,
            key=key,
            flags={},
            resolver_cache={},
            key_type=AnyType,
            element_type=AnyType,
        )
        node.__dict__["_content"] = {k: to_dictconfig(v, node, k) for k, v in value.items()}
        return node
    if isinstance(value, list):
        node = _new(ListConfig, _parent=parent)
        node.__dict__["_metadata"] = _new(
            ContainerMetadata,
            ref_type=AnyType,
            object_type=list,
            optional=True,
            key=key,
            flags={},
            resolver_cache={},
            key_type=int,
            element_type=AnyType,
        )
        node.__dict__["_content"] = [to_dictconfig(v, node, i) for i, v in enumerate(value)]
        return node
    meta = _new(Metadata, ref_type=AnyType, object_type=None, optional=True, key=key, flags={})
    return _new(AnyNode, _metadata=meta, _parent=parent, _val=value)


def make_fairseq_hubert(path: Path, seed: int, size: str = "tiny", style: str = "hydra", dtype=None):
    """Write a random-weight fairseq HuBERT checkpoint to ``path``; return its ``model`` dict.

    ``size``: ``"base"`` (the real 95M-parameter shapes) or ``"tiny"`` (same structure, narrow).
    """
    import torch

    model = fairseq_hubert_state(seed, size, dtype)
    settings = fairseq_model_settings(size)
    cfg = {
        "_name": None,
        "common": {"fp16": True, "log_format": "json", "seed": 1337},
        "checkpoint": {"save_interval_updates": 25000, "no_save_optimizer_state": False},
        "task": _task_settings(),
        "model": settings,
        "criterion": {"_name": "hubert", "pred_masked_weight": 1.0, "pred_nomask_weight": 0.0},
        "optimizer": {"_name": "adam", "adam_betas": "(0.9,0.98)", "adam_eps": 1e-06},
        "lr_scheduler": {"_name": "polynomial_decay", "warmup_updates": 32000},
    }
    if style == "hydra":
        args, cfg_obj = None, cfg
    elif style in ("legacy", "argparse"):
        args = argparse.Namespace(
            arch="hubert", task="hubert_pretraining", **{k: v for k, v in settings.items() if not k.startswith("_")}
        )
        cfg_obj = to_dictconfig(cfg) if style == "legacy" else None
    else:
        raise ValueError(f"unknown style {style!r}")
    state = {"args": args, "cfg": cfg_obj} if style != "argparse" else {"args": args}
    state |= {
        "model": model,
        "criterion": None,
        "optimizer_history": [
            {
                "criterion_name": "HubertCriterion",
                "optimizer_name": "FairseqAdam",
                "lr_scheduler_state": {"best": 3.21},
                "num_updates": 400000,
            }
        ],
        "task_state": {"dictionaries": [fairseq_dictionary()]},
        "extra_state": {"epoch": 101, "previous_training_time": 1234567.8},
    }
    with registered_modules():
        torch.save(state, path)
    return model


# --- transformers-format folder --------------------------------------------------------------


def transformers_config_kwargs(size: str = "tiny") -> dict[str, Any]:
    embed, ffn, heads, channels, final_dim, conv_pos, groups, layers = SIZES[size]
    return {
        "hidden_size": embed,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "conv_dim": [channels] * 7,
        "conv_kernel": [k for k, _ in CONV_LAYERS],
        "conv_stride": [s for _, s in CONV_LAYERS],
        "num_conv_pos_embeddings": conv_pos,
        "num_conv_pos_embedding_groups": groups,
        "classifier_proj_size": final_dim,
        "feat_extract_norm": "group",
        "conv_bias": False,
        "do_stable_layer_norm": False,
        "feat_proj_layer_norm": True,
    }


def make_transformers_hubert(
    folder: Path,
    seed: int,
    size: str = "tiny",
    fmt: str = "safetensors",
    final_proj: bool = True,
    legacy_weight_norm: bool = True,
) -> dict[str, Any]:
    """Write ``config.json`` + weights of a random HuBERT (+ ``final_proj``) into ``folder``.

    ``legacy_weight_norm`` names the positional conv's weight norm ``weight_g``/``weight_v``, as
    the published ContentVec / hubert_base folders do. Returns the tensors written (fp32).
    """
    import torch
    from transformers import HubertConfig, HubertModel

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = HubertConfig(**transformers_config_kwargs(size), architectures=["HubertModelWithFinalProj"])
    torch.manual_seed(seed)
    model = HubertModel(config)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(seed + 1)
    for key in sd:  # transformers initialises norms to 1/0: perturb so every weight matters
        if "norm" in key or key.endswith("bias"):
            sd[key] = sd[key] + 0.1 * torch.randn(sd[key].shape, generator=g)
    if final_proj:
        embed, final_dim = config.hidden_size, config.classifier_proj_size
        sd["final_proj.weight"] = torch.randn(final_dim, embed, generator=g) * embed**-0.5
        sd["final_proj.bias"] = torch.randn(final_dim, generator=g) * 0.02
    if legacy_weight_norm:
        base = "encoder.pos_conv_embed.conv."
        sd[base + "weight_g"] = sd.pop(base + "parametrizations.weight.original0")
        sd[base + "weight_v"] = sd.pop(base + "parametrizations.weight.original1")
    config.to_json_file(str(folder / "config.json"))
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(folder / "model.safetensors"))
    elif fmt == "bin":
        torch.save(sd, folder / "pytorch_model.bin")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return sd


# --- faiss index -----------------------------------------------------------------------------


def rvc_nlist(n_vectors: int) -> int:
    """RVC's list count for its IVF index: ``min(16 * sqrt(N), N // 39)`` (at least 1)."""
    return max(1, min(int(16 * np.sqrt(n_vectors)), n_vectors // 39))


def make_index(
    path: Path,
    dim: int,
    n_vectors: int,
    seed: int,
    nlist: int | None = None,
    nprobe: int = 1,
) -> np.ndarray:
    """Write a trained and filled ``IVF{nlist},Flat`` index; return its vectors (id order)."""
    import faiss

    rng = np.random.default_rng(seed)
    # clustered like real features, so the IVF lists are uneven as in practice
    centres = rng.standard_normal((max(4, n_vectors // 50), dim)).astype(np.float32) * 2.0
    vectors = centres[rng.integers(0, len(centres), n_vectors)] + rng.standard_normal((n_vectors, dim)).astype(
        np.float32
    )
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    nlist = nlist or rvc_nlist(n_vectors)
    index = faiss.index_factory(dim, f"IVF{nlist},Flat")
    faiss.extract_index_ivf(index).nprobe = nprobe
    index.train(vectors)
    index.add(vectors)
    faiss.write_index(index, str(path))
    return vectors
