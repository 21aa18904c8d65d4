"""Finding the separation models users already have, the way hubert and rmvpe are found.

Places, in order (only ``stat`` calls and small reads: nothing is ever written in them):

1. Replay's data folder, searched for UVR model files by name and kind (not ``outputs/`` or
   ``recordings/``, which are Replay's users' audio);
2. Ultimate Vocal Remover's ``models/`` folder (the macOS app, a Windows install, a checkout);
3. the RVC WebUI's ``assets/uvr5_weights`` and ``assets/pymss_weights`` (``$weight_uvr5_root``);
4. audio-separator's folder (``$AUDIO_SEPARATOR_MODEL_DIR``) and pymss's (``$PYMSS_MODEL_DIR``);
5. our own downloads (:func:`inference.covers.catalog.downloads_dir`);
6. the folders the user chose, then ``$RVC_STUDIO_SEPARATION_DIR``.

A file counts as a separation model when it is an ``.onnx`` UVR knows by its hash or by its
name, a VR ``.pth`` with a UVR name, or a ``.ckpt`` / ``.th`` with an MSS YAML config beside it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from inference.core import paths
from inference.core.errors import RVCError
from inference.covers import catalog

SEPARATION_DIR_ENV = "RVC_STUDIO_SEPARATION_DIR"
SKIP_DIRS = {"outputs", "recordings", "__pycache__", ".git", "node_modules"}
MAX_DEPTH = 6
KNOWN_ONNX_STEMS = {
    "uvr-mdx-net-voc_ft",
    "kim_vocal_1",
    "kim_vocal_2",
    "uvr_mdxnet_main",
    "uvr-mdx-net-inst_hq_3",
    "uvr-mdx-net-inst_hq_4",
    "reverb_hq_by_foxjoy",
}


class SeparatorNotFound(RVCError):
    """No separation model of the kind asked for was found (the message says where we looked)."""

    max_line = None  # the command line prints the whole line: every place searched is part of it


@dataclass(frozen=True)
class Place:
    label: str
    folder: Path


@dataclass(frozen=True)
class SeparationModelFile:
    """One separation model found on disk."""

    path: Path
    family: str  # "mdx_onnx" | "vr" | "mss"
    purpose: str  # "vocals" | "dereverb" | "karaoke" | "denoise" | "other"
    place: str  # where it was found ("Replay", "Ultimate Vocal Remover", ...)
    config: Path | None = None  # an MSS checkpoint's YAML
    uvr_hash: str | None = None  # an .onnx file's UVR key

    @property
    def name(self) -> str:
        return self.path.stem

    def to_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()} | {"name": self.name}


def search_places(extra_dirs: Sequence[os.PathLike | str] = ()) -> list[Place]:
    """Every place searched, in order, without duplicates (missing folders included)."""
    home = Path.home()
    places = [Place("Replay", paths.replay_root())]
    uvr = []
    for apps in (Path("/Applications"), home / "Applications"):
        contents = apps / "Ultimate Vocal Remover.app" / "Contents"
        uvr += [contents / sub / "models" for sub in ("Resources", "MacOS", "Frameworks")]
    if sys.platform == "win32":
        local = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
        uvr += [local / "Programs" / "Ultimate Vocal Remover" / "models"]
        uvr += [Path(os.environ.get("PROGRAMFILES", "C:/Program Files")) / "Ultimate Vocal Remover" / "models"]
    uvr += [home / "ultimatevocalremovergui" / "models"]
    places += [Place("Ultimate Vocal Remover", folder) for folder in uvr]
    rvc = [Path(os.environ["weight_uvr5_root"])] if os.environ.get("weight_uvr5_root") else []
    for checkout in ("Retrieval-based-Voice-Conversion-WebUI", "RVC-WebUI", "rvc-webui"):
        rvc += [home / checkout / "assets" / "uvr5_weights", home / checkout / "assets" / "pymss_weights"]
    places += [Place("RVC WebUI", folder) for folder in rvc]
    places.append(
        Place("audio-separator", Path(os.environ.get("AUDIO_SEPARATOR_MODEL_DIR") or "/tmp/audio-separator-models"))
    )
    places.append(Place("pymss", Path(os.environ.get("PYMSS_MODEL_DIR") or home / ".cache" / "pymss" / "models")))
    places.append(Place("RVC Studio downloads", catalog.downloads_dir()))
    places += [Place("your folder", Path(d).expanduser()) for d in extra_dirs if str(d).strip()]
    if os.environ.get(SEPARATION_DIR_ENV, "").strip():
        places.append(Place("your folder", Path(os.environ[SEPARATION_DIR_ENV]).expanduser()))
    unique, seen = [], set()
    for place in places:
        key = str(place.folder)
        if key not in seen:
            seen.add(key)
            unique.append(place)
    return unique


def _walk(folder: Path, depth: int = 0) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH and entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                    yield from _walk(Path(entry.path), depth + 1)
            elif entry.is_file() and Path(entry.name).suffix.lower() in (".onnx", ".pth", ".ckpt", ".th"):
                yield Path(entry.path)
        except OSError:
            continue


def config_for(checkpoint: Path) -> Path | None:
    """The YAML config beside an MSS checkpoint (the names MSST, pymss and RVC use)."""
    stem = checkpoint.stem
    for name in (
        f"{stem}.yaml",
        f"{checkpoint.name}.yaml",
        f"{stem}_config.yaml",
        f"config_{stem}.yaml",
        f"{stem}.yml",
    ):
        candidate = checkpoint.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def identify(path: Path, place: str = "your folder", hash_memo: Path | None = None) -> SeparationModelFile | None:
    """What separation model ``path`` is, or None when it is none we know (a voice model, say)."""
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        from inference.covers.mdx import lookup_params

        try:
            digest = _remembered_uvr_hash(path, hash_memo)
        except OSError:
            return None
        params = lookup_params(path, digest)
        if params is not None:
            purpose = catalog.purpose_from_stems(params.primary_stem, params.karaoke)
            return SeparationModelFile(path, "mdx_onnx", purpose, place, None, digest)
        if path.stem.lower() in KNOWN_ONNX_STEMS:
            purpose = "dereverb" if "reverb" in path.stem.lower() else "vocals"
            return SeparationModelFile(path, "mdx_onnx", purpose, place, None, digest)
        return None
    if suffix == ".pth":
        if path.name in catalog.VR_PURPOSES:
            return SeparationModelFile(path, "vr", catalog.VR_PURPOSES[path.name], place)
        return None
    if suffix in (".ckpt", ".th"):
        config = config_for(path)
        if config is None:
            return None
        return SeparationModelFile(path, "mss", _mss_purpose(path, config), place, config)
    return None


def _mss_purpose(path: Path, config: Path) -> str:
    from inference.covers.mss import config_instruments, read_config
    from inference.covers.separator import SeparationError

    try:
        instruments = [s.lower() for s in config_instruments(read_config(config))]
    except SeparationError:
        return catalog.purpose_from_name(path)
    if "karaoke" in path.stem.lower():
        return "karaoke"
    if any(s in ("vocals", "vocal") for s in instruments):
        return "vocals"
    if any("reverb" in s or s == "dry" for s in instruments):
        return "dereverb"
    return catalog.purpose_from_name(path)


def _remembered_uvr_hash(path: Path, hash_memo: Path | None) -> str:
    from inference.core.filecache import remembered_sha256
    from inference.covers.mdx import uvr_hash

    if hash_memo is None:
        return uvr_hash(path)
    return remembered_sha256(path, hash_memo, hasher=uvr_hash)


def default_hash_memo() -> Path:
    return paths.cache_dir() / "separation" / "uvr-hashes"


def scan(extra_dirs: Sequence[os.PathLike | str] = (), hash_memo: Path | None = None) -> list[SeparationModelFile]:
    """Every separation model in every place, in the places' order."""
    memo = hash_memo or default_hash_memo()
    found, seen = [], set()
    for place in search_places(extra_dirs):
        for path in _walk(place.folder):
            key = os.path.realpath(path)
            if key in seen:
                continue
            model = identify(path, place.label, memo)
            if model is not None:
                seen.add(key)
                found.append(model)
    return found


