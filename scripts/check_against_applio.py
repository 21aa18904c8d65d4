"""Compare our generators with Applio's own, on the same random weights, for each vocoder.

    .venv/bin/python scripts/check_against_applio.py /path/to/Applio

Not part of the test suite: it needs a checkout of Applio (IAHispano/Applio), whose code we do
not ship; its ``rvc/lib/algorithm`` is imported from the given folder at run time. Applio's
RefineGAN calls ``torchaudio.functional.resample``, and torchaudio is not installed here: a
stand-in module written below reproduces that function in plain torch (its sinc kernel computed
in the input's dtype as torchaudio computes it) for the reference side only.

For each vocoder (HiFi-GAN, MRF HiFi-GAN, RefineGAN) and v2 rate it builds Applio's
``Synthesizer`` with random weights, saves its state dict as Applio's ``extract_model`` names it
(``weight_g``/``weight_v``, no ``enc_q``), compares the key set and shapes with our model's,
loads the weights into our torch port (and our MLX port when MLX imports), and compares one
inference pass with every random draw of Applio's (latent noise, source noise, initial phases,
AdaIN noise) set to zero: max |ours - Applio| / peak of Applio's output. For scale, the last
column is Applio's own float32 rounding: its float32 output against the same model run in
float64 (its sine sources keep float32 steps even then).
"""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
VOCODERS = ("HiFi-GAN", "MRF HiFi-GAN", "RefineGAN")
RATES = (24000, 32000, 40000, 48000)
FRAMES = 60
TARGET = 1e-3


def _resample(
    waveform, orig_freq, new_freq, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann", beta=None
):
    """torchaudio.functional.resample (sinc interpolation), in plain torch, for the reference side."""
    if orig_freq == new_freq:
        return waveform
    common = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // common, int(new_freq) // common
    dtype = waveform.dtype
    base = min(orig, new) * rolloff
    width = math.ceil(lowpass_filter_width * orig / base)
    phases = torch.arange(0, -new, -1, dtype=dtype)[:, None, None] / new
    t = (phases + torch.arange(-width, width + orig, dtype=dtype)[None, None] / orig) * base
    t = t.clamp(-lowpass_filter_width, lowpass_filter_width)
    if resampling_method == "sinc_interp_hann":
        window = torch.cos(t * math.pi / lowpass_filter_width / 2) ** 2
    else:
        beta_t = torch.tensor(float(14.769656459379492 if beta is None else beta))
        window = torch.i0(beta_t * torch.sqrt(1 - (t / lowpass_filter_width) ** 2)) / torch.i0(beta_t)
    t = t * math.pi
    kernel = torch.where(t == 0, torch.tensor(1.0).to(t), t.sin() / t) * (window * (base / orig))
    shape = waveform.shape
    x = F.pad(waveform.reshape(-1, shape[-1]), (width, width + orig))
    y = F.conv1d(x[:, None], kernel, stride=orig).transpose(1, 2).reshape(x.shape[0], -1)
    return y[..., : math.ceil(new * shape[-1] / orig)].reshape(*shape[:-1], -1)


def _install_torchaudio_standin() -> None:
    module = types.ModuleType("torchaudio")
    module.functional = types.SimpleNamespace(resample=_resample)
    sys.modules["torchaudio"] = module


def _no_random_draws() -> None:
    """Every random draw Applio's inference makes, as zeros."""
    torch.randn_like = lambda x, *a, **k: torch.zeros_like(x)
    torch.rand = lambda *size, **k: torch.zeros(*size, **{n: v for n, v in k.items() if n in ("dtype", "device")})


def _randomize(model: torch.nn.Module, seed: int) -> None:
    """Weights of a trained model's scale: uniform within 1/sqrt(fan_in), weight norm's g the norm
    of v times 0.5..1.5, biases and norms near their defaults, embeddings standard normal. Drawn
    with tensor methods: ``torch.rand`` itself returns zeros once Applio's draws are off."""
    gen = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            leaf = name.rsplit(".", 1)[-1]
            if name.endswith("original0"):
                continue
            if leaf in ("emb_rel_k", "emb_rel_v"):
                p.normal_(0, p.shape[-1] ** -0.5, generator=gen)
            elif name.endswith(("emb_g.weight", "emb_pitch.weight")):
                p.normal_(0, 1, generator=gen)
            elif p.ndim >= 2:
                bound = (p.shape[1] * math.prod(p.shape[2:])) ** -0.5
                p.uniform_(-bound, bound, generator=gen)
            elif leaf == "gamma":
                p.uniform_(0.9, 1.1, generator=gen)
            else:
                p.uniform_(-0.1, 0.1, generator=gen)
        for name, g in params.items():
            if name.endswith("original0"):
                v = params[name[: -len("0")] + "1"]
                norm = v.square().sum(dim=tuple(range(1, v.ndim)), keepdim=True).sqrt()
                g.copy_(norm * torch.empty(norm.shape).uniform_(0.5, 1.5, generator=gen))


