"""End to end against RVC's own pipeline: ours ÷ public, on the same weights, input and threads.

Run from the repository root with a checkout of the RVC WebUI (its code is not ours to ship)::

    RVC_WEBUI_DIR=/path/to/Retrieval-based-Voice-Conversion-WebUI .venv/bin/python -m benchmarks.public_rvc

Both sides get the same random-weight files in the real formats and sizes (a v2 48 kHz model
with pitch, its ``IVF,Flat`` index, RMVPE's weights), the same 16 kHz input (60 s of voice-like
audio by default), RMVPE, index rate 0.75, protect 0.33, and the same torch thread pool. The
HuBERT network is the same object on both sides (ours, converted from the fairseq checkpoint;
the public pipeline calls it through its own ``extract_hubert_features``). Each side converts a
short input first (models loaded, first-call costs paid), then the timed input, in turn,
``--repeats`` times; the best wall time of each is compared. ``parselmouth`` (Praat, for a pitch
method not used here) is replaced by an empty module so the public pipeline imports without it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import types
from pathlib import Path


def _public_pipeline(webui: Path, work: Path, embedder):
    """RVC's ``Pipeline`` object and a HuBERT stand-in with its interface, on our embedder."""
    sys.path.insert(0, str(webui))
    sys.modules.setdefault("parselmouth", types.ModuleType("parselmouth"))
    os.environ["rmvpe_root"] = str(work / "Replay" / "com.replay.Replay" / "weights")
    from infer.vc.pipeline import Pipeline

    config = types.SimpleNamespace(x_pad=1, x_query=6, x_center=38, x_max=41, is_half=False, device="cpu")

    class Hubert:  # what extract_hubert_features calls: model(...) and model.final_proj
        final_proj = embedder.final_proj

        def __call__(self, input_values, attention_mask=None, output_hidden_states=False, return_dict=True):
            return embedder.model(
                input_values=input_values,
                attention_mask=attention_mask,
                output_hidden_states=output_hidden_states,
                return_dict=return_dict,
            )

    return Pipeline(48000, config), Hubert()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    webui = os.environ.get("RVC_WEBUI_DIR")
    if not webui:
        print("set RVC_WEBUI_DIR to a checkout of the RVC WebUI (see this module's docstring)")
        return 2
    from inference.core.runtime import import_torch, prepare_process

    prepare_process()
    torch = import_torch()
    import numpy as np

    from benchmarks.preview import prepare
    from benchmarks.synth import _public_generator
    from inference.pipeline import ConversionParams, Converter
    from tests.support.pipeline import voice

    with tempfile.TemporaryDirectory(prefix="rvc-bench-public-") as tmp:
        work = Path(tmp)
        prepare(work)
        replay = work / "Replay" / "com.replay.Replay"
        os.environ["RVC_STUDIO_REPLAY_DIR"] = str(replay)
        os.environ["RVC_STUDIO_CACHE_DIR"] = str(work / "cache")
        from inference.models.library import ModelLibrary

        (model,) = [m for m in ModelLibrary().scan() if m.name == "Singer"]
        audio = voice(args.seconds, 16000)
        short = voice(2.0, 16000, seed=1)
        conv = Converter(cache_dir=None, memory_cache_bytes=0)
        conv.analyses.root = None  # nothing remembered between runs: every run analyses afresh
        params = ConversionParams(backend="torch", index_rate=0.75, protect=0.33, seed=0)
        pipeline, hubert = _public_pipeline(Path(webui), work, conv.embedder())
        net_g = _public_generator(Path(webui), Path(model.model_path))

        def ours(x):
            return conv.convert_array(x, 16000, model, params)

        def public(x):
            times = [0.0, 0.0, 0.0]
            return pipeline.pipeline(
                hubert,
                net_g,
                0,
                x.astype(np.float64),
                times,
                0,
                "rmvpe",
                model.index_path,
                0.75,
                1,
                48000,
                0,
                1.0,
                "v2",
                0.33,
            )

        ours(short), public(short)  # models loaded, first calls paid
        best = {"ours": float("inf"), "public": float("inf")}
        for _ in range(args.repeats):
            for name, run in (("ours", ours), ("public", public)):
                t0 = time.perf_counter()
                run(audio)
                best[name] = min(best[name], time.perf_counter() - t0)
        threads = torch.get_num_threads()
    print(
        f"{args.seconds:.0f} s of 16 kHz input, v2 48 kHz + index, RMVPE; torch threads {threads}; "
        f"best of {args.repeats}, taken in turn"
    )
    for name in ("ours", "public"):
        print(f"  {name:6} {best[name]:7.2f} s ({args.seconds / best[name]:.2f}x realtime)")
    print(f"  ours / public RVC pipeline: {best['ours'] / best['public']:.2f} (target <= 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
