"""Random-weight RMVPE checkpoints in the exact format of RVC's ``rmvpe.pt``.

The published ``rmvpe.pt`` is a bare ``torch.save``d state dict of RVC's ``E2E(4, 1, (2, 2))``:
741 entries (``unet.encoder.bn.weight`` ... ``fc.1.bias``), 90.5 M parameters, about 181 MB,
i.e. 2 bytes a parameter: half precision. :func:`make_rmvpe` writes the same keys and shapes,
half precision by default, BatchNorm counters included.
"""

from __future__ import annotations

from pathlib import Path


def rmvpe_state_dict(seed: int = 0, dtype: str = "float16") -> dict:
    """A random state dict with RMVPE's keys and shapes (weights, biases and BatchNorm stats)."""
    import torch

    from inference.f0.rmvpe import E2E

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = E2E()
    state = model.state_dict()
    target = getattr(torch, dtype)
    out = {}
    for key, value in state.items():
        if not value.dtype.is_floating_point:
            out[key] = value.clone()  # num_batches_tracked (int64)
            continue
        if key.endswith("running_var"):
            value = torch.rand(value.shape, generator=gen) * 0.5 + 0.75
        elif key.endswith("running_mean"):
            value = torch.randn(value.shape, generator=gen) * 0.05
        elif value.dim() == 1 and key.endswith(".weight"):  # norm scales stay near 1
            value = 1.0 + torch.randn(value.shape, generator=gen) * 0.05
        out[key] = value.to(target).contiguous()
    return out


def make_rmvpe(path: Path | str, seed: int = 0, dtype: str = "float16") -> Path:
    """Write a random-weight ``rmvpe.pt`` (plain state dict, as RVC's) and return its path."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(rmvpe_state_dict(seed, dtype), path)
    return path
