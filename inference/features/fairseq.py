"""Reading fairseq's HuBERT checkpoint (Replay's ``hubert_base.pt``) without fairseq or its code.

The file is a ``torch.save`` pickle: ``{"args", "cfg", "model", "task_state", ...}``. Besides
tensors it holds objects of classes we do not have (and must never import): fairseq's
``Dictionary`` in ``task_state``, and, depending on how it was saved, an ``argparse.Namespace``
in ``args`` and omegaconf config objects in ``cfg``. We read it with torch's ``weights_only``
unpickler, which refuses every global it does not know, and allowlist those class names (and
any other name from the fairseq, omegaconf and numpy packages, found by a static scan of the
pickle), each bound to an inert stand-in (:class:`Inert`) that stores its pickled state and does
nothing else: the real class or function is never imported. A pickle that names anything else
(``os.system``, ``builtins.exec``, ...) is refused before any of it runs.

The weights are then renamed onto ``transformers.HubertModel`` (a short, explicit table; the
same correspondence transformers' own conversion script uses) plus the separate ``final_proj``.
Hyper-parameters come from the weights' shapes where possible; the attention-head count and the
conv strides, which shapes cannot tell, come from the checkpoint's config.
"""

from __future__ import annotations

import ast
import re
import threading
import zipfile
from pathlib import Path
from typing import Any

from inference.core.errors import RVCError
from inference.models.load_errors import check_intact, describe_load_error, error_detail

_ALLOWLIST_LOCK = threading.Lock()  # guards torch.serialization's process-wide allowlist (read_checkpoint)


class EmbedderLoadError(RVCError):
    """An embedder file could not be read or is not a HuBERT model we can use."""


class UnsafeCheckpointError(EmbedderLoadError):
    """A checkpoint names code or objects that a weights file never needs; it was not loaded."""


class Inert:
    """Stand-in for a class named in a checkpoint: keeps the pickled state, runs nothing."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Inert:
        obj = super().__new__(cls)
        obj.__dict__["_args"] = args
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # protocol 0/1 pickles call the class
        pass

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict state, slot state)
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self.__dict__["_state"] = state


def _inert(qualified: str) -> type:
    module, _, name = qualified.rpartition(".")
    return type(name, (Inert,), {"__module__": module, "__qualname__": name})


# Class names the known hubert checkpoints contain, each bound to an inert stand-in.
INERT_CLASSES = (
    "argparse.Namespace",
    "fairseq.data.dictionary.Dictionary",
    "omegaconf.dictconfig.DictConfig",
    "omegaconf.listconfig.ListConfig",
    "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata",
    "omegaconf.nodes.AnyNode",
    "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode",
    "omegaconf.nodes.FloatNode",
    "omegaconf.nodes.BooleanNode",
)
# Any other name from these packages also becomes an inert stand-in (training metadata we never
# read: meters, enums, numpy scalars in logged metrics). A stand-in never runs the real code,
# whatever its name, so binding these is safe; every other unknown name is refused.
INERT_PACKAGES = ("fairseq.", "omegaconf.", "numpy.")
# Type references inside omegaconf metadata (``object_type=dict``, ``ref_type=typing.Any``).
# They are only ever stored as values; calling any of them runs no user code.
_TYPE_REFS = {
    "typing.Any": Any,
    **{f"builtins.{t.__name__}": t for t in (dict, list, tuple, str, int, float, bool, bytes)},
}
_IGNORED_KEYS = ("label_embs_concat", "mask_emb", "target_glu.")


def _allowlist(extra: set[str] = frozenset()) -> list[tuple[Any, str]]:
    names = sorted(set(INERT_CLASSES) | set(extra))
    return [(_inert(n), n) for n in names] + [(v, k) for k, v in _TYPE_REFS.items()]


def _refused(error: Exception | None, names: list[str], path: Path) -> UnsafeCheckpointError:
    what = ", ".join(names) if names else error_detail(error)
    return UnsafeCheckpointError(
        f"Refused to load {path}: it names code or objects a weights file never needs ({what}); nothing in it was run"
    )


def _scan_globals(torch: Any, path: Path) -> set[str] | None:
    """Names the pickle refers to beyond torch's own allowlist, read statically (nothing runs).

    None when the static scan cannot read this pickle; the load then relies on the fixed
    allowlist alone, which is just as safe, only less forgiving.
    """
    try:
        return set(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # noqa: BLE001 - any scan failure falls back to the strict allowlist
        return None


def read_checkpoint(path: Path) -> dict[str, Any]:
    """The checkpoint's top-level dict, read without running any code it may contain."""
    from inference.core.runtime import import_torch

    torch = import_torch()
    path = Path(path)
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError as error:
        raise EmbedderLoadError(f"cannot read {path} ({error})") from None
    extra: set[str] = set()
    if is_zip and (found := _scan_globals(torch, path)) is not None:
        refused = sorted(
            n for n in found if n not in _TYPE_REFS and n not in INERT_CLASSES and not n.startswith(INERT_PACKAGES)
        )
        if refused:
            raise _refused(None, refused, path)
        extra = {n for n in found if n not in _TYPE_REFS}
    try:
        # torch keeps the allowlist in one process-wide list that the context manager edits on
        # entry and exit: two threads reading checkpoints at once (a preview's warm-up and a
        # queued job) would each drop the other's entries mid-read.
        with _ALLOWLIST_LOCK, torch.serialization.safe_globals(_allowlist(extra)):
            # mmap: the tensors stay on disk until converted (the file is ~190 MB).
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=is_zip)
    except Exception as error:  # noqa: BLE001 - a hostile or odd file never yields a traceback
        failure = describe_load_error(path, error)
        if failure.refused:
            raise _refused(error, sorted(failure.names), path) from None
        raise EmbedderLoadError(f"{path} cannot be loaded: {failure.reason}") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise EmbedderLoadError(f"{path} is not a fairseq HuBERT checkpoint (no 'model' state dict)")
    if (reason := check_intact(path)) is not None:  # torch does not check the weights' checksums
        raise EmbedderLoadError(f"{path} cannot be loaded: {reason}")
    return state


