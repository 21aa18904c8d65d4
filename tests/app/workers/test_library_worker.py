"""The library worker: scans off the GUI thread and follows changes on disk."""

from __future__ import annotations

import threading
from pathlib import Path

from app.workers.library_worker import LibraryService
from tests.support.gui import Changes, FakeModel


class FolderLibrary:
    """A stand-in library whose models are the sub-folders of its folders (reads the disk)."""

    threads: set[str] = set()

    def __init__(self, folders=(), include_replay=True, cache_path=None, weights_dirs=()) -> None:
        self.folders = [Path(f) for f in folders]
        self._seen: set[str] = set()

    def scan(self):
        FolderLibrary.threads.add(threading.current_thread().name)
        models = [
            FakeModel(p.name, root=str(p))
            for f in self.folders
            if f.is_dir()
            for p in sorted(f.iterdir())
            if p.is_dir()
        ]
        self._seen = {m.id for m in models}
        return models

    def refresh(self):
        before = set(self._seen)
        now = {m.id for m in self.scan()}
        self._seen = before  # scan() above is only a peek
        changes = Changes(added=sorted(now - before), removed=sorted(before - now))
        self._seen = now
        return changes

    def add_folder(self, folder) -> None:
        self.folders.append(Path(folder))

    def remove_folder(self, folder) -> None:
        self.folders.remove(Path(folder))


def _names(service) -> list[str]:
    return [m.name for m in service.models]


def test_scans_on_its_thread_and_follows_new_and_removed_models(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "models"
    (folder / "Bob").mkdir(parents=True)
    (folder / "alice").mkdir()
    service = LibraryService([folder], None, FolderLibrary, poll_interval_ms=60_000)
    try:
        with qtbot.waitSignal(service.models_changed, timeout=5000):
            service.start()
        assert _names(service) == ["alice", "Bob"]  # sorted by name, case-insensitive
        assert "MainThread" not in FolderLibrary.threads
        # The file-system watcher notices a new model folder without waiting for the poll.
        (folder / "Carol").mkdir()
        qtbot.waitUntil(lambda: "Carol" in _names(service), timeout=5000)
        (folder / "Bob").rmdir()
        qtbot.waitUntil(lambda: "Bob" not in _names(service), timeout=5000)
    finally:
        assert service.shutdown()


def test_the_poll_finds_a_folder_created_after_start(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "later"  # does not exist yet: nothing to watch
    service = LibraryService([folder], None, FolderLibrary, poll_interval_ms=100)
    try:
        with qtbot.waitSignal(service.models_changed, timeout=5000):
            service.start()
        assert service.models == [] and service.loaded
        (folder / "Dana").mkdir(parents=True)
        qtbot.waitUntil(lambda: _names(service) == ["Dana"], timeout=5000)
    finally:
        assert service.shutdown()


def test_changing_the_folders_rescans(qtbot, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "A").mkdir(parents=True)
    (two / "B").mkdir(parents=True)
    service = LibraryService([one], None, FolderLibrary, poll_interval_ms=60_000)
    try:
        with qtbot.waitSignal(service.models_changed, timeout=5000):
            service.start()
        with qtbot.waitSignal(service.models_changed, timeout=5000):
            service.set_folders([two])
        assert _names(service) == ["B"]
    finally:
        assert service.shutdown()


def test_a_failing_scan_is_reported_not_raised(qtbot, tmp_path: Path) -> None:
    def broken(**kwargs):
        raise PermissionError(f"{tmp_path}: permission denied")

    service = LibraryService([tmp_path], None, broken, poll_interval_ms=60_000)
    try:
        with qtbot.waitSignal(service.scan_failed, timeout=5000) as blocker:
            service.start()
        assert "permission denied" in blocker.args[0]
        qtbot.waitUntil(lambda: service.loaded, timeout=2000)
        assert service.models == []
    finally:
        assert service.shutdown()
