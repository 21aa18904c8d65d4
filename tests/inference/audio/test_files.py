"""One home for inputs and output names (``inference/audio/files.py``, ``naming.py``): the audio
extensions, input expansion (files, folders, lists), FIFOs and devices, the naming template,
names that fit the file system, and a second output's name."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from inference.audio.files import expand_inputs, read_list_file
from inference.audio.naming import NAME_MAX_BYTES, NamingError, check_template, format_pitch, render_name, unique_path


def tone(path: Path, seconds: float = 0.2, sr: int = 22050) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sr)) / sr
    sf.write(path, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    return path


def test_folders_are_searched_recursively_in_order(tmp_path):
    songs = tmp_path / "songs"
    for name in (
        "b.wav",
        "A.flac",
        "sub/c.mp3",
        "sub/deeper/d.m4a",
        ".hidden.wav",
        ".git/x.wav",
        "notes.txt",
        "cover.jpg",
    ):
        (songs / name).parent.mkdir(parents=True, exist_ok=True)
        (songs / name).write_bytes(b"x")
    files, problems = expand_inputs([songs])
    assert [p.relative_to(songs).as_posix() for p in files] == ["A.flac", "b.wav", "sub/c.mp3", "sub/deeper/d.m4a"]
    assert problems == []
    (tmp_path / "empty").mkdir()
    assert expand_inputs([tmp_path / "empty"]) == ([], [(str(tmp_path / "empty"), "folder holds no audio files")])


def test_list_files_relative_to_their_folder(tmp_path):
    lists = tmp_path / "lists"
    a, b = tone(tmp_path / "music" / "a.wav"), tone(tmp_path / "music" / "b.wav")
    album = tmp_path / "music" / "album"
    tone(album / "c.wav")
    (lists).mkdir()
    (lists / "batch.txt").write_text(
        f"# my batch\n\n../music/a.wav\n  {b}  \n../music/album\n../music/missing.wav\n../music/a.wav\n",
        encoding="utf-8",
    )
    (lists / "play.m3u").write_text(f"#EXTM3U\n#EXTINF:1,B\nfile://{b}\n../music/a.wav\n", encoding="utf-8")
    files, problems = expand_inputs([f"@{lists / 'batch.txt'}"])
    assert files == [a, b, album / "c.wav"]  # the repeat of a.wav dropped
    assert problems == [(str(tmp_path / "music" / "missing.wav"), "file not found")]
    files, problems = expand_inputs([lists / "play.m3u", f"@{tmp_path / 'nope.txt'}"])
    assert files == [b, a]
    assert problems == [(f"@{tmp_path / 'nope.txt'}", "list file not found")]


def test_the_window_hears_what_a_folder_left_out_and_lists_inside_lists_are_not_followed(tmp_path):
    music = tmp_path / "music"
    for name in ("b.wav", "A.flac", "sub/c.mp3", "cover.jpg", ".hidden.wav"):
        (music / name).parent.mkdir(parents=True, exist_ok=True)
        (music / name).write_bytes(b"x")
    (tmp_path / "list.txt").write_text("music/b.wav\nmissing.wav\nother.m3u\n", encoding="utf-8")
    (tmp_path / "other.m3u").write_text("music/A.flac\n", encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"x")
    files, problems = expand_inputs([music, tmp_path / "list.txt", tmp_path / "notes.pdf"], name_skipped=True)
    assert files == [music / "A.flac", music / "b.wav", music / "sub" / "c.mp3"]  # b.wav once
    assert problems == [
        (str(music / "cover.jpg"), "not an audio file"),
        (str(tmp_path / "missing.wav"), "file not found"),
        (str(tmp_path / "other.m3u"), "not an audio file (.m3u)"),
        (str(tmp_path / "notes.pdf"), "not an audio file (.pdf)"),
    ]
    assert expand_inputs([music])[1] == []  # the command line stays quiet about a folder's other files


def test_list_files_resolve_relative_paths_against_their_folder(tmp_path: Path) -> None:
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "set.m3u").write_text(
        "#EXTM3U\n#EXTINF:12,Song\n../music/one.wav\n\n/abs/two.flac\nfile:///abs/three%20x.mp3\n", encoding="utf-8"
    )
    assert read_list_file(lists / "set.m3u") == [
        lists.parent / "music" / "one.wav",
        Path("/abs/two.flac"),
        Path("/abs/three x.mp3"),
    ]


def test_a_fifo_or_a_device_is_named_for_what_it_is_and_never_opened(tmp_path):
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)  # opening it for reading would block until a writer came
    files, problems = expand_inputs([fifo, "/dev/zero", f"@{fifo}"])
    assert files == []
    assert problems == [
        (str(fifo), "not a regular file (a pipe, a device or a socket)"),
        ("/dev/zero", "not a regular file (a pipe, a device or a socket)"),
        (f"@{fifo}", "list not a regular file (a pipe, a device or a socket)"),
    ]


# ------------------------------------------------------------------------------- naming


def test_the_template_fills_in_and_makes_a_safe_file_name() -> None:
    name = render_name("{name} - {model} {pitch}", name="Take 1", model="Alice: v2", pitch=12, extension="flac")
    assert name == "Take 1 - Alice_ v2 +12.flac"
    assert render_name("{name} {f0} {method}", name="Take 1", model="m", f0="fcpe") == "Take 1 fcpe fcpe.wav"
    assert render_name("{name} {date}", name="a", model="m", date="2026-12-03") == "a 2026-12-03.wav"
    assert render_name("{f0}", name="Take 1", model="m", f0="") == "Take 1.wav"  # nothing left: the input's name


@pytest.mark.parametrize(
    "template,reason",
    [
        ("", "empty"),
        ("{name", "unbalanced"),
        ("{title}", "unknown placeholder {title}"),
        ("{name}/{model}", "folder separator"),
        ("{name}: {model}", "contains ':', which file names cannot hold"),
        ('{name} "{pitch}"', "contains '\"', which file names cannot hold"),
        ("{name}\x00", "U\\+0000"),
        ("...", "gives no file name"),
    ],
)
def test_a_bad_template_is_refused_with_its_reason(template, reason) -> None:
    with pytest.raises(NamingError, match=reason):
        check_template(template)
    with pytest.raises(NamingError):
        render_name(template, name="a", model="m")


def test_format_pitch() -> None:
    assert [format_pitch(p) for p in (0, 12, -5, 1.5, 0.25)] == ["0", "+12", "-5", "+1.5", "+0.25"]


def test_a_long_name_is_shortened_keeping_the_model_and_the_extension(tmp_path) -> None:
    stem = "é" * 124 + "x"  # 249 bytes of UTF-8: a legal file name, too long once the model is added
    name = render_name("{name} ({model})", name=stem, model="Alice v2", extension="flac")
    assert len(name.encode()) <= NAME_MAX_BYTES - len(" (9999)")
    assert name.endswith(" (Alice v2).flac") and name.startswith("éé")
    (tmp_path / name).write_bytes(b"x")  # the file system takes it, and a numbered second one too
    second = unique_path(tmp_path, name)
    second.write_bytes(b"x")
    assert second.name.endswith(" (Alice v2) (2).flac")


def test_a_second_output_of_the_same_name_is_numbered(tmp_path: Path) -> None:
    (tmp_path / "a.wav").write_bytes(b"x")
    (tmp_path / "a (2).wav").write_bytes(b"x")
    assert unique_path(tmp_path, "a.wav") == tmp_path / "a (3).wav"
    assert unique_path(tmp_path, "b.wav") == tmp_path / "b.wav"


def test_a_stems_name_is_the_outputs_name_with_its_label(tmp_path: Path) -> None:
    from inference.audio.naming import label_name

    assert label_name("song (Alice).wav", "converted vocal") == "song (Alice) - converted vocal.wav"
    assert label_name("song.flac", "a/b") == "song - a_b.flac"
    long = label_name("é" * 200 + ".wav", "accompaniment")
    assert long.endswith(" - accompaniment.wav") and len(long.encode()) <= NAME_MAX_BYTES
    (tmp_path / long).write_bytes(b"")  # the file system takes it
