"""RMVPE with random weights in the real ``rmvpe.pt`` format: loading, front end, network, shapes.

The network is checked against an independent functional re-statement of RVC's E2E written
below with ``torch.nn.functional`` (and a hand-written GRU), on the same weights and input.
"""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
import torch

from inference.core.errors import Cancelled
from inference.f0 import F0Error
from inference.f0 import rmvpe as R
from inference.f0.rmvpe import E2E, load_rmvpe
from tests.support.voice_models import flip_bytes


def _audio(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(t.shape[0])).astype(np.float32)


def test_keys_and_shapes_are_rvcs():
    state = E2E().state_dict()
    assert len(state) == 741
    # Shapes of the published rmvpe.pt (RVC's E2E(4, 1, (2, 2))).
    expected = {
        "unet.encoder.bn.weight": (1,),
        "unet.encoder.layers.0.conv.0.conv.0.weight": (16, 1, 3, 3),
        "unet.encoder.layers.0.conv.0.shortcut.weight": (16, 1, 1, 1),
        "unet.encoder.layers.4.conv.3.conv.4.running_var": (256,),
        "unet.intermediate.layers.0.conv.0.shortcut.weight": (512, 256, 1, 1),
        "unet.intermediate.layers.3.conv.3.conv.3.weight": (512, 512, 3, 3),
        "unet.decoder.layers.0.conv1.0.weight": (512, 256, 3, 3),
        "unet.decoder.layers.0.conv2.0.conv.0.weight": (256, 512, 3, 3),
        "unet.decoder.layers.4.conv2.3.conv.3.weight": (16, 16, 3, 3),
        "cnn.weight": (3, 16, 3, 3),
        "cnn.bias": (3,),
        "fc.0.gru.weight_ih_l0": (768, 384),
        "fc.0.gru.weight_hh_l0_reverse": (768, 256),
        "fc.1.weight": (360, 512),
        "fc.1.bias": (360,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    # Convs inside residual blocks have no bias in RVC; 1x1 shortcuts do.
    assert "unet.encoder.layers.0.conv.0.conv.0.bias" not in state
    assert "unet.encoder.layers.0.conv.1.shortcut.weight" not in state
    n_params = sum(v.numel() for k, v in state.items() if not k.endswith("num_batches_tracked"))
    assert n_params == 90_472_799  # x 2 bytes (fp16) = 181 MB, the size of the published file


def test_factory_file_loads_exactly(rmvpe_path, rmvpe_model):
    saved = torch.load(rmvpe_path, weights_only=True)
    assert next(v for v in saved.values() if v.dtype.is_floating_point).dtype == torch.float16
    loaded = rmvpe_model.model.state_dict()
    assert set(saved) == set(loaded)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value.to(loaded[key].dtype)), key


def test_load_without_batch_counters(rmvpe_path, tmp_path):
    state = torch.load(rmvpe_path, weights_only=True)
    state = {k: v for k, v in state.items() if "num_batches" not in k}
    state["fc.1.bias"] = torch.arange(360, dtype=torch.float16)
    torch.save(state, tmp_path / "rmvpe.pt")
    model = load_rmvpe(tmp_path / "rmvpe.pt")
    assert torch.equal(model.model.state_dict()["fc.1.bias"], torch.arange(360, dtype=torch.float32))


def test_loaded_network_runs_as_one_built_eagerly(rmvpe_path, rmvpe_model):
    """The model is built on the meta device and the file's tensors assigned (no random
    initialisation): it must compute what an ordinarily built and loaded one does, GRU included
    (its flattened weights), with nothing left on the meta device. Same weights and ops: equal."""
    eager = E2E()
    eager.load_state_dict({k: v.float() for k, v in torch.load(rmvpe_path, weights_only=True).items()})
    eager.eval()
    tensors = list(rmvpe_model.model.parameters()) + list(rmvpe_model.model.buffers())
    assert not any(t.is_meta for t in tensors)
    mel = rmvpe_model.log_mel(_audio(0.7, seed=3))[..., :64]
    with torch.inference_mode():
        assert torch.equal(rmvpe_model.model(mel), eager(mel))


def test_bad_files_name_the_file(rmvpe_path, tmp_path):
    with pytest.raises(F0Error, match="not found"):
        load_rmvpe(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(F0Error, match=r"junk\.pt: corrupt or not a PyTorch file"):
        load_rmvpe(tmp_path / "junk.pt")
    data = rmvpe_path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])  # an interrupted download
    with pytest.raises(F0Error, match=r"cut\.pt: the file is incomplete"):
        load_rmvpe(tmp_path / "cut.pt")
    (tmp_path / "flipped.pt").write_bytes(data)
    flip_bytes(tmp_path / "flipped.pt", at=0.7)
    with pytest.raises(F0Error, match=r"flipped\.pt: the file is damaged"):
        load_rmvpe(tmp_path / "flipped.pt")
    torch.save({"something.else": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(F0Error, match=r"other\.pt.*missing"):
        load_rmvpe(tmp_path / "other.pt")
    state = torch.load(rmvpe_path, weights_only=True)
    state["fc.1.bias"] = torch.zeros(361)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(F0Error, match=r"fc\.1\.bias"):
        load_rmvpe(tmp_path / "shape.pt")


class _Payload:
    def __reduce__(self):
        return (open, ("/tmp/rvc-studio-rmvpe-payload-ran", "w"))


def test_pickled_code_never_runs(tmp_path):
    import os

    marker = "/tmp/rvc-studio-rmvpe-payload-ran"
    if os.path.exists(marker):
        os.remove(marker)
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"fc.1.bias": _Payload()}, fh, protocol=2)
    with pytest.raises(F0Error, match=r"refused to load RMVPE weights .*evil\.pt: .*could run code"):
        load_rmvpe(tmp_path / "evil.pt")
    assert not os.path.exists(marker)


