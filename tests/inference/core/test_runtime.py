"""Issue #2: process hygiene and the OpenBLAS preload that makes MLX matmuls fast on Linux."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

MATMUL_PROBE = r"""
import time
from inference.core import runtime
mx = runtime.import_mlx()
a = mx.random.normal((768, 768)); b = mx.random.normal((768, 768)); mx.eval(a, b)
mx.eval(a @ b)
best = float("inf")
for _ in range(7):
    t = time.perf_counter(); mx.eval(a @ b); best = min(best, time.perf_counter() - t)
print(best)
"""


def _probe(env_extra: dict[str, str]) -> float:
    env = {**os.environ, **env_extra}
    proc = subprocess.run(
        [sys.executable, "-c", MATMUL_PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the OpenBLAS preload is a Linux speed-up")
def test_openblas_makes_mlx_matmul_at_least_10x_faster() -> None:
    from inference.core.runtime import find_openblas

    assert find_openblas() is not None, "libopenblas0-pthread is part of the setup; it must be installed"
    fast = _probe({})
    slow = _probe({"RVC_STUDIO_NO_OPENBLAS": "1"})
    ratio = slow / fast
    print(f"MLX 768x768 matmul: reference BLAS {slow * 1e3:.1f} ms, OpenBLAS {fast * 1e3:.1f} ms, ratio {ratio:.1f}x")
    assert ratio >= 10, f"OpenBLAS preload gave only {ratio:.1f}x"


def test_missing_openblas_logs_a_clear_line() -> None:
    code = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stdout);"
        "from inference.core import runtime; print('path', runtime.preload_openblas())"
    )
    env = {**os.environ, "RVC_STUDIO_OPENBLAS": "/nonexistent/libopenblas.so.0"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    if sys.platform.startswith("linux"):
        assert "System OpenBLAS not found (install libopenblas0-pthread)" in proc.stdout
    assert "path None" in proc.stdout


def test_prepare_process_sets_omp_threads(monkeypatch) -> None:
    from inference.core import runtime

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    runtime.prepare_process()
    assert os.environ["OMP_NUM_THREADS"] == "1"


GC_PROBE = r"""
import gc, json
from inference.core import runtime
full = []
gc.callbacks.append(lambda phase, info: phase == "stop" and info["generation"] == 2 and full.append(1))
before = len(gc.get_objects())
runtime.import_torch()
runtime.import_library("librosa.filters")  # numba with it
print(json.dumps({"full_collections": len(full), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count(),
                  "tracked_before": before, "tracked_after": len(gc.get_objects())}))
"""


def test_first_heavy_imports_run_without_full_collections_and_are_frozen() -> None:
    """torch and numba, imported the first time through the runtime: no full collection runs while
    they load (each would walk every object holding the GIL: the GUI's 0.2-0.3 s stalls), what
    they built is frozen out of later ones, and the collector is on again afterwards. Without
    long_lived the same imports run full collections (checked: the count is not 0 then)."""
    import json

    env = {**os.environ}
    proc = subprocess.run(
        [sys.executable, "-c", GC_PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["full_collections"] == 0 and got["enabled"]
    assert got["frozen"] > 100_000  # torch's and numba's objects
    assert got["tracked_after"] < got["tracked_before"] + 1000

    bare = GC_PROBE.replace("runtime.import_torch()", "import torch").replace(
        'runtime.import_library("librosa.filters")', "import librosa.filters"
    )
    proc = subprocess.run([sys.executable, "-c", bare], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["full_collections"] > 0


def test_long_lived_nests_across_threads_and_keeps_a_disabled_collector_off() -> None:
    import gc
    import threading

    from inference.core.runtime import long_lived

    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other() -> None:
        with long_lived():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with long_lived():
        assert not gc.isenabled()
        thread.start()
        assert entered.wait(10)
    assert not gc.isenabled()  # the other thread is still inside
    frozen = gc.get_freeze_count()
    release.set()
    thread.join(10)
    assert gc.isenabled() and gc.get_freeze_count() >= frozen

    gc.disable()
    try:
        with long_lived():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_import_library_returns_the_module_and_waits_for_an_import_under_way(tmp_path, monkeypatch) -> None:
    """A module half-imported by another thread is in sys.modules already: import_library waits
    for it instead of handing out a module without its names."""
    import threading

    from inference.core.runtime import import_library

    started = tmp_path / "started"
    (tmp_path / "slowmod_rvc.py").write_text(
        f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(0.5)\nVALUE = 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    got = {}
    first = threading.Thread(target=lambda: got.setdefault("first", import_library("slowmod_rvc")))
    first.start()
    for _ in range(500):
        if started.exists():
            break
        threading.Event().wait(0.01)
    assert "slowmod_rvc" in sys.modules
    assert import_library("slowmod_rvc").VALUE == 42
    first.join(10)
    assert got["first"].VALUE == 42
    monkeypatch.delitem(sys.modules, "slowmod_rvc")
