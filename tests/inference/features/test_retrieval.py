"""Index retrieval against numpy references on the same vectors (tolerance 1e-5, float32)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.core.errors import RVCError
from inference.features import retrieval
from inference.features.retrieval import (
    IndexCache,
    IndexLoadError,
    IndexMismatchError,
    apply_index,
    load_index,
)
from tests.support.features import make_index, rvc_nlist

REPO = Path(__file__).resolve().parents[3]

DIM, N = 16, 2000


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The same vectors in an RVC-style index (nprobe 1) and an exhaustive one (nprobe = nlist)."""
    folder = tmp_path_factory.mktemp("index")
    rvc_path, exact_path = folder / "added_IVF51_Flat_nprobe_1_v1.index", folder / "exact.index"
    vectors = make_index(rvc_path, DIM, N, seed=0)
    same = make_index(exact_path, DIM, N, seed=0, nprobe=rvc_nlist(N))
    assert np.array_equal(vectors, same)
    return rvc_path, exact_path, vectors


def _queries(vectors: np.ndarray, n: int = 300, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = vectors[rng.integers(0, len(vectors), n)]
    return (picks + 0.5 * rng.standard_normal(picks.shape)).astype(np.float32)


def numpy_reference(feats: np.ndarray, vectors: np.ndarray, rate: float, k: int = 8) -> np.ndarray:
    """Brute-force k nearest (squared L2, float64), (1/d)^2 weights normalised per row."""
    d = ((feats[:, None, :].astype(np.float64) - vectors[None].astype(np.float64)) ** 2).sum(-1)
    ix = np.argsort(d, axis=1)[:, :k]
    dist = np.take_along_axis(d, ix, axis=1)
    w = (1.0 / dist) ** 2
    w /= w.sum(axis=1, keepdims=True)
    retrieved = (w[..., None] * vectors[ix].astype(np.float64)).sum(axis=1)
    return (rate * retrieved + (1 - rate) * feats).astype(np.float32)


def test_index_file_layout_is_rvcs(built):
    import faiss

    rvc_path, _, vectors = built
    index = faiss.read_index(str(rvc_path))
    ivf = faiss.extract_index_ivf(index)
    assert isinstance(index, faiss.IndexIVFFlat) and ivf.nlist == rvc_nlist(N) == 51 and ivf.nprobe == 1
    loaded = load_index(rvc_path)
    assert loaded.dim == DIM and len(loaded) == N
    np.testing.assert_array_equal(loaded.vectors, vectors)  # reconstruct_n, in id order


@pytest.mark.parametrize("rate", [0.3, 0.75, 1.0])
def test_blend_equals_brute_force_numpy_reference(built, rate):
    _, exact_path, vectors = built
    feats = _queries(vectors)
    out = load_index(exact_path).blend(feats, rate)
    assert out.dtype == np.float32 and out.shape == feats.shape
    np.testing.assert_allclose(out, numpy_reference(feats, vectors, rate), rtol=0, atol=1e-5)


def test_blend_with_nprobe_1_equals_rvcs_formula_on_faiss_hits(built):
    """The RVC-style index searches approximately; our weights/mix equal RVC's on its hits."""
    rvc_path, _, vectors = built
    loaded = load_index(rvc_path)
    feats = _queries(vectors, seed=2)
    score, ix = loaded.index.search(feats, 8)
    full = (ix >= 0).all(axis=1)  # rows with 8 real hits: the case RVC's formula handles
    assert full.sum() > 200 and (score[full] > 0).all()
    feats, score, ix = feats[full], score[full], ix[full]
    weight = np.square(1 / score)
    weight /= weight.sum(axis=1, keepdims=True)
    rvc = np.sum(vectors[ix] * np.expand_dims(weight, axis=2), axis=1) * 0.75 + 0.25 * feats
    np.testing.assert_allclose(loaded.blend(feats, 0.75), rvc, rtol=0, atol=1e-5)


def test_zero_distance_gives_the_stored_vector_not_nan(built):
    _, exact_path, vectors = built
    feats = vectors[[5, 17, 1999]].copy()
    out = load_index(exact_path).blend(feats, 1.0)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, feats, rtol=0, atol=1e-5)
    # RVC's formula gives NaN here: the case the clamp exists for
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.zeros((1, 8), np.float32)
        w = np.square(1 / score)
        assert np.isnan(w / w.sum(axis=1, keepdims=True)).all()


def test_short_ivf_lists_padding_ids_are_ignored(tmp_path):
    """nprobe 1 over tiny lists: faiss pads missing hits with id -1 and a huge distance."""
    path = tmp_path / "sparse.index"
    vectors = make_index(path, DIM, 200, seed=3, nlist=100)
    loaded = load_index(path)
    feats = _queries(vectors, n=50, seed=4)
    dist, ix = loaded.neighbours(feats)
    assert (ix < 0).any()
    out = loaded.blend(feats, 1.0)
    assert np.isfinite(out).all()
    for row in range(len(feats)):  # reference: only the real hits, RVC's weights
        hit = ix[row] >= 0
        w = (1.0 / dist[row, hit].astype(np.float64)) ** 2
        expected = (w[:, None] * vectors[ix[row, hit]]).sum(0) / w.sum()
        np.testing.assert_allclose(out[row], expected, rtol=0, atol=1e-5)


