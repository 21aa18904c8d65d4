"""Read the structure of a PyTorch ``.pth`` zip without torch and without reading any weight.

A ``torch.save`` file is a zip holding ``<name>/data.pkl`` (the object graph, with each tensor
as a reference to a storage record) and ``<name>/data/<key>`` (the raw bytes). Unpickling
``data.pkl`` with an allow-list of exactly the globals a state dict uses gives the whole
structure (metadata, key names, every tensor's shape and dtype) in a few milliseconds, where
``torch.load`` must import torch (seconds) and map every storage.

Anything outside the allow-list raises :class:`MetaUnavailable`: the caller then falls back to
``torch.load(weights_only=True)``, which gives the authoritative answer and error message.
Nothing from the file is ever executed: unknown globals are refused, not imported.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

# torch.<Name>Storage -> dtype name
_STORAGE_DTYPES = {
    "HalfStorage": "float16",
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}


class MetaUnavailable(Exception):
    """The file is not a torch zip this reader understands; use torch.load instead."""


@dataclass(frozen=True)
class TensorMeta:
    """Shape and dtype of a stored tensor (its bytes are never read)."""

    shape: tuple[int, ...]
    dtype: str

    def is_floating_point(self) -> bool:
        return self.dtype.startswith(("float", "bfloat"))


@dataclass(frozen=True)
class _StorageType:
    dtype: str


def _rebuild_tensor(storage, offset, size, stride, *rest) -> TensorMeta:
    return TensorMeta(tuple(int(s) for s in size), storage)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *rest) -> TensorMeta:
    return data


class _MetaUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise MetaUnavailable(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> str:
        # ('storage', storage type, key, location, numel): the tensor's dtype is all we keep
        if isinstance(pid, tuple) and len(pid) >= 2 and pid[0] == "storage" and isinstance(pid[1], _StorageType):
            return pid[1].dtype
        raise MetaUnavailable(f"persistent id {pid!r:.60}")


def read_structure(path: os.PathLike | str) -> Any:
    """The unpickled object graph of a torch zip with :class:`TensorMeta` for every tensor."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(names) != 1:
                raise MetaUnavailable("no single data.pkl")
            data = archive.read(names[0])
    except (OSError, zipfile.BadZipFile) as error:
        raise MetaUnavailable(str(error)) from None
    try:
        return _MetaUnpickler(io.BytesIO(data)).load()
    except MetaUnavailable:
        raise
    except Exception as error:  # noqa: BLE001 - any odd pickle: let torch.load decide
        raise MetaUnavailable(f"{type(error).__name__}: {error}") from None
