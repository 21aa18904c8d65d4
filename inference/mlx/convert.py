"""PyTorch generator state dict -> MLX arrays for :class:`inference.mlx.synthesizers.Synthesizer`.

Every change to the weights is stated here or in :mod:`inference.models.state`, which both
ports share:

1. Weight norm is folded in float64 and ``enc_q.*`` (training only) is dropped
   (:func:`~inference.models.state.fold_state_dict`).
2. Convolution weights are re-laid out by the type of the MLX module they load into:
   ``Conv1d`` ``(out, in, k) -> (out, k, in)``: transpose ``(0, 2, 1)``;
   ``ConvTranspose1d`` ``(in, out, k) -> (out, k, in)``: transpose ``(1, 2, 0)``.
   Linear, Embedding, LayerNorm and relative-position tables keep their layout.

The check is strict: a key the model does not have, a parameter the state dict lacks, or a
shape that does not match raises :class:`~inference.models.state.WeightsMismatchError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from inference.models.state import WeightsMismatchError, check_names, fold_state_dict


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

    Raises :class:`WeightsMismatchError` for unknown or missing keys and shape mismatches.
    """
    from mlx.utils import tree_flatten

    expected = {k: tuple(v.shape) for k, v in tree_flatten(model.parameters())}
    folded = fold_state_dict(state_dict)
    check_names(folded, expected)
    transposes = layer_transposes(model)
    arrays: dict[str, np.ndarray] = {}
    for key, value in folded.items():
        if key in transposes:
            if value.ndim != 3:
                raise WeightsMismatchError(f"{key}: expected a 3-D convolution weight, got shape {value.shape}")
            value = value.transpose(transposes[key])
        if tuple(value.shape) != expected[key]:
            raise WeightsMismatchError(f"{key}: shape {tuple(value.shape)} does not fit the model's {expected[key]}")
        arrays[key] = np.ascontiguousarray(value, dtype=np.float32)
    return arrays


def load_arrays(model, arrays: Mapping[str, Any], dtype: str = "float32"):
    """Load converted arrays (numpy or MLX) into ``model`` strictly and cast it to ``dtype``."""
    import mlx.core as mx

    target = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}.get(dtype)
    if target is None:
        raise WeightsMismatchError(f"unsupported dtype {dtype!r}; expected float32, float16 or bfloat16")
    weights = [(k, mx.array(v) if not isinstance(v, mx.array) else v) for k, v in arrays.items()]
    try:
        model.load_weights(weights, strict=True)
    except ValueError as error:
        raise WeightsMismatchError(f"converted weights do not fit the model: {error}") from error
    if target != mx.float32:
        model.set_dtype(target)
    mx.eval(model.parameters())
    return model
