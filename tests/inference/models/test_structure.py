"""The torch-free structure reader: same metadata and tensor shapes as torch.load, nothing run."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from inference.models.structure import MetaUnavailable, TensorMeta, read_structure
from tests.support.voice_models import make_voice_model


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dtype="float16"),
        dict(layout="applio"),
        dict(layout="training"),
        dict(weight_norm="parametrizations", version="v1", sample_rate=32000),
    ],
)
def test_structure_matches_torch_load(tmp_path, kwargs):
    path = make_voice_model(tmp_path / "m.pth", **kwargs)
    meta = read_structure(path)
    real = torch.load(path, weights_only=True, mmap=True)
    assert meta.keys() == real.keys()
    part = "model" if "model" in real else "weight"
    assert meta[part].keys() == real[part].keys()
    for key, tensor in real[part].items():
        assert meta[part][key] == TensorMeta(tuple(tensor.shape), str(tensor.dtype).replace("torch.", "")), key
    for key in real:
        if key not in ("weight", "model"):
            assert meta[key] == real[key], key


def test_code_in_the_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(MetaUnavailable, match="system"):
        read_structure(tmp_path / "evil.pth")
    assert not marker.exists()


def test_not_a_torch_zip(tmp_path):
    (tmp_path / "text.pth").write_text("hello")
    with zipfile.ZipFile(tmp_path / "other.pth", "w") as archive:
        archive.writestr("a.txt", "x")
    for name in ("text.pth", "other.pth", "missing.pth"):
        with pytest.raises(MetaUnavailable):
            read_structure(tmp_path / name)


def test_reading_imports_no_torch(tmp_path):
    path = make_voice_model(tmp_path / "m.pth")
    code = (
        "import sys; from inference.models.structure import read_structure; "
        f"d = read_structure({str(path)!r}); print(len(d['weight']), 'torch' in sys.modules)"
    )
    repo = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    count, torch_loaded = out.stdout.split()
    assert int(count) > 400 and torch_loaded == "False"
