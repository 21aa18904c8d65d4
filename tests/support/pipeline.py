"""A fake Replay tree for the pipeline tests and benchmark: random weights in the real formats.

``build_replay(root)`` writes Replay's layout under ``root/Replay/com.replay.Replay``:
``weights/hubert_base.pt`` (fairseq layout, real feature widths 768 / 256 but narrow inside so
it runs fast), ``weights/rmvpe.pt``, and ``models/<name>/<name>.pth`` with RVC's
``added_IVF*_Flat_nprobe_1_<name>_<version>.index`` for the voice models asked for.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np

from inference.pipeline.chunking import ChunkSettings

# embed, ffn, heads, conv channels, final_dim, conv_pos, conv_pos_groups, layers: HuBERT's
# output widths (768 for v2, 256 through final_proj for v1) with a light inside; 9 layers so
# v1's layer-9 output exists.
PIPELINE_HUBERT = (768, 256, 4, 32, 256, 16, 4, 9)

# name: (version, sample rate, f0)
MODELS = {
    "v2f0": ("v2", 32000, True),
    "v1f0": ("v1", 32000, True),
    "v2nof0": ("v2", 32000, False),
    "v1nof0": ("v1", 32000, False),
}


def make_pipeline_hubert(path: Path, seed: int = 0) -> Path:
    from tests.support import features as feature_factories

    with mock.patch.dict(feature_factories.SIZES, {"pipeline": PIPELINE_HUBERT}):
        feature_factories.make_fairseq_hubert(path, seed=seed, size="pipeline")
    return path


PAD = ChunkSettings(x_pad=0.2)  # less padding than RVC's 1 s: same code path, faster tests
TORCH = dict(backend="torch")
SONG_S = 1.0


def build_replay(root: Path, models: dict[str, tuple[str, int, bool]] = MODELS, index_vectors: int = 600) -> Path:
    """Write the tree; returns Replay's data root (point ``RVC_STUDIO_REPLAY_DIR`` at it)."""
    from tests.support.f0 import make_rmvpe
    from tests.support.features import make_index
    from tests.support.voice_models import make_voice_model

    replay = Path(root) / "Replay" / "com.replay.Replay"
    weights = replay / "weights"
    weights.mkdir(parents=True, exist_ok=True)
    make_pipeline_hubert(weights / "hubert_base.pt")
    make_rmvpe(weights / "rmvpe.pt", seed=0)
    for i, (name, (version, rate, f0)) in enumerate(models.items()):
        folder = replay / "models" / name
        make_voice_model(folder / f"{name}.pth", version=version, sample_rate=rate, f0=f0, seed=10 + i)
        width = 768 if version == "v2" else 256
        make_index(folder / f"added_IVF12_Flat_nprobe_1_{name}_{version}.index", width, index_vectors, seed=i)
    return replay


def voice(seconds: float, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """A voice-like test signal: harmonic notes with vibrato, a breathy noise burst, a pause."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = 150.0 * 2 ** (np.floor(t / 0.4) % 5 / 12) * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    x = sum(0.25 / k * np.sin(k * phase) for k in range(1, 8))
    x *= 0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t) ** 2
    burst = (t % 1.0 > 0.55) & (t % 1.0 < 0.7)
    x[burst] = 0.08 * rng.standard_normal(int(burst.sum()))
    x[(t % 1.0 > 0.85) & (t % 1.0 < 0.9)] *= 0.01
    return x.astype(np.float32)
