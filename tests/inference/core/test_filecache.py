"""Content digests remembered by file identity: a file replaced by new content with the same
path, size and mtime is noticed (the analysis cache must never serve the old content's features)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from inference.core.filecache import file_identity, remembered_sha256, sha256_file


def test_a_replaced_file_with_the_same_size_and_mtime_gets_its_new_digest(tmp_path):
    memo = tmp_path / "memo"
    song = tmp_path / "song.wav"
    song.write_bytes(b"A" * 4096)
    first = remembered_sha256(song, memo)
    stat = song.stat()
    # New content, same size, the old mtime put back: what `cp -p`, `rsync -t` or an editor that
    # preserves timestamps leave behind.
    other = tmp_path / "other.wav"
    other.write_bytes(b"B" * 4096)
    shutil.copy2(other, song)
    os.utime(song, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert song.stat().st_size == stat.st_size and song.stat().st_mtime_ns == stat.st_mtime_ns
    assert remembered_sha256(song, memo) == sha256_file(song) != first


def test_an_unchanged_file_is_hashed_once(tmp_path, monkeypatch):
    memo = tmp_path / "memo"
    song = tmp_path / "song.wav"
    song.write_bytes(os.urandom(1 << 16))
    calls = []

    def hasher(path):
        calls.append(path)
        return sha256_file(path)

    digest = remembered_sha256(song, memo, hasher)
    assert remembered_sha256(song, memo, hasher) == digest and len(calls) == 1
    record = json.loads(next(memo.iterdir()).read_text())
    assert {k: record[k] for k in file_identity(song.stat())} == file_identity(song.stat())


@pytest.mark.parametrize("junk", ["[]", "5", "{", '{"path": 1}', '{"sha256": 5}'])
def test_a_damaged_memo_is_recomputed(tmp_path, junk):
    memo = tmp_path / "memo"
    song = tmp_path / "song.wav"
    song.write_bytes(b"x" * 100)
    remembered_sha256(song, memo)
    next(memo.iterdir()).write_text(junk)
    assert remembered_sha256(song, memo) == sha256_file(song)


def _write_entry(root, digest, arrays):
    from safetensors.numpy import save_file

    from inference.core.filecache import write_entry

    write_entry(root, digest, 1, {"config": {"n": 1}}, lambda p: save_file(arrays, str(p)))


def test_an_entry_reads_back_tensor_by_tensor(tmp_path):
    import numpy as np

    from inference.core.filecache import read_entry

    arrays = {"a": np.arange(12, dtype=np.float32).reshape(3, 4), "b": np.ones(5, np.int64)}
    _write_entry(tmp_path, "d" * 64, arrays)
    meta, tensors = read_entry(tmp_path, "d" * 64, 1, "config", "np", "test")
    assert meta["config"] == {"n": 1} and tensors.keys() == arrays.keys()
    for name, array in arrays.items():
        np.testing.assert_array_equal(tensors[name], array)
        assert tensors[name].dtype == array.dtype
    _, as_torch = read_entry(tmp_path, "d" * 64, 1, "config", "pt", "test")
    assert as_torch["a"].shape == (3, 4) and float(as_torch["a"].sum()) == float(arrays["a"].sum())


def test_an_entry_replaced_while_it_is_parsed_is_not_trusted(tmp_path, monkeypatch):
    """The hash is checked on one open file and the parse opens the path again: a file swapped
    in between (another process writing the entry, say) must not pass for the one hashed."""
    import numpy as np

    from inference.core import filecache

    _write_entry(tmp_path, "e" * 64, {"a": np.zeros(4, np.float32)})
    weights, _ = filecache.entry_paths(tmp_path, "e" * 64, 1)
    parse = filecache._load_tensors

    def swapped_first(path, framework):
        other = tmp_path / "other.safetensors"
        from safetensors.numpy import save_file

        save_file({"a": np.full(4, 7.0, np.float32)}, str(other))
        os.replace(other, path)  # a rename, as every writer of the cache does
        return parse(path, framework)

    monkeypatch.setattr(filecache, "_load_tensors", swapped_first)
    assert filecache.read_entry(tmp_path, "e" * 64, 1, "config", "np", "test") is None
    monkeypatch.setattr(filecache, "_load_tensors", parse)
    # the swapped file does not match the record's hash either: still nothing trusted
    assert filecache.read_entry(tmp_path, "e" * 64, 1, "config", "np", "test") is None
    assert weights.exists()
