"""Formant shift, autotune and the compressed outputs through the real pipeline (random weights).

- formant shift happens to the 16 kHz input before analysis: converting with it equals
  converting the input shifted beforehand (deterministic synthesis: bit for bit), and it keys
  a new analysis (the cached one of the unshifted input is not reused);
- autotune acts on the target pitch only: the analysis is reused, the target lands on the
  semitone grid (within 1e-3 semitone, float32), unvoiced frames stay unvoiced;
- an ogg output is Opus at 48 kHz, decodes to the input's duration within one Opus frame (960
  samples) and carries the song, the model and the pitch in its tags.
"""

from __future__ import annotations

import av
import librosa
import numpy as np
import pytest
import soundfile as sf

from inference.audio import load_audio
from inference.audio.formant import formant_shift
from inference.pipeline import ConversionParams, Converter
from inference.pipeline.chunking import ChunkSettings
from tests.support.pipeline import build_replay, voice

FAST = dict(backend="torch", deterministic=True)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("shaping")
    replay = build_replay(root, models={"v2f0": ("v2", 32000, True)}, index_vectors=200)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVC_STUDIO_REPLAY_DIR", str(replay))
        from inference.models.library import ModelLibrary

        (model,) = ModelLibrary().scan()
        song = root / "Take 1.wav"
        sf.write(song, voice(1.0, 16000), 16000)
        yield dict(
            root=root, model=model, song=song, conv=Converter(cache_dir=root / "cache", chunk=ChunkSettings(x_pad=0.2))
        )


def test_formant_shift_is_applied_to_the_input_before_analysis(tree) -> None:
    conv, model = tree["conv"], tree["model"]
    audio = voice(0.6, 16000, seed=4)
    shifted = formant_shift(audio, 1.25, 2.0)
    embeds = conv.stats["embed"]
    plain, sr = conv.convert_array(audio, 16000, model, ConversionParams(**FAST))
    ours, _ = conv.convert_array(
        audio, 16000, model, ConversionParams(formant_timbre=1.25, formant_quefrency=2.0, **FAST)
    )
    assert conv.stats["embed"] == embeds + 2, "the shifted input must be analysed anew"
    reference, _ = conv.convert_array(shifted, 16000, model, ConversionParams(**FAST))
    np.testing.assert_array_equal(ours, reference)
    assert sr == 32000 and not np.allclose(ours, plain)


def test_autotune_moves_only_the_target_onto_the_grid(tree) -> None:
    conv, model, song = tree["conv"], tree["model"], tree["song"]
    _, _, f0_in, plain_target = conv.preview(song, model, ConversionParams(pitch=0.5, **FAST), 0.0, 1.0)
    embeds = conv.stats["embed"]
    _, _, f0_again, target = conv.preview(song, model, ConversionParams(pitch=0.5, autotune=1.0, **FAST), 0.0, 1.0)
    assert conv.stats["embed"] == embeds, "autotune needs no new analysis"
    np.testing.assert_array_equal(f0_in, f0_again)
    voiced = f0_in > 0
    assert voiced.sum() > 20 and np.array_equal(target > 0, voiced)
    midi = librosa.hz_to_midi(target[voiced].astype(np.float64))
    assert np.abs(midi - np.round(midi)).max() < 1e-3
    off = librosa.hz_to_midi(plain_target[voiced].astype(np.float64))
    assert np.abs(off - np.round(off)).max() > 0.1  # without it the shifted pitch is off the grid


def test_an_ogg_output_is_opus_at_48k_of_the_input_duration(tree) -> None:
    conv, model, song = tree["conv"], tree["model"], tree["song"]
    params = ConversionParams(output_format="ogg", bitrate=96, pitch=-2, **FAST)
    result = conv.convert_file(song, model, tree["root"] / "out", params, name_template="{model} - {name} {pitch}")
    assert result.output_path.name == "v2f0 - Take 1 -2.ogg"
    assert result.sample_rate == 48000 and result.duration == pytest.approx(1.0)
    decoded = load_audio(result.output_path, sr=None)
    assert abs(decoded.shape[0] - 48000) <= 960
    with av.open(str(result.output_path)) as container:
        stream = container.streams.audio[0]
        tags = {k.lower(): v for k, v in (dict(container.metadata) | dict(stream.metadata)).items()}
        assert stream.codec_context.name in ("libopus", "opus") and stream.codec_context.sample_rate == 48000
    assert tags["title"] == "Take 1" and tags["artist"] == "v2f0" and tags["rvc_pitch"] == "-2"