def plain(value: Any, depth: int = 0) -> Any:
    """Turn stand-ins (Namespace, omegaconf nodes) into plain dicts, lists and scalars."""
    if depth > 40:
        return None
    if isinstance(value, Inert):
        attrs = value.__dict__
        if "_content" in attrs:  # DictConfig / ListConfig
            return plain(attrs["_content"], depth + 1)
        if "_val" in attrs:  # AnyNode, StringNode, ...
            return plain(attrs["_val"], depth + 1)
        return {k: plain(v, depth + 1) for k, v in attrs.items() if not k.startswith("_")}
    if isinstance(value, dict):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    return value


def model_settings(state: dict[str, Any]) -> dict[str, Any]:
    """The model hyper-parameters, from ``cfg["model"]`` (hydra) or ``args`` (legacy argparse)."""
    cfg = plain(state.get("cfg"))
    if isinstance(cfg, dict) and isinstance(cfg.get("model"), dict):
        return cfg["model"]
    args = plain(state.get("args"))
    return args if isinstance(args, dict) else {}


def _eval_layers(text: str) -> list[tuple[int, ...]]:
    """Evaluate fairseq's ``conv_feature_layers`` string (``"[(512,10,5)] * 4 + ..."``) safely."""

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [ev(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
            left, right = ev(node.left), ev(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(f"unsupported expression {ast.dump(node)[:60]}")

    layers = ev(ast.parse(text, mode="eval"))
    if not isinstance(layers, list) or not all(isinstance(t, tuple) and len(t) == 3 for t in layers):
        raise ValueError("expected a list of (dim, kernel, stride) tuples")
    return layers


def _layer_indices(model: dict[str, Any], prefix: str) -> list[int]:
    found = {int(m.group(1)) for k in model if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    return sorted(found)


def hubert_config(state: dict[str, Any], path: Path) -> dict[str, Any]:
    """``transformers.HubertConfig`` keyword arguments for this checkpoint."""
    model = state["model"]
    settings = model_settings(state)

    def need(key: str):
        if key not in model:
            raise EmbedderLoadError(f"{path} is not a HuBERT base-style checkpoint (missing {key})")
        return model[key]

    if settings.get("extractor_mode", "default") != "default" or settings.get("layer_norm_first", False):
        raise EmbedderLoadError(
            f"{path}: unsupported HuBERT variant (extractor_mode={settings.get('extractor_mode')!r}, "
            f"layer_norm_first={settings.get('layer_norm_first')!r}); RVC uses HuBERT base"
        )
    conv_ids = _layer_indices(model, "feature_extractor.conv_layers.")
    convs = [need(f"feature_extractor.conv_layers.{i}.0.weight") for i in conv_ids]
    need("feature_extractor.conv_layers.0.2.weight")  # the group norm of "default" mode
    strides = None
    if isinstance(settings.get("conv_feature_layers"), str):
        try:
            strides = [s for (_, _, s) in _eval_layers(settings["conv_feature_layers"])]
        except (ValueError, SyntaxError, TypeError) as error:
            raise EmbedderLoadError(f"{path}: unreadable conv_feature_layers ({error})") from None
    if strides is None and [c.shape[-1] for c in convs] == [10, 3, 3, 3, 3, 2, 2]:
        strides = [5, 2, 2, 2, 2, 2, 2]  # fairseq's default stack, which every HuBERT base uses
    if strides is None or len(strides) != len(convs):
        raise EmbedderLoadError(f"{path}: cannot tell the strides of its {len(convs)} conv layers")

    hidden = need("post_extract_proj.weight").shape[0]
    pos_v = model.get("encoder.pos_conv.0.weight_v", model.get("encoder.pos_conv.0.parametrizations.weight.original1"))
    if pos_v is None:
        raise EmbedderLoadError(f"{path} is not a HuBERT checkpoint (no positional convolution)")
    layers = _layer_indices(model, "encoder.layers.")
    heads = settings.get("encoder_attention_heads") or {768: 12, 1024: 16}.get(hidden)
    if not heads or hidden % int(heads):
        raise EmbedderLoadError(f"{path}: cannot tell the attention head count for width {hidden}")
    final = model.get("final_proj.weight")
    return {
        "hidden_size": int(hidden),
        "num_hidden_layers": len(layers),
        "num_attention_heads": int(heads),
        "intermediate_size": int(need("encoder.layers.0.fc1.weight").shape[0]),
        "conv_dim": [int(c.shape[0]) for c in convs],
        "conv_kernel": [int(c.shape[-1]) for c in convs],
        "conv_stride": [int(s) for s in strides],
        "conv_bias": "feature_extractor.conv_layers.0.0.bias" in model,
        "feat_extract_norm": "group",
        "num_conv_pos_embeddings": int(pos_v.shape[2]),
        "num_conv_pos_embedding_groups": int(hidden // pos_v.shape[1]),
        "do_stable_layer_norm": False,
        "feat_proj_layer_norm": True,
        "classifier_proj_size": int(final.shape[0]) if final is not None else 256,
        # inference only: no SpecAugment, so no masked_spec_embed parameter
        "mask_time_prob": 0.0,
        "mask_feature_prob": 0.0,
        "layerdrop": 0.0,
    }


_LAYER_RENAMES = {
    "self_attn.q_proj": "attention.q_proj",
    "self_attn.k_proj": "attention.k_proj",
    "self_attn.v_proj": "attention.v_proj",
    "self_attn.out_proj": "attention.out_proj",
    "self_attn_layer_norm": "layer_norm",
    "fc1": "feed_forward.intermediate_dense",
    "fc2": "feed_forward.output_dense",
    "final_layer_norm": "final_layer_norm",
}


def rename_key(key: str, pos_conv_style: str) -> str | None:
    """The transformers name of a fairseq weight, or None for training-only weights.

    ``pos_conv_style`` is ``"parametrizations"`` (torch >= 2.1 weight norm) or ``"legacy"``
    (``weight_g``/``weight_v``), whichever the installed ``HubertModel`` uses.
    """
    if key.startswith(_IGNORED_KEYS):
        return None
    if m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", key):
        return f"feature_extractor.conv_layers.{m[1]}.conv.{m[2]}"
    if m := re.fullmatch(r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)", key):
        return f"feature_extractor.conv_layers.0.layer_norm.{m[1]}"
    if m := re.fullmatch(r"layer_norm\.(weight|bias)", key):
        return f"feature_projection.layer_norm.{m[1]}"
    if m := re.fullmatch(r"post_extract_proj\.(weight|bias)", key):
        return f"feature_projection.projection.{m[1]}"
    if re.fullmatch(r"encoder\.layer_norm\.(weight|bias)", key):
        return key
    if key == "encoder.pos_conv.0.bias":
        return "encoder.pos_conv_embed.conv.bias"
    pos = {
        "encoder.pos_conv.0.weight_g": 0,
        "encoder.pos_conv.0.parametrizations.weight.original0": 0,
        "encoder.pos_conv.0.weight_v": 1,
        "encoder.pos_conv.0.parametrizations.weight.original1": 1,
    }.get(key)
    if pos is not None:
        if pos_conv_style == "legacy":
            return "encoder.pos_conv_embed.conv." + ("weight_g", "weight_v")[pos]
        return f"encoder.pos_conv_embed.conv.parametrizations.weight.original{pos}"
    if m := re.fullmatch(r"encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", key):
        if m[2] in _LAYER_RENAMES:
            return f"encoder.layers.{m[1]}.{_LAYER_RENAMES[m[2]]}.{m[3]}"
    if re.fullmatch(r"final_proj\.(weight|bias)", key):
        return key
    raise EmbedderLoadError(f"unexpected weight {key!r} in the HuBERT checkpoint")


def convert_state(model: dict[str, Any], pos_conv_style: str) -> dict[str, Any]:
    """fairseq state dict -> transformers ``HubertModel`` names (``final_proj.*`` kept as is)."""
    out: dict[str, Any] = {}
    for key, tensor in model.items():
        new = rename_key(key, pos_conv_style)
        if new is not None:
            out[new] = tensor
    return out
