"""Fixtures for the app's tests: the window's services built on thin fakes of the engine,
inside a temporary HOME (``fake_home``), shut down after each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.gui import FakeConverter, FakeModel, fake_decoder, library_factory, write_tone


@pytest.fixture
def fake_converter():
    """The FakeConverter class, reset to fast defaults; tests tune ``step_s``/``fail_with``."""
    FakeConverter.step_s = 0.01
    FakeConverter.steps = 5
    FakeConverter.fail_with = None
    FakeConverter.slow = {}
    FakeConverter.instances = []
    yield FakeConverter
    FakeConverter.fail_with = None


@pytest.fixture
def models() -> list[FakeModel]:
    """A list the fake library reads on every scan (tests may change it)."""
    return [
        FakeModel("Alice (RVC v2) 300 Epochs", epochs=300),
        FakeModel("Bob", version="v1", sample_rate=48000, index_path=None),
        FakeModel("Broken One", problems=["model.pth has no config"]),
    ]


@pytest.fixture
def make_services(fake_home: Path, fake_converter, models, qapp):
    """Build the app's services on fakes (call it again to simulate a restart)."""
    from app.application import build_services
    from app.settings import Settings

    built = []

    def make(model_list=None, poll_interval_ms: int = 10_000, stage_factory=None):
        settings = Settings()
        settings.output_folder = fake_home / "out"
        services = build_services(
            settings=settings,
            converter_factory=fake_converter,
            params_factory=dict,
            library_factory=library_factory(models if model_list is None else model_list),
            decoder=fake_decoder,
            poll_interval_ms=poll_interval_ms,
            stage_factory=stage_factory,
        )
        built.append(services)
        return services

    yield make
    for services in built:
        services.shutdown()


@pytest.fixture
def song(tmp_path: Path) -> Path:
    return write_tone(tmp_path / "songs" / "My Song.wav", seconds=3.0)
