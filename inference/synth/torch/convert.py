"""PyTorch generator state dict -> the torch port's :class:`~inference.synth.torch.synthesizers.Synthesizer`.

The twin of :mod:`inference.mlx.convert`. Every change to the weights is stated here or in
:mod:`inference.models.state`, which both ports share:

1. Weight norm is folded in float64 and ``enc_q.*`` (training only) is dropped
   (:func:`~inference.models.state.fold_state_dict`).
2. Every weight keeps PyTorch's layout: nothing is transposed.

The check is strict: a key the model does not have, a parameter the state dict lacks, or a
shape that does not match raises :class:`~inference.models.state.WeightsMismatchError` naming it.

Where MLX keeps its converted weights in a cache (:mod:`inference.mlx.cache`), torch reads the
``.pth`` directly: :func:`load_synthesizer` lives here. :func:`build_synthesizer` makes the
module in the checkpoints' own layout (weight norm as parametrizations), for writing test
checkpoints and for timing the public generator's way of running.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from inference.core.runtime import import_torch
from inference.models.state import WeightsMismatchError, check_names, fold_state_dict

# The layers checkpoints store with weight norm (``weight_g``/``weight_v``), per vocoder.
_FLOW_NORMED = r"flow\.flows\.\d+\.enc\.(?:in_layers\.\d+|res_skip_layers\.\d+|cond_layer)"
WEIGHT_NORMED = {
    "HiFi-GAN": re.compile(r"dec\.ups\.\d+|dec\.resblocks\.\d+\.convs[12]?\.\d+|" + _FLOW_NORMED),
    "MRF HiFi-GAN": re.compile(
        r"dec\.(?:conv_pre|conv_post|upsamples\.\d+|mrfs\.\d+\.\d+\.layers\.\d+\.conv[12])|" + _FLOW_NORMED
    ),
    "RefineGAN": re.compile(
        r"dec\.(?:pre_conv|mel_conv|conv_post|downsample_blocks\.\d+"
        r"|upsample_conv_blocks\.\d+\.blocks\.\d+\.1\.convs[12]\.\d+)|" + _FLOW_NORMED
    ),
}


def convert_state_dict(state_dict: Mapping[str, Any], model) -> dict[str, np.ndarray]:
    """Map a generator state dict onto ``model``'s parameters (float32 numpy, PyTorch layout).

    Raises :class:`WeightsMismatchError` for unknown or missing keys and shape mismatches.
    """
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    folded = fold_state_dict(state_dict)
    check_names(folded, expected)
    arrays: dict[str, np.ndarray] = {}
    for key, value in folded.items():
        if tuple(value.shape) != expected[key]:
            raise WeightsMismatchError(f"{key}: shape {tuple(value.shape)} does not fit the model's {expected[key]}")
        arrays[key] = np.ascontiguousarray(value, dtype=np.float32)
    return arrays


def load_arrays(model, arrays: Mapping[str, Any], dtype: str = "float32"):
    """Load converted arrays into ``model`` strictly, cast it to ``dtype``, in eval mode."""
    torch = import_torch()

    target = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}.get(dtype)
    if target is None:
        raise WeightsMismatchError(f"unsupported dtype {dtype!r}; expected float32, float16 or bfloat16")
    weights = {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}
    try:
        # assign: the arrays become the weights (a model built on the meta device has no storage)
        model.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as error:
        raise WeightsMismatchError(f"converted weights do not fit the model: {error}") from error
    tensors = itertools.chain(model.named_parameters(), model.named_buffers())
    empty = next((name for name, t in tensors if t.is_meta), None)
    if empty is not None:
        raise WeightsMismatchError(f"converted weights leave {empty} without a value")
    return model.to(target).eval()


def load_synthesizer(path: os.PathLike | str, dtype: str = "float32"):
    """``(ModelConfig, torch Synthesizer)`` for a voice model file, weights folded, in eval mode."""
    import_torch()
    from inference.models.checkpoint import load_checkpoint
    from inference.synth.torch.synthesizers import Synthesizer

    config, state_dict, _info = load_checkpoint(path)
    with import_torch().device("meta"):  # no random initialisation to throw away: every weight is the file's
        model = Synthesizer(config)
    arrays = convert_state_dict(state_dict, model)
    return config, load_arrays(model, arrays, dtype)


def build_synthesizer(config):
    """A random-weight :class:`Synthesizer` in the checkpoints' layout: the config's vocoder's
    :data:`WEIGHT_NORMED` layers carry weight norm as parametrizations
    (``...parametrizations.weight.original0/1``)."""
    import_torch()
    from torch.nn.utils.parametrizations import weight_norm

    from inference.synth.torch.synthesizers import Synthesizer

    model = Synthesizer(config)
    for name, module in list(model.named_modules()):
        if WEIGHT_NORMED[config.vocoder].fullmatch(name):
            weight_norm(module)
    return model


def parametrization_keys(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``X.weight_g``/``X.weight_v`` renamed to ``X.parametrizations.weight.original0/1`` (the
    names :func:`build_synthesizer`'s modules take)."""
    out = {}
    for key, value in state_dict.items():
        for old, new in (
            (".weight_g", ".parametrizations.weight.original0"),
            (".weight_v", ".parametrizations.weight.original1"),
        ):
            if key.endswith(old):
                key = key[: -len(old)] + new
                break
        out[key] = value
    return out
