"""The conversion pipeline end to end, on random-weight files in the real formats in a fake Replay tree.

Numeric checks and their tolerances:

- one piece against RVC's recipe written out step by step here (filter the whole input, reflect
  pad, embed, faiss blend, x2, shift, protect, synthesise, trim, RMS mix via librosa + torch's
  interpolate, peak-normalise) on the same loaded models: ``1e-5 x peak`` (summation order);
- MLX vs torch backends, deterministic: ``1e-4 x peak`` (the synthesizer's parity tolerance);
  the peak normalisation after it scales by the same factor within that tolerance;
- a long input cut into pieces vs converted whole, deterministic, on a model without pitch
  (with pitch, the sine source's phase restarts in each piece, as in RVC): attention (HuBERT's
  and the synthesizer's) sees different context, so the audio differs slightly everywhere;
  around the join it must match as well as inside the pieces (relative RMS error of the
  high-passed audio < 5 % and < 2x the median elsewhere), and a 5 ms gap or a half-frame slip
  at the join must fail that check. Frame-exact tiling itself is proven in test_chunking.py.
"""

from __future__ import annotations

import dataclasses
import math
import threading

import numpy as np
import pytest
import soundfile as sf

from inference.audio import AudioError
from inference.core.errors import Cancelled, RVCError
from inference.pipeline import STAGES, ConversionParams, Converter
from inference.pipeline.chunking import WINDOW, ChunkSettings, plan_pieces
from inference.pipeline.params import ParameterError
from tests.support.pipeline import PAD, SONG_S, TORCH, voice


def test_params_are_the_contract_the_gui_uses() -> None:
    from app.workers.engine import Engine
    from inference.pipeline.params import PARAM_DEFAULTS

    p = ConversionParams()
    assert dataclasses.asdict(p) == dict(
        pitch=0.0,
        f0_method="rmvpe",
        index_rate=0.75,
        protect=0.35,
        rms_mix_rate=1.0,
        filter_radius=3,
        speaker_id=0,
        autotune=0.0,
        formant_timbre=1.0,
        formant_quefrency=1.0,
        backend="auto",
        output_sample_rate=None,
        output_format="wav",
        sample_format="PCM_16",
        bitrate=192,
        seed=None,
        deterministic=False,
    )
    made = Engine(lambda: [], "/tmp").make_params(dict(PARAM_DEFAULTS, pitch=-3.5), "flac")
    assert isinstance(made, ConversionParams) and made.pitch == -3.5 and made.output_format == "flac"
    assert ConversionParams(filter_radius=5.0, speaker_id="2", f0_method="FCPE").f0_method == "fcpe"
    bad = [
        dict(pitch=25),
        dict(pitch=float("nan")),
        dict(f0_method="crepe"),
        dict(index_rate=1.5),
        dict(protect=-0.1),
        dict(rms_mix_rate="x"),
        dict(filter_radius=2.5),
        dict(speaker_id=-1),
        dict(backend="cuda"),
        dict(output_sample_rate=100),
        dict(output_format="aiff"),
        dict(autotune=1.5),
        dict(formant_timbre=0.0),
        dict(formant_quefrency=-1),
        dict(bitrate=512),
        dict(sample_format="PCM_8"),
        dict(output_format="flac", sample_format="FLOAT"),
        dict(seed=-4),
    ]
    for kwargs in bad:
        with pytest.raises(ParameterError) as info:
            ConversionParams(**kwargs)
        assert "\n" not in str(info.value) and str(info.value)
    with pytest.raises(ParameterError, match="unknown conversion parameter"):
        ConversionParams.coerce({"pitch": 1, "volume": 2})


