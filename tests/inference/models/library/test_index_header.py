"""The faiss header reader against files faiss itself wrote, of several index types."""

from __future__ import annotations

import numpy as np
import pytest

from inference.models.library import IndexHeaderError, read_index_header
from tests.support.features import make_index


def _write(path, factory: str, dim: int, n: int, add: bool = True) -> None:
    import faiss

    rng = np.random.default_rng(dim + n)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    index = faiss.index_factory(dim, factory)
    index.train(vectors)
    if add:
        index.add(vectors)
    faiss.write_index(index, str(path))


@pytest.mark.parametrize(
    ("factory", "dim", "n", "fourcc"),
    [
        ("Flat", 256, 300, "IxF2"),
        ("IVF4,Flat", 768, 400, "IwFl"),
        ("IVF4,SQ8", 64, 600, "IwSq"),
        ("PCA16,IVF4,Flat", 32, 300, "IxPT"),
        ("IDMap,Flat", 48, 10, "IxMp"),
        ("HNSW8", 24, 50, "IHNf"),
    ],
)
def test_width_and_count_match_what_faiss_reads(tmp_path, factory, dim, n, fourcc):
    import faiss

    path = tmp_path / "x.index"
    if factory.startswith("IDMap"):
        index = faiss.index_factory(dim, factory)
        index.add_with_ids(np.ones((n, dim), np.float32), np.arange(n) * 7)
        faiss.write_index(index, str(path))
    else:
        _write(path, factory, dim, n)
    header = read_index_header(path)
    loaded = faiss.read_index(str(path))
    assert (header.width, header.ntotal) == (loaded.d, loaded.ntotal) == (dim, n)
    assert header.fourcc == fourcc
    assert header.is_trained


def test_rvc_style_ivf256_index_and_its_trained_twin(tmp_path):
    """RVC writes ``IVF{n},Flat`` trained+added (``added_*``) and trained only (``trained_*``)."""
    added = tmp_path / "added_IVF256_Flat_nprobe_1_voice_v2.index"
    make_index(added, dim=768, n_vectors=256 * 39, seed=1, nlist=256)
    trained = tmp_path / "trained_IVF256_Flat_nprobe_1_voice_v2.index"
    _write(trained, "IVF256,Flat", 768, 256 * 39, add=False)
    assert (read_index_header(added).width, read_index_header(added).ntotal) == (768, 256 * 39)
    assert (read_index_header(trained).width, read_index_header(trained).ntotal) == (768, 0)


def test_reads_only_the_header(tmp_path):
    """A header followed by garbage still reads: the vectors are never touched."""
    path = tmp_path / "v1.index"
    make_index(path, dim=256, n_vectors=400, seed=2, nlist=4)
    data = path.read_bytes()
    garbled = tmp_path / "garbled.index"
    garbled.write_bytes(data[:40] + b"\xff" * (len(data) - 40))
    assert read_index_header(garbled).width == 256


def test_a_cut_short_index_is_named_incomplete(tmp_path):
    path = tmp_path / "added.index"
    make_index(path, dim=256, n_vectors=400, seed=2, nlist=4)
    data = path.read_bytes()
    cut = tmp_path / "cut.index"
    for size in (60, len(data) // 2, 400 * 256 * 4):  # short of the 400 float vectors it announces
        cut.write_bytes(data[:size])
        with pytest.raises(IndexHeaderError, match=rf"cut\.index: the index is incomplete .*{size:,} bytes"):
            read_index_header(cut)


@pytest.mark.parametrize(
    "content",
    [b"", b"IwFl", b"not an index at all, just some text here", b"\x00" * 64, "é".encode() * 40],
)
def test_junk_is_refused_with_the_file_named(tmp_path, content):
    path = tmp_path / "junk.index"
    path.write_bytes(content)
    with pytest.raises(IndexHeaderError, match="junk.index"):
        read_index_header(path)


def test_binary_index_and_missing_file_are_refused(tmp_path):
    import faiss

    path = tmp_path / "bin.index"
    index = faiss.IndexBinaryFlat(64)
    index.add(np.zeros((3, 8), np.uint8))
    faiss.write_index_binary(index, str(path))
    with pytest.raises(IndexHeaderError, match="binary"):
        read_index_header(path)
    with pytest.raises(IndexHeaderError, match="missing.index"):
        read_index_header(tmp_path / "missing.index")
