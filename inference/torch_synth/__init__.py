"""Our PyTorch RVC generator: the fallback synthesizer (Intel Macs, Linux) and the reference the
MLX port is tested against. State-dict keys are the real checkpoints' own.

- :func:`build_synthesizer` makes the module for a :class:`~inference.checkpoint.ModelConfig`
  (weight norm as parametrizations; ``load_state_dict`` takes either stored form);
- :func:`fold_weight_norm` turns it into plain weights (``g * v / ||v||`` in float64) so no call
  pays for the reparametrisation;
- :func:`load_synthesizer` reads a ``.pth`` and returns the folded module in eval mode.
"""
from __future__ import annotations

import os

from inference.runtime import import_torch


def build_synthesizer(config):
    """An untrained :class:`Synthesizer` for ``config`` (random weights, weight norm unfolded)."""
    import_torch()
    from inference.torch_synth.synthesizers import Synthesizer

    return Synthesizer(config)


def fold_weight_norm(model):
    """Replace every weight-norm parametrization by its folded weight, in place; returns ``model``."""
    torch = import_torch()
    from torch.nn.utils import parametrize

    for module in list(model.modules()):
        if not parametrize.is_parametrized(module, "weight"):
            continue
        params = module.parametrizations.weight
        g = params.original0.detach().to(torch.float64)
        v = params.original1.detach().to(torch.float64)
        axes = tuple(a for a in range(v.ndim) if g.shape[a] == 1)
        folded = g * v / torch.sqrt((v * v).sum(dim=axes, keepdim=True))
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
        with torch.no_grad():  # the float64 fold, not the one remove_parametrizations computed
            module.weight.copy_(folded.to(module.weight.dtype))
    return model


def load_synthesizer(path: os.PathLike | str, dtype: str = "float32"):
    """The generator of a voice model file, weights folded, in eval mode and ``dtype``."""
    torch = import_torch()
    from inference.checkpoint import load_checkpoint

    config, state_dict, _info = load_checkpoint(path)
    model = build_synthesizer(config)
    model.load_state_dict(state_dict)
    fold_weight_norm(model)
    model.config = config
    return model.to(getattr(torch, dtype)).eval()
