"""The real library offers what the GUI's stand-ins (tests/app/fakes.py) promise it does."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys

from inference.models.library import Changes, ModelLibrary, VoiceModel
from tests.support.gui import Changes as FakeChanges
from tests.support.gui import FakeLibrary, FakeModel


def test_voice_model_has_every_field_the_gui_reads():
    real = {f.name for f in dataclasses.fields(VoiceModel)}
    fake = {f.name for f in dataclasses.fields(FakeModel)}
    assert fake <= real, fake - real
    assert {"index_width", "embedder", "model_size", "index_size", "ok"} <= real
    model = VoiceModel(id="x", name="x", source="folder", root="/r", model_path="/r/x.pth")
    assert model.ok and model.problems == [] and model.to_dict()["ok"] is True


def test_library_and_changes_match_the_fakes():
    assert {f.name for f in dataclasses.fields(Changes)} == {f.name for f in dataclasses.fields(FakeChanges)}
    fake_params = list(inspect.signature(FakeLibrary.__init__).parameters)[2:]  # after self, models
    assert list(inspect.signature(ModelLibrary.__init__).parameters)[1:] == fake_params
    for method in ("scan", "refresh", "add_folder", "remove_folder", "find"):
        assert callable(getattr(ModelLibrary, method))
    assert not Changes() and Changes(added=["a"])


def test_importing_the_library_loads_no_heavy_library():
    code = (
        "import sys, inference.models.library, inference.cli.models; "
        "print(sorted(m for m in ('torch', 'faiss', 'mlx', 'numpy', 'PySide6') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_gui_worker_runs_the_real_library(qtbot, fake_home, files, tmp_path):
    """LibraryService (app/workers) with the real ModelLibrary: scan, then a new model appears."""
    from app.workers.library_worker import LibraryService
    from tests.support.library import Files

    models = fake_home / "Replay" / "com.replay.Replay" / "models"
    Files.place(files.v2_40k, models / "Zoë (v2)" / "model.pth")
    mine = tmp_path / "mine"
    Files.place(files.v1_32k_nof0, mine / "flat voice.pth")
    service = LibraryService([mine], tmp_path / "cache" / "library.json", poll_interval_ms=200)
    try:
        with qtbot.waitSignal(service.models_changed, timeout=20000):
            service.start()
        assert [(m.name, m.ok) for m in service.models] == [("flat voice", True), ("Zoë (v2)", True)]
        Files.place(files.garbage, models / "Broken" / "model.pth")
        qtbot.waitUntil(lambda: len(service.models) == 3, timeout=10000)
        broken = service.find("replay:Broken")
        assert broken is not None and not broken.ok
    finally:
        assert service.shutdown(timeout_s=5)


def test_a_model_unzipped_into_replay_shows_without_waiting_for_the_poll(qtbot, fake_home, files, tmp_path):
    """The worker watches Replay's models folder itself (the poll is an hour away here)."""
    from app.workers.library_worker import LibraryService
    from tests.support.library import Files

    models = fake_home / "Replay" / "com.replay.Replay" / "models"
    Files.place(files.v2_40k, models / "First" / "model.pth")
    service = LibraryService([], tmp_path / "cache" / "library.json", poll_interval_ms=3_600_000)
    try:
        with qtbot.waitSignal(service.models_changed, timeout=20000):
            service.start()
        assert [m.name for m in service.models] == ["First"]
        staging = tmp_path / "unzipped"
        Files.place(files.v2_40k, staging / "model.pth")
        staging.rename(models / "Second")  # one move, as an unzip-and-move does
        qtbot.waitUntil(lambda: len(service.models) == 2, timeout=10000)
        assert sorted(m.name for m in service.models) == ["First", "Second"]
    finally:
        assert service.shutdown(timeout_s=5)
