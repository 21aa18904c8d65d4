"""Synthesis speed: MLX vs our torch backend (vs the public RVC generator when available).

Run from the repository root::

    .venv/bin/python -m benchmarks.synth            # 10 s of v2 48k and v1 40k, 20 s windowed vs one pass
    RVC_WEBUI_DIR=/path/to/Retrieval-based-Voice-Conversion-WebUI .venv/bin/python -m benchmarks.synth

Models are random-weight checkpoints in the real format (``tests/factories.py``), so the
numbers measure compute, not quality. Every figure is measured side by side in this one run:
wall time of ``Generator.infer`` (features + f0 -> audio, random noise from a seed), x realtime
(audio seconds / wall seconds), and the MLX/torch time ratio. The ceiling: the generator's
convolution FLOP per second of audio (counted from the shapes) against a wide convolution's
speed on this machine, timed in turn with the generators: the fastest realtime multiple any
exact float32 generator could reach here.

Baseline for "faster than the public RVC generator": the public generator runs one pass over the
whole input and re-computes every weight-normed weight (``g * v / ||v||``) on each call. Our
torch generator run that way (one pass, weight norm left as parametrizations, ``no_grad``) is
timed on the same input and its time compared with our torch backend's. With ``RVC_WEBUI_DIR`` set, the
public generator (imported from that checkout at run time) runs on the same weights and input,
one pass as its pipeline does, and its time is compared with our torch backend's.
"""

from __future__ import annotations

import argparse
import functools
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
    return _measure({"x": fn}, repeats)["x"][0]


def _measure(runs: dict, repeats: int = 1) -> dict[str, tuple[float, float]]:
    """``{name: (best wall s, best process CPU s)}``, the runs taken in turn ``repeats`` times.

    Taking them in turn spreads the load of a shared machine over all of them alike; the CPU
    time (every thread of this process) is what a busy machine inflates least.
    """
    best = {name: (float("inf"), float("inf")) for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
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


def _public_run(net, features: np.ndarray, f0: np.ndarray):
    """A call of the public generator's ``infer`` on these inputs."""
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

    return run


def _unfolded_torch(path: Path):
    """Our torch generator with weight norm NOT folded: reparametrised on every call, as the public one."""
    from inference.models.checkpoint import load_checkpoint
    from inference.synth.torch.convert import build_synthesizer, parametrization_keys

    config, state, _ = load_checkpoint(path)
    model = build_synthesizer(config)
    model.load_state_dict(parametrization_keys(state))
    model.config = config
    return model.eval()


def _one_pass_run(model, features: np.ndarray, f0: np.ndarray, seed: int = 0):
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
            z, g = model.encode(phone, pitch, torch.tensor([0]), latent)
            model.dec.decode(z, model.dec.source(f0_t, source), g)

    return run


def _flop_per_second(gen) -> float:
    """Floating-point operations the torch generator does per second of audio: 2 x the
    multiply-adds of every convolution (and transposed one) on one pass over 1 s, counted from
    the shapes by forward hooks. The element-wise work is left out: it is memory-bound."""
    import torch

    macs = [0]

    def count(module, inputs, output):
        x = inputs[0]
        k = module.kernel_size[0] // module.groups
        if isinstance(module, torch.nn.ConvTranspose1d):
            macs[0] += x.shape[0] * x.shape[2] * module.in_channels * module.out_channels * k
        else:
            macs[0] += output.numel() * module.in_channels * k

    model = gen._impl.model
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)]
    try:
        features, f0 = _inputs(gen.config, 1.0)
        gen.infer(features, f0, seed=0, window=features.shape[0])
    finally:
        for hook in hooks:
            hook.remove()
    return 2.0 * macs[0]


