"""Session-wide pitch-test inputs: rendered audio, a random-weight rmvpe.pt, loaded models."""

from __future__ import annotations

import pytest

from tests.support import audio as audio_fixtures


@pytest.fixture(scope="session")
def sung():
    """Voice-like harmonic notes with vibrato and exactly known pitch: ``(audio, truth)``."""
    return audio_fixtures.sung_tones()


@pytest.fixture(scope="session")
def midi_notes():
    """GM "Voice Oohs" notes rendered by fluidsynth: ``(audio, truth)``."""
    if not audio_fixtures.fluidsynth_available():
        pytest.skip("fluidsynth or the TimGM6mb soundfont is not installed")
    return audio_fixtures.render_notes()


@pytest.fixture(scope="session")
def rmvpe_path(tmp_path_factory):
    from tests.support.f0 import make_rmvpe

    return make_rmvpe(tmp_path_factory.mktemp("rmvpe") / "rmvpe.pt", seed=0)


@pytest.fixture(scope="session")
def rmvpe_model(rmvpe_path):
    from inference.f0.rmvpe import load_rmvpe

    return load_rmvpe(rmvpe_path)


@pytest.fixture(scope="session")
def estimators(rmvpe_path):
    """One F0Estimators for the session (FCPE loads once), finding rmvpe.pt in its folder."""
    from inference.f0 import F0Estimators

    return F0Estimators(weights_dirs=(rmvpe_path.parent,))
