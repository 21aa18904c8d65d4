"""Process start-up hygiene shared by every entry point (GUI, CLI, the bundle, tests).

- ``OMP_NUM_THREADS=1`` must be in the environment before torch or faiss load: on macOS each
  brings its own OpenMP runtime and the pair can segfault otherwise. Torch's own thread pool
  is then sized explicitly by :func:`import_torch`.
- On Linux, MLX's bundled CPU BLAS is a slow reference build. Loading the system OpenBLAS
  (Debian's ``libopenblas0-pthread``) with ``RTLD_GLOBAL`` before the first ``import mlx``
  lets MLX's ``cblas_*`` calls resolve to it, which makes its matmuls many times faster.
- The first import of a heavy library (torch, transformers, numba, faiss) runs inside
  :func:`long_lived`: the cyclic garbage collector waits, and what the import built is frozen
  out of later collections. Otherwise each full collection walks every object (half a million
  once torch and transformers are in) while holding the GIL: 0.2-0.3 s on 2 cores, in which the
  GUI thread cannot run.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

OPENBLAS_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib64/libopenblasp.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/libopenblas.so.0",
)

_state: dict[str, object] = {}
_gc_lock = threading.Lock()
_gc_hold = {"depth": 0, "was_enabled": False}


@contextmanager
def long_lived() -> Iterator[None]:
    """Build long-lived objects (a library's first import) without garbage-collection pauses.

    The cyclic collector is off inside (process-wide; nested and concurrent uses count), and on
    the way out everything alive is frozen (``gc.freeze``): later full collections skip it.
    Objects freed by reference counting are freed as always; only garbage cycles made inside
    stay, which an import makes few of. Loaded models are never built inside it.
    """
    with _gc_lock:
        if _gc_hold["depth"] == 0:
            _gc_hold["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_hold["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_hold["depth"] -= 1
            if _gc_hold["depth"] == 0:
                gc.freeze()
                if _gc_hold["was_enabled"]:
                    gc.enable()


def import_library(name: str) -> ModuleType:
    """``importlib.import_module(name)``, inside :func:`long_lived` the first time.

    Always through ``import_module``: a module another thread is still importing is in
    ``sys.modules`` half-built, and ``import_module`` waits for it.
    """
    if name in sys.modules:
        return importlib.import_module(name)
    with long_lived():
        return importlib.import_module(name)


def prepare_process() -> None:
    """Set the environment every entry point needs. Call first, before any heavy import."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Two OpenMP runtimes (torch's and faiss's) in one process abort on macOS without this.
    if sys.platform == "darwin":
        os.environ.setdefault("KMP_DUPLICATE_LIB_OK", "TRUE")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # pyworld imports pkg_resources, whose deprecation warning would reach users' terminals.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)


def find_openblas() -> Path | None:
    override = os.environ.get("RVC_STUDIO_OPENBLAS")
    candidates = (override,) if override else OPENBLAS_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


def preload_openblas() -> Path | None:
    """Load the system OpenBLAS globally (Linux only). Returns its path, or None.

    Must run before ``mlx`` is first imported; calling it later is harmless but useless.
    ``RVC_STUDIO_NO_OPENBLAS=1`` disables it (benchmarks use that to compare).

    A process that uses torch too must import torch first (:func:`import_torch`): a torch loaded
    after OpenBLAS went global binds its own BLAS calls to it (HuBERT took 1.7x as long), while
    MLX keeps its fast matmuls either way.
    """
    if "openblas" in _state:
        return _state["openblas"]  # type: ignore[return-value]
    path = None
    if sys.platform.startswith("linux") and os.environ.get("RVC_STUDIO_NO_OPENBLAS") != "1":
        if "mlx.core" in sys.modules:
            log.warning("mlx was imported before OpenBLAS could be preloaded; MLX matmuls stay slow")
        path = find_openblas()
        if path is None:
            log.warning(
                "System OpenBLAS not found (install libopenblas0-pthread); "
                "MLX on the CPU will use its slow reference BLAS"
            )
        else:
            lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
            # OMP_NUM_THREADS=1 (see prepare_process) also caps the pthread OpenBLAS at one
            # thread; give it the cores explicitly (MLX's CPU convolutions are matmuls, ~1.7x).
            threads = int(os.environ.get("RVC_STUDIO_BLAS_THREADS", "0")) or (os.cpu_count() or 1)
            if hasattr(lib, "openblas_set_num_threads"):
                lib.openblas_set_num_threads(threads)
            log.info("Loaded system OpenBLAS for MLX: %s (%d threads)", path, threads)
    _state["openblas"] = path
    return path


def import_mlx():
    """Import and return ``mlx.core``, preloading OpenBLAS first on Linux."""
    if "mlx.core" not in sys.modules:
        prepare_process()
        preload_openblas()
    return import_library("mlx.core")


def mlx_available() -> bool:
    """True if MLX can be imported here (not on Intel Macs or Windows)."""
    try:
        import_mlx()
    except ImportError:
        return False
    return True


def import_torch():
    """Import torch with its intra-op thread pool sized to the machine.

    ``OMP_NUM_THREADS=1`` (see module docstring) would otherwise leave torch on one core.
    """
    prepare_process()
    torch = import_library("torch")
    if not _state.get("torch_threads"):
        threads = int(os.environ.get("RVC_STUDIO_TORCH_THREADS", "0")) or (os.cpu_count() or 1)
        torch.set_num_threads(threads)
        _state["torch_threads"] = threads
    return torch
