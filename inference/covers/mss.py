"""UVR's VR-architecture ``.pth`` and MSS checkpoints (BS-/MelBand-RoFormer, MDX23C) through pymss.

pymss (MIT; the RVC WebUI ships it) owns the networks, the chunking and the MLX ports for the
Apple GPU; this module only puts its ``MSSeparator`` behind :class:`Separator` and guards what it
loads, because model files come from strangers:

- only the families whose code is MIT-licensed are opened: VR (UVR's ``lib_v5``), BS- and
  MelBand-RoFormer (lucidrains), MDX23C (ZFTurbo / kuielab). Demucs, Apollo (its upstream code
  may be CC-BY-SA), Bandit and SCNet are refused, so their modules are never imported;
- a checkpoint is opened with ``torch.load(weights_only=True)`` before pymss sees it: pymss
  itself falls back to a full unpickling for some files, which can run code. A file that needs
  more than tensors is refused with one line;
- a YAML config must parse with YAML's safe loader plus tuples (MSS configs write
  ``!!python/tuple``), since pymss reads configs with a loader that can build Python objects.

Cancellation: pymss has no cancel call, but an exception raised from its progress callback
stops it and propagates; the callback raises :class:`~inference.core.errors.Cancelled`. VR
models give a few samples less than they got; :class:`ModelSeparator` pads them back.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.errors import Cancelled
from inference.covers.separator import ModelSeparator, Progress, SeparationError, SeparationSettings

log = logging.getLogger(__name__)

ALLOWED_TYPES = ("vr", "bs_roformer", "mel_band_roformer", "mdx23c")
CONFIG_SUFFIXES = (".yaml", ".yml")


def read_config(path: Path) -> dict[str, Any]:
    """An MSS YAML config read safely (tuples allowed, no other Python objects)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def construct_tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple:
        return tuple(loader.construct_sequence(node))

    Loader.add_constructor("tag:yaml.org,2002:python/tuple", construct_tuple)
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=Loader)
    except yaml.constructor.ConstructorError as error:
        problem = " ".join(str(error.problem or error).split())
        raise SeparationError(f"{path}: refused: the config asks to build Python objects ({problem})") from None
    except (OSError, UnicodeError, yaml.YAMLError) as error:
        raise SeparationError(f"{path}: not a readable YAML config ({' '.join(str(error).split())[:120]})") from None
    if not isinstance(data, dict):
        raise SeparationError(f"{path}: not a model config (its top level is not a mapping)")
    return data


def config_instruments(config: dict[str, Any]) -> list[str]:
    training = config.get("training") if isinstance(config.get("training"), dict) else {}
    return [str(name) for name in training.get("instruments") or []]


def detect_type(config_path: Path) -> str:
    """The pymss model type of an MSS config, if it is one we open."""
    from pymss_core import ModelTypeDetectionError, detect_model_type

    config = read_config(config_path)
    try:
        kind = str(detect_model_type(config))
    except ModelTypeDetectionError as error:
        raise SeparationError(f"{config_path}: not a config for a known separation model ({error})") from None
    if kind not in ALLOWED_TYPES:
        raise SeparationError(f"{config_path}: {kind} models are not supported (supported: {', '.join(ALLOWED_TYPES)})")
    return kind