def test_mel_front_end_matches_librosa():
    import librosa

    audio = _audio(0.5)
    ours = R.MelFrontEnd()(torch.from_numpy(audio)[None])[0].numpy()
    spec = np.abs(
        librosa.stft(audio, n_fft=1024, hop_length=160, win_length=1024, window="hann", center=True, pad_mode="reflect")
    )
    basis = librosa.filters.mel(sr=16000, n_fft=1024, n_mels=128, fmin=30, fmax=8000, htk=True)
    ref = np.log(np.maximum(basis @ spec, 1e-5))
    assert ours.shape == ref.shape == (128, audio.shape[0] // 160 + 1)
    np.testing.assert_allclose(ours, ref, atol=2e-4)  # float32 FFTs of different libraries


def _functional_e2e(sd: dict, mel: torch.Tensor) -> torch.Tensor:
    """RVC's E2E written out with torch.nn.functional: mel [1, 128, T] -> salience [1, T, 360]."""
    F = torch.nn.functional  # noqa: N806 - the name every torch reader knows

    def bn(x, p):
        return F.batch_norm(
            x, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"], sd[p + ".bias"], False, 0.0, 1e-5
        )

    def res(x, p):
        y = F.relu(bn(F.conv2d(x, sd[p + ".conv.0.weight"], padding=1), p + ".conv.1"))
        y = F.relu(bn(F.conv2d(y, sd[p + ".conv.3.weight"], padding=1), p + ".conv.4"))
        if p + ".shortcut.weight" in sd:
            x = F.conv2d(x, sd[p + ".shortcut.weight"], sd[p + ".shortcut.bias"])
        return y + x

    x = bn(mel.transpose(1, 2)[:, None], "unet.encoder.bn")
    skips = []
    for i in range(5):
        for j in range(4):
            x = res(x, f"unet.encoder.layers.{i}.conv.{j}")
        skips.append(x)
        x = F.avg_pool2d(x, 2)
    for i in range(4):
        for j in range(4):
            x = res(x, f"unet.intermediate.layers.{i}.conv.{j}")
    for i in range(5):
        p = f"unet.decoder.layers.{i}"
        x = F.conv_transpose2d(x, sd[p + ".conv1.0.weight"], stride=2, padding=1, output_padding=1)
        x = torch.cat([F.relu(bn(x, p + ".conv1.1")), skips[-1 - i]], 1)
        for j in range(4):
            x = res(x, f"{p}.conv2.{j}")
    x = F.conv2d(x, sd["cnn.weight"], sd["cnn.bias"], padding=1).transpose(1, 2).flatten(-2)[0]

    def gru(seq, suffix):
        w_ih, w_hh = sd["fc.0.gru.weight_ih_l0" + suffix], sd["fc.0.gru.weight_hh_l0" + suffix]
        b_ih, b_hh = sd["fc.0.gru.bias_ih_l0" + suffix], sd["fc.0.gru.bias_hh_l0" + suffix]
        h, out = torch.zeros(256), []
        for xt in seq:
            gi, gh = w_ih @ xt + b_ih, w_hh @ h + b_hh
            r = torch.sigmoid(gi[:256] + gh[:256])
            z = torch.sigmoid(gi[256:512] + gh[256:512])
            n = torch.tanh(gi[512:] + r * gh[512:])
            h = (1 - z) * n + z * h
            out.append(h)
        return torch.stack(out)

    both = torch.cat([gru(x, ""), gru(x.flip(0), "_reverse").flip(0)], -1)
    return torch.sigmoid(both @ sd["fc.1.weight"].T + sd["fc.1.bias"])[None]


def test_network_matches_functional_reference(rmvpe_model):
    sd = {k: v.float() for k, v in rmvpe_model.model.state_dict().items()}
    mel = rmvpe_model.log_mel(_audio(0.7))[..., :64]
    with torch.inference_mode():
        ours = rmvpe_model.model(mel)
        ref = _functional_e2e(sd, mel)
    assert ours.shape == (1, 64, 360)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)  # fp32 summation order