def test_width_mismatch_names_both_widths_and_the_file(built):
    rvc_path, _, _ = built
    loaded = load_index(rvc_path)
    with pytest.raises(IndexMismatchError) as caught:
        loaded.blend(np.zeros((10, 768), np.float32), 0.5)
    message = str(caught.value)
    assert isinstance(caught.value, RVCError) and "\n" not in message
    assert "16" in message and "768" in message and rvc_path.name in message
    with pytest.raises(IndexMismatchError, match="256"):
        loaded.require_dim(256)


def test_index_rate_zero_never_loads_the_index(built, monkeypatch, tmp_path):
    rvc_path, _, vectors = built

    def forbidden(*args, **kwargs):
        raise AssertionError("the index was loaded")

    monkeypatch.setattr(retrieval, "load_index", forbidden)
    cache = IndexCache()
    feats = _queries(vectors, n=20)
    assert apply_index(feats, rvc_path, 0.0, cache) is feats
    assert apply_index(feats, tmp_path / "does-not-exist.index", 0, cache) is feats
    assert apply_index(feats, None, 0.75, cache) is feats
    assert len(cache) == 0
    with pytest.raises(AssertionError, match="loaded"):  # the spy is live
        apply_index(feats, rvc_path, 0.5, cache)


def test_apply_index_blends_through_the_cache(built):
    _, exact_path, vectors = built
    cache = IndexCache()
    feats = _queries(vectors, n=40, seed=5)
    out = apply_index(feats, exact_path, 0.6, cache)
    np.testing.assert_allclose(out, numpy_reference(feats, vectors, 0.6), rtol=0, atol=1e-5)
    assert len(cache) == 1


def test_cache_reads_each_file_once_and_reloads_when_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "model.index"
    make_index(path, DIM, 400, seed=6)
    loads = []
    real = retrieval.load_index
    monkeypatch.setattr(retrieval, "load_index", lambda p: loads.append(p) or real(p))
    cache = IndexCache(max_entries=2)
    first = cache.get(path)
    assert cache.get(path) is first and len(loads) == 1
    make_index(path, DIM, 500, seed=7)  # replaced: new size and mtime
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    second = cache.get(path)
    assert second is not first and len(second) == 500 and len(loads) == 2
    others = []
    for i in range(2):
        other = tmp_path / f"other{i}.index"
        make_index(other, DIM, 100, seed=10 + i)
        others.append(cache.get(other))
    assert len(cache) == 2  # bounded: the oldest entry was dropped
    cache.get(path)
    assert len(loads) == 5


def test_unreadable_index_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.index"
    junk.write_bytes(b"definitely not faiss" * 10)
    with pytest.raises(IndexLoadError, match="junk.index"):
        load_index(junk)
    with pytest.raises(IndexLoadError, match="missing.index"):
        IndexCache().get(tmp_path / "missing.index")
    good = tmp_path / "good.index"
    make_index(good, DIM, 300, seed=1)
    data = good.read_bytes()
    cut = tmp_path / "cut.index"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexLoadError, match=r"cut\.index: the index is incomplete"):
        load_index(cut)
    damaged = tmp_path / "damaged.index"  # the header is fine, what follows it is not
    damaged.write_bytes(data[:45] + bytes(range(256)) + data[45 + 256 :])
    with pytest.raises(IndexLoadError) as error:
        load_index(damaged)
    message = str(error.value)
    assert message.startswith(f"{damaged} is damaged or not a faiss index this app can read (")
    assert "\n" not in message and "faiss::" not in message and ".cpp" not in message


def test_non_ascii_path(tmp_path):
    folder = tmp_path / "Juice WRLD (RVC v2) 310 Épochs – ü"
    folder.mkdir()
    path = folder / "added_IVF4_Flat_nprobe_1_v2.index"
    vectors = make_index(path, 8, 200, seed=8)
    assert load_index(path).vectors.shape == vectors.shape


def test_bad_arguments(built):
    _, exact_path, vectors = built
    loaded = load_index(exact_path)
    with pytest.raises(ValueError):
        loaded.blend(vectors[:4], 1.5)
    with pytest.raises(ValueError):
        loaded.blend(vectors[0], 0.5)
    np.testing.assert_array_equal(loaded.blend(vectors[:4], 0.0), vectors[:4])


def test_a_search_leaves_torchs_thread_count_alone(built):
    """faiss and torch can share one OpenMP runtime (on Linux, when torch loads first, as in the
    app, torch's libgomp answers faiss's calls); a search once left torch on one core for the rest
    of the thread's life. A fresh process, so that the libraries load in the app's order."""
    rvc_path, _, vectors = built
    script = (
        "import sys, numpy as np\n"
        "from inference.core.runtime import import_torch\n"
        "torch = import_torch()\n"
        "before = torch.get_num_threads()  # torch's first use applies its setting to this thread\n"
        "from inference.features.retrieval import load_index\n"
        "index = load_index(sys.argv[1])\n"
        "index.blend(np.load(sys.argv[2]), 0.5)\n"
        "print(before, torch.get_num_threads())\n"
    )
    queries = Path(rvc_path).with_name("queries.npy")
    np.save(queries, _queries(vectors, n=20))
    env = {**os.environ, "RVC_STUDIO_TORCH_THREADS": "3"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(rvc_path), str(queries)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "3"]
