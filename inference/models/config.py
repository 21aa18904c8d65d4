"""A voice model's generator hyper-parameters: the checkpoint's 18-entry ``config`` list, named.

Also the tables of what RVC and Applio train: each (version, rate)'s upsampling and the
spectrogram width the posterior encoder reads. Plain data, no torch: the MLX cache stores a
config as JSON (:meth:`ModelConfig.to_dict`) and rebuilds it with :meth:`ModelConfig.from_dict`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inference.models.vocoders import HIFIGAN

# Upsampling of each (version, rate) the public implementation trains (§2's table). The kernel
# sizes are stored in the weights, the rates (strides) are not: they are looked up here.
UPSAMPLING: dict[tuple[str, int], tuple[tuple[int, ...], tuple[int, ...]]] = {
    ("v2", 24000): ((10, 6, 2, 2), (20, 12, 4, 4)),  # Applio's, since 2026
    ("v1", 32000): ((10, 4, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v1", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v1", 48000): ((10, 6, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v2", 32000): ((10, 8, 2, 2), (20, 16, 4, 4)),
    ("v2", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v2", 48000): ((12, 10, 2, 2), (24, 20, 4, 4)),
}
SPEC_CHANNELS = {24000: 513, 32000: 513, 40000: 1025, 48000: 1025}
FEATURE_DIMS = {"v1": 256, "v2": 768}


@dataclass(frozen=True)
class ModelConfig:
    """The generator's hyper-parameters (the checkpoint's ``config`` list, named)."""

    version: str
    sample_rate: int
    f0: bool
    spec_channels: int = 1025
    segment_size: int = 32
    inter_channels: int = 192
    hidden_channels: int = 192
    filter_channels: int = 768
    n_heads: int = 2
    n_layers: int = 6
    kernel_size: int = 3
    p_dropout: float = 0.0
    resblock: str = "1"
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5), (1, 3, 5))
    upsample_rates: tuple[int, ...] = (10, 10, 2, 2)
    upsample_initial_channel: int = 512
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    spk_embed_dim: int = 109
    gin_channels: int = 256
    vocoder: str = HIFIGAN  # not in the checkpoint's list: its ``vocoder`` field or its keys

    @property
    def feature_dim(self) -> int:
        """Width of the content features the model takes: 256 (v1) or 768 (v2)."""
        return FEATURE_DIMS[self.version]

    @property
    def hop(self) -> int:
        """Output samples per feature frame (the product of the upsampling rates)."""
        return math.prod(self.upsample_rates)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        return cls(**_normalised(values))

    @classmethod
    def from_list(cls, values: list | tuple, version: str, f0: bool, vocoder: str = HIFIGAN) -> ModelConfig:
        """From the checkpoint's 18-entry ``config`` list (the last is the rate: ``"40k"`` or 40000)."""
        if len(values) != 18:
            raise ValueError(f"config has {len(values)} entries, expected 18")
        names = [f.name for f in dataclasses.fields(cls)][3:]  # after version, sample_rate, f0
        fields = dict(zip(names, values[:17]))
        rate = parse_rate(values[17])
        return cls(version=version, sample_rate=rate, f0=f0, vocoder=vocoder, **_normalised(fields))


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("resblock_kernel_sizes", "upsample_rates", "upsample_kernel_sizes"):
        if key in out:
            out[key] = tuple(int(v) for v in out[key])
    if "resblock_dilation_sizes" in out:
        out["resblock_dilation_sizes"] = tuple(tuple(int(d) for d in row) for row in out["resblock_dilation_sizes"])
    if "resblock" in out:
        out["resblock"] = str(out["resblock"])
    for key in (
        "spec_channels",
        "segment_size",
        "inter_channels",
        "hidden_channels",
        "filter_channels",
        "n_heads",
        "n_layers",
        "kernel_size",
        "upsample_initial_channel",
        "spk_embed_dim",
        "gin_channels",
    ):
        if key in out:
            out[key] = int(out[key])
    if "p_dropout" in out:
        out["p_dropout"] = float(out["p_dropout"])
    return out


def parse_rate(value: Any) -> int:
    """``"40k"`` / ``"40000"`` / ``40000`` -> 40000."""
    if isinstance(value, bool):
        raise ValueError(f"not a sample rate: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip().lower()
    if text.endswith("k"):
        return int(float(text[:-1]) * 1000)
    return int(float(text))


# -- the HiFi-GAN decoders' receptive field, for exact chunks and windows (both ports, the runner) --

NOISE_EDGE = 2  # samples of context the noise convolution adds to a stage's


def resblock_radius(resblock: str, kernel_sizes, dilation_sizes) -> int:
    """Samples of context each side that one stage's residual blocks read."""
    return max(
        (k - 1) // 2 * (sum(d) + len(d) if str(resblock) == "1" else sum(d))
        for k, d in zip(kernel_sizes, dilation_sizes)
    )


def upsampling_margin(kernel: int, stride: int, block_radius: int, after: int = 0) -> int:
    """Input samples of context each side for an upsampling stage's output (its transposed
    convolution of ``kernel`` and ``stride``, its residual blocks, the noise convolution) to be
    exact in a chunk, or exact ``after`` samples further out (what the later layers read)."""
    return -(-(after + block_radius + NOISE_EDGE + kernel) // stride) + 1


def context_margins(post_radius: int, stages, block_radius: int) -> list[int]:
    """Context each side that a decoder's later layers read, walked back from ``conv_post``
    (``post_radius`` samples) through the upsampling stages (``(kernel, stride)`` each):
    ``[frames at the decoder's input, samples after stage 0, ..., samples after the last]``."""
    margins = [post_radius]
    for kernel, stride in reversed(list(stages)):
        margins.insert(0, upsampling_margin(kernel, stride, block_radius, margins[0]))
    return margins