def test_end_to_end_shapes_and_padding(rmvpe_model):
    seen = []
    hook = rmvpe_model.model.unet.register_forward_pre_hook(lambda _m, args: seen.append(args[0].shape))
    try:
        for samples in (100, 8000, 8161, 16000):
            f0 = rmvpe_model.estimate(np.zeros(samples, np.float32) + _audio(1.0)[:samples])
            assert f0.shape == (samples // 160 + 1,) and f0.dtype == np.float32
            assert np.all(np.isfinite(f0)) and np.all(f0 >= 0)
    finally:
        hook.remove()
    # U-Net input [1, 1, frames, 128]: frames padded up to a multiple of 32.
    assert [s[2] for s in seen] == [32, 64, 64, 128]
    assert all(s[3] == 128 for s in seen)


@pytest.mark.parametrize("segment", [64, 70])
def test_segments_stitch_in_place(rmvpe_model, monkeypatch, segment):
    audio = _audio(2.0, seed=1)
    whole = rmvpe_model.salience(audio)
    monkeypatch.setattr(R, "SEGMENT_FRAMES", segment)  # 3-4 pieces, 64 frames of context
    pieces = rmvpe_model.salience(audio)
    assert pieces.shape == whole.shape == (201, 360)
    # Pieces start on the U-Net's 32-frame grid: with these weights the result is the whole
    # run's to float rounding (measured 4e-7). Adjacent frames differ by > 5e-3, so a piece
    # placed one frame off fails.
    np.testing.assert_allclose(pieces, whole, atol=1e-5)
    assert np.abs(np.diff(whole, axis=0)).max(axis=1).min() > 5e-3


def test_cancel_between_segments(rmvpe_model, monkeypatch):
    monkeypatch.setattr(R, "SEGMENT_FRAMES", 32)
    calls = []
    cancel = threading.Event()
    real_run = rmvpe_model._run

    def run_then_cancel(mel):
        calls.append(mel.shape[-1])
        cancel.set()
        return real_run(mel)

    monkeypatch.setattr(rmvpe_model, "_run", run_then_cancel)
    with pytest.raises(Cancelled):
        rmvpe_model.estimate(_audio(1.0), cancel=cancel)
    assert len(calls) == 1
