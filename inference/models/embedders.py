"""Each voice model's own embedder: the ones Applio names, where their weights are, how to get them.

Applio records the embedder a model was trained with in its checkpoint (``embedder_model``:
``contentvec``, ``spin``, ``spin-v2``, ``chinese-hubert-base``, ``japanese-hubert-base``,
``korean-hubert-base``; for a custom one, the folder it was loaded from, e.g.
``rvc/models/embedders/embedders_custom/<name>``). Features from another embedder make such a
model sound broken, so a model is converted with its own embedder or not at all.

:func:`embedder_of` reads what a checkpoint names; :func:`find_embedder` finds its weights, a
transformers folder (``config.json`` + ``pytorch_model.bin`` or ``model.safetensors``) in:

1. for ContentVec (and models that name no embedder, as RVC's never do): the HuBERT of
   :mod:`.weights` first (Replay's ``hubert_base.pt``: the same network);
2. each weights folder (Replay's ``weights/``, the user's, ``$RVC_STUDIO_WEIGHTS_DIR``), then our
   own ``<data>/embedders``, as ``<folder>/<dir>``, as an Applio install
   (``<folder>/rvc/models/embedders/<dir>``), or as a Hugging Face cache
   (``<folder>/models--<org>--<name>/snapshots/<rev>/<path>``, ``refs/main``'s revision first);
3. the Hugging Face cache itself (``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``~/.cache/huggingface/hub``).

A custom embedder is looked for by its folder's name only (``<folder>/<name>``,
``<folder>/embedders_custom/<name>`` and Applio's ``rvc/models/embedders/embedders_custom/<name>``):
a path written into a stranger's model file is never followed as it is.

Only ``stat`` calls happen here. The :data:`CATALOGUE` says where each embedder is published
(Applio's Hugging Face repository, as Applio itself downloads them) for the "how to get it"
message, and for a consented download: :func:`download_files` is the boundary a downloader
(``inference/core/download.py``, from the covers work) takes, with pinned sizes and SHA-256 only
where they were cross-checked (see the catalogue's notes); an unpinned file cannot be
downloaded until it is pinned.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from inference.core import paths
from inference.models.weights import WeightsNotFoundError, find_weight, is_transformers_folder, search_dirs

APPLIO_REPO = "IAHispano/Applio"
APPLIO_EMBEDDERS = "Resources/embedders"
DEFAULT_EMBEDDER = "contentvec"
CUSTOM = "custom"


@dataclass(frozen=True)
class PinnedFile:
    """One file of a published embedder; ``sha256``/``size`` None: not pinned (not downloadable)."""

    name: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class EmbedderSpec:
    """One embedder Applio names: its name in checkpoints, its folder, where it is published."""

    name: str
    folder: str  # Applio's rvc/models/embedders/<folder>, and ours under <data>/embedders
    about: str
    files: tuple[PinnedFile, ...] = (PinnedFile("config.json"), PinnedFile("pytorch_model.bin"))
    mirrors: tuple[tuple[str, str], ...] = ()  # other Hugging Face repos with the same files: (repo, path)

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """``(repo, path in repo)`` pairs, Applio's first (what its models were trained with)."""
        return ((APPLIO_REPO, f"{APPLIO_EMBEDDERS}/{self.folder}"), *self.mirrors)

    @property
    def page(self) -> str:
        return f"https://huggingface.co/{APPLIO_REPO}/tree/main/{APPLIO_EMBEDDERS}/{self.folder}"

    def url(self, file: str) -> str:
        return f"https://huggingface.co/{APPLIO_REPO}/resolve/main/{APPLIO_EMBEDDERS}/{self.folder}/{file}"

    @property
    def pinned(self) -> bool:
        """Every file's size and SHA-256 are pinned here: RVC Studio may download it (when asked)."""
        return all(f.size and f.sha256 for f in self.files)

    @property
    def size(self) -> int:
        return sum(f.size or 0 for f in self.files)


CATALOGUE: dict[str, EmbedderSpec] = {
    spec.name: spec
    for spec in (
        EmbedderSpec(
            "contentvec",
            "contentvec",
            "ContentVec (HuBERT base), RVC's and Applio's default",
            # The same bytes as lengyue233/content-vec-best's pytorch_model.bin. Size and SHA-256 as
            # three public projects pin them (one downloaded Applio's copy, one holds the Hugging Face
            # blob named by this digest); not downloaded here. config.json: one public source.
            (
                PinnedFile("config.json", 1_388, "2ddde063b795d38d9051a7215a092fecf4cfe148b54251e38de51d88d356898b"),
                PinnedFile(
                    "pytorch_model.bin",
                    378_342_945,
                    "d8dd400e054ddf4e6be75dab5a2549db748cc99e756a097c496c099f65a4854e",
                ),
            ),
            mirrors=(("lengyue233/content-vec-best", ""),),
        ),
        # Sizes and digests below are not pinned: no source that could be checked gave them.
        EmbedderSpec("spin", "spin", "SPIN (speaker-invariant fine-tuned HuBERT base)"),
        EmbedderSpec("spin-v2", "spin-v2", "SPIN v2"),
        EmbedderSpec("chinese-hubert-base", "chinese_hubert_base", "Chinese HuBERT base"),
        EmbedderSpec("japanese-hubert-base", "japanese_hubert_base", "Japanese HuBERT base"),
        EmbedderSpec("korean-hubert-base", "korean_hubert_base", "Korean HuBERT base"),
    )
}
# Names seen for the default in checkpoints and settings: RVC's own file name, spellings.
ALIASES = {"hubert": DEFAULT_EMBEDDER, "hubertbase": DEFAULT_EMBEDDER, "contentvecbase": DEFAULT_EMBEDDER}