def _saved(state: dict) -> dict:
    """Applio's ``extract_model`` renaming: parametrizations -> weight_g / weight_v, no enc_q."""
    out = {}
    for key, value in state.items():
        if key.startswith("enc_q."):
            continue
        key = key.replace(".parametrizations.weight.original0", ".weight_g")
        out[key.replace(".parametrizations.weight.original1", ".weight_v")] = value
    return out


def main(applio_root: str) -> int:
    sys.path[:0] = [str(REPO), str(Path(applio_root).resolve())]
    _install_torchaudio_standin()
    _no_random_draws()
    from rvc.lib.algorithm.synthesizers import Synthesizer as Applio  # Applio's own code

    from inference.f0 import coarse_f0
    from inference.models.config import SPEC_CHANNELS, UPSAMPLING, ModelConfig
    from inference.synth.torch.convert import build_synthesizer, convert_state_dict, load_arrays
    from inference.synth.torch.synthesizers import Synthesizer

    mlx = _mlx_port()
    worst = 0.0
    head = f"{'vocoder':13s} rate  keys    samples  torch max|diff|/peak" + ("  mlx max|diff|/peak" if mlx else "")
    print(head + "  Applio fp32 vs fp64")
    for vocoder in VOCODERS:
        for rate in RATES:
            rates, kernels = UPSAMPLING[("v2", rate)]
            cfg = [SPEC_CHANNELS[rate], 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11], [[1, 3, 5]] * 3]
            cfg += [list(rates), 512, list(kernels), 1, 256, rate]
            ref = Applio(*cfg, use_f0=True, text_enc_hidden_dim=768, vocoder=vocoder).eval()
            _randomize(ref, seed=rate)
            state = _saved(ref.state_dict())
            config = ModelConfig.from_list(cfg, "v2", True, vocoder)
            with torch.device("meta"):
                ours_keys = {k: tuple(v.shape) for k, v in _saved(build_synthesizer(config).state_dict()).items()}
            same_keys = ours_keys == {k: tuple(v.shape) for k, v in state.items()}
            ours = Synthesizer(config)
            load_arrays(ours, convert_state_dict(state, ours))

            rng = np.random.default_rng(rate)
            features = rng.standard_normal((1, FRAMES, 768)).astype(np.float32)
            f0 = 110 + 300 * np.linspace(0, 1, FRAMES)[None] + 20 * rng.standard_normal((1, FRAMES))
            f0 = f0.astype(np.float32)
            f0[:, 20:26] = 0  # an unvoiced stretch
            pitch = coarse_f0(f0[0]).astype(np.int64)[None]
            phone, f0_t, pitch_t = torch.from_numpy(features), torch.from_numpy(f0), torch.from_numpy(pitch)
            sid = torch.tensor([0])
            with torch.no_grad():
                a = ref.infer(phone, torch.tensor([FRAMES]), pitch_t, f0_t, sid)[0].numpy().ravel()
                z, g = ours.encode(phone, pitch_t, sid)
                b = ours.dec.decode(z, ours.dec.source(f0_t), g).numpy().ravel()
                a64 = ref.double().infer(phone.double(), torch.tensor([FRAMES]), pitch_t, f0_t.double(), sid)[0]
            peak = float(np.abs(a).max())
            diff = float(np.abs(a - b).max() / peak)
            worst = max(worst, diff)
            line = f"{vocoder:13s} {rate // 1000}k  {'equal ' if same_keys else 'DIFFER'} {a.size:8d}  {diff:.1e}"
            if mlx:
                c = mlx(config, state, features, pitch, f0)
                diff_mlx = float(np.abs(a - c).max() / peak)
                worst = max(worst, diff_mlx)
                line += f"                {diff_mlx:.1e}"
            own = float(np.abs(a - a64.numpy().ravel()).max() / peak)
            print(line + f"                {own:.1e}   (peak {peak:.3f})")
            if not same_keys:
                worst = math.inf
    print(f"worst max|diff|/peak: {worst:.1e} (target {TARGET:g})")
    return 0 if worst < TARGET else 1


def _mlx_port():
    """``audio(config, state, features, pitch, f0)`` through our MLX port, or None without MLX."""
    try:
        from inference.core.runtime import import_mlx

        mx = import_mlx()
    except Exception:  # noqa: BLE001 - no MLX here: the torch port is compared alone
        return None
    from inference.mlx.convert import convert_state_dict, load_arrays
    from inference.mlx.synthesizers import Synthesizer

    def audio(config, state, features, pitch, f0) -> np.ndarray:
        model = Synthesizer(config)
        load_arrays(model, convert_state_dict(state, model))
        z, g = model.encode(mx.array(features), mx.array(pitch.astype(np.int32)), mx.array([0]))
        return np.array(model.dec.decode(z, model.dec.source(mx.array(f0)), g)).ravel()

    return audio


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        raise SystemExit(2)
    raise SystemExit(main(sys.argv[1]))
