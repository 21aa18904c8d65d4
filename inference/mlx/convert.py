"""PyTorch generator state dict -> MLX arrays for :class:`inference.mlx.synthesizers.Synthesizer`.

Every change to the weights is stated here:

1. Weight norm is folded: ``w = g * v / ||v||`` computed in float64 and then cast, with the
   norm taken over every axis where ``g`` has size 1 (so the axis is read from ``g``'s shape,
   never assumed). Both stored forms are accepted: ``X.weight_g``/``X.weight_v`` and
   ``X.parametrizations.weight.original0``/``original1``.
2. Convolution weights are re-laid out by the type of the MLX module they load into:
   ``Conv1d`` ``(out, in, k) -> (out, k, in)``: transpose ``(0, 2, 1)``;
   ``ConvTranspose1d`` ``(in, out, k) -> (out, k, in)``: transpose ``(1, 2, 0)``.
   Linear, Embedding, LayerNorm and relative-position tables keep their layout.
3. ``enc_q.*`` (the posterior encoder, used only in training) is dropped by name.

The check is strict: a key the model does not have, a parameter the state dict lacks, or a
shape that does not match raises :class:`ConversionError` naming it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from inference.errors import RVCError

TRAINING_ONLY_PREFIXES = ("enc_q.",)
_WN_PAIRS = (
    (".weight_g", ".weight_v"),
    (".parametrizations.weight.original0", ".parametrizations.weight.original1"),
)


class ConversionError(RVCError):
    """The state dict does not fit the generator built from its config."""


def to_numpy(value: Any) -> np.ndarray:
    """A torch tensor (any dtype or device) or array-like -> numpy array, without importing torch."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def fold_weight_norm(g: np.ndarray, v: np.ndarray, name: str = "weight") -> np.ndarray:
    """``g * v / ||v||`` in float64, the norm over the axes where ``g`` has size 1."""
    g64 = np.asarray(g, dtype=np.float64)
    v64 = np.asarray(v, dtype=np.float64)
    if g64.ndim != v64.ndim:
        if g64.size == v64.shape[0]:  # a flat g of one value per output: the PyTorch default dim=0
            g64 = g64.reshape((v64.shape[0],) + (1,) * (v64.ndim - 1))
        else:
            raise ConversionError(f"weight norm of {name}: g {g64.shape} does not fit v {v64.shape}")
    for a, (gs, vs) in enumerate(zip(g64.shape, v64.shape)):
        if gs not in (1, vs):
            raise ConversionError(f"weight norm of {name}: g {g64.shape} does not fit v {v64.shape}")
    axes = tuple(a for a, gs in enumerate(g64.shape) if gs == 1)
    norm = np.sqrt(np.sum(v64 * v64, axis=axes, keepdims=True))
    return g64 * v64 / norm


def fold_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Fold every weight-norm pair and drop training-only parts; values become float64/float32 numpy."""
    out: dict[str, np.ndarray] = {}
    pending: dict[str, dict[str, Any]] = {}
    for key, value in state_dict.items():
        if key.startswith(TRAINING_ONLY_PREFIXES):
            continue
        for g_suffix, v_suffix in _WN_PAIRS:
            if key.endswith(g_suffix) or key.endswith(v_suffix):
                is_g = key.endswith(g_suffix)
                base = key[: -len(g_suffix if is_g else v_suffix)]
                pending.setdefault(base, {})["g" if is_g else "v"] = value
                break
        else:
            out[key] = to_numpy(value)
    for base, pair in pending.items():
        if set(pair) != {"g", "v"}:
            missing = "g" if "g" not in pair else "v"
            raise ConversionError(f"weight norm of {base}: the {missing} half is missing")
        name = base + ".weight"
        if name in out:
            raise ConversionError(f"{name} is stored both plain and weight-normed")
        out[name] = fold_weight_norm(to_numpy(pair["g"]), to_numpy(pair["v"]), name)
    return out


def layer_transposes(model) -> dict[str, tuple[int, ...]]:
    """Parameter name -> transpose from PyTorch's layout, chosen by the module type it loads into."""
    from inference.mlx.conv import Conv1d, ConvTranspose1d

    rules: dict[str, tuple[int, ...]] = {}
    for prefix, module in model.named_modules():
        if isinstance(module, ConvTranspose1d):
            rules[f"{prefix}.weight" if prefix else "weight"] = (1, 2, 0)
        elif isinstance(module, Conv1d):
            rules[f"{prefix}.weight" if prefix else "weight"] = (0, 2, 1)
    return rules


def convert_state_dict(state_dict: Mapping[str, Any], model) -> dict[str, np.ndarray]:
    """Map a generator state dict onto ``model``'s parameters (float32 numpy, MLX layout).

    Raises :class:`ConversionError` for unknown or missing keys and shape mismatches.
    """
    from mlx.utils import tree_flatten

    expected = {k: tuple(v.shape) for k, v in tree_flatten(model.parameters())}
    folded = fold_state_dict(state_dict)
    unknown = sorted(set(folded) - set(expected))
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConversionError(f"unknown weight {unknown[0]!r}{more}: not part of this generator")
    missing = sorted(set(expected) - set(folded))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ConversionError(f"missing weight {missing[0]!r}{more}")
    transposes = layer_transposes(model)
    arrays: dict[str, np.ndarray] = {}
    for key, value in folded.items():
        if key in transposes:
            if value.ndim != 3:
                raise ConversionError(f"{key}: expected a 3-D convolution weight, got shape {value.shape}")
            value = value.transpose(transposes[key])
        if tuple(value.shape) != expected[key]:
            raise ConversionError(f"{key}: shape {tuple(value.shape)} does not fit the model's {expected[key]}")
        arrays[key] = np.ascontiguousarray(value, dtype=np.float32)
    return arrays


def load_arrays(model, arrays: Mapping[str, Any], dtype: str = "float32"):
    """Load converted arrays (numpy or MLX) into ``model`` strictly and cast it to ``dtype``."""
    import mlx.core as mx

    target = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}.get(dtype)
    if target is None:
        raise ConversionError(f"unsupported dtype {dtype!r}; expected float32, float16 or bfloat16")
    weights = [(k, mx.array(v) if not isinstance(v, mx.array) else v) for k, v in arrays.items()]
    try:
        model.load_weights(weights, strict=True)
    except ValueError as error:
        raise ConversionError(f"converted weights do not fit the model: {error}") from error
    if target != mx.float32:
        model.set_dtype(target)
    mx.eval(model.parameters())
    return model
