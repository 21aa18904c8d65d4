"""What every separation model gets around it: the song's rate, channels and exact length kept,
stems named by role, progress and cancellation."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from inference.core.errors import Cancelled
from inference.covers.separator import ModelSeparator, SeparationError, SeparationSettings, split_roles
from tests.support.separation import noise_song, snr_db


class Halves(ModelSeparator):
    """A stand-in model: 'Vocals' is a quarter of the mix, given back a few samples short (as
    VR models do) and time-first; 'Instrumental' is the rest."""

    family = "test"

    def __init__(self, names=("Vocals", "Instrumental"), short: int = 37) -> None:
        super().__init__("halves.onnx", "vocals", SeparationSettings(), "halves")
        self.names, self.short, self.calls = names, short, 0

    def _separate_stereo(self, mix, progress, cancel):
        assert mix.shape[0] == 2 and mix.dtype == np.float32
        self.calls += 1
        for step in range(4):
            progress(step / 4)
        cut = mix[:, : mix.shape[1] - self.short]
        return {self.names[0]: (0.25 * cut).T, self.names[1]: 0.75 * cut}


@pytest.mark.parametrize(("rate", "channels"), [(44100, 2), (44100, 1), (48000, 2), (22050, 1), (44100, 3)])
def test_stems_keep_the_songs_rate_channels_and_length(rate, channels):
    song = noise_song(1.3, rate, channels)
    model = Halves()
    stems = model.separate(song, rate)
    assert stems.rate == rate
    assert stems.vocal.shape == stems.accompaniment.shape == song.shape
    assert stems.vocal.dtype == np.float32
    assert model.calls == (1 if channels <= 2 else channels)
    from inference.audio import resample

    expected = (
        0.25 * resample(resample(song, rate, 44100), 44100, rate)[: song.shape[0]] if rate != 44100 else 0.25 * song
    )
    body = slice(200, song.shape[0] - 200)  # the model's short ending was padded with zeros
    assert snr_db(expected[body], stems.vocal[body]) > 60
    if rate == 44100:
        assert np.all(stems.vocal[-37:] == 0)


def test_a_one_dimensional_song_is_mono():
    song = noise_song(0.5, 44100, 1)[:, 0]
    stems = Halves().separate(song, 44100)
    assert stems.vocal.shape == (song.shape[0], 1)


def test_roles_from_stem_names():
    a, b = np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32)
    assert split_roles({"Instrumental": a, "Vocals": b}, "vocals", "m")[0] is b
    assert split_roles({"vocals": b, "other": a}, "vocals", "m")[0] is b
    assert split_roles({"Reverb": a, "No Reverb": b}, "dereverb", "m")[0] is b
    assert split_roles({"noreverb": b, "reverb": a}, "dereverb", "m")[0] is b
    assert split_roles({"Dry": b, "Reverb": a}, "dereverb", "m")[0] is b
    kept, rest = split_roles({"vocals": b, "drums": a, "bass": a, "other": a}, "vocals", "m")
    assert kept is b and np.all(rest == 3)
    with pytest.raises(SeparationError, match="m: its stems \\(Noise, No Noise\\) include no single a vocal stem"):
        split_roles({"Noise": a, "No Noise": b}, "vocals", "m")


def test_bad_songs_are_refused_in_one_line():
    with pytest.raises(SeparationError, match="must be \\[frames\\]"):
        Halves().separate(np.zeros((0, 2), np.float32), 44100)
    with pytest.raises(SeparationError, match="sample rate"):
        Halves().separate(noise_song(0.1), 0)


def test_progress_rises_to_one_over_every_channel_group_and_cancel_stops():
    seen: list[float] = []
    Halves().separate(noise_song(0.5, 44100, 3), 44100, seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        Halves().separate(noise_song(0.5), 44100, None, cancel)


def test_settings_are_checked():
    with pytest.raises(SeparationError, match="overlap"):
        SeparationSettings(overlap=1.0)
    with pytest.raises(SeparationError, match="device"):
        SeparationSettings(device="cuda")
    assert SeparationSettings(overlap=0.5).key() != SeparationSettings().key()
