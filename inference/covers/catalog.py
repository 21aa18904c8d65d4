"""The separation models we know by name: the defaults, the ones we can download, and how a
file's name tells its family and purpose. Light (no numpy): the window and the CLI import it.

Downloads are pinned here: URL, size in bytes and SHA-256. No weights are ever bundled; a model
is downloaded only when the user asks (``rvc-studio download NAME``, or the window's offer).

Where the pinned hashes come from (no download was possible where this was written):

- ``UVR-MDX-NET-Voc_FT.onnx``: SHA-256 ``534b2070…e111``, 66,762,490 bytes, is the Git LFS
  pointer of the file on Hugging Face (``oid sha256:…``, ``size 66762490``; e.g. the datasets
  commit lexaizero/AingMaungArrghhhAingSiaMAungEtahSaha@7a7bc66). Hugging Face computes that
  hash itself on upload; five independent repositories hold the same hash (Blane187/
  all_public_uvr_models, lorneluo/uvr5, AnhP/Vietnamese-RVC-Project, SayanoAI/RVC-Studio,
  masszhou/mdxnet), and public projects that fetch UVR's GitHub release asset pin the same hash
  and size. UVR's MD5 key of the same file, 77d07b26…b4454a0, maps to its parameters in UVR's
  own model_data.json.
- ``Reverb_HQ_By_FoxJoy.onnx``: SHA-256 ``233bb5c6…db80``, 66,780,123 bytes, is the LFS pointer of
  ``uvr5_weights/onnx_dereverb_By_FoxJoy/vocals.onnx`` in the RVC project's own Hugging Face
  repository (lj1995/VoiceConversionWebUI@d880a9c); the same bytes are UVR's
  ``Reverb_HQ_By_FoxJoy.onnx`` (the same pointer in other repositories under that name).

The downloader refuses any file whose size or SHA-256 differs, so a wrong pin fails safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UVR_RELEASES = "https://github.com/TRvlvr/model_repo/releases/download/all_public_uvr_models"
UVR_CREDIT = "Ultimate Vocal Remover (Anjok07, aufr33 and contributors), MIT licence: credit UVR and its developers"


@dataclass(frozen=True)
class Downloadable:
    """A model we can fetch with the user's consent."""

    name: str  # what `rvc-studio download NAME` takes
    file_name: str
    url: str
    size: int  # bytes
    sha256: str
    purpose: str  # "vocals" | "dereverb"
    description: str
    licence: str

    @property
    def size_mb(self) -> float:
        return self.size / 1e6


DOWNLOADS: dict[str, Downloadable] = {
    d.name: d
    for d in (
        Downloadable(
            name="UVR-MDX-NET-Voc_FT",
            file_name="UVR-MDX-NET-Voc_FT.onnx",
            url=f"{UVR_RELEASES}/UVR-MDX-NET-Voc_FT.onnx",
            size=66_762_490,
            sha256="534b2070fcc7df514b13ef660dc8cbb328679c2374d04354a5c42bb14ecce111",
            purpose="vocals",
            description="UVR MDX-Net vocal model (Replay's default stem model)",
            licence=UVR_CREDIT,
        ),
        Downloadable(
            name="Reverb_HQ_By_FoxJoy",
            file_name="Reverb_HQ_By_FoxJoy.onnx",
            url="https://huggingface.co/lj1995/VoiceConversionWebUI/resolve/main/uvr5_weights/onnx_dereverb_By_FoxJoy/vocals.onnx",
            size=66_780_123,
            sha256="233bb5c6aaa365e568659a0a81211746fa881f8f47f82d9e864fce1f7692db80",
            purpose="dereverb",
            description="MDX-Net de-reverb model by FoxJoy (UVR's Reverb HQ; the RVC WebUI ships it)",
            licence=UVR_CREDIT,
        ),
    )
}

DEFAULT_MODEL = "UVR-MDX-NET-Voc_FT"
DEFAULT_DEREVERB = "Reverb_HQ_By_FoxJoy"
DEFAULTS = {"vocals": DEFAULT_MODEL, "dereverb": DEFAULT_DEREVERB}

