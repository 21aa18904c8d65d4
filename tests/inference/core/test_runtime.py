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
