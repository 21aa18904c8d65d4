"""``models`` and ``info`` commands, run through a parser built here as the CLI root builds it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from inference.cli import models as cli_models
from inference.models.library import ModelLibrary
from tests.support.library import Files

place = Files.place


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="rvc-studio")
    cli_models.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def tree(home: Path, files: Files, tmp_path: Path) -> Path:
    models = home / "Replay" / "com.replay.Replay" / "models"
    place(files.v2_40k, models / "Juice WRLD (RVC v2) 310 Epochs" / "model.pth")
    place(files.v2_index, models / "Juice WRLD (RVC v2) 310 Epochs" / "added_IVF4_Flat_nprobe_1_v2.index")
    place(files.garbage, models / "Broken" / "model.pth")
    mine = tmp_path / "mine"
    place(files.v1_32k_nof0, mine / "Zoë.pth")
    return mine


def test_models_table(fake_home, files, tmp_path, capsys):
    mine = tree(fake_home, files, tmp_path)
    code, out, err = run(["models", "--folder", str(mine)], capsys)
    assert (code, err) == (0, "")
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "VERSION", "RATE", "F0", "VOCODER", "EMBEDDER", "INDEX", "PROBLEMS"]
    assert len(rows) == 3
    broken = next(r for r in rows if r.startswith("Broken"))
    assert "(unusable)" in broken and "unreadable:" in broken and len(broken) < 200
    assert broken.split()[2:8] == ["-"] * 6  # version, rate, f0, vocoder, embedder, index unknown
    juice = next(r for r in rows if r.startswith("Juice WRLD (RVC v2) 310 Epochs"))
    assert juice.split()[-6:] == ["v2", "40k", "yes", "HiFi-GAN", "contentvec", "768"]
    zoe = next(r for r in rows if r.startswith("Zoë"))
    assert zoe.split()[1:8] == ["v1", "32k", "no", "HiFi-GAN", "contentvec", "-", "no"]  # then "no index file"
    code, out, _ = run(["models"], capsys)
    assert code == 0 and "Zoë" not in out  # extra folders only when given


def test_models_json_is_the_library_view(fake_home, files, tmp_path, capsys):
    mine = tree(fake_home, files, tmp_path)
    code, out, _ = run(["models", "--json", "--folder", str(mine)], capsys)
    listed = json.loads(out)
    expected = ModelLibrary(folders=[mine]).scan()
    assert code == 0
    assert sorted(listed, key=lambda m: m["id"]) == sorted((m.to_dict() for m in expected), key=lambda m: m["id"])
    assert {m["name"]: m["ok"] for m in listed} == {
        "Juice WRLD (RVC v2) 310 Epochs": True,
        "Broken": False,
        "Zoë": True,
    }


def test_info_text_and_json(fake_home, files, tmp_path, capsys):
    tree(fake_home, files, tmp_path)
    code, out, err = run(["info", "juice wrld (rvc v2) 310 epochs"], capsys)
    assert (code, err) == (0, "")
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}
    assert fields["Name"] == "Juice WRLD (RVC v2) 310 Epochs"
    assert (fields["Version"], fields["Sample rate"], fields["Pitch (f0)"], fields["Usable"]) == (
        "v2",
        "40000 Hz",
        "yes",
        "yes",
    )
    assert fields["Index"].startswith(str(fake_home)) and "(768 wide," in fields["Index"]
    code, out, _ = run(["info", "replay:Broken"], capsys)
    fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}
    assert (fields["Usable"], fields["Version"], fields["Pitch (f0)"], fields["Speakers"]) == ("no", "-", "-", "-")
    code, out, _ = run(["info", "replay:Broken", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["ok"] is False and data["problems"][0].startswith("unreadable: ")


def test_errors_are_one_line_and_exit_1(fake_home, files, tmp_path, capsys):
    tree(fake_home, files, tmp_path)
    code, out, err = run(["info", "Juice WRLD v3"], capsys)
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "no model matches “Juice WRLD v3”" in err and "Traceback" not in err
    code, out, err = run(["info", "anything", "--no-replay"], capsys)
    assert code == 1 and "no models were found" in err
