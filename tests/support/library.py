"""Voice-model and index files made once per session, and helpers to place copies of them in
fake Replay trees (the ``files`` fixture in ``tests/inference/conftest.py`` builds them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


class Files:
    """Paths of the session's generated files, and helpers to place copies of them."""

    def __init__(self, root: Path) -> None:
        self.root = root

        self.v2_40k = root / "v2_40k.pth"
        self.v1_32k_nof0 = root / "v1_32k_nof0.pth"
        self.applio_v2_48k = root / "applio_v2_48k.pth"
        self.training_v2_40k = root / "training_v2_40k.pth"
        self.refinegan = root / "refinegan.pth"
        self.mrf = root / "mrf.pth"
        self.old_refinegan = root / "old_refinegan.pth"
        self.garbage = root / "garbage.pth"
        self.v2_index = root / "v2.index"
        self.v1_index = root / "v1.index"
        self.trained_v2 = root / "trained_v2.index"

    @staticmethod
    def place(source: Path, target: Path, link: bool = True) -> Path:
        """Put ``source`` at ``target``: a hard link (fast, no disk) unless ``link`` is False.

        A test that changes a placed file in place (its mtime, its bytes) must copy instead:
        a link shares the session's file.
        """
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        if link:
            try:
                os.link(source, target)
                return target
            except OSError:
                pass
        shutil.copyfile(source, target)
        return target


def make_library_files(root: Path) -> Files:
    """Every kind of file the library tests need, written under ``root``."""
    from tests.support.features import make_index
    from tests.support.voice_models import make_old_refinegan, make_voice_model

    f = Files(root)
    half = {"dtype": "float16"}  # as RVC saves them
    make_voice_model(f.v2_40k, "v2", 40000, True, seed=1, **half)
    make_voice_model(f.v1_32k_nof0, "v1", 32000, False, seed=2, **half)
    make_voice_model(f.applio_v2_48k, "v2", 48000, True, layout="applio", seed=3, **half)
    make_voice_model(f.training_v2_40k, "v2", 40000, True, layout="training", seed=4)
    make_voice_model(f.refinegan, "v2", 32000, True, layout="applio", vocoder="RefineGAN", seed=5)
    make_voice_model(f.mrf, "v2", 40000, True, layout="applio", vocoder="MRF HiFi-GAN", seed=9)
    make_old_refinegan(f.old_refinegan, 40000, seed=10)
    f.garbage.write_bytes(os.urandom(2048))
    make_index(f.v2_index, dim=768, n_vectors=200, seed=6, nlist=4)
    make_index(f.v1_index, dim=256, n_vectors=200, seed=7, nlist=4)
    _trained_only(f.trained_v2, 768)
    return f


def _trained_only(path: Path, dim: int) -> None:
    """An IVF index trained but holding no vectors, like RVC's ``trained_*.index``."""
    import faiss
    import numpy as np

    vectors = np.random.default_rng(8).standard_normal((200, dim)).astype(np.float32)
    index = faiss.index_factory(dim, "IVF4,Flat")
    index.train(vectors)
    faiss.write_index(index, str(path))