def test_convert_file_writes_new_files_with_progress_and_reuses_analysis(conv, tree) -> None:
    events: list[tuple[float, str]] = []
    model = tree["models"]["v2f0"]
    result = conv.convert_file(
        tree["song"], model, tree["out"], ConversionParams(seed=7, **TORCH), progress=lambda f, s: events.append((f, s))
    )
    assert result.output_path == tree["out"] / "song (v2f0).wav"
    info = sf.info(str(result.output_path))
    assert (info.samplerate, info.channels, info.subtype) == (32000, 1, "PCM_16")
    assert (
        info.frames == round(SONG_S * 32000)
        and result.sample_rate == 32000
        and result.duration == pytest.approx(SONG_S)
    )
    audio, _ = sf.read(str(result.output_path), dtype="float32")
    assert np.all(np.isfinite(audio)) and 0.01 < np.abs(audio).max() <= 0.99 + 1e-4
    fractions, stages = [f for f, _ in events], [s for _, s in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert set(stages) == set(STAGES) and stages[0] == "Loading" and stages[-1] == "Writing"
    assert set(result.timings) >= {"decode", "embed", "f0", "retrieval", "synth", "write", "total"}
    first_bytes = result.output_path.read_bytes()

    before = dict(conv.stats)
    again = conv.convert_file(tree["song"], model, tree["out"], ConversionParams(pitch=4, seed=7, **TORCH))
    assert conv.stats["embed"] == before["embed"] and conv.stats["f0"] == before["f0"]  # analysis from disk
    assert again.output_path == tree["out"] / "song (v2f0) (2).wav"  # never overwrites
    assert result.output_path.read_bytes() == first_bytes
    assert sorted(p.name for p in tree["out"].iterdir()) == ["song (v2f0) (2).wav", "song (v2f0).wav"]  # no temporaries


def _rvc_reference(conv, model, audio16: np.ndarray, params: ConversionParams) -> np.ndarray:
    """RVC's recipe for one piece, step by step, on the converter's loaded models."""
    import faiss
    import librosa
    import torch
    from scipy import signal

    gen = conv.generator(model.model_path, "torch")
    pad = PAD.pad
    n = audio16.shape[0]
    b, a = signal.butter(N=5, Wn=48, btype="high", fs=16000)
    filtered = signal.filtfilt(b, a, audio16.astype(np.float64))
    frames = math.ceil(n / WINDOW)
    n_frames = frames + 2 * pad // WINDOW
    length = max(n_frames * WINDOW, 320 * (math.ceil(n_frames / 2) - 1) + 400)  # HuBERT covers every frame
    x = np.pad(filtered, (pad, length - n - pad), mode="reflect").astype(np.float32)
    feats0 = conv.embedder().extract(x, gen.config.version)
    index = faiss.read_index(str(model.index_path))
    big = index.reconstruct_n(0, index.ntotal)
    dist, ix = index.search(feats0, 8)
    weight = np.square(1 / dist)
    weight /= weight.sum(axis=1, keepdims=True)
    feats = params.index_rate * np.sum(big[ix] * weight[:, :, None], axis=1) + (1 - params.index_rate) * feats0
    feats = np.repeat(feats, 2, axis=0)[:n_frames]
    feats0 = np.repeat(feats0, 2, axis=0)[:n_frames]
    f0 = conv.estimators.estimate(x[: n_frames * WINDOW], params.f0_method, n_frames=n_frames) * 2 ** (
        params.pitch / 12
    )
    w = np.where(f0 > 0, 1.0, params.protect)[:, None]
    feats = (feats * w + feats0 * (1 - w)).astype(np.float32)
    y = gen.infer(feats, f0, 0, noise="zero")
    sr = gen.sample_rate
    rms1 = librosa.feature.rms(y=x[: n_frames * WINDOW], frame_length=16000, hop_length=8000)
    rms2 = librosa.feature.rms(y=y, frame_length=sr // 2 * 2, hop_length=sr // 2)
    rms1 = torch.nn.functional.interpolate(
        torch.from_numpy(rms1).float().unsqueeze(0), size=y.shape[0], mode="linear"
    ).squeeze()
    rms2 = torch.nn.functional.interpolate(
        torch.from_numpy(rms2).float().unsqueeze(0), size=y.shape[0], mode="linear"
    ).squeeze()
    rms2 = torch.clamp(rms2, min=1e-6)
    r = params.rms_mix_rate
    y = y * (torch.pow(rms1, 1 - r) * torch.pow(rms2, r - 1)).numpy()
    hop = gen.hop
    y = y[pad // WINDOW * hop : (pad // WINDOW + frames) * hop][: round(n * sr / 16000)]
    peak = np.abs(y).max()
    return y * (0.99 / peak) if peak > 0.99 else y


def test_one_piece_matches_rvcs_recipe(conv, tree) -> None:
    model = tree["models"]["v2f0"]
    audio16 = voice(0.8, seed=3)
    params = ConversionParams(pitch=2.5, index_rate=0.6, protect=0.2, rms_mix_rate=0.4, deterministic=True, **TORCH)
    got, sr = conv.convert_array(audio16, 16000, model, params)
    ref = _rvc_reference(conv, model, audio16, params)
    assert sr == 32000 and got.shape == ref.shape
    peak = float(np.abs(ref).max())
    assert float(np.abs(got - ref).max()) <= 1e-5 * peak


@pytest.mark.parametrize(
    "name,method", [("v1f0", "harvest"), ("v2f0", "fcpe"), ("v1nof0", "rmvpe"), ("v2nof0", "rmvpe")]
)
def test_every_model_kind_and_pitch_method(conv, tree, name, method) -> None:
    model = tree["models"][name]
    calls = len(conv.f0_calls)
    result = conv.convert_file(
        tree["song"], model, tree["out"] / name, ConversionParams(f0_method=method, seed=1, **TORCH)
    )
    audio, sr = sf.read(str(result.output_path), dtype="float32")
    assert sr == 32000 and audio.shape == (round(SONG_S * 32000),)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() > 0.01
    # pitch is estimated (by the method asked for) only for models that use it
    assert conv.f0_calls[calls:] == ([method] if model.f0 else [])


def test_mlx_and_torch_give_the_same_audio_in_deterministic_mode(conv, tree) -> None:
    model = tree["models"]["v2f0"]
    audio16 = voice(0.6, seed=4)
    outs = {
        b: conv.convert_array(audio16, 16000, model, ConversionParams(backend=b, deterministic=True))[0]
        for b in ("torch", "mlx")
    }
    assert conv.generator(model.model_path, "mlx").backend == "mlx"
    peak = float(np.abs(outs["torch"]).max())
    assert float(np.abs(outs["mlx"] - outs["torch"]).max()) <= 1e-4 * peak


def test_auto_and_the_backend_it_stands_for_share_one_loaded_generator(conv, tree) -> None:
    """The window warms the model up with the settings' backend; a preview that names the same
    backend ("auto" on one side) uses that generator instead of loading it again."""
    from inference.synth import resolve_backend

    path = tree["models"]["v2f0"].model_path
    auto = conv.generator(path, "auto")
    assert conv.generator(path, resolve_backend("auto")) is auto
    other = "mlx" if auto.backend == "torch" else "torch"
    assert conv.generator(path, other) is not auto


def _rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(a**2)))


@pytest.mark.slow
def test_long_input_in_pieces_matches_the_whole_around_the_join(conv, tree) -> None:
    from scipy import signal

    model = tree["models"]["v2nof0"]
    audio16 = voice(1.4, seed=5)
    params = ConversionParams(deterministic=True, **TORCH)
    whole, sr = conv.convert_array(audio16, 16000, model, params)
    conv.chunk = ChunkSettings(x_pad=0.2, x_max=0.9, x_center=0.7, x_query=0.15)
    try:
        pieces = plan_pieces(audio16, conv.chunk)
        cut, sr2 = conv.convert_array(audio16, 16000, model, params)
    finally:
        conv.chunk = PAD
    assert len(pieces) == 2 and sr2 == sr and cut.shape == whole.shape == (round(1.4 * sr),)
    b, a = signal.butter(4, 50, btype="high", fs=sr)  # random weights put a large DC offset out
    whole, cut = signal.filtfilt(b, a, whole), signal.filtfilt(b, a, cut)
    at, half, hop = pieces[1].start * sr // 16000, 960, sr // 100
    inside = [
        _rel_error(whole[c - half : c + half], cut[c - half : c + half])
        for c in range(2 * half, whole.shape[0] - 2 * half, half)
        if abs(c - at) > 3 * half
    ]
    limit = min(0.05, 2 * float(np.median(inside)))
    near = slice(at - half, at + half)
    assert _rel_error(whole[near], cut[near]) < limit, (_rel_error(whole[near], cut[near]), inside)
    gap = cut.copy()
    gap[at : at + hop // 2] = 0.0
    slip = np.concatenate([cut[:at], cut[at + hop // 2 :], np.zeros(hop // 2)])
    for broken in (gap, slip):  # the check has teeth
        assert _rel_error(whole[near], broken[near]) > limit


def test_preview_reuses_the_region_analysis(conv, tree) -> None:
    model = tree["models"]["v2f0"]
    base = dict(seed=3, **TORCH)
    before = dict(conv.stats)
    a0, sr, f0_in, f0_t0 = conv.preview(tree["song"], model, ConversionParams(**base), 0.4, 1.0)
    assert conv.stats["embed"] == before["embed"] + 1 and conv.stats["f0"] == before["f0"] + 1
    a4, sr4, f0_in4, f0_t4 = conv.preview(tree["song"], model, ConversionParams(pitch=4, **base), 0.4, 1.0)
    a_ix, *_ = conv.preview(tree["song"], model, ConversionParams(pitch=4, index_rate=0.0, **base), 0.4, 1.0)
    assert conv.stats["embed"] == before["embed"] + 1 and conv.stats["f0"] == before["f0"] + 1  # only synthesis re-ran
    assert sr == sr4 == 32000 and a0.shape == a4.shape == (round(0.6 * 32000),)
    assert f0_in.shape == f0_t4.shape == (60,) and np.array_equal(f0_in, f0_in4)
    np.testing.assert_allclose(f0_t4, f0_in * 2 ** (4 / 12), rtol=1e-6)
    assert not np.allclose(a0, a4, atol=1e-3) and not np.allclose(a4, a_ix, atol=1e-3)
    # a fresh converter (a new app run) finds the analysis on disk and never loads the embedder;
    # the same seed gives the same audio
    fresh = Converter(cache_dir=tree["root"] / "cache", chunk=PAD)
    again, *_ = fresh.preview(tree["song"], model, ConversionParams(pitch=4, **base), 0.4, 1.0)
    assert fresh.stats["embed"] == fresh.stats["f0"] == 0 and fresh._embedder is None
    np.testing.assert_array_equal(again, a4)


def test_cancel_stops_the_job_and_leaves_no_file(conv, tree) -> None:
    out = tree["root"] / "cancelled"
    cancel = threading.Event()
    seen: list[str] = []

    def progress(fraction: float, stage: str) -> None:
        seen.append(stage)
        if stage == "Synthesising":
            cancel.set()

    with pytest.raises(Cancelled):
        conv.convert_file(
            tree["song"],
            tree["models"]["v2f0"],
            out,
            ConversionParams(pitch=1, **TORCH),
            progress=progress,
            cancel=cancel,
        )
    assert "Synthesising" in seen and "Writing" not in seen
    assert not out.exists() or list(out.iterdir()) == []
    cancel.set()
    with pytest.raises(Cancelled):  # an already-set event stops before any work
        conv.preview(tree["song"], tree["models"]["v1f0"], ConversionParams(pitch=9, **TORCH), 0.0, 0.5, cancel=cancel)


def test_refuses_to_write_inside_replays_folder(conv, tree) -> None:
    target = tree["replay"] / "models" / "converted"
    with pytest.raises(AudioError, match="Replay"):
        conv.convert_file(tree["song"], tree["models"]["v2f0"], target, ConversionParams(**TORCH))
    assert not target.exists()


def test_errors_are_one_line_and_the_next_job_still_works(conv, tree, tmp_path, monkeypatch) -> None:
    from tests.support.voice_models import make_old_refinegan

    model = tree["models"]["v2f0"]
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16000, np.float32), 16000)
    wrong_index = dataclasses.replace(model, index_path=tree["models"]["v1f0"].index_path)
    refine = make_old_refinegan(tmp_path / "refine.pth", 32000)  # a layout current Applio cannot run either
    cases = [
        (text, model, {}, AudioError),
        (empty, model, {}, AudioError),
        (silent, model, {}, AudioError),
        (tree["song"], wrong_index, {}, RVCError),
        (tree["song"], refine, {}, RVCError),
        (tree["song"], model, {"speaker_id": 3}, RVCError),
        (tree["song"], tmp_path / "missing.pth", {}, RVCError),
    ]
    messages = []
    for source, voice_model, extra, kind in cases:
        with pytest.raises(kind) as info:
            conv.convert_file(source, voice_model, tmp_path / "out", ConversionParams(**TORCH, **extra))
        messages.append(str(info.value))
    assert all(m and "\n" not in m for m in messages), messages
    assert "silent" in messages[2] and "256" in messages[3] and "768" in messages[3]
    assert "RefineGAN" in messages[4] and "speaker" in messages[5]
    fresh = Converter(cache_dir=tmp_path / "cache", chunk=PAD)
    monkeypatch.setenv("RVC_STUDIO_REPLAY_DIR", str(tmp_path / "no-replay"))
    with pytest.raises(RVCError, match="hubert_base.pt") as info:
        fresh.convert_file(tree["song"], model, tmp_path / "out", ConversionParams(**TORCH))
    assert "\n" not in str(info.value) and "no-replay" in str(info.value)
    monkeypatch.setenv("RVC_STUDIO_REPLAY_DIR", str(tree["replay"]))
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
    result = conv.convert_file(
        tree["song"],
        model,
        tmp_path / "out",
        ConversionParams(pitch=-2, output_sample_rate=44100, output_format="flac", sample_format="PCM_24", **TORCH),
    )
    info = sf.info(str(result.output_path))
    assert result.output_path.name == "song (v2f0).flac" and (info.samplerate, info.format, info.subtype) == (
        44100,
        "FLAC",
        "PCM_24",
    )
    assert abs(info.frames - round(SONG_S * 44100)) <= 2


def test_torch_loads_before_mlx(tree) -> None:
    """On Linux MLX's OpenBLAS goes global; a torch loaded after it binds its own matrix products
    to it (HuBERT 1.7x slower), so the converter imports torch before an MLX generator. A fresh
    process, since this one has both already."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from inference.pipeline import Converter\n"
        "Converter(cache_dir=sys.argv[2]).generator(sys.argv[1], backend='mlx')\n"
        "names = list(sys.modules)\n"
        "print(names.index('torch') < names.index('mlx.core'))\n"
    )
    model = tree["models"]["v2f0"].model_path
    done = subprocess.run(
        [sys.executable, "-c", script, str(model), str(tree["root"] / "cache-order")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]
