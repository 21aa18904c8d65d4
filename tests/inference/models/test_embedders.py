"""Each model's own embedder: the names checkpoints record, where the weights are found, what a
missing one says, and the library marking such a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.models import embedders as emb
from inference.models.embedders import (
    CATALOGUE,
    EmbedderNotFoundError,
    EmbedderRef,
    UnknownEmbedderError,
    download_files,
    embedder_of,
    find_embedder,
)
from inference.models.library import ModelLibrary
from tests.support.embedders import applio_embedder, hf_snapshot, transformers_folder
from tests.support.voice_models import make_voice_model


@pytest.mark.parametrize(
    "recorded,custom,expected",
    [
        (None, None, EmbedderRef("contentvec")),  # RVC's models name none: the default
        ("contentvec", None, EmbedderRef("contentvec")),
        ("hubert_base", None, EmbedderRef("contentvec")),
        ("Japanese-HuBERT-Base", None, EmbedderRef("japanese-hubert-base")),
        ("chinese_hubert_base", None, EmbedderRef("chinese-hubert-base")),
        ("spin-v2", None, EmbedderRef("spin-v2")),
        ("rvc/models/embedders/embedders_custom/my-vec", None, EmbedderRef("custom", "my-vec")),
        ("C:\\Applio\\rvc\\models\\embedders\\embedders_custom\\jp2\\", None, EmbedderRef("custom", "jp2")),
        ("custom", "rvc/models/embedders/embedders_custom/x", EmbedderRef("custom", "x")),
        ("wavlm-large", None, EmbedderRef("wavlm-large")),
        ("custom", None, EmbedderRef("custom")),
    ],
)
def test_what_a_checkpoint_names(recorded, custom, expected) -> None:
    assert embedder_of(recorded, custom) == expected


def test_the_catalogue_is_applios_and_pins_only_what_was_cross_checked() -> None:
    assert list(CATALOGUE) == [
        "contentvec",
        "spin",
        "spin-v2",
        "chinese-hubert-base",
        "japanese-hubert-base",
        "korean-hubert-base",
    ]
    url, target, pin = download_files(EmbedderRef("contentvec"))[1]
    assert (
        url == "https://huggingface.co/IAHispano/Applio/resolve/main/Resources/embedders/contentvec/pytorch_model.bin"
    )
    assert target == emb.downloads_dir() / "contentvec" / "pytorch_model.bin"
    assert (pin.size, pin.sha256[:12]) == (378_342_945, "d8dd400e054d")
    for name in list(CATALOGUE)[1:]:  # nothing verifiable was found for these: not pinned
        assert all(f.sha256 is None and f.size is None for f in CATALOGUE[name].files)
    assert download_files(EmbedderRef("custom", "x")) == []


def test_found_in_each_layout(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RVC_STUDIO_DATA_DIR", str(tmp_path / "data"))
    applio, hub, mine = tmp_path / "Applio", tmp_path / "hub", tmp_path / "weights"
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    jp = EmbedderRef("japanese-hubert-base")
    with pytest.raises(EmbedderNotFoundError):
        find_embedder(jp, [applio, mine])
    # the Hugging Face cache: refs/main's revision, even when another snapshot is newer
    wanted = hf_snapshot(hub, "IAHispano/Applio", "Resources/embedders/japanese_hubert_base", 1, "a" * 40)
    hf_snapshot(hub, "IAHispano/Applio", "Resources/embedders/japanese_hubert_base", 2, "b" * 40)
    (hub / "models--IAHispano--Applio" / "refs" / "main").write_text("a" * 40)
    assert find_embedder(jp, [applio, mine]) == wanted
    # a weights folder holding Applio's folder name, an Applio install, our own downloads: before the cache
    ours = emb.downloads_dir() / "japanese_hubert_base"
    transformers_folder(ours, 3)
    assert find_embedder(jp, [applio, mine]) == ours
    installed = applio_embedder(applio, "japanese_hubert_base", 4)
    assert find_embedder(jp, [applio, mine]) == installed
    transformers_folder(mine / "japanese_hubert_base", 5)
    assert find_embedder(jp, [mine, applio]) == mine / "japanese_hubert_base"
    # a custom embedder, by its folder's name only
    custom = applio_embedder(applio, "embedders_custom/my-vec", 6)
    assert find_embedder(EmbedderRef("custom", "my-vec"), [applio]) == custom
    # ContentVec from the upstream repository's snapshot, when there is no hubert_base.pt
    upstream = hf_snapshot(hub, "lengyue233/content-vec-best", "", 7, "c" * 40)
    assert find_embedder(EmbedderRef("contentvec"), []) == upstream


def test_a_missing_embedder_says_where_it_looked_and_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(EmbedderNotFoundError) as info:
        find_embedder(EmbedderRef("korean-hubert-base"), [tmp_path / "w"])
    message = str(info.value)
    assert message.startswith("needs the korean-hubert-base embedder; not found in ")
    assert str(tmp_path / "w") in message and str(emb.downloads_dir()) in message
    assert "https://huggingface.co/IAHispano/Applio/tree/main/Resources/embedders/korean_hubert_base" in message
    assert "\n" not in message
    with pytest.raises(EmbedderNotFoundError, match="needs its own embedder 'my-vec' \\(a custom one\\)"):
        find_embedder(EmbedderRef("custom", "my-vec"), [tmp_path])
    with pytest.raises(UnknownEmbedderError, match="'wavlm-large', which RVC Studio does not know"):
        find_embedder(EmbedderRef("wavlm-large"), [tmp_path])
    with pytest.raises(UnknownEmbedderError, match="needs a custom embedder, and the model file does not say which"):
        find_embedder(EmbedderRef("custom"), [tmp_path])


def test_another_embedders_folder_is_never_taken_for_contentvec(tmp_path: Path) -> None:
    folder = tmp_path / "japanese_hubert_base"
    transformers_folder(folder, 1)
    with pytest.raises(EmbedderNotFoundError, match="needs the contentvec embedder"):
        find_embedder(EmbedderRef("contentvec"), [folder])  # chosen as the weights folder itself
    with pytest.raises(EmbedderNotFoundError, match="Could not find the HuBERT embedder .hubert_base.pt"):
        find_embedder(EmbedderRef("contentvec"), [tmp_path / "empty"])  # Replay's users know that file
    assert find_embedder(EmbedderRef("japanese-hubert-base"), [tmp_path]) == folder


def test_the_library_marks_a_model_whose_embedder_is_missing(fake_home: Path, tmp_path: Path) -> None:
    mine = tmp_path / "models"
    make_voice_model(mine / "Kenji" / "model.pth", layout="applio", extra={"embedder_model": "japanese-hubert-base"})
    make_voice_model(mine / "Ana" / "model.pth", layout="applio")  # contentvec
    make_voice_model(
        mine / "Eve" / "model.pth",
        layout="applio",
        extra={"embedder_model": "custom", "embedder_model_custom": "rvc/models/embedders/embedders_custom/eve-vec"},
    )
    weights = tmp_path / "weights"
    models = {m.name: m for m in ModelLibrary([mine], weights_dirs=[weights]).scan()}
    assert {n: (m.embedder, m.ok) for n, m in models.items()} == {
        "Ana": ("contentvec", True),
        "Eve": ("custom: eve-vec", False),
        "Kenji": ("japanese-hubert-base", False),
    }
    (problem,) = models["Kenji"].problems[:1]
    assert problem.startswith("needs the japanese-hubert-base embedder; not found in") and str(weights) in problem
    transformers_folder(weights / "japanese_hubert_base", 1)
    transformers_folder(weights / "eve-vec", 2)
    models = {m.name: m for m in ModelLibrary([mine], weights_dirs=[weights]).scan()}
    assert all(m.ok for m in models.values()), {n: m.problems for n, m in models.items()}