def check_tensors_only(path: Path) -> None:
    """Refuse a checkpoint that holds anything but tensors and plain containers."""
    import pickle
    import zipfile

    import torch

    def load(mmap: bool):
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)

    try:
        try:
            data = load(True)
        except RuntimeError as error:  # an old (pre-zip) torch file cannot be memory-mapped
            if "mmap" not in str(error):
                raise
            data = load(False)
    except pickle.UnpicklingError as error:
        text = str(error).lower()
        if "weights only" in text and ("global" in text or "reduce" in text or "build" in text):
            raise SeparationError(
                f"{path}: refused: it holds Python objects besides weights, which could run code when loaded"
            ) from None
        raise SeparationError(f"{path}: not a readable checkpoint ({' '.join(str(error).split())[:120]})") from None
    except (RuntimeError, AttributeError, TypeError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise SeparationError(f"{path}: not a readable checkpoint ({' '.join(str(error).split())[:120]})") from None
    except OSError as error:
        raise SeparationError(f"{path}: cannot be read ({error.strerror or error})") from None
    del data


# The RVC WebUI's names for UVR's de-echo / de-reverb VR models (assets/uvr5_weights), which
# pymss does not know. The RVC WebUI runs them as CascadedNet on 4band_v3 with nout 64 for
# "DeReverb" and 48 otherwise; its files are half precision (half UVR's size), so pymss's
# guess of the network from the file size would go wrong: nout in the metadata settles it.
RVC_VR_METADATA = {
    "VR-DeEchoDeReverb.pth": {"primary_stem": "No Reverb", "secondary_stem": "Reverb", "nout": 64},
    "VR-DeEchoNormal.pth": {"primary_stem": "No Echo", "secondary_stem": "Echo", "nout": 48},
    "VR-DeEchoAggressive.pth": {"primary_stem": "No Echo", "secondary_stem": "Echo", "nout": 48},
}


def vr_names() -> set[str]:
    """The VR file names pymss knows (it picks a VR model's parameters by its file name), with
    the RVC WebUI's names added to its table."""
    from pymss.modules.vocal_remover.vr_models import VR_MODEL_METADATA

    for name, meta in RVC_VR_METADATA.items():
        VR_MODEL_METADATA.setdefault(name, {**meta, "vr_model_param": "4band_v3", "nout_lstm": 128})
    return set(VR_MODEL_METADATA)


class PymssSeparator(ModelSeparator):
    """A VR ``.pth`` (no config) or an MSS checkpoint with its YAML config, run by pymss."""

    family = "pymss"

    def __init__(
        self,
        path: Path,
        purpose: str,
        settings: SeparationSettings,
        identity: str,
        config_path: Path | None = None,
    ) -> None:
        super().__init__(path, purpose, settings, identity)
        self.config_path = Path(config_path) if config_path else None
        if self.config_path is None:
            if self.path.name not in vr_names():
                raise SeparationError(
                    f"{self.path}: a VR model pymss does not know by name, "
                    "or an MSS checkpoint without its .yaml config"
                )
            self.model_type = "vr"
        else:
            self.model_type = detect_type(self.config_path)
        check_tensors_only(self.path)
        self._progress: Progress | None = None
        self._cancel = None
        self.engine = self._load()

    def _callback(self, done: float, total: float, _message: str = "") -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled()
        if self._progress is not None and total:
            self._progress(float(done) / float(total))

    def _load(self):
        from pymss import MSSeparator

        params: dict[str, Any] = {"normalize": False, "standardize": None}
        try:
            engine = MSSeparator(
                model_type=self.model_type,
                model_path=str(self.path),
                config_path=str(self.config_path) if self.config_path else None,
                device=self.settings.device,
                logger=logging.getLogger("inference.covers.pymss"),
                progress_callback=self._callback,
                inference_params=params,
            )
        except SeparationError:
            raise
        except Exception as error:  # noqa: BLE001 - pymss and torch raise many types for a bad file
            detail = " ".join(f"{type(error).__name__}: {error}".split())[:160]
            raise SeparationError(f"{self.path}: cannot be loaded as a {self.model_type} model ({detail})") from None
        if self.settings.overlap is not None and self.model_type != "vr":
            chunk = int(engine.config.audio.chunk_size)
            engine.config.inference["overlap_size"] = int(round(chunk * float(self.settings.overlap)))
        return engine

    def _separate_stereo(self, mix: np.ndarray, progress: Progress, cancel) -> dict[str, np.ndarray]:
        self._progress, self._cancel = progress, cancel
        try:
            return self.engine.separate(mix, pbar=False)
        except (Cancelled, SeparationError):
            raise
        except Exception as error:  # noqa: BLE001 - one line for whatever the model run raised
            detail = " ".join(f"{type(error).__name__}: {error}".split())[:160]
            raise SeparationError(f"{self.path}: separation failed ({detail})") from None
        finally:
            self._progress = self._cancel = None

    def close(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.close()