def find_model(
    name: str | os.PathLike | None,
    purpose: str = "vocals",
    extra_dirs: Sequence[os.PathLike | str] = (),
    hash_memo: Path | None = None,
) -> SeparationModelFile:
    """The model to use: ``name`` (a file, or a model's name), or the default for ``purpose``,
    or else the best model of that purpose the user has. Raises :class:`SeparatorNotFound`."""
    if name is not None and (
        Path(name).suffix.lower() in (".onnx", ".pth", ".ckpt", ".th") and Path(name).expanduser().is_file()
    ):
        path = Path(name).expanduser()
        model = identify(path, "your file", hash_memo or default_hash_memo())
        if model is None and path.suffix.lower() == ".onnx":  # an unknown MDX-Net: parameters needed later
            model = SeparationModelFile(path, "mdx_onnx", purpose, "your file")
        if model is None:
            raise SeparatorNotFound(
                f"{path}: not a separation model we can use (UVR .onnx or .pth, or a .ckpt with its .yaml)"
            )
        return model
    models = scan(extra_dirs, hash_memo)
    wanted = str(name or catalog.DEFAULTS[purpose]).strip().lower()
    for model in models:
        if wanted in (model.name.lower(), model.path.name.lower()):
            return model
    if name is None:
        ranked = {stem: i for i, stem in enumerate(catalog.PREFERRED[purpose])}
        usable = [m for m in models if m.purpose == purpose]
        if usable:
            return min(usable, key=lambda m: ranked.get(m.name.lower(), len(ranked)))
    raise SeparatorNotFound(_missing_message(str(name or catalog.DEFAULTS[purpose]), purpose, extra_dirs))


def _missing_message(name: str, purpose: str, extra_dirs: Sequence[os.PathLike | str]) -> str:
    item = catalog.find_download(name)
    what = "de-reverb model" if purpose == "dereverb" else "separation model"
    places = "; ".join(f"{p.folder} ({p.label})" for p in search_places(extra_dirs))
    if item is not None:
        fetch = (
            f"download it ({item.size_mb:.0f} MB, into {catalog.downloads_dir()}) with: rvc-studio download {item.name}"
        )
        label = item.file_name
    else:
        known = ", ".join(catalog.DOWNLOADS)
        fetch = f"name a model you have, or download one with: rvc-studio download NAME ({known})"
        label = name
    return f"Could not find the {what} {label}; {fetch}. Searched: {places}"
