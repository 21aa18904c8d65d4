"""Model library speed: first scan, cached re-scans and refresh() over 200 models.

Run from the repository root::

    .venv/bin/python -m benchmarks.library              # 200 models
    .venv/bin/python -m benchmarks.library --models 500

A fake Replay folder is built in a temporary directory: ``--models`` model folders with
awkward names, each holding a real-format random-weight v2 model (``tests.support.voice_models``) and an
RVC ``added_IVF*_Flat`` index. To spare the disk, the folders hold hard links to a few
generated files (every path is distinct, so the library reads each one as a separate file;
the OS page cache then serves them, as it would right after an unzip).

Rows (one run, same machine, so they compare with each other):
- first scan, new process: empty metadata cache, a fresh interpreter; includes importing torch
  (the checkpoint reader needs it), as the app's first scan does.
- first scan, torch loaded: the same in this process, torch already imported: every model's
  header is read (``read_model_info``, memory-mapped) and every index header.
- cached re-scan, new process: a fresh interpreter with only the cache file; torch must not load.
- cached re-scan, new library: same process, cache read from disk.
- re-scan / refresh(): the same library object again (no change on disk).
- refresh() after one touched and one added model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NAMES = ["Juice WRLD (RVC v2) {n} Epochs", "Zoë — 日本語 {n}", "singer_{n}", "My Voice v2 ({n})"]

_CHILD = r"""
import json, sys, time
from pathlib import Path
start = time.perf_counter()
from inference.models.library import ModelLibrary
imported = time.perf_counter()
models = ModelLibrary(cache_path=Path(sys.argv[1])).scan()
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "scan_s": done - imported, "models": len(models),
                  "torch_loaded": "torch" in sys.modules, "faiss_loaded": "faiss" in sys.modules}))
"""


def scan_in_new_process(cache: Path) -> dict:
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(cache)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"PYTHONPATH": os.getcwd()},
    )
    return json.loads(child.stdout)


def _link(source: Path, target: Path, copy: bool = False) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        if copy:
            raise OSError("a real copy was asked for")
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def build_tree(root: Path, n_models: int) -> Path:
    """``root/models`` with ``n_models`` model folders; returns the models folder."""
    from tests.support.features import make_index
    from tests.support.voice_models import make_voice_model

    seeds = root / "seed"
    seeds.mkdir(parents=True)
    sources = []
    for i, (version, rate) in enumerate([("v2", 40000), ("v2", 48000), ("v1", 40000), ("v2", 32000)]):
        model = make_voice_model(seeds / f"m{i}.pth", version, rate, True, seed=i, dtype="float16")
        index = seeds / f"i{i}.index"
        make_index(index, dim=768 if version == "v2" else 256, n_vectors=2000, seed=i, nlist=16)
        sources.append((model, index))
    models = root / "com.replay.Replay" / "models"
    for n in range(n_models):
        folder = models / NAMES[n % len(NAMES)].format(n=n)
        model, index = sources[n % len(sources)]
        inner = folder if n % 3 else folder / "unzipped" / "weights"  # a third nested like zips
        _link(model, inner / "model.pth", copy=n == 0)  # the benchmark touches model 0's file
        _link(index, inner / f"added_IVF16_Flat_nprobe_1_voice{n}_v2.index")
    return models


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=200)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="rvc-library-bench-") as tmp:
        root = Path(tmp)
        t_build, models_dir = timed(lambda: build_tree(root, args.models))
        os.environ["RVC_STUDIO_REPLAY_DIR"] = str(models_dir.parent)
        cache = root / "cache" / "library.json"
        from inference.models.library import ModelLibrary

        cold = scan_in_new_process(root / "cold-cache" / "library.json")
        assert cold["models"] == args.models, cold
        library = ModelLibrary(cache_path=cache)
        t_first, found = timed(library.scan)
        assert len(found) == args.models, len(found)
        bad = [m for m in found if not m.ok or m.problems]
        assert not bad, bad[:3]
        fresh = scan_in_new_process(cache)
        assert fresh["models"] == args.models and not fresh["torch_loaded"], fresh
        t_new_lib, _ = timed(lambda: ModelLibrary(cache_path=cache).scan(), repeat=3)
        t_rescan, _ = timed(library.scan, repeat=3)
        t_refresh, changes = timed(library.refresh, repeat=3)
        assert not changes, changes
        touched = Path(next(m.model_path for m in found if m.name == NAMES[0].format(n=0)))
        st = touched.stat()
        os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        _link(touched, models_dir / "Brand New" / "model.pth")
        t_refresh_changed, changes = timed(library.refresh)
        assert changes.added == ["replay:Brand New"] and not changes.removed, changes
        assert changes.changed == [], changes  # touched, same bytes: re-read, same model

    n = args.models
    rows = [
        ("build the tree (not the library)", t_build),
        ("first scan, new process", cold["scan_s"]),
        ("first scan, this process", t_first),
        ("cached re-scan, new process", fresh["scan_s"]),
        ("cached re-scan, new library", t_new_lib),
        ("re-scan, same library", t_rescan),
        ("refresh(), nothing changed", t_refresh),
        ("refresh(), 1 touched + 1 added", t_refresh_changed),
    ]
    print(f"{n} models in a fake Replay folder, {sys.platform}, python {sys.version.split()[0]}")
    for label, seconds in rows:
        print(f"  {label:<40} {seconds * 1000:9.1f} ms   {seconds / n * 1e6:8.0f} µs/model")
    print(f"  first scan in a new process: torch loaded: {cold['torch_loaded']}")
    print(
        f"  new process: import inference.models.library {fresh['import_s'] * 1000:.1f} ms, "
        f"torch loaded: {fresh['torch_loaded']}, faiss loaded: {fresh['faiss_loaded']}"
    )
    print(
        f"first scan / cached re-scan (new library): {t_first / t_new_lib:.1f}x; "
        f"first scan / refresh(): {t_first / t_refresh:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
