"""A cover end to end: a synthetic song whose vocal (espeak-ng) and band (fluidsynth) are known,
separated by a stand-in that returns exactly those stems, converted by the real pipeline
(random-weight models in a fake Replay tree), remixed, and checked sample by sample; the stem
cache on a second cover; cancelling; what is written and where."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import soundfile as sf

from inference.audio import AudioError, resample
from inference.core.errors import Cancelled
from inference.covers.cache import StemCache
from inference.covers.cover import STAGES, CoverMaker
from inference.covers.params import CoverParams
from inference.covers.remix import align_vocal, db_to_gain, transpose
from inference.covers.separator import SeparationError, Separator, Stems
from inference.covers.stage import SeparationStage
from inference.pipeline import ConversionParams, Converter
from inference.pipeline.chunking import ChunkSettings
from tests.support.pipeline import build_replay
from tests.support.separation import band, espeak_available, speech

RATE = 44100
FLOAT = dict(backend="torch", deterministic=True, sample_format="FLOAT")

pytestmark = pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt install espeak-ng)")


class KnownStems(Separator):
    """A stand-in separator that knows the song's stems and checks it is given that song."""

    name = "known stems"
    identity = "known-stems-v1"

    def __init__(self, vocal: np.ndarray, accompaniment: np.ndarray) -> None:
        self.vocal, self.accompaniment, self.calls = vocal, accompaniment, 0

    def separate(self, song, rate, progress=None, cancel=None) -> Stems:
        self.calls += 1
        np.testing.assert_allclose(song, self.vocal + self.accompaniment, atol=1e-6)
        for step in range(5):
            if progress is not None:
                progress(step / 4)
        return Stems(self.vocal.copy(), self.accompaniment.copy(), rate)


