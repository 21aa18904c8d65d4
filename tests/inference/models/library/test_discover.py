"""Finding model files in folder trees (nothing is opened here: files are placeholders)."""

from __future__ import annotations

from pathlib import Path

from inference.models.library.discover import folder_units, name_key, replay_units, similarity


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def rel(unit_files, root: Path) -> list[str]:
    return [r.path.relative_to(root).as_posix() for r in unit_files]


def test_replay_folders_are_one_model_each_searched_recursively(tmp_path):
    models = tmp_path / "models"
    touch(models, "Juice WRLD (RVC v2) 310 Epochs/model.pth", "Juice WRLD (RVC v2) 310 Epochs/model.index")
    touch(
        models,
        "Zoë/unzipped/Zoë v2/G_2333.pth",
        "Zoë/unzipped/Zoë v2/zoe.pth",
        "Zoë/unzipped/Zoë v2/D_2333.pth",
        "Zoë/unzipped/Zoë v2/added_IVF210_Flat_nprobe_1_v2.index",
        "Zoë/unzipped/Zoë v2/trained_IVF210_Flat_nprobe_1_v2.index",
        "Zoë/__MACOSX/._zoe.pth",
        "Zoë/._zoe.pth",
        "Zoë/notes.txt",
    )
    touch(models, "empty one/readme.md")
    (models / "stray.pth").write_bytes(b"x")  # a file directly in models/ is not a model folder
    units = replay_units(models)
    assert [u.name for u in units] == ["empty one", "Juice WRLD (RVC v2) 310 Epochs", "Zoë"]
    assert [u.id for u in units] == ["replay:empty one", "replay:Juice WRLD (RVC v2) 310 Epochs", "replay:Zoë"]
    assert all(u.source == "replay" for u in units)
    empty, juice, zoe = units
    assert (empty.models, empty.indexes) == ([], [])
    assert rel(juice.models, juice.root) == ["model.pth"]
    # discriminators and resource forks skipped; training checkpoints after other names
    assert rel(zoe.models, zoe.root) == ["unzipped/Zoë v2/zoe.pth", "unzipped/Zoë v2/G_2333.pth"]
    assert sorted(rel(zoe.indexes, zoe.root)) == [
        "unzipped/Zoë v2/added_IVF210_Flat_nprobe_1_v2.index",
        "unzipped/Zoë v2/trained_IVF210_Flat_nprobe_1_v2.index",
    ]


def test_shallow_model_files_come_first(tmp_path):
    touch(tmp_path / "models", "A/deep/older/model.pth", "A/model.pth")
    (unit,) = replay_units(tmp_path / "models")
    assert rel(unit.models, unit.root) == ["model.pth", "deep/older/model.pth"]


def test_flat_folder_pairs_files_by_name(tmp_path):
    touch(
        tmp_path,
        "Juice_300e_12345s.pth",
        "added_IVF1024_Flat_nprobe_1_Juice_v2.index",
        "Kanye West.pth",
        "kanye_west.index",
        "MySinger v2.pth",
        "trained_IVF10_Flat_nprobe_1_MySinger_v2.index",
        "unrelated thing.index",
        "D_1000.pth",
    )
    units = folder_units(tmp_path)
    assert [u.name for u in units] == ["Juice_300e_12345s", "Kanye West", "MySinger v2"]
    assert all(u.root == tmp_path and u.source == "folder" for u in units)
    assert [u.id for u in units] == [f"folder:{tmp_path / (u.name + '.pth')}" for u in units]
    assert [rel(u.indexes, tmp_path) for u in units] == [
        ["added_IVF1024_Flat_nprobe_1_Juice_v2.index"],
        ["kanye_west.index"],
        ["trained_IVF10_Flat_nprobe_1_MySinger_v2.index"],
    ]


def test_a_flat_folder_with_one_model_gives_it_every_index(tmp_path):
    touch(tmp_path, "voice.pth", "something else.index")
    (unit,) = folder_units(tmp_path)
    assert rel(unit.indexes, tmp_path) == ["something else.index"]


def test_model_folders_groups_and_mixed_layouts(tmp_path):
    touch(tmp_path, "flat.pth", "flat.index")
    touch(tmp_path, "Per Model (v2)/weights/model.pth", "Per Model (v2)/logs/added_x.index")
    touch(tmp_path, "Artists/Ännie/annie.pth", "Artists/Bob/bob.pth", "Artists/Bob/bob.index")
    touch(tmp_path, "Only Index/lonely.index")
    touch(tmp_path, "Nothing here/readme.txt")
    units = {u.name: u for u in folder_units(tmp_path)}
    assert sorted(units) == ["Bob", "Only Index", "Per Model (v2)", "flat", "Ännie"]
    assert rel(units["Per Model (v2)"].models, units["Per Model (v2)"].root) == ["weights/model.pth"]
    assert rel(units["Per Model (v2)"].indexes, units["Per Model (v2)"].root) == ["logs/added_x.index"]
    assert units["Bob"].id == f"folder:{tmp_path / 'Artists' / 'Bob'}"
    assert units["Only Index"].models == []


def test_name_keys_drop_rvc_and_applio_decorations():
    assert name_key("added_IVF256_Flat_nprobe_1_My Voice_v2", index=True) == "myvoice"
    assert name_key("trained_IVF12_Flat_nprobe_1_juice_v1", index=True) == "juice"
    assert name_key("Juice_300e_12345s", index=False) == "juice"
    assert name_key("Singer_e100_s2000", index=False) == "singer"
    assert similarity("Zoë", "added_IVF5_Flat_nprobe_1_zoë_v2") == 1.0
    assert similarity("Juice", "juice_wrld_final") == 0.9
    assert similarity("Juice", "Kanye") < 0.6