class EmbedderNotFoundError(WeightsNotFoundError):
    """A model's own embedder is not on this machine (the message says where to get it)."""

    max_line = 0  # every place searched and where to get it are the message: never cut


class UnknownEmbedderError(EmbedderNotFoundError):
    """A model names an embedder this app does not know."""


@dataclass(frozen=True)
class EmbedderRef:
    """What a checkpoint names: a catalogue embedder, a custom folder, or an unknown name."""

    name: str  # the catalogue's name, "custom" or the unknown name as written
    custom: str | None = None  # a custom embedder's folder name

    @property
    def spec(self) -> EmbedderSpec | None:
        return CATALOGUE.get(self.name)

    @property
    def label(self) -> str:
        """How the library and the command line show it."""
        return f"{CUSTOM}: {self.custom}" if self.custom else self.name

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_EMBEDDER


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def embedder_of(embedder_model: str | None, embedder_model_custom: str | None = None) -> EmbedderRef:
    """The embedder a checkpoint's ``embedder_model`` (and ``embedder_model_custom``) names."""
    raw = (embedder_model or "").strip()
    custom = (embedder_model_custom or "").strip()
    if raw.lower() == CUSTOM or (not raw and custom):
        raw = custom or raw
    if not raw:
        return EmbedderRef(DEFAULT_EMBEDDER)
    squashed = _squash(raw)
    by_squash = {_squash(name): name for name in CATALOGUE} | ALIASES
    if squashed in by_squash:
        return EmbedderRef(by_squash[squashed])
    if raw.lower() == CUSTOM:  # "custom" without the folder it was loaded from
        return EmbedderRef(CUSTOM)
    if "/" in raw or "\\" in raw:  # Applio writes a custom embedder's folder
        name = re.split(r"[\\/]", raw.rstrip("\\/"))[-1]
        return EmbedderRef(CUSTOM, name or None) if name and name not in (".", "..") else EmbedderRef(raw)
    return EmbedderRef(raw)


def downloads_dir() -> Path:
    """Our own folder of embedders: where a download puts them (``<data>/embedders/<folder>``)."""
    return paths.data_dir() / "embedders"


def hf_caches() -> list[Path]:
    """The Hugging Face hub cache folders, as huggingface_hub finds them."""
    out = []
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var, "").strip():
            out.append(Path(os.environ[var]).expanduser())
    home = os.environ.get("HF_HOME", "").strip()
    out.append(Path(home).expanduser() / "hub" if home else Path.home() / ".cache" / "huggingface" / "hub")
    return out


def places(extra_dirs: Sequence[os.PathLike | str] = ()) -> list[Path]:
    """Every folder searched, in order: the weights folders, ours, the Hugging Face caches."""
    unique: list[Path] = []
    for folder in [*search_dirs(extra_dirs), downloads_dir(), *hf_caches()]:
        if folder not in unique:
            unique.append(folder)
    return unique


def _snapshots(cache: Path, repo: str) -> Iterator[Path]:
    """A Hugging Face cache's snapshot folders of ``repo``: ``refs/main``'s first, then newest first."""
    root = cache / f"models--{repo.replace('/', '--')}"
    try:
        folders = [p for p in (root / "snapshots").iterdir() if p.is_dir()]
    except OSError:
        return
    try:
        main = (root / "refs" / "main").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        main = ""

    def age(folder: Path) -> float:
        try:
            return -folder.stat().st_mtime
        except OSError:
            return 0.0

    yield from sorted(folders, key=lambda p: (p.name != main, age(p)))


def _candidates(ref: EmbedderRef, folder: Path) -> Iterator[Path]:
    if ref.custom:
        for sub in ("", "embedders_custom", "rvc/models/embedders/embedders_custom"):
            yield folder / sub / ref.custom
        return
    spec = ref.spec
    yield folder / spec.folder
    yield folder / "rvc" / "models" / "embedders" / spec.folder
    for repo, inside in spec.sources:
        for snapshot in _snapshots(folder, repo):
            yield snapshot / inside if inside else snapshot