class Identity:
    """A stand-in converter: the vocal back unchanged (mono), at its own rate."""

    stats = {"embed": 0}

    def convert_array(self, audio, sr, model, params, progress=None, cancel=None):
        if progress is not None:
            progress(1.0, "Synthesising")
        return np.asarray(audio, np.float32).mean(axis=1), sr


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    folder = tmp_path_factory.mktemp("song")
    voice = speech("la la, the sea", RATE)
    frames = voice.shape[0] + RATE // 4
    vocal = np.zeros((frames, 2), np.float32)
    vocal[RATE // 8 : RATE // 8 + voice.shape[0]] = np.stack([0.9 * voice, 0.8 * voice], axis=1)
    accompaniment = band(frames / RATE + 0.1, RATE)[:frames]
    path = folder / "song.wav"
    sf.write(path, vocal + accompaniment, RATE, subtype="FLOAT")
    return dict(path=path, vocal=vocal, accompaniment=accompaniment, folder=folder)


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    root = tmp_path_factory.mktemp("covers-replay")
    tree = build_replay(root, models={"v2f0": ("v2", 32000, True)})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RVC_STUDIO_REPLAY_DIR", str(tree))
        from inference.models.library import ModelLibrary

        (model,) = ModelLibrary().scan()
        converter = Converter(cache_dir=root / "cache", chunk=ChunkSettings(x_pad=0.2))
        yield dict(model=model, converter=converter, root=root)


def maker_for(song, converter, tmp_path, **cover) -> tuple[CoverMaker, KnownStems]:
    known = KnownStems(song["vocal"], song["accompaniment"])
    stage = SeparationStage(cache=StemCache(tmp_path / "stems"), fixed={"vocals": known})
    return CoverMaker(converter, stage, CoverParams(**cover)), known


def read(path):
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    return audio, rate


def test_separate_convert_remix_sample_by_sample(song, replay, tmp_path):
    maker, known = maker_for(song, replay["converter"], tmp_path, stems=True, vocal_gain_db=-3, accompaniment_gain_db=1)
    params = ConversionParams(pitch=2, **FLOAT)
    seen: list[tuple[float, str]] = []
    result = maker.make_cover(
        song["path"], replay["model"], tmp_path / "out", params, progress=lambda f, s: seen.append((f, s))
    )
    cover, rate = read(result.output_path)
    assert rate == RATE == result.sample_rate and cover.shape == known.vocal.shape  # length, rate, channels
    assert result.output_path.name == "song (v2f0).wav"
    assert sorted(p.name for p in result.stems.values()) == [
        "song (v2f0) - accompaniment.wav",
        "song (v2f0) - converted vocal.wav",
        "song (v2f0) - vocal.wav",
    ]
    vocal, _ = read(result.stems["vocal"])
    converted, _ = read(result.stems["converted vocal"])
    band_, _ = read(result.stems["accompaniment"])
    np.testing.assert_array_equal(vocal, known.vocal)
    np.testing.assert_array_equal(band_, known.accompaniment)
    # the converted vocal is the pipeline's own output for the separated vocal, aligned to the song
    direct, direct_rate = replay["converter"].convert_array(
        known.vocal, RATE, replay["model"], ConversionParams(pitch=2, **FLOAT)
    )
    expected_vocal = align_vocal(direct, direct_rate, RATE, cover.shape[0])
    np.testing.assert_allclose(converted[:, 0], expected_vocal, atol=1e-6)
    # the cover, sample by sample
    expected = result.scale * (converted * db_to_gain(-3) + known.accompaniment * db_to_gain(1))
    np.testing.assert_allclose(cover, expected, atol=1e-6)
    assert np.abs(converted).max() > 0.01  # something was sung
    stages = [s for _, s in seen]
    assert [s for s in STAGES if s in stages] == list(STAGES)
    assert stages.index("Converting") > stages.index("Separating") and stages[-1] == "Mixing"
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0


def test_a_second_cover_reuses_the_stems_and_a_changed_song_does_not(song, replay, tmp_path):
    maker, known = maker_for(song, replay["converter"], tmp_path)
    first = maker.make_cover(song["path"], replay["model"], tmp_path / "out", ConversionParams(pitch=0, **FLOAT))
    embeds = replay["converter"].stats["embed"]
    second = maker.make_cover(song["path"], replay["model"], tmp_path / "out", ConversionParams(pitch=5, **FLOAT))
    assert (first.stems_cached, second.stems_cached, known.calls) == (False, True, 1)
    assert replay["converter"].stats["embed"] == embeds  # and the vocal's analysis came from its cache
    assert second.output_path.name == "song (v2f0) (2).wav"  # never over the first
    fresh = SeparationStage(cache=StemCache(tmp_path / "stems"), fixed={"vocals": known})  # a new process
    again = CoverMaker(Identity(), fresh).make_cover(song["path"], "v.pth", tmp_path / "o", ConversionParams(**FLOAT))
    assert again.stems_cached and known.calls == 1
    edited = tmp_path / "edited.wav"
    louder = KnownStems(song["vocal"] * 0.5, song["accompaniment"])
    sf.write(edited, louder.vocal + louder.accompaniment, RATE, subtype="FLOAT")
    fresh.fixed["vocals"] = louder
    changed = CoverMaker(Identity(), fresh).make_cover(edited, "v.pth", tmp_path / "o", ConversionParams(**FLOAT))
    assert not changed.stems_cached and louder.calls == 1


def test_with_an_identity_conversion_the_cover_is_the_song(song, tmp_path):
    maker, _ = maker_for(song, Identity(), tmp_path)
    result = maker.make_cover(song["path"], "voice.pth", tmp_path / "out", ConversionParams(**FLOAT))
    cover, _ = read(result.output_path)
    mix = song["vocal"].mean(axis=1, keepdims=True) + song["accompaniment"]
    assert result.scale == 1.0
    np.testing.assert_allclose(cover, mix, atol=1e-6)


@pytest.mark.parametrize(("rate", "channels"), [(48000, 1), (22050, 2)])
def test_the_cover_keeps_any_songs_rate_and_channels(tmp_path, rate, channels):
    frames = int(0.7 * rate)
    rng = np.random.default_rng(0)
    vocal = (0.1 * rng.standard_normal((frames, channels))).astype(np.float32)
    accompaniment = (0.1 * rng.standard_normal((frames, channels))).astype(np.float32)
    path = tmp_path / "s.flac"
    sf.write(path, vocal + accompaniment, rate, subtype="PCM_24")
    decoded, _ = sf.read(path, dtype="float32", always_2d=True)
    known = KnownStems(decoded - accompaniment, accompaniment)
    stage = SeparationStage(cache=StemCache(tmp_path / "c"), fixed={"vocals": known})
    result = CoverMaker(Identity(), stage, CoverParams(stems=True)).make_cover(
        path, "v.pth", tmp_path / "o", ConversionParams()
    )
    for label, written in [("cover", result.output_path), *result.stems.items()]:
        audio, got_rate = read(written)
        width = 1 if label == "converted vocal" else channels  # the voice model sings in mono
        assert (got_rate, audio.shape) == (rate, (frames, width))


def test_transposing_the_accompaniment_follows_the_voices_pitch(song, tmp_path):
    maker, known = maker_for(song, Identity(), tmp_path, transpose_accompaniment=True, stems=True)
    result = maker.make_cover(song["path"], "v.pth", tmp_path / "out", ConversionParams(pitch=-3, **FLOAT))
    shifted, _ = read(result.stems["accompaniment"])
    np.testing.assert_allclose(shifted, transpose(known.accompaniment, RATE, -3.0), atol=1e-6)


def test_cancel_while_converting_writes_nothing(song, replay, tmp_path):
    maker, _ = maker_for(song, replay["converter"], tmp_path, stems=True)
    cancel = threading.Event()

    def progress(fraction, stage):
        if stage == "Converting":
            cancel.set()

    with pytest.raises(Cancelled):
        maker.make_cover(
            song["path"],
            replay["model"],
            tmp_path / "out",
            ConversionParams(pitch=7, **FLOAT),
            progress=progress,
            cancel=cancel,
        )
    assert list((tmp_path / "out").iterdir()) == []


def test_outputs_are_never_written_inside_replay_and_silence_is_refused(song, fake_home, tmp_path):
    maker, _ = maker_for(song, Identity(), tmp_path)
    inside = fake_home / "Replay" / "com.replay.Replay" / "outputs"
    with pytest.raises(AudioError, match="inside Replay's folder"):
        maker.make_cover(song["path"], "v.pth", inside, ConversionParams())
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros((4410, 2), np.float32), RATE)
    with pytest.raises(AudioError, match="is silent"):
        maker.make_cover(silent, "v.pth", tmp_path / "out", ConversionParams())
    band_only = tmp_path / "instrumental.wav"
    sf.write(band_only, song["accompaniment"], RATE, subtype="FLOAT")
    maker.stage.fixed["vocals"] = KnownStems(0 * song["vocal"], song["accompaniment"])
    with pytest.raises(SeparationError, match="instrumental.wav: the separated vocal is silent") as error:
        maker.make_cover(band_only, "v.pth", tmp_path / "out", ConversionParams())
    assert "\n" not in str(error.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_the_stage_with_a_real_model_file_caches_by_content(known_tiny, tmp_path, song):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(known_tiny, folder / "UVR-MDX-NET-Voc_FT.onnx")
    stage = SeparationStage([folder], cache=StemCache(tmp_path / "stems"))
    cover = CoverParams(device="cpu")
    plan = stage.resolve(cover)
    assert plan.vocals.path.parent == folder
    mix = (song["vocal"] + song["accompaniment"])[: RATE * 2]
    stems, cached = stage.stems(mix, RATE, cover, plan=plan)
    assert not cached and stems.vocal.shape == mix.shape
    again, cached = stage.stems(mix, RATE, cover, plan=plan)
    assert cached and np.array_equal(again.vocal, stems.vocal) and stage.stats["separate"] == 1
    other_settings = CoverParams(device="cpu", overlap=0.5)
    _, cached = stage.stems(mix, RATE, other_settings, plan=plan)
    assert not cached and stage.stats["separate"] == 2
    half = resample(mix, RATE, 22050)
    _, cached = stage.stems(half, 22050, cover, plan=plan)
    assert not cached


class Halving(Separator):
    """A stand-in de-reverb pass: the 'dry' vocal is half of what it gets."""

    name = "halving"
    identity = "halving-v1"

    def __init__(self) -> None:
        self.calls = 0

    def separate(self, song, rate, progress=None, cancel=None) -> Stems:
        self.calls += 1
        return Stems(0.5 * song, 0.5 * song, rate)


def test_the_dereverb_pass_is_off_by_default_and_runs_on_the_vocal_when_asked(song, tmp_path):
    known, dry = KnownStems(song["vocal"], song["accompaniment"]), Halving()
    stage = SeparationStage(cache=StemCache(tmp_path / "stems"), fixed={"vocals": known, "dereverb": dry})
    maker = CoverMaker(Identity(), stage)
    plain = maker.make_cover(
        song["path"], "v.pth", tmp_path / "out", ConversionParams(**FLOAT), CoverParams(stems=True)
    )
    assert dry.calls == 0
    cover = CoverParams(stems=True, dereverb=True)
    result = maker.make_cover(song["path"], "v.pth", tmp_path / "out", ConversionParams(**FLOAT), cover)
    assert dry.calls == 1 and known.calls == 2  # another cache entry: the stems depend on the pass
    vocal, _ = read(result.stems["vocal"])
    band_, _ = read(result.stems["accompaniment"])
    np.testing.assert_allclose(vocal, 0.5 * song["vocal"], atol=1e-7)  # the dry vocal is what is converted
    np.testing.assert_allclose(band_, song["accompaniment"], atol=1e-7)  # the reverb taken off is dropped
    maker.make_cover(song["path"], "v.pth", tmp_path / "out", ConversionParams(**FLOAT), cover)
    assert (dry.calls, known.calls) == (1, 2) and not plain.stems_cached


def test_cover_params_are_checked_and_round_trip_for_the_queue():
    from inference.pipeline.params import ParameterError

    params = CoverParams(separator_model=" Kim_Vocal_2 ", vocal_gain_db="-3", dereverb=1, overlap=0.5)
    assert params.separator_model == "Kim_Vocal_2" and params.vocal_gain_db == -3.0 and params.dereverb is True
    assert CoverParams.coerce(params.to_dict()) == params
    for bad, message in (
        ({"vocal_gain_db": 30}, "vocal_gain_db must be between -24 and 12 dB"),
        ({"accompaniment_gain_db": "loud"}, "must be a number"),
        ({"overlap": 1.0}, "overlap must be between 0 and 0.95"),
        ({"device": "cuda"}, "unknown separation device"),
        ({"colour": "blue"}, "unknown cover parameter"),
    ):
        with pytest.raises(ParameterError, match=message):
            CoverParams.coerce(bad)
    assert CoverParams(separator_model="", dereverb_model=None).separator_model is None
