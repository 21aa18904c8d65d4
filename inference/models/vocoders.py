"""Which decoder (vocoder) a voice model's weights are, and the layouts that cannot be run.

Applio trains three decoders (``vocoder`` in its files; RVC's files have none and are HiFi-GAN):

- ``HiFi-GAN``: RVC's NSF HiFi-GAN, keys ``dec.ups.*``, ``dec.resblocks.*``;
- ``MRF HiFi-GAN``: the same stages with a 9-harmonic source, keys ``dec.upsamples.*``, ``dec.mrfs.*``;
- ``RefineGAN``: a source pyramid and parallel residual blocks, keys ``dec.mel_conv.*``,
  ``dec.upsample_conv_blocks.*``.

Training checkpoints (``G_*.pth``) carry no ``vocoder`` field, so the keys decide there; where a
file has both, they must agree. RefineGAN was reworked several times before August 2025; only
the current layout (``dec.pre_conv`` 1 -> 16 channels, ``dec.downsample_blocks.{i}`` 16*2^i ->
32*2^i, kernel 7) is supported, as it is the only one current Applio can run.

Torch-free: the functions take key names and a ``shape_of(key)`` callable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

HIFIGAN, MRF, REFINEGAN = "HiFi-GAN", "MRF HiFi-GAN", "RefineGAN"
SUPPORTED_VOCODERS = (HIFIGAN, MRF, REFINEGAN)

# Key prefixes that only one decoder has (checked in this order).
_KEY_PREFIXES = (
    (REFINEGAN, ("dec.mel_conv.", "dec.upsample_conv_blocks.", "dec.source_conv.")),
    (MRF, ("dec.mrfs.", "dec.upsamples.")),
    (HIFIGAN, ("dec.ups.", "dec.resblocks.")),
)
# Where a decoder keeps its transposed convolutions, whose kernel sizes the config must match.
UPSAMPLER_KEYS = {HIFIGAN: "dec.ups", MRF: "dec.upsamples"}
OLD_REFINEGAN = (
    "a RefineGAN model from an older Applio (before August 2025), in a layout that current Applio cannot run either"
)


def squash(name: str) -> str:
    """``"HiFi-GAN"``, ``"hifigan"``, ``"HiFi GAN"`` -> ``"hifigan"``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def canonical(name: str) -> str | None:
    """The supported vocoder ``name`` spells (``"refinegan"`` -> ``"RefineGAN"``), or None."""
    return {squash(v): v for v in SUPPORTED_VOCODERS}.get(squash(name))


def vocoder_from_keys(keys: Iterable[str]) -> str | None:
    """The decoder whose keys the state dict has, or None when it has no decoder keys."""
    keys = list(keys)
    for vocoder, prefixes in _KEY_PREFIXES:
        if any(k.startswith(prefixes) for k in keys):
            return vocoder
    return None


def layout_problem(vocoder: str, keys: Iterable[str], shape_of: Callable[[str], tuple | None]) -> str | None:
    """Why weights of ``vocoder`` cannot be run (an older RefineGAN), or None.

    ``shape_of(name)`` is the stored shape of layer ``name``'s weight (``v`` of a weight-norm pair).
    """
    if vocoder != REFINEGAN:
        return None
    keys = list(keys)
    if any(k.startswith(("dec.source_conv.", "dec.filters.")) for k in keys):
        return OLD_REFINEGAN
    expected = {"dec.pre_conv.weight": (16, 1, 7)}
    expected.update({f"dec.downsample_blocks.{i}.weight": (32 << i, 16 << i, 7) for i in range(4)})
    if any(shape_of(name) != shape for name, shape in expected.items()):
        return OLD_REFINEGAN
    return None


def config_problem(vocoder: str, f0: bool, upsample_rates: tuple[int, ...]) -> str | None:
    """Why a model of ``vocoder`` with this config cannot be built, or None."""
    if vocoder == HIFIGAN:
        return None
    if not f0:  # Applio builds no decoder for these: such a file cannot come from it
        return f"a {vocoder} model without pitch guidance (f0), which Applio cannot build either"
    if vocoder == REFINEGAN and len(upsample_rates) != 4:
        return f"a RefineGAN model with {len(upsample_rates)} upsampling stages (RefineGAN has 4)"
    if vocoder == MRF and any(u % 2 for u in upsample_rates):
        return f"an MRF HiFi-GAN model with an odd upsampling rate ({list(upsample_rates)})"
    return None
