"""Feature-extraction speed and memory: embedder, each pitch method, index retrieval.

Run from the repository root::

    .venv/bin/python -m benchmarks.features              # 30 s of espeak-ng speech
    .venv/bin/python -m benchmarks.features --seconds 10

Weights are random (no real weights can be downloaded here) but real-size and in the real
formats: a fairseq ``hubert_base.pt`` (95M parameters, fp16), an RMVPE checkpoint from the
pitch tests' factory, RVC-style ``IVF{n},Flat`` indexes of 256 and 768 dims. FCPE uses the real
model shipped in ``torchfcpe``; Harvest needs no weights. So the figures measure compute.

Each stage runs in its own subprocess, so its peak memory (``ru_maxrss``: torch allocations are
invisible to tracemalloc) is its own: the table shows the process's resident size after the
imports and at its peak. "load" is building the model (for the first embedder row: converting the
fairseq file and writing the cache); "first" the first call (warm-up, one-time costs); "run" the
best of the following calls; x realtime = audio seconds / run seconds. All rows come from one
run on this machine, so they compare with each other; absolute numbers are machine-specific.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.memory import current_rss_mb, peak_rss_mb

SR = 16000
TEXT = (
    "The quick brown fox jumps over the lazy dog. A voice conversion model takes what was said "
    "and how high it was sung, and says it again in another voice. We measure how long each "
    "step of feature extraction takes on this machine, from the embedder to the pitch tracker "
    "and the index. Peter Piper picked a peck of pickled peppers; she sells sea shells by the "
    "sea shore. How much wood would a woodchuck chuck if a woodchuck could chuck wood? "
)


def speech(seconds: float, work: Path) -> np.ndarray:
    """``seconds`` of espeak-ng speech at 16 kHz (the text repeated as needed)."""
    import librosa
    import soundfile as sf

    wav = work / "speech.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), TEXT * 3], check=True)
    audio, rate = sf.read(wav, dtype="float32")
    audio = librosa.resample(audio, orig_sr=rate, target_sr=SR)
    reps = int(np.ceil(seconds * SR / len(audio)))
    return np.tile(audio, reps)[: int(seconds * SR)].astype(np.float32)


def _rmvpe_factory():
    """The pitch tests' random-weight RMVPE checkpoint writer, if it exists yet."""
    import importlib

    for module, name in (("tests.support.f0", "make_rmvpe"), ("tests.support.features", "make_rmvpe")):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


def prepare(work: Path, seconds: float) -> dict:
    from tests.support.features import make_fairseq_hubert, make_index

    audio = speech(seconds, work)
    np.save(work / "audio.npy", audio)
    make_fairseq_hubert(work / "hubert_base.pt", seed=0, size="base")
    frames = (len(audio) - 400) // 320 + 1
    rng = np.random.default_rng(0)
    # ~10 minutes of training audio at 50 frames/s, RVC's list count for that size
    for dim, version in ((768, "v2"), (256, "v1")):
        vectors = make_index(work / f"{version}.index", dim, 30000, seed=1)
        picks = vectors[rng.integers(0, len(vectors), frames)]
        np.save(work / f"feats_{version}.npy", (picks + 0.3 * rng.standard_normal(picks.shape)).astype(np.float32))
    factory = _rmvpe_factory()
    if factory is not None:
        factory(work / "rmvpe.pt", 0)
    return {"seconds": seconds, "rmvpe": factory is not None}


def _timed(fn, repeats: int) -> tuple[float, float]:
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return first, best


