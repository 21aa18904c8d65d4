"""The whole conversion pipeline: per-stage times, x realtime, peak memory; cached pitch previews.

Run from the repository root::

    .venv/bin/python -m benchmarks.pipeline                 # 30 s input, both backends
    .venv/bin/python -m benchmarks.pipeline --seconds 10 --backends torch --no-memory

Weights are random but real-size and in the real formats (no real weights can be downloaded
here): a fairseq ``hubert_base.pt`` (95M parameters), ``rmvpe.pt`` (90M), a v2 40 kHz voice
model with pitch and an RVC ``IVF,Flat`` index of 768-dim vectors, in a fake Replay tree. So the
figures measure compute, not quality.

1. Per backend, in a fresh subprocess: models are loaded ("load"), then a cold conversion of the
   input file (44.1 kHz stereo wav) to a wav: seconds per stage, x realtime (audio seconds /
   conversion seconds, loading excluded), and the process's peak resident memory.
2. In the same process: a 10 s region previewed cold (its analysis not cached: decode, embed,
   pitch, retrieval, synthesis) and then with a new pitch (analysis from the cache: retrieval
   and synthesis only); the ratio warm / cold is what makes pitch previews feel instant.
3. Memory against input length (``--no-memory`` skips it), a lighter proxy for "1 minute vs 10
   minutes": RVC's cutting constants scaled down 20x (pieces of 1.9 s instead of ~38 s) and
   inputs of 2 and 20 pieces. Each input repeats one 1.9 s phrase that starts with 20 ms of
   silence, so every cut lands at the same place in it and all pieces are alike: a piece's
   working memory grows with the piece's length (at most x_center + 2 x_query + 2 x_pad), so
   equal pieces isolate the effect of the input's length. Each input runs in its own
   subprocess after a warm-up conversion of the short one; the growth of the peak resident
   size over the warm-up is shown (Linux: the peak counter is reset after the warm-up).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.memory import peak_rss_mb, reset_peak

HERE = Path(__file__).resolve().parents[1]


def _memory_chunk():
    from inference.pipeline.chunking import ChunkSettings

    return ChunkSettings(x_pad=0.05, x_max=2.05, x_center=1.9, x_query=0.3)  # RVC's constants / 20


def prepare(work: Path, seconds: float, memory_pieces: int) -> None:
    """The fake Replay tree (real-size random weights) and the input files."""
    import numpy as np
    import soundfile as sf

    from tests.support.f0 import make_rmvpe
    from tests.support.features import make_fairseq_hubert, make_index
    from tests.support.pipeline import voice
    from tests.support.voice_models import make_voice_model

    replay = work / "Replay" / "com.replay.Replay"
    weights, model_dir = replay / "weights", replay / "models" / "bench"
    if not (model_dir / "bench.pth").is_file():
        weights.mkdir(parents=True, exist_ok=True)
        model_dir.mkdir(parents=True, exist_ok=True)
        make_fairseq_hubert(weights / "hubert_base.pt", seed=0, size="base")
        make_rmvpe(weights / "rmvpe.pt", seed=0)
        make_index(model_dir / "added_IVF256_Flat_nprobe_1_bench_v2.index", 768, 10000, seed=0)
        make_voice_model(model_dir / "bench.pth", version="v2", sample_rate=40000, f0=True, dtype="float16", seed=1)
    path = work / "input.wav"
    if not path.is_file():
        audio = voice(seconds, 44100)
        sf.write(path, np.stack([audio, 0.8 * audio], axis=1), 44100, subtype="PCM_16")
    phrase = voice(_memory_chunk().x_center, 16000)
    phrase[:320] = 0.0  # 20 ms of silence: where every cut lands
    for name, count in (("short", memory_pieces), ("long", 10 * memory_pieces)):
        sf.write(work / f"{name}.wav", np.tile(phrase, count), 16000, subtype="FLOAT")


def _model(work: Path):
    from inference.models.library import ModelLibrary

    (model,) = [m for m in ModelLibrary().scan() if m.name == "bench"]
    return model


def run_convert(work: Path, backend: str, region: tuple[float, float]) -> dict:
    """One backend: load, cold conversion, cold and cached region previews."""
    from inference.pipeline import ConversionParams, Converter
    from inference.pipeline.progress import StageProgress

    model = _model(work)
    conv = Converter(cache_dir=work / f"cache-{backend}")
    params = ConversionParams(backend=backend, seed=1)
    t0 = time.perf_counter()
    prepared = conv._prepare(model, params, StageProgress(None))  # load the generator, index and pitch model
    conv._load_embedder(prepared.embedder_path)
    conv.estimators.load(params.f0_method)
    load_s = time.perf_counter() - t0
    result = conv.convert_file(work / "input.wav", model, work / f"out-{backend}", params)
    out = {
        "backend": backend,
        "load": load_s,
        "timings": result.timings,
        "duration": result.duration,
        "peak_mb": peak_rss_mb(),
    }
    t0 = time.perf_counter()
    conv.preview(work / "input.wav", model, params, *region)
    out["preview_cold"] = time.perf_counter() - t0
    warm = []
    for pitch in (3, -2, 5):
        t0 = time.perf_counter()
        conv.preview(work / "input.wav", model, ConversionParams(backend=backend, seed=1, pitch=pitch), *region)
        warm.append(time.perf_counter() - t0)
    out["preview_warm"] = min(warm)
    out["stats"] = conv.stats
    return out


def run_memory(work: Path, name: str) -> dict:
    """Peak RSS growth of converting ``name``.wav over a warm-up conversion, small chunk constants."""
    from inference.pipeline import ConversionParams, Converter

    model = _model(work)
    conv = Converter(cache_dir=work / f"cache-mem-{name}", chunk=_memory_chunk())
    params = ConversionParams(backend="torch", seed=1)
    conv.convert_file(work / "short.wav", model, work / f"mem-{name}", params)  # warm-up: loads, allocator pools
    reset = reset_peak()
    base = peak_rss_mb()
    t0 = time.perf_counter()
    result = conv.convert_file(
        work / f"{name}.wav", model, work / f"mem-{name}", ConversionParams(backend="torch", seed=2)
    )
    from inference.audio import load_audio
    from inference.pipeline.chunking import plan_pieces

    pieces = plan_pieces(load_audio(work / f"{name}.wav"), _memory_chunk())
    return {
        "name": name,
        "seconds": result.duration,
        "base_mb": base,
        "peak_mb": peak_rss_mb(),
        "reset": reset,
        "wall": time.perf_counter() - t0,
        "pieces": len(pieces),
        "longest": max(p.stop - p.start for p in pieces) / 16000,
    }


def _child(args: list[str], work: Path) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.pipeline", "--work", str(work), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE, env=dict(os.environ))
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(results: list[dict], seconds: float, region: tuple[float, float]) -> None:
    stages = ("decode", "embed", "f0", "retrieval", "synth", "write")
    print(f"\n{seconds:.0f} s input, v2 40 kHz model with pitch (rmvpe) and index, output wav 16-bit")
    print(
        f"{'backend':8} {'load':>6} "
        + " ".join(f"{s:>9}" for s in stages)
        + f" {'total':>7} {'x RT':>6} {'peak MB':>8}"
    )
    for r in results:
        t = r["timings"]
        convert = t["total"] - t.get("load", 0.0)
        print(
            f"{r['backend']:8} {r['load']:6.1f} "
            + " ".join(f"{t.get(s, 0.0):9.2f}" for s in stages)
            + f" {convert:7.1f} {seconds / convert:6.2f} {r['peak_mb']:8.0f}"
        )
    span = region[1] - region[0]
    print(f"\nPitch change on a {span:.1f} s region ({region[0]:.1f}-{region[1]:.1f} s), same process:")
    for r in results:
        print(
            f"  {r['backend']:6} cold (analysis + synthesis) {r['preview_cold']:6.2f} s   new pitch (cached analysis) "
            f"{r['preview_warm']:6.2f} s   ratio {r['preview_warm'] / r['preview_cold']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="input length (default 30)")
    parser.add_argument("--backends", default="torch,mlx", help="comma-separated (default torch,mlx)")
    parser.add_argument(
        "--memory-pieces", type=int, default=2, help="pieces in the memory check's short input (x10 long)"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory-vs-length check")
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    region = (min(10.0, args.seconds / 3), min(10.0, args.seconds / 3) + min(10.0, args.seconds / 3))

    if args.worker:  # inside a child process
        os.environ["RVC_STUDIO_REPLAY_DIR"] = str(args.work / "Replay" / "com.replay.Replay")
        os.environ.setdefault("RVC_STUDIO_CACHE_DIR", str(args.work / "app-cache"))
        from inference.core.runtime import prepare_process

        prepare_process()
        out = (
            run_convert(args.work, args.backend, region)
            if args.worker == "convert"
            else run_memory(args.work, args.name)
        )
        print(json.dumps(out))
        return

    with tempfile.TemporaryDirectory(prefix="rvc-bench-pipeline-") as tmp:
        work = Path(tmp)
        os.environ.update(
            RVC_STUDIO_CACHE_DIR=str(work / "app-cache"),
            RVC_STUDIO_DATA_DIR=str(work / "data"),
            RVC_STUDIO_LOG_DIR=str(work / "logs"),
        )
        t0 = time.perf_counter()
        prepare(work, args.seconds, args.memory_pieces)
        print(f"fixtures written in {time.perf_counter() - t0:.0f} s (random real-size weights)")
        results = [
            _child(["--worker", "convert", "--backend", b, "--seconds", str(args.seconds)], work)
            for b in args.backends.split(",")
            if b
        ]
        if results:
            _report(results, args.seconds, region)
        if not args.no_memory:
            rows = [_child(["--worker", "memory", "--name", n], work) for n in ("short", "long")]
            print("\nMemory vs input length (torch; cutting constants / 20, so as many pieces as 1 and 10 min inputs):")
            for r in rows:
                print(
                    f"  {r['seconds']:6.1f} s input, {r['pieces']:2d} pieces (longest {r['longest']:.2f} s): peak "
                    f"{r['peak_mb']:7.0f} MB, growth over warm-up {r['peak_mb'] - r['base_mb']:6.1f} MB "
                    f"({r['wall']:.0f} s)"
                )
            growth = [r["peak_mb"] - r["base_mb"] for r in rows]
            print(
                f"  long/short growth difference: {growth[1] - growth[0]:+.1f} MB "
                f"(the long input's decoded 16 kHz audio alone is {rows[1]['seconds'] * 16000 * 4 / 2**20:.1f} MB)"
            )
            print(
                f"  peak memory, long / short input (10x the pieces, as 10 min vs 1 min): "
                f"{rows[1]['peak_mb'] / rows[0]['peak_mb']:.2f} (target <= 1.5)"
            )


if __name__ == "__main__":
    main()
