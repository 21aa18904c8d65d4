"""Compare our PyTorch generator with the public RVC generator, on the same random weights.

    .venv/bin/python scripts/check_against_rvc.py /path/to/Retrieval-based-Voice-Conversion-WebUI

Not part of the test suite (it needs a checkout of the RVC WebUI, whose code we do not ship).
For each variant it builds RVC's own synthesizer, gives it random weights, loads its state dict
(minus ``enc_q``) into ours, and compares the key sets and one inference pass with every
random draw of RVC's (latent noise, source noise, initial phases) set to zero.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
VARIANTS = [
    ("v1", 32000, True),
    ("v1", 40000, True),
    ("v1", 48000, True),
    ("v2", 32000, True),
    ("v2", 40000, True),
    ("v2", 48000, True),
    ("v1", 40000, False),
    ("v2", 48000, False),
]


def main(rvc_root: str) -> int:
    sys.path[:0] = [str(REPO), str(Path(rvc_root).resolve())]
    torch.randn_like = lambda x, *a, **k: torch.zeros_like(x)  # RVC's draws, all zero
    torch.rand = lambda *size, **k: torch.zeros(*size, **{n: v for n, v in k.items() if n in ("dtype", "device")})
    from infer.module import models as rvc  # RVC's own code, from the given checkout

    from inference.models.config import SPEC_CHANNELS, UPSAMPLING, ModelConfig
    from inference.synth.torch.convert import build_synthesizer, convert_state_dict, load_arrays, parametrization_keys
    from inference.synth.torch.synthesizers import Synthesizer

    torch.manual_seed(0)
    worst = 0.0
    for version, rate, f0 in VARIANTS:
        rates, kernels = UPSAMPLING[(version, rate)]
        cfg = [
            SPEC_CHANNELS[rate],
            32,
            192,
            192,
            768,
            2,
            6,
            3,
            0,
            "1",
            [3, 7, 11],
            [[1, 3, 5]] * 3,
            list(rates),
            512,
            list(kernels),
            1,
            256,
            rate,
        ]
        name = f"SynthesizerTrnMs{256 if version == 'v1' else 768}NSFsid" + ("" if f0 else "_nono")
        ref = getattr(rvc, name)(*cfg, is_half=False).eval()
        for p in ref.parameters():
            p.data.normal_(0, 0.3)
        state = {k: v for k, v in ref.state_dict().items() if not k.startswith("enc_q.")}
        config = ModelConfig.from_list(cfg, version, f0)
        same_keys = set(parametrization_keys(state)) == set(build_synthesizer(config).state_dict())
        ours = Synthesizer(config)
        load_arrays(ours, convert_state_dict(state, ours))
        t = 60
        phone = torch.randn(1, t, 256 if version == "v1" else 768)
        f0_hz = 110 + 300 * torch.linspace(0, 1, t)[None]
        f0_hz[:, 20:26] = 0
        pitch = torch.randint(1, 256, (1, t))
        sid = torch.tensor([0])
        with torch.no_grad():
            z, g = ours.encode(phone, pitch if f0 else None, sid)
            if f0:
                a = ref.infer(phone, torch.tensor([t]), pitch, f0_hz, sid)[0]
                b = ours.dec.decode(z, ours.dec.source(f0_hz), g)
            else:
                a = ref.infer(phone, torch.tensor([t]), sid)[0]
                b = ours.dec.decode(z, None, g)
        a, b = a.numpy().ravel(), b.numpy().ravel()
        diff = float(np.abs(a - b).max() / np.abs(a).max())
        worst = max(worst, diff)
        print(
            f"{name:34s} {rate // 1000}k  keys {'equal' if same_keys else 'DIFFER'}  "
            f"samples {a.size}  max|diff|/peak {diff:.1e}"
        )
    print(f"worst max|diff|/peak: {worst:.1e}")
    return 0 if worst < 1e-5 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
