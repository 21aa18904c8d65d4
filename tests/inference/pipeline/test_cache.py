"""The analysis cache: keys, the byte-bounded memory LRU, the atomic disk store and its pruning."""

from __future__ import annotations

import os
import time

import numpy as np

from inference.pipeline.cache import Analysis, AnalysisCache, analysis_key, array_digest, file_digest


def _analysis(frames: int = 50, seed: int = 0, f0: bool = True, audio: bool = False) -> Analysis:
    rng = np.random.default_rng(seed)
    return Analysis(
        rng.standard_normal((frames, 8)).astype(np.float32),
        rng.uniform(0, 400, 2 * frames).astype(np.float32) if f0 else None,
        rng.standard_normal(320 * frames).astype(np.float32) if audio else None,
    )


def _same(a: Analysis, b: Analysis) -> bool:
    pairs = [(a.features, b.features), (a.f0, b.f0), (a.audio, b.audio)]
    return all(
        (x is None and y is None) or (x is not None and y is not None and np.array_equal(x, y)) for x, y in pairs
    )


def test_keys_depend_on_every_part_and_not_on_order() -> None:
    base = dict(source=("file", "abc"), piece=(0, 1600, 160, 80), embedder="e", version="v2", f0="rmvpe", radius=None)
    key = analysis_key(**base)
    assert key == analysis_key(**dict(reversed(list(base.items()))))
    for name, other in [
        ("source", ("file", "abd")),
        ("piece", (0, 1760, 160, 80)),
        ("embedder", "f"),
        ("version", "v1"),
        ("f0", "harvest"),
        ("radius", 3),
    ]:
        assert analysis_key(**{**base, name: other}) != key, name


def test_memory_lru_is_bounded_in_bytes(tmp_path) -> None:
    one = _analysis(seed=1)
    cache = AnalysisCache(None, max_memory_bytes=int(2.5 * one.nbytes))
    for i in range(3):
        cache.put(f"k{i}", _analysis(seed=i))
    assert len(cache) == 2 and cache.get("k0") is None
    assert _same(cache.get("k1"), _analysis(seed=1))  # k1 is now the most recent
    cache.put("k3", _analysis(seed=3))
    assert cache.get("k2") is None and cache.get("k1") is not None
    big = _analysis(frames=500)
    cache.put("big", big)  # larger than the whole budget: not kept, nothing else evicted
    assert cache.get("big") is None and len(cache) == 2


def test_disk_entries_survive_a_new_cache_and_are_written_atomically(tmp_path) -> None:
    root = tmp_path / "analysis"
    first = AnalysisCache(root)
    entries = {"a": _analysis(seed=1), "b": _analysis(seed=2, f0=False), "c": _analysis(seed=3, audio=True)}
    for key, value in entries.items():
        first.put(key, value, remember=False)
    assert len(first) == 0
    assert sorted(p.name for p in root.iterdir()) == ["a.npz", "b.npz", "c.npz"]  # no temporary left over
    second = AnalysisCache(root)
    for key, value in entries.items():
        got = second.get(key, remember=False)
        assert got is not None and _same(got, value), key
    assert len(second) == 0
    assert second.get("c") is not None and len(second) == 1  # remember=True keeps a disk hit in memory
    assert second.get("missing") is None and second.misses == 1


def test_a_corrupt_or_foreign_entry_is_dropped(tmp_path) -> None:
    root = tmp_path / "analysis"
    cache = AnalysisCache(root)
    cache.put("ok", _analysis(), remember=False)
    (root / "junk.npz").write_bytes(b"not a zip file")
    np.savez(root / "wrong.npz", features=np.zeros((3, 4), np.float64))  # wrong dtype
    raw = (root / "ok.npz").read_bytes()
    (root / "cut.npz").write_bytes(raw[: len(raw) // 2])
    for key in ("junk", "wrong", "cut"):
        assert cache.get(key) is None
        assert not (root / f"{key}.npz").exists()
    assert cache.get("ok") is not None


def test_disk_store_drops_the_least_recently_used_beyond_its_bound(tmp_path) -> None:
    root = tmp_path / "analysis"
    size = _analysis().nbytes
    cache = AnalysisCache(root, max_disk_bytes=int(2.6 * size))
    now = time.time()
    for i, key in enumerate(("old", "mid")):
        cache.put(key, _analysis(seed=i), remember=False)
        os.utime(root / f"{key}.npz", (now - 100 + i, now - 100 + i))
    cache.get("old", remember=False)  # a hit counts as a use
    cache.put("new", _analysis(seed=5), remember=False)
    assert sorted(p.stem for p in root.glob("*.npz")) == ["new", "old"]


def test_inputs_are_identified_by_content(tmp_path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"x" * 1000)
    b.write_bytes(b"x" * 1000)
    memo = tmp_path / "memo"
    assert file_digest(a, memo) == file_digest(b, memo) == file_digest(a, None)
    a.write_bytes(b"y" * 1000)
    os.utime(a, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a newer mtime, same size
    assert file_digest(a, memo) != file_digest(b, memo)
    x = np.arange(10, dtype=np.float32)
    assert array_digest(x) == array_digest(x.copy())
    assert len({array_digest(x), array_digest(x.astype(np.float64)), array_digest(x.reshape(2, 5))}) == 3


def test_any_arrays_in_a_disk_entry_read_as_a_valid_analysis_or_a_miss(tmp_path) -> None:
    """Property-based: whatever arrays an entry file holds (wrong names, dtypes, shapes, NaN,
    pickled objects), reading it gives a valid analysis or nothing, never an exception."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import array_shapes, arrays, scalar_dtypes

    cache = AnalysisCache(tmp_path / "store")
    key = analysis_key(source=("file", "x"))
    any_array = arrays(scalar_dtypes(), array_shapes(min_dims=0, max_dims=3, max_side=4))
    entries = st.dictionaries(st.sampled_from(["features", "f0", "audio", "other"]), any_array, max_size=4)

    @settings(max_examples=80, deadline=None)
    @given(entries)
    def check(entry):
        cache.clear_memory()
        (tmp_path / "store").mkdir(exist_ok=True)
        np.savez(tmp_path / "store" / f"{key}.npz", **entry)
        got = cache.get(key)
        if got is not None:
            assert got.features.ndim == 2 and got.features.dtype == np.float32
            assert np.isfinite(got.features).all()
            assert got.f0 is None or (got.f0.ndim == 1 and np.isfinite(got.f0).all())

    check()