# When the default is missing, a model the user has is used instead, best first (file stems,
# lower case). Vocal models before instrumental ones: their primary stem is the vocal.
PREFERRED = {
    "vocals": (
        "uvr-mdx-net-voc_ft",
        "kim_vocal_2",
        "kim_vocal_1",
        "uvr_mdxnet_main",
        "uvr-mdx-net-inst_hq_4",
        "uvr-mdx-net-inst_hq_3",
        "model_bs_roformer_ep_317_sdr_12.9755",
        "model_bs_roformer_ep_368_sdr_12.9628",
        "uvr_mdxnet_1_9703",
        "3_hp-vocal-uvr",
        "2_hp-uvr",
        "hp2_all_vocals",
    ),
    "dereverb": (
        "reverb_hq_by_foxjoy",
        "vocals",  # the RVC WebUI's onnx_dereverb_By_FoxJoy/vocals.onnx
        "uvr-deecho-dereverb",
        "vr-deechodereverb",
        "uvr-dereverb-aufr33-jarredou_4band_v4_ms_fullband",
        "dereverb_mel_band_roformer_anvuew_sdr_19.1729",
        "dereverb_mel_band_roformer_less_aggressive_anvuew_sdr_18.8050",
    ),
}

# UVR's VR-architecture file names whose use pymss knows (tests check they are in pymss's table,
# or in the RVC WebUI's names we add to it), with what each separates.
VR_PURPOSES = {
    "1_HP-UVR.pth": "vocals",
    "2_HP-UVR.pth": "vocals",
    "3_HP-Vocal-UVR.pth": "vocals",
    "4_HP-Vocal-UVR.pth": "vocals",
    "7_HP2-UVR.pth": "vocals",
    "8_HP2-UVR.pth": "vocals",
    "9_HP2-UVR.pth": "vocals",
    "5_HP-Karaoke-UVR.pth": "karaoke",
    "6_HP-Karaoke-UVR.pth": "karaoke",
    "UVR-DeEcho-DeReverb.pth": "dereverb",
    "UVR-De-Echo-Normal.pth": "dereverb",
    "UVR-De-Echo-Aggressive.pth": "dereverb",
    "UVR-DeReverb-aufr33-jarredou_4band_v4_ms_fullband.pth": "dereverb",
    "UVR-DeNoise.pth": "denoise",
    "UVR-DeNoise-Lite.pth": "denoise",
    # the RVC WebUI's names of UVR's de-echo models (inference.covers.mss.RVC_VR_METADATA)
    "VR-DeEchoDeReverb.pth": "dereverb",
    "VR-DeEchoNormal.pth": "dereverb",
    "VR-DeEchoAggressive.pth": "dereverb",
}


def purpose_from_stems(primary: str, karaoke: bool = False) -> str:
    """What a two-stem model is for, from its primary stem's name."""
    name = primary.strip().lower().replace("_", " ")
    if karaoke:
        return "karaoke"
    if name in ("vocals", "instrumental", "other"):
        return "vocals"
    if name in ("reverb", "no reverb", "noreverb", "dry", "echo", "no echo"):
        return "dereverb"
    if "noise" in name:
        return "denoise"
    return "other"


def purpose_from_name(path: Path) -> str:
    """A guess from a checkpoint's file name when its config says nothing clearer."""
    name = path.stem.lower()
    for word, purpose in (("karaoke", "karaoke"), ("reverb", "dereverb"), ("echo", "dereverb"), ("noise", "denoise")):
        if word in name:
            return purpose
    return "vocals" if any(w in name for w in ("voc", "roformer", "inst", "mdx23c")) else "other"


def downloads_dir() -> Path:
    """Where downloaded separation models go: the app's data folder (never Replay's)."""
    from inference.core.paths import data_dir

    return data_dir() / "separation"


def find_download(name: str) -> Downloadable | None:
    """The downloadable model called ``name`` (its name or file name, any case)."""
    wanted = name.strip().lower()
    for item in DOWNLOADS.values():
        if wanted in (item.name.lower(), item.file_name.lower()):
            return item
    return None


def fetch(item: Downloadable, progress=None, cancel=None) -> Path:
    """Download ``item`` into :func:`downloads_dir` (resumable, checked against its pinned SHA-256)."""
    from inference.core.download import download

    return download(item.url, downloads_dir() / item.file_name, item.sha256, item.size, progress, cancel)
