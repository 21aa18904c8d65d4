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