def _is_folder(candidate: Path) -> bool:
    try:
        return candidate.is_dir() and is_transformers_folder(candidate)
    except OSError:
        return False


def find_embedder(ref: EmbedderRef, extra_dirs: Sequence[os.PathLike | str] = ()) -> Path:
    """The weights of ``ref``: a transformers folder, or for ContentVec possibly ``hubert_base.pt``.

    Raises :class:`EmbedderNotFoundError` saying where it looked and how to get it, or
    :class:`UnknownEmbedderError` for a name not in the catalogue.
    """
    if ref.name == CUSTOM and not ref.custom:
        raise UnknownEmbedderError("needs a custom embedder, and the model file does not say which one")
    if ref.spec is None and not ref.custom:
        known = ", ".join(CATALOGUE)
        raise UnknownEmbedderError(
            f"needs the embedder {ref.name!r}, which RVC Studio does not know (it knows {known} and custom folders)"
        )
    default_missing = ""
    if ref.is_default:
        try:
            found = find_weight("hubert", extra_dirs)
            # a weights folder that is itself another embedder's folder is not ContentVec
            if found.name not in {s.folder for s in CATALOGUE.values()} - {CATALOGUE[DEFAULT_EMBEDDER].folder}:
                return found
        except WeightsNotFoundError as error:
            default_missing = str(error)  # Applio's contentvec folder or the Hugging Face cache may hold it
    searched = places(extra_dirs)
    for folder in searched:
        for candidate in _candidates(ref, folder):
            if _is_folder(candidate):
                return candidate
    # the default's own message names hubert_base.pt, the file Replay's users have
    raise EmbedderNotFoundError(default_missing or missing_message(ref, searched))


def missing_message(ref: EmbedderRef, searched: Sequence[Path]) -> str:
    """One line: which embedder is missing, where it was looked for, and how to get it."""
    where = "; ".join(str(p) for p in searched)
    if ref.custom:
        return (
            f"needs its own embedder {ref.custom!r} (a custom one); not found in {where}. "
            f"Copy that embedder's folder (config.json + pytorch_model.bin) into {downloads_dir()}, "
            "or choose the folder that holds it as the weights folder in Settings"
        )
    spec = ref.spec
    files = " + ".join(f.name for f in spec.files)
    if spec.pinned:
        return (
            f"needs the {spec.name} embedder; not found in {where}. Download it with "
            f"`rvc-studio download {spec.name}` ({spec.size / 1e6:.0f} MB into {downloads_dir() / spec.folder}), "
            f"or use Applio's rvc/models/embedders/{spec.folder}"
        )
    return (
        f"needs the {spec.name} embedder; not found in {where}. Download? Get {files} from {spec.page} "
        f"into {downloads_dir() / spec.folder} (or use Applio's rvc/models/embedders/{spec.folder})"
    )


def download_files(ref: EmbedderRef) -> list[tuple[str, Path, PinnedFile]]:
    """``(url, target, pin)`` for each file of ``ref``, for a consented download into our own
    folder; a pin without ``sha256`` must be verified before it can be fetched."""
    spec = ref.spec
    if spec is None:
        return []
    target = downloads_dir() / spec.folder
    return [(spec.url(f.name), target / f.name, f) for f in spec.files]


def find_spec(name: str) -> EmbedderSpec | None:
    """The catalogue's embedder called ``name`` (its name, folder or an alias; any case)."""
    wanted = name.strip().lower()
    wanted = ALIASES.get(wanted.replace("_", "").replace("-", ""), wanted)
    for spec in CATALOGUE.values():
        if wanted in (spec.name.lower(), spec.folder.lower()):
            return spec
    return None


def fetch(spec: EmbedderSpec, progress=None, cancel=None) -> Path:
    """Download ``spec``'s files into our own folder (:func:`downloads_dir`), each resumable and
    checked against its pinned size and SHA-256 before it is kept (:mod:`inference.core.download`).
    ``progress(done, total)`` counts bytes over all files. Returns the embedder's folder.

    Raises :class:`EmbedderNotFoundError` for an embedder whose files are not pinned: nothing
    unchecked is ever fetched.
    """
    from inference.core.download import download

    if not spec.pinned:
        files = " + ".join(f.name for f in spec.files)
        raise EmbedderNotFoundError(
            f"the {spec.name} embedder cannot be downloaded by RVC Studio yet (its files' checksums are not "
            f"pinned); get {files} from {spec.page} into {downloads_dir() / spec.folder}"
        )
    folder = downloads_dir() / spec.folder
    total, before = spec.size, 0
    for pin in spec.files:
        step = None if progress is None else (lambda done, _size, base=before: progress(base + done, total))
        download(spec.url(pin.name), folder / pin.name, pin.sha256, pin.size, step, cancel)
        before += pin.size
    return folder
