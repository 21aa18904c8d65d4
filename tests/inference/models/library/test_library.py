"""ModelLibrary on fake Replay trees and user folders built from real-format random models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import inference.models.checkpoint as checkpoint
from inference.models.library import Changes, LibraryError, ModelLibrary, VoiceModel
from inference.models.library.cache import CACHE_VERSION
from tests.support.library import Files

place = Files.place


def replay_models(home: Path) -> Path:
    return home / "Replay" / "com.replay.Replay" / "models"


def by_name(models: list[VoiceModel]) -> dict[str, VoiceModel]:
    return {m.name: m for m in models}


@pytest.fixture
def count_reads(monkeypatch):
    """Count the model files the library opens (the real reader still runs)."""
    calls: list[Path] = []
    real = checkpoint.read_model_info

    def counting(path, mmap=True):
        calls.append(Path(path))
        assert mmap, "the library must memory-map model files"
        return real(path, mmap=mmap)

    monkeypatch.setattr(checkpoint, "read_model_info", counting)
    return calls


def test_replay_models_with_awkward_names(fake_home, files, tmp_path):
    models = replay_models(fake_home)
    juice = models / "Juice WRLD (RVC v2) 310 Epochs"
    place(files.v2_40k, juice / "model.pth")
    place(files.v2_index, juice / "added_IVF4_Flat_nprobe_1_juice_v2.index")
    zoe = models / "Zoë — 日本語 (v1)" / "Zoë v1" / "unzipped"
    place(files.v1_32k_nof0, zoe / "zoë.pth")
    place(files.v1_index, zoe / "zoë.index")
    applio = models / "APPLIO Model"
    place(files.applio_v2_48k, applio / "Applio_300e_9000s.pth")

    found = by_name(ModelLibrary(cache_path=tmp_path / "cache.json").scan())
    assert sorted(found) == ["APPLIO Model", "Juice WRLD (RVC v2) 310 Epochs", "Zoë — 日本語 (v1)"]
    j = found["Juice WRLD (RVC v2) 310 Epochs"]
    assert (j.id, j.source, j.root) == ("replay:Juice WRLD (RVC v2) 310 Epochs", "replay", str(juice.resolve()))
    assert (j.version, j.sample_rate, j.f0, j.index_width, j.problems, j.ok) == ("v2", 40000, True, 768, [], True)
    assert j.model_path == str((juice / "model.pth").resolve())
    assert j.model_size == files.v2_40k.stat().st_size
    assert j.index_size == files.v2_index.stat().st_size
    z = found["Zoë — 日本語 (v1)"]
    assert (z.version, z.sample_rate, z.f0, z.index_width, z.ok) == ("v1", 32000, False, 256, True)
    assert z.index_path == str((zoe / "zoë.index").resolve())
    # Applio's extra fields come through as the checkpoint reader reports them
    a, info = found["APPLIO Model"], checkpoint.read_model_info(files.applio_v2_48k)
    assert (a.version, a.sample_rate, a.epochs, a.author, a.embedder) == (
        "v2",
        48000,
        info.epochs,
        info.author or "",
        info.embedder_model or "",
    )
    assert a.problems == ["no index file"] and a.ok


def test_index_choice_prefers_fitting_filled_added(fake_home, files, tmp_path):
    folder = replay_models(fake_home) / "Voice"
    place(files.v2_40k, folder / "model.pth")
    v1_added = place(files.v1_index, folder / "added_IVF4_Flat_nprobe_1_voice_v1.index")
    trained = place(files.trained_v2, folder / "trained_IVF4_Flat_nprobe_1_voice_v2.index")
    plain = place(files.v2_index, folder / "sub" / "voice.index")
    added = place(files.v2_index, folder / "sub" / "added_IVF4_Flat_nprobe_1_voice_v2.index")
    library = ModelLibrary(cache_path=tmp_path / "cache.json")
    # (index expected, problems): after each step the chosen index file is deleted
    steps = [
        (added, []),
        (plain, []),
        (
            None,
            ["index added_IVF4_Flat_nprobe_1_voice_v1.index is 256 wide but this is a v2 model (768); it is skipped"],
        ),
        (None, ["index trained_IVF4_Flat_nprobe_1_voice_v2.index holds no vectors (a trained_ file); it is skipped"]),
        (None, ["no index file"]),
    ]
    removals = [added, plain, v1_added, trained]
    (model,) = library.scan()
    for step, (expected, problems) in enumerate(steps):
        assert model.index_path == (str(expected.resolve()) if expected else None)
        assert (model.problems, model.ok) == (problems, True)
        assert model.index_width == (768 if expected else None)
        if step == len(removals):
            break
        removals[step].unlink()
        assert library.refresh() == Changes(changed=["replay:Voice"])
        (model,) = library.models


def test_broken_models_are_listed_with_their_reason(fake_home, files, tmp_path):
    models = replay_models(fake_home)
    place(files.garbage, models / "Garbage" / "model.pth")
    place(files.refinegan, models / "Refine" / "model.pth")
    (models / "Empty").mkdir()
    place(files.garbage, models / "Only Discriminator" / "D_2333.pth")
    place(files.v2_index, models / "Only Discriminator" / "model.index")
    found = by_name(ModelLibrary(cache_path=tmp_path / "cache.json").scan())
    assert sorted(found) == ["Empty", "Garbage", "Only Discriminator", "Refine"]
    assert not any(m.ok for m in found.values())
    (problem,) = found["Garbage"].problems
    assert problem.startswith("unreadable: ") and "\n" not in problem
    assert any("RefineGAN" in p for p in found["Refine"].problems)
    assert found["Empty"].problems == ["no model file (.pth) in the folder"]
    assert found["Only Discriminator"].problems == ["no model file (.pth) in the folder"]


def test_the_first_model_with_a_config_wins(fake_home, files, tmp_path):
    models = replay_models(fake_home)
    place(files.training_v2_40k, models / "Trained" / "G_2333.pth")
    place(files.garbage, models / "Mixed" / "aaa_broken.pth")
    place(files.training_v2_40k, models / "Mixed" / "G_2333.pth")
    place(files.v1_32k_nof0, models / "Mixed" / "deeper" / "model.pth")
    found = by_name(ModelLibrary(cache_path=tmp_path / "cache.json").scan())
    trained = found["Trained"]  # no config: derived from the weights, still usable
    assert (trained.version, trained.sample_rate, trained.ok) == ("v2", 40000, True)
    assert Path(found["Mixed"].model_path).relative_to(models / "Mixed") == Path("deeper/model.pth")
    assert found["Mixed"].version == "v1"


def test_user_folders_flat_and_per_model(fake_home, files, tmp_path):
    mine = tmp_path / "My Models"
    place(files.v2_40k, mine / "Kanye West.pth")
    place(files.v2_index, mine / "kanye_west.index")
    place(files.v1_32k_nof0, mine / "MySinger_300e_1200s.pth")
    place(files.v1_index, mine / "added_IVF4_Flat_nprobe_1_MySinger_v1.index")
    place(files.applio_v2_48k, mine / "Per Model (v2)" / "weights" / "model.pth")
    place(files.v2_index, mine / "Per Model (v2)" / "logs" / "added_x.index")
    library = ModelLibrary(folders=[mine], include_replay=False, cache_path=tmp_path / "cache.json")
    found = by_name(library.scan())
    assert sorted(found) == ["Kanye West", "MySinger_300e_1200s", "Per Model (v2)"]
    assert all(m.source == "folder" and m.ok and m.problems == [] for m in found.values())
    assert found["Kanye West"].id == f"folder:{(mine / 'Kanye West.pth').resolve()}"
    assert found["Kanye West"].index_path == str((mine / "kanye_west.index").resolve())
    assert found["MySinger_300e_1200s"].index_width == 256
    assert found["Per Model (v2)"].root == str((mine / "Per Model (v2)").resolve())
    assert found["Per Model (v2)"].index_width == 768
    # the same ids on a fresh library (stable across rescans and processes)
    again = ModelLibrary(folders=[mine], include_replay=False, cache_path=tmp_path / "cache.json").scan()
    assert sorted(m.id for m in again) == sorted(m.id for m in found.values())


def test_folders_added_twice_or_missing(fake_home, files, tmp_path):
    models = replay_models(fake_home)
    place(files.v2_40k, models / "A" / "model.pth")
    library = ModelLibrary(folders=[models, tmp_path / "gone"], cache_path=tmp_path / "cache.json")
    assert [m.id for m in library.scan()] == ["replay:A"]  # Replay's folder added as a user folder too
    library.add_folder(tmp_path / "gone")
    assert library.folders == [models, tmp_path / "gone"]
    library.remove_folder(models)
    assert library.folders == [tmp_path / "gone"]
    with pytest.raises(LibraryError, match="not one of the model folders"):
        library.remove_folder(models)


def test_rescans_read_only_new_or_changed_files(fake_home, files, tmp_path, count_reads):
    models = replay_models(fake_home)
    for name in ("One", "Two", "Three"):  # copies: the test touches one of them
        place(files.v2_40k, models / name / "model.pth", link=False)
    cache = tmp_path / "cache.json"
    first = ModelLibrary(cache_path=cache).scan()
    assert len(count_reads) == 3
    second = ModelLibrary(cache_path=cache).scan()  # a new process: the cache file is all it has
    assert len(count_reads) == 3
    assert [m.to_dict() for m in second] == [m.to_dict() for m in first]
    library = ModelLibrary(cache_path=cache)
    library.scan()
    two = models / "Two" / "model.pth"
    os.utime(two, ns=(two.stat().st_atime_ns, two.stat().st_mtime_ns + 10**9))  # touched, same content
    assert library.refresh() == Changes()
    assert count_reads[3:] == [two.resolve()]
    place(files.v1_32k_nof0, two)  # replaced by another model
    assert library.refresh() == Changes(changed=["replay:Two"])
    assert count_reads[4:] == [two.resolve()]
    assert library.find("Two").version == "v1"
    assert not list(cache.parent.glob("*.tmp"))


def test_a_damaged_cache_is_ignored_and_rewritten(fake_home, files, tmp_path, count_reads):
    place(files.v2_40k, replay_models(fake_home) / "A" / "model.pth")
    cache = tmp_path / "cache.json"
    cache.write_text("{not json", encoding="utf-8")
    assert [m.ok for m in ModelLibrary(cache_path=cache).scan()] == [True]
    assert json.loads(cache.read_text(encoding="utf-8"))["version"] == CACHE_VERSION
    assert len(count_reads) == 1


def test_refresh_reports_added_removed_changed(fake_home, files, tmp_path):
    models = replay_models(fake_home)
    place(files.v2_40k, models / "Stays" / "model.pth")
    place(files.v2_40k, models / "Goes" / "model.pth")
    place(files.v2_40k, models / "Changes" / "model.pth")
    library = ModelLibrary(cache_path=tmp_path / "cache.json")
    library.scan()
    assert library.refresh() == Changes()
    place(files.v1_32k_nof0, models / "New one" / "model.pth")
    for path in (models / "Goes").iterdir():
        path.unlink()
    (models / "Goes").rmdir()
    place(files.v1_index, models / "Changes" / "model.index")  # a mismatched index
    assert library.refresh() == Changes(added=["replay:New one"], removed=["replay:Goes"], changed=["replay:Changes"])
    assert library.refresh() == Changes()


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_nothing_is_written_inside_replay(fake_home, files):
    replay = fake_home / "Replay" / "com.replay.Replay"
    place(files.v2_40k, replay / "models" / "A" / "model.pth")
    place(files.v2_index, replay / "models" / "A" / "model.index")
    before = snapshot(fake_home / "Replay")
    ModelLibrary().scan()  # default cache: the app's cache folder
    assert (fake_home / "cache" / "library.json").is_file()
    inside = ModelLibrary(cache_path=replay / "library.json")
    inside.scan()
    assert inside.find("A").ok
    assert snapshot(fake_home / "Replay") == before


def test_find_by_id_name_or_path(fake_home, files, tmp_path, count_reads):
    models = replay_models(fake_home)
    place(files.v2_40k, models / "Juice WRLD (RVC v2)" / "model.pth")
    place(files.v1_32k_nof0, models / "Kanye" / "model.pth")
    training = place(files.training_v2_40k, models / "Kanye" / "G_2333.pth")
    mine = tmp_path / "mine"
    place(files.v2_40k, mine / "Kanye" / "kanye.pth")
    elsewhere = place(files.applio_v2_48k, tmp_path / "loose" / "Loose One.pth")
    place(files.v2_40k, tmp_path / "loose" / "Another.pth")
    library = ModelLibrary(folders=[mine], cache_path=tmp_path / "cache.json")
    assert library.find("replay:Kanye").version == "v1"
    assert len(count_reads) == 1  # only the model asked for is read
    assert library.find("juice wrld (rvc V2)").id == "replay:Juice WRLD (RVC v2)"
    assert library.find(str(models / "Juice WRLD (RVC v2)" / "model.pth")).id == "replay:Juice WRLD (RVC v2)"
    assert library.find(str(models / "Kanye")).id == "replay:Kanye"
    assert library.find(str(mine / "Kanye")).id == f"folder:{(mine / 'Kanye').resolve()}"
    loose = library.find(str(elsewhere))  # a file outside every folder still works
    assert (loose.name, loose.sample_rate, loose.ok) == ("Loose One", 48000, True)
    other = library.find(str(training))  # a model folder's other .pth: that very file
    assert (other.model_path, other.id) == (str(training.resolve()), f"folder:{training.resolve()}")
    with pytest.raises(LibraryError, match="holds several models \\(Another.pth, Loose One.pth\\)"):
        library.find(str(tmp_path / "loose"))
    with pytest.raises(LibraryError, match="several models are named “kanye”.*replay:Kanye.*folder:"):
        library.find("kanye")
    with pytest.raises(LibraryError, match="did you mean: Juice WRLD \\(RVC v2\\)"):
        library.find("Juice WRLD (RVC v3)")
    with pytest.raises(LibraryError, match="did you mean: Juice WRLD \\(RVC v2\\)\\?"):
        library.find("juice")  # part of a name is suggested, never taken for it
    with pytest.raises(LibraryError, match="available: Juice WRLD \\(RVC v2\\), Kanye"):
        library.find("zzzzzzzz")


def test_voice_model_round_trips_through_json(fake_home, files, tmp_path):
    place(files.v2_40k, replay_models(fake_home) / "A" / "model.pth")
    (model,) = ModelLibrary(cache_path=tmp_path / "cache.json").scan()
    data = json.loads(json.dumps(model.to_dict()))
    assert data["ok"] is True and data["id"] == "replay:A"
    assert VoiceModel.from_dict(data) == model


def test_the_cache_keeps_other_folders_entries_and_forgets_deleted_files(fake_home, files, tmp_path, count_reads):
    place(files.v2_40k, replay_models(fake_home) / "A" / "model.pth")
    mine = tmp_path / "mine"
    place(files.v1_32k_nof0, mine / "b.pth")
    cache = tmp_path / "cache.json"
    ModelLibrary(folders=[mine], cache_path=cache).scan()
    assert len(count_reads) == 2
    ModelLibrary(include_replay=False, folders=[mine], cache_path=cache).scan()  # say, the CLI
    ModelLibrary(folders=[mine], cache_path=cache).scan()
    assert len(count_reads) == 2  # Replay's model was still remembered
    (mine / "b.pth").unlink()
    ModelLibrary(include_replay=True, cache_path=cache).scan()
    assert list(json.loads(cache.read_text(encoding="utf-8"))["files"]) == [
        str((replay_models(fake_home) / "A" / "model.pth").resolve())
    ]


def test_remembered_facts_of_the_wrong_kind_are_re_read_not_trusted(fake_home, files, tmp_path, count_reads):
    """A cache entry whose facts do not validate (a hand edit, another version) is rescanned:
    the model stays usable, no TypeError reaches the user."""
    models = replay_models(fake_home)
    place(files.v2_40k, models / "Good" / "model.pth")
    place(files.v2_index, models / "Good" / "added.index")
    cache = tmp_path / "cache.json"
    assert [m.ok for m in ModelLibrary(cache_path=cache).scan()] == [True]
    data = json.loads(cache.read_text())
    for entry in data["files"].values():
        if entry["kind"] == "pth":
            entry["facts"]["info"].update(sample_rate="40k", speakers="one", f0="yes")
        else:
            entry["facts"].update(width="768", ntotal=None)
    cache.write_text(json.dumps(data))
    count_reads.clear()
    (model,) = ModelLibrary(cache_path=cache).scan()
    assert model.ok and model.problems == [] and model.sample_rate == 40000 and model.index_width == 768
    assert len(count_reads) == 1  # re-read once, and remembered right again
    count_reads.clear()
    ModelLibrary(cache_path=cache).scan()
    assert count_reads == []


def test_fresh_facts_of_every_kind_of_file_validate(files):
    from inference.models.library.scanner import (
        read_index_facts,
        read_model_facts,
        valid_index_facts,
        valid_model_facts,
    )

    for path in (
        files.v2_40k,
        files.v1_32k_nof0,
        files.applio_v2_48k,
        files.training_v2_40k,
        files.refinegan,
        files.garbage,
    ):
        assert valid_model_facts(read_model_facts(path)), path.name
    for path in (files.v2_index, files.v1_index, files.trained_v2, files.garbage):
        assert valid_index_facts(read_index_facts(path)), path.name


def test_any_json_in_the_library_cache_reads_safely(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from inference.models.library.cache import MetadataCache

    values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=10,
    )
    path = tmp_path / "cache.json"

    @settings(max_examples=80, deadline=None)
    @given(st.one_of(values, st.fixed_dictionaries({"version": st.just(1), "files": values})))
    def check(data):
        path.write_text(json.dumps(data))
        cache = MetadataCache(path)
        facts = cache.get(tmp_path / "x.pth", 1, 2, "pth")
        assert facts is None or isinstance(facts, dict)

    check()