def _peak_run():
    """``(run, flop)``: a wide convolution (256 channels, 11 taps, channels-last on oneDNN, the
    kernels the generator runs) and its floating-point operations: timed in turn with the
    generators, it gives this machine's float32 speed at the same moments, the practical ceiling
    of any convolution (a 2048 x 2048 matrix product runs no faster here)."""
    import torch

    from inference.synth.torch.conv import Conv1d, channels_last

    conv, x = Conv1d(256, 256, 11, padding=5), channels_last(torch.randn(1, 256, 16000))

    def run():
        with torch.inference_mode():
            for _ in range(3):
                conv(x)

    run()
    return run, 3 * 2.0 * 256 * 256 * 11 * 16000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length per case (default 10)")
    parser.add_argument("--long", type=float, default=20.0, help="length for one-pass vs windowed (0: skip)")
    # this machine's speed drifts by up to 2x for minutes at a time: take the best of several
    parser.add_argument("--repeats", type=int, default=3, help="best of N timed runs, taken in turn (default 3)")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="rvc-bench-synth-"))
    os.environ.setdefault("RVC_STUDIO_CACHE_DIR", str(tmp / "cache"))
    from inference.core.runtime import import_mlx, import_torch, prepare_process

    prepare_process()
    torch = import_torch()  # before MLX (see inference.core.runtime.preload_openblas)
    import_mlx()
    from inference.synth import load_generator
    from tests.support.voice_models import make_voice_model

    webui = os.environ.get("RVC_WEBUI_DIR")
    print(
        f"synth benchmark: {args.seconds:g} s of audio per case, torch threads {torch.get_num_threads()}, "
        f"best of {args.repeats} (runs taken in turn); wall s / process CPU s"
    )

    def show(label: str, name: str, seconds: float, wall_cpu: tuple[float, float], extra: str = "") -> None:
        wall, cpu = wall_cpu
        print(f"{label}: {name:44s} {wall:6.2f} s / CPU {cpu:6.2f} s ({seconds / wall:.2f}x realtime){extra}")

    def ratio(a: tuple[float, float], b: tuple[float, float]) -> str:
        return f"{a[0] / b[0]:.2f} (CPU {a[1] / b[1]:.2f})"

    for version, rate in CASES:
        path = make_voice_model(tmp / f"{version}_{rate}.pth", version=version, sample_rate=rate, f0=True)
        start = time.perf_counter()
        gen_torch = load_generator(path, backend="torch")
        load_torch = time.perf_counter() - start
        start = time.perf_counter()
        gen_mlx = load_generator(path, backend="mlx")
        load_mlx = time.perf_counter() - start
        baseline = _unfolded_torch(path)
        net = _public_generator(Path(webui), path) if webui else None
        label = f"{version} {rate // 1000}k, {args.seconds:g} s"
        features, f0 = _inputs(gen_torch.config, args.seconds)
        warm_f, warm_p = _inputs(gen_torch.config, 1.0)
        runs = {
            "torch": functools.partial(gen_torch.infer, features, f0, seed=0),
            "mlx": functools.partial(gen_mlx.infer, features, f0, seed=0),
            "public-style": _one_pass_run(baseline, features, f0),
        }
        warm = [
            functools.partial(gen_torch.infer, warm_f, warm_p, seed=0),
            functools.partial(gen_mlx.infer, warm_f, warm_p, seed=0),
            _one_pass_run(baseline, warm_f, warm_p),
        ]
        if net is not None:
            runs["public"] = _public_run(net, features, f0)
            warm.append(_public_run(net, warm_f, warm_p))
        runs["peak"], peak_flop = _peak_run()
        for fn in warm:
            fn()
        t = _measure(runs, args.repeats)
        show(
            label,
            f"torch backend (window {gen_torch.window} frames)",
            args.seconds,
            t["torch"],
            f", load {load_torch:.1f} s",
        )
        show(
            label,
            f"mlx backend (window {gen_mlx.window} frames)",
            args.seconds,
            t["mlx"],
            f", first load+convert {load_mlx:.1f} s",
        )
        print(f"{label}: MLX/torch time ratio {ratio(t['mlx'], t['torch'])} (target <= 1.5)")
        flop, peak = _flop_per_second(gen_torch), peak_flop / t["peak"][0]
        print(
            f"{label}: the convolutions are {flop / 1e9:.0f} GFLOP per second of audio; this machine's "
            f"convolutions run at {peak / 1e9:.0f} GFLOP/s on {torch.get_num_threads()} threads, so no float32 "
            f"generator here passes {peak / flop:.2f}x realtime; ours ran at "
            f"{flop * args.seconds / t['torch'][0] / peak:.0%} of that"
        )
        show(label, "public-style torch (one pass, weight norm/call)", args.seconds, t["public-style"])
        print(f"{label}: ours-torch/public-style time ratio {ratio(t['torch'], t['public-style'])} (target < 1)")
        if net is not None:
            show(label, "public RVC generator (one pass)", args.seconds, t["public"])
            print(f"{label}: ours-torch/public time ratio {ratio(t['torch'], t['public'])} (target < 1)")
        if args.long and (version, rate) == CASES[0]:
            long_f, long_p = _inputs(gen_torch.config, args.long, seed=1)
            frames = long_f.shape[0]
            label = f"{version} {rate // 1000}k, {args.long:g} s"
            runs = {}
            for gen in (gen_torch, gen_mlx):
                runs[f"{gen.backend} one pass"] = functools.partial(gen.infer, long_f, long_p, seed=0, window=frames)
                runs[f"{gen.backend} windowed"] = functools.partial(gen.infer, long_f, long_p, seed=0)
            runs["public-style torch one pass"] = _one_pass_run(baseline, long_f, long_p, seed=1)
            if net is not None:
                runs["public RVC one pass"] = _public_run(net, long_f, long_p)
            t = _measure(runs, args.repeats)
            for name, value in t.items():
                show(label, name, args.long, value)
            for backend in ("torch", "mlx"):
                print(
                    f"{label}: {backend} windowed/one-pass time ratio "
                    f"{ratio(t[f'{backend} windowed'], t[f'{backend} one pass'])}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