def run_stage(stage: str, work: Path, repeats: int) -> dict:
    """One stage in this (fresh) process; returns its figures."""
    from inference.core.runtime import import_torch

    os.environ["RVC_STUDIO_CACHE_DIR"] = str(work / "cache")
    audio = np.load(work / "audio.npy")
    kind, _, arg = stage.partition(":")
    start = time.perf_counter()
    if kind in ("embedder", "f0"):
        import_torch()
    if kind == "embedder":
        import transformers.models.hubert.modeling_hubert  # noqa: F401
    if kind == "retrieval":
        import faiss  # noqa: F401
    imports = time.perf_counter() - start
    baseline = current_rss_mb()
    start = time.perf_counter()
    if kind == "embedder":
        from inference.features import load_embedder

        model = load_embedder(work / "hubert_base.pt")
        call = functools.partial(model.extract, audio, arg)
    elif kind == "f0":
        from inference.f0 import F0Estimators, estimate_f0

        estimators = F0Estimators(weights_dirs=(work,))  # rmvpe.pt is in work/
        estimators.load(arg)  # the model loads here (nothing for Harvest)
        call = functools.partial(estimate_f0, audio, arg, estimators=estimators)
    elif kind == "retrieval":
        from inference.features.retrieval import load_index

        version, _, threads = arg.partition("@")
        if threads:
            os.environ["RVC_STUDIO_FAISS_THREADS"] = threads
        index = load_index(work / f"{version}.index")
        feats = np.load(work / f"feats_{version}.npy")
        call = functools.partial(index.blend, feats, 0.75)
    else:
        raise SystemExit(f"unknown stage {stage}")
    load = time.perf_counter() - start
    first, best = _timed(call, repeats)
    return {
        "stage": stage,
        "import_s": imports,
        "load_s": load,
        "first_s": first,
        "run_s": best,
        "xrt": len(audio) / SR / best,
        "base_mb": baseline,
        "peak_mb": peak_rss_mb(),
    }


def _child(stage: str, work: Path, repeats: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.features",
        "--stage",
        stage,
        "--work",
        str(work),
        "--repeats",
        str(repeats),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"stage": stage, "error": tail[:110]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "prepare":  # child processes: this one builds the inputs...
        print(json.dumps(prepare(args.work, args.seconds)))
        return
    if args.stage:  # ...these measure one stage each
        print(json.dumps(run_stage(args.stage, args.work, args.repeats)))
        return
    with tempfile.TemporaryDirectory(prefix="rvc-bench-features-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        # in a child too: this process stays small, so nothing of it shows in the stages' memory
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.features",
            "--stage",
            "prepare",
            "--work",
            str(work),
            "--seconds",
            str(args.seconds),
        ]
        info = json.loads(
            subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        )
        print(
            f"{args.seconds:.0f} s of espeak-ng speech at 16 kHz; random real-size weights "
            f"(prepared in {time.perf_counter() - t0:.0f} s); {os.cpu_count()} CPU cores\n"
        )
        stages = ["embedder:v2", "embedder:v2", "embedder:v1"]  # first row converts + caches
        stages += ["f0:rmvpe"] if info["rmvpe"] else []
        stages += ["f0:fcpe", "f0:harvest", "retrieval:v2", "retrieval:v2@2", "retrieval:v1"]
        header = (
            f"{'stage':<22}{'import s':>9}{'load s':>8}{'first s':>9}{'run s':>8}{'x realtime':>12}"
            f"{'RSS base MB':>13}{'peak MB':>9}"
        )
        print(header)
        print("-" * len(header))
        for i, stage in enumerate(stages):
            row = _child(stage, work, args.repeats)
            label = stage + (" (convert)" if i == 0 else "")
            if "error" in row:
                print(f"{label:<22}  failed: {row['error']}")
                continue
            print(
                f"{label:<22}{row['import_s']:9.2f}{row['load_s']:8.2f}{row['first_s']:9.2f}{row['run_s']:8.2f}"
                f"{row['xrt']:12.1f}{row['base_mb']:13.0f}{row['peak_mb']:9.0f}"
            )
        if not info["rmvpe"]:
            print("\nrmvpe: skipped (no random-weight RMVPE factory in tests/ yet)")
        print("\nretrieval:v2@2 = the same search with 2 faiss threads (the default is 1).")


if __name__ == "__main__":
    main()
