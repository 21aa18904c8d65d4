"""A generator's state dict as plain weights, for either synthesizer port.

Both ports (:mod:`inference.mlx` and :mod:`inference.synth.torch`) load the same numbers:

1. Weight norm is folded: ``w = g * v / ||v||`` computed in float64 and then cast, with the
   norm taken over every axis where ``g`` has size 1 (so the axis is read from ``g``'s shape,
   never assumed). Both stored forms are accepted: ``X.weight_g``/``X.weight_v`` and
   ``X.parametrizations.weight.original0``/``original1``.
2. ``enc_q.*`` (the posterior encoder, used only in training) is dropped by name.
3. The keys must be exactly the model's: :func:`check_names` names the first unknown or
   missing one.

numpy only: torch tensors are read through ``.numpy()`` without importing torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from inference.core.errors import RVCError
from inference.models.checkpoint import TRAINING_ONLY_PREFIXES

WEIGHT_NORM_PAIRS = (
    (".weight_g", ".weight_v"),
    (".parametrizations.weight.original0", ".parametrizations.weight.original1"),
)


class WeightsMismatchError(RVCError):
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
            raise WeightsMismatchError(f"weight norm of {name}: g {g64.shape} does not fit v {v64.shape}")
    for gs, vs in zip(g64.shape, v64.shape):
        if gs not in (1, vs):
            raise WeightsMismatchError(f"weight norm of {name}: g {g64.shape} does not fit v {v64.shape}")
    axes = tuple(a for a, gs in enumerate(g64.shape) if gs == 1)
    norm = np.sqrt(np.sum(v64 * v64, axis=axes, keepdims=True))
    return g64 * v64 / norm


def fold_state_dict(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Fold every weight-norm pair and drop training-only parts; values become numpy arrays
    (folded weights in float64, the rest in their stored dtype)."""
    out: dict[str, np.ndarray] = {}
    pending: dict[str, dict[str, Any]] = {}
    for key, value in state_dict.items():
        if key.startswith(TRAINING_ONLY_PREFIXES):
            continue
        for g_suffix, v_suffix in WEIGHT_NORM_PAIRS:
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
            raise WeightsMismatchError(f"weight norm of {base}: the {missing} half is missing")
        name = base + ".weight"
        if name in out:
            raise WeightsMismatchError(f"{name} is stored both plain and weight-normed")
        out[name] = fold_weight_norm(to_numpy(pair["g"]), to_numpy(pair["v"]), name)
    return out


def check_names(names: Iterable[str], expected: Iterable[str]) -> None:
    """:class:`WeightsMismatchError` naming the first unknown or missing key, if any."""
    names, expected = set(names), set(expected)
    for found, kind in ((sorted(names - expected), "unknown"), (sorted(expected - names), "missing")):
        if found:
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            detail = ": not part of this generator" if kind == "unknown" else ""
            raise WeightsMismatchError(f"{kind} weight {found[0]!r}{more}{detail}")
