"""Fixtures shared by the engine's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.library import Files, make_library_files
from tests.support.separation import TINY_MDX, make_mdx_onnx


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> Files:
    """Voice-model and index files of every kind, made once per session (copy them into trees)."""
    return make_library_files(tmp_path_factory.mktemp("library-files"))


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> Path:
    """An MDX-Net-shaped ONNX model (dim_f 256, dim_t 64, for n_fft 2048)."""
    return make_mdx_onnx(tmp_path_factory.mktemp("mdx") / "tiny_mdx.onnx", TINY_MDX["dim_f"], TINY_MDX["dim_t"])


@pytest.fixture
def known_tiny(tiny_onnx, monkeypatch) -> Path:
    """``tiny_onnx`` as UVR would know it: its hash in the parameter table (a vocal model)."""
    from inference.covers import mdx_models
    from inference.covers.mdx import uvr_hash

    entry = (1.02, TINY_MDX["dim_f"], int(np.log2(TINY_MDX["dim_t"])), TINY_MDX["n_fft"], "Vocals")
    monkeypatch.setitem(mdx_models.MDX_MODEL_DATA, uvr_hash(tiny_onnx), entry)
    return tiny_onnx
