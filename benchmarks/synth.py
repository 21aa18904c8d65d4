"""Synthesis speed: MLX vs our torch backend (vs the public RVC generator when available).

Run from the repository root::

    .venv/bin/python -m benchmarks.synth            # 10 s of v2 48k and v1 40k, 20 s windowed vs one pass
    RVC_WEBUI_DIR=/path/to/Retrieval-based-Voice-Conversion-WebUI .venv/bin/python -m benchmarks.synth

Models are random-weight checkpoints in the real format (``tests/factories.py``), so the
numbers measure compute, not quality. Every figure is measured side by side in this one run:
wall time of ``Generator.infer`` (features + f0 -> audio, random noise from a seed), x realtime
(audio seconds / wall seconds), and the MLX/torch time ratio.

Baseline for "faster than the public RVC generator": the public generator runs one pass over the
whole input and re-computes every weight-normed weight (``g * v / ||v||``) on each call. Our
torch generator run that way (one pass, weight norm left as parametrizations, ``no_grad``) is
timed on the same input and its time compared with our torch backend's. With ``RVC_WEBUI_DIR`` set, the
public generator (imported from that checkout at run time) runs on the same weights and input,
one pass as its pipeline does, and its time is compared with our torch backend's.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = (("v2", 48000), ("v1", 40000))


def _inputs(config, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    frames = int(round(seconds * 100))
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((frames, config.feature_dim)).astype(np.float32)
    t = np.arange(frames) / 100.0
    f0 = (180 + 40 * np.sin(2 * np.pi * 0.5 * t)).astype(np.float32)
    f0[(np.arange(frames) // 50) % 5 == 4] = 0.0  # some unvoiced stretches
    return features, f0


def _time(fn, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _public_generator(webui: Path, ckpt_path: Path):
    """The public RVC generator class for this checkpoint, built as its pipeline builds it."""
    import torch

    sys.path.insert(0, str(webui))
    for name in ("infer.module.models", "infer.lib.infer_pack.models"):
        try:
            models = importlib.import_module(name)
            break
        except ImportError:
            continue
    else:
        raise RuntimeError(f"no RVC models module under {webui}")
    cpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    version, f0 = cpt.get("version", "v1"), int(cpt.get("f0", 1))
    cls = {
        ("v1", 1): models.SynthesizerTrnMs256NSFsid,
        ("v1", 0): models.SynthesizerTrnMs256NSFsid_nono,
        ("v2", 1): models.SynthesizerTrnMs768NSFsid,
        ("v2", 0): models.SynthesizerTrnMs768NSFsid_nono,
    }[(version, f0)]
    config = list(cpt["config"])
    config[-3] = cpt["weight"]["emb_g.weight"].shape[0]
    net = cls(*config, is_half=False)
    del net.enc_q
    net.load_state_dict({k: v.float() for k, v in cpt["weight"].items()}, strict=False)
    return net.eval().float()


def _time_public(net, features: np.ndarray, f0: np.ndarray, repeats: int) -> float:
    import torch

    from inference.f0 import coarse_f0

    phone = torch.from_numpy(features[None])
    lengths = torch.tensor([features.shape[0]])
    pitch = torch.from_numpy(np.asarray(coarse_f0(f0), dtype=np.int64)[None])
    pitchf = torch.from_numpy(f0[None])
    sid = torch.tensor([0])

    def run():
        with torch.no_grad():
            net.infer(phone, lengths, pitch, pitchf, sid)

    return _time(run, repeats)


def _unfolded_torch(path: Path):
    """Our torch generator with weight norm NOT folded: reparametrised on every call, as the public one."""
    from inference.checkpoint import load_checkpoint
    from inference.torch_synth import build_synthesizer

    config, state, _ = load_checkpoint(path)
    model = build_synthesizer(config)
    model.load_state_dict(state)
    model.config = config
    return model.eval()


def _time_one_pass(model, features: np.ndarray, f0: np.ndarray, repeats: int, seed: int = 0) -> float:
    """One pass over the whole input (the public ``infer`` recipe), random draws from ``seed``."""
    import torch

    from inference.f0 import coarse_f0

    phone = torch.from_numpy(features[None])
    pitch = torch.from_numpy(np.asarray(coarse_f0(f0), dtype=np.int64)[None])
    f0_t = torch.from_numpy(f0[None])
    hop, inter = model.config.hop, model.config.inter_channels

    def run():
        rng = np.random.default_rng(seed)
        latent = torch.from_numpy(rng.standard_normal((1, inter, features.shape[0]), dtype=np.float32))
        source = torch.from_numpy(rng.standard_normal((1, features.shape[0] * hop, 1), dtype=np.float32))
        with torch.no_grad():
            model(phone, pitch, f0_t, torch.tensor([0]), latent, source)

    return _time(run, repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length per case (default 10)")
    parser.add_argument("--long", type=float, default=20.0, help="length for one-pass vs windowed (0: skip)")
    parser.add_argument("--repeats", type=int, default=1, help="best of N timed runs (default 1)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="rvc-bench-synth-"))
    os.environ.setdefault("RVC_STUDIO_CACHE_DIR", str(tmp / "cache"))
    from inference.runtime import import_mlx, import_torch, prepare_process

    prepare_process()
    import_mlx()
    torch = import_torch()
    from inference.synth import load_generator
    from tests.factories import make_voice_model

    webui = os.environ.get("RVC_WEBUI_DIR")
    print(f"synth benchmark: {args.seconds:g} s of audio per case, torch threads {torch.get_num_threads()}")
    for version, rate in CASES:
        path = make_voice_model(tmp / f"{version}_{rate}.pth", version=version, sample_rate=rate, f0=True)
        start = time.perf_counter()
        gen_torch = load_generator(path, backend="torch")
        load_torch = time.perf_counter() - start
        start = time.perf_counter()
        gen_mlx = load_generator(path, backend="mlx")
        load_mlx = time.perf_counter() - start
        features, f0 = _inputs(gen_torch.config, args.seconds)
        warm_f, warm_p = _inputs(gen_torch.config, 1.0)
        for gen in (gen_torch, gen_mlx):
            gen.infer(warm_f, warm_p, seed=0)
        t_torch = _time(lambda: gen_torch.infer(features, f0, seed=0), args.repeats)
        t_mlx = _time(lambda: gen_mlx.infer(features, f0, seed=0), args.repeats)
        label = f"{version} {rate // 1000}k, {args.seconds:g} s"
        print(f"{label}: torch {t_torch:.2f} s ({args.seconds / t_torch:.2f}x realtime, load {load_torch:.1f} s)")
        print(f"{label}: mlx   {t_mlx:.2f} s ({args.seconds / t_mlx:.2f}x realtime, first load+convert {load_mlx:.1f} s)")
        print(f"{label}: MLX/torch time ratio {t_mlx / t_torch:.2f} (target <= 1.5)")
        baseline = _unfolded_torch(path)
        _time_one_pass(baseline, warm_f, warm_p, 1)
        t_base = _time_one_pass(baseline, features, f0, args.repeats)
        print(
            f"{label}: public-style torch (one pass, weight norm per call) {t_base:.2f} s "
            f"({args.seconds / t_base:.2f}x realtime); ours-torch/public-style time ratio {t_torch / t_base:.2f} (target < 1)"
        )
        if webui:
            net = _public_generator(Path(webui), path)
            _time_public(net, warm_f, warm_p, 1)
            t_pub = _time_public(net, features, f0, args.repeats)
            print(
                f"{label}: public RVC generator {t_pub:.2f} s ({args.seconds / t_pub:.2f}x realtime); "
                f"ours-torch/public time ratio {t_torch / t_pub:.2f} (target < 1)"
            )
        if args.long and (version, rate) == CASES[0]:
            long_f, long_p = _inputs(gen_torch.config, args.long, seed=1)
            frames = long_f.shape[0]
            for gen in (gen_torch, gen_mlx):
                t_one = _time(lambda: gen.infer(long_f, long_p, seed=0, window=frames), args.repeats)
                t_win = _time(lambda: gen.infer(long_f, long_p, seed=0), args.repeats)
                print(
                    f"{version} {rate // 1000}k, {args.long:g} s, {gen.backend}: one pass {t_one:.2f} s "
                    f"({args.long / t_one:.2f}x realtime), windowed {t_win:.2f} s ({args.long / t_win:.2f}x realtime)"
                )
            t_base = _time_one_pass(baseline, long_f, long_p, args.repeats, seed=1)
            print(f"{version} {rate // 1000}k, {args.long:g} s, public-style torch one pass, weight norm per call "
                  f"{t_base:.2f} s ({args.long / t_base:.2f}x realtime)")
            if webui:
                t_pub = _time_public(net, long_f, long_p, args.repeats)
                print(f"{version} {rate // 1000}k, {args.long:g} s, public RVC one pass {t_pub:.2f} s ({args.long / t_pub:.2f}x realtime)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
