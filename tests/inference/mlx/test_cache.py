"""The converted-weight cache: keyed by content + converter version, rebuilt when stale or
corrupt, atomic under concurrent writers, and free of torch and of the .pth once warm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.core.runtime import import_mlx

mx = import_mlx()

from inference.mlx import cache  # noqa: E402
from tests.support.voice_models import make_voice_model  # noqa: E402

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RVC_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "mlx"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    return make_voice_model(tmp_path_factory.mktemp("cache") / "model.pth", version="v1", sample_rate=32000, seed=5)


def _params(model) -> dict:
    from mlx.utils import tree_flatten

    return {k: np.array(v) for k, v in tree_flatten(model.parameters())}


def test_first_load_writes_an_entry_second_load_reads_it(cache_env, model_file, monkeypatch) -> None:
    config, model = cache.load_synthesizer(model_file)
    digest = cache.source_digest(model_file)
    weights, meta = cache.entry_paths(digest)
    assert weights.is_file() and meta.is_file()
    record = json.loads(meta.read_text())
    assert record["converter_version"] == cache.CONVERTER_VERSION
    assert record["source_sha256"] == cache.sha256_file(model_file)
    assert record["config"] == config.to_dict()

    import inference.models.checkpoint as checkpoint

    def forbidden(*_a, **_k):
        raise AssertionError("the .pth was read although the cache entry is valid")

    monkeypatch.setattr(checkpoint, "load_checkpoint", forbidden)
    config2, model2 = cache.load_synthesizer(model_file)
    assert config2 == config
    a, b = _params(model), _params(model2)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_warm_load_imports_no_torch_and_never_opens_the_pth(cache_env, model_file) -> None:
    cache.load_synthesizer(model_file)
    probe = f"""
import builtins, io, sys
sys.modules["torch"] = None  # any import of torch now fails
target = {str(model_file.resolve())!r}
real_open = builtins.open
def guarded(file, *a, **k):
    if str(file) == target or (isinstance(file, (str, bytes)) is False and str(file) == target):
        raise AssertionError("opened the .pth")
    return real_open(file, *a, **k)
builtins.open = io.open = guarded
from inference.mlx.cache import load_synthesizer
config, model = load_synthesizer(target)
print("OK", config.sample_rate)
"""
    env = {**os.environ, "RVC_STUDIO_CACHE_DIR": str(cache_env.parent)}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OK 32000" in proc.stdout


def test_stale_entry_is_rebuilt(cache_env, model_file) -> None:
    _, model = cache.load_synthesizer(model_file)
    digest = cache.source_digest(model_file)
    _, meta = cache.entry_paths(digest)
    record = json.loads(meta.read_text())
    record["converter_version"] = cache.CONVERTER_VERSION - 1
    meta.write_text(json.dumps(record))
    assert cache.read_entry(digest) is None
    _, rebuilt = cache.load_synthesizer(model_file)
    assert json.loads(meta.read_text())["converter_version"] == cache.CONVERTER_VERSION
    a, b = _params(model), _params(rebuilt)
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_weights_are_rebuilt(cache_env, model_file, damage) -> None:
    _, model = cache.load_synthesizer(model_file)
    digest = cache.source_digest(model_file)
    weights, _ = cache.entry_paths(digest)
    data = bytearray(weights.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    else:
        data[-100] ^= 0xFF  # a flipped bit inside a tensor: the file still parses
    weights.write_bytes(bytes(data))
    assert cache.read_entry(digest) is None
    _, rebuilt = cache.load_synthesizer(model_file)
    assert cache.read_entry(digest) is not None
    a, b = _params(model), _params(rebuilt)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_key_follows_content_and_converter_version(cache_env, model_file, tmp_path, monkeypatch) -> None:
    other = make_voice_model(tmp_path / "model.pth", version="v1", sample_rate=32000, seed=6)
    assert cache.source_digest(other) != cache.source_digest(model_file)
    first, _ = cache.entry_paths(cache.source_digest(model_file))
    monkeypatch.setattr(cache, "CONVERTER_VERSION", cache.CONVERTER_VERSION + 1)
    second, _ = cache.entry_paths(cache.source_digest(model_file))
    assert first != second


def test_a_changed_file_is_hashed_again(cache_env, tmp_path) -> None:
    path = make_voice_model(tmp_path / "m.pth", version="v1", sample_rate=32000, seed=7)
    before = cache.source_digest(path)
    make_voice_model(path, version="v1", sample_rate=32000, seed=8)  # same name, new content
    os.utime(path, ns=(1, 1))  # even with an odd mtime, size or mtime differ from the memo
    assert cache.source_digest(path) == cache.sha256_file(path) != before


WRITER = """
import sys, numpy as np
from inference.mlx import cache
arrays = {"a": np.arange(200000, dtype=np.float32), "b": np.ones((300, 7), dtype=np.float32)}
for _ in range(int(sys.argv[1])):
    cache.write_entry("f" * 64, {"x": 1}, arrays)
"""


def test_concurrent_writers_never_leave_a_broken_entry(cache_env) -> None:
    env = {**os.environ, "RVC_STUDIO_CACHE_DIR": str(cache_env.parent)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, "15"], cwd=REPO, env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    seen_valid = 0
    while any(p.poll() is None for p in procs):
        entry = cache.read_entry("f" * 64)  # never raises; None only before the first write
        if entry is not None:
            seen_valid += 1
            assert entry[0] == {"x": 1} and entry[1]["b"].shape == (300, 7)
    for p in procs:
        assert p.wait() == 0, p.stderr.read().decode()[-2000:]
    entry = cache.read_entry("f" * 64)
    assert entry is not None and np.array_equal(np.array(entry[1]["a"]), np.arange(200000, dtype=np.float32))
    leftovers = [p.name for p in cache_env.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


@pytest.mark.parametrize(
    "config",
    [{"upsample_rates": "ten"}, {"inter_channels": None}, {"sample_rate": [1]}, {"spk_embed_dim": -3}, "x", None],
)
def test_a_record_whose_config_does_not_build_is_rebuilt(cache_env, model_file, config) -> None:
    """A record that parses but holds a config of the wrong kinds (a hand edit, another version)
    is rebuilt from the model file: the user never sees a TypeError."""
    _, model = cache.load_synthesizer(model_file)
    digest = cache.source_digest(model_file)
    _, meta = cache.entry_paths(digest)
    record = json.loads(meta.read_text())
    record["config"] = {**record["config"], **config} if isinstance(config, dict) else config
    meta.write_text(json.dumps(record))
    _, rebuilt = cache.load_synthesizer(model_file)
    a, b = _params(model), _params(rebuilt)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert cache.read_entry(digest) is not None
