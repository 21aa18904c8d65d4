"""Jobs, output names, list files, dropped folders and the queue file (no Qt)."""
from __future__ import annotations

import json
from pathlib import Path

from app.workers.jobs import (Job, JobStatus, QueueStore, expand_inputs, format_pitch, output_name,
                              read_list_file, unique_path)

EXTS = (".wav", ".flac", ".mp3")


def _job(**kw) -> Job:
    base = dict(input_path="/songs/Take 1.wav", model_id="m1", model_name="Alice: v2", params={"pitch": 12.0},
                output_dir="/out")
    base.update(kw)
    return Job(**base)


def test_output_name_fills_the_pattern_and_makes_a_safe_file_name() -> None:
    job = _job(naming_pattern="{name} - {model} {pitch}", output_format="flac")
    assert output_name(job) == "Take 1 - Alice_ v2 +12.flac"
    assert output_name(_job(naming_pattern="{name}/{method}", params={"pitch": -3, "f0_method": "fcpe"})) == "Take 1_fcpe.wav"
    # A pattern that makes nothing falls back to the song's name.
    assert output_name(_job(naming_pattern="...")) == "Take 1.wav"


def test_format_pitch() -> None:
    assert [format_pitch(p) for p in (0, 12, -5, 1.5)] == ["0", "+12", "-5", "+1.5"]


def test_unique_path_never_returns_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "a 2.wav").write_bytes(b"x")
    assert unique_path(tmp_path, "a.wav") == tmp_path / "a 3.wav"
    assert unique_path(tmp_path, "b.wav") == tmp_path / "b.wav"


def test_list_files_resolve_relative_paths_against_their_folder(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "set.m3u").write_text("#EXTM3U\n#EXTINF:12,Song\n../music/one.wav\n\n/abs/two.flac\n"
                                   "file:///abs/three%20x.mp3\n", encoding="utf-8")
    assert read_list_file(lists / "set.m3u") == [lists.parent / "music" / "one.wav", Path("/abs/two.flac"),
                                                 Path("/abs/three x.mp3")]


def test_expand_inputs_walks_folders_reads_lists_and_names_what_it_rejects(tmp_path: Path) -> None:
    music = tmp_path / "music"
    (music / "sub").mkdir(parents=True)
    for name in ("b.wav", "A.flac", "sub/c.mp3", "cover.jpg", ".hidden.wav"):
        (music / name).write_bytes(b"x")
    (tmp_path / "list.txt").write_text("music/b.wav\nmissing.wav\n", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"x")
    audio, rejected = expand_inputs([music, tmp_path / "list.txt", tmp_path / "notes.pdf"], EXTS)
    assert audio == [music / "A.flac", music / "b.wav", music / "sub" / "c.mp3", tmp_path / "music/b.wav"]
    assert set(rejected) == {music / "cover.jpg", tmp_path / "missing.wav", tmp_path / "notes.pdf"}


def test_queue_store_round_trip_brings_an_interrupted_job_back_queued(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    done = _job(status=JobStatus.DONE, output_path="/out/x.wav", progress=1.0)
    running = _job(status=JobStatus.RUNNING, progress=0.4, stage="Synthesising", started_at=5.0)
    failed = _job(status=JobStatus.FAILED, error="hubert_base.pt is missing")
    store.save([done, running, failed])
    loaded = store.load()
    assert [j.id for j in loaded] == [done.id, running.id, failed.id]
    assert loaded[0].status == JobStatus.DONE and loaded[0].output_path == "/out/x.wav"
    assert loaded[1].status == JobStatus.QUEUED and loaded[1].progress == 0.0 and loaded[1].started_at is None
    assert loaded[2].error == "hubert_base.pt is missing"
    assert loaded[1].params == {"pitch": 12.0}


def test_queue_store_ignores_a_damaged_file(tmp_path: Path) -> None:
    store = QueueStore(tmp_path)
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load() == []
    store.path.write_text(json.dumps({"jobs": [{"input_path": "x"}, _job().to_json()]}), encoding="utf-8")
    assert len(store.load()) == 1
