"""Read a faiss index's width from its header, without loading its vectors.

An RVC ``.index`` can be hundreds of MB; the library only needs to know how wide its vectors
are (256 for v1 models, 768 for v2) and whether it holds any. Every float index that
``faiss.write_index`` writes starts the same way:

    fourcc (4 bytes)  d (int32)  ntotal (int64)  1<<20 (int64)  1<<20 (int64)  is_trained (uint8)

(IVF, Flat, HNSW, IDMap and PreTransform indexes alike; the two ``1<<20`` words are unused
fields faiss always writes, which makes a good check that this really is such a header.)
Binary indexes (fourcc ``IB..``) measure ``d`` in bits and are no use to RVC.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from inference.core.errors import RVCError

_HEADER = struct.Struct("<4siqqqB")
_DUMMY = 1 << 20
MAX_WIDTH = 1 << 16  # no feature index is wider; a bigger number means a corrupt file
# Kinds that store every vector as float32 (RVC writes IVF Flat; Flat L2 / IP are common too):
# such a file is never smaller than its header plus ntotal x width x 4 bytes.
_RAW_FLOAT = {"IwFl", "IxF2", "IxFI"}


class IndexHeaderError(RVCError):
    """The file is not a readable faiss float index."""


@dataclass(frozen=True)
class IndexHeader:
    fourcc: str  # faiss's type tag, e.g. "IwFl" for IVF Flat, "IxF2" for Flat L2
    width: int  # vector dimension
    ntotal: int  # vectors held (0 for RVC's "trained_" index files)
    is_trained: bool


def read_index_header(path: os.PathLike | str) -> IndexHeader:
    """The header of the faiss index at ``path``; raises :class:`IndexHeaderError`."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_HEADER.size)
            size = os.fstat(handle.fileno()).st_size
    except OSError as error:
        raise IndexHeaderError(f"{path}: cannot read the index ({error.strerror or error})") from error
    if len(raw) < _HEADER.size:
        raise IndexHeaderError(f"{path}: not a faiss index (only {len(raw)} bytes)")
    fourcc_raw, width, ntotal, dummy1, dummy2, trained = _HEADER.unpack(raw)
    try:
        fourcc = fourcc_raw.decode("ascii")
    except UnicodeDecodeError:
        fourcc = ""
    if not fourcc.isprintable() or not fourcc.isascii() or len(fourcc) != 4:
        raise IndexHeaderError(f"{path}: not a faiss index")
    if fourcc.startswith("IB"):
        raise IndexHeaderError(f"{path}: a binary faiss index ({fourcc}), not a feature index")
    if dummy1 != _DUMMY or dummy2 != _DUMMY or not 0 < width <= MAX_WIDTH or ntotal < 0:
        raise IndexHeaderError(f"{path}: not a faiss index or a damaged one")
    need = _HEADER.size + ntotal * width * 4
    if fourcc in _RAW_FLOAT and size < need:
        raise IndexHeaderError(
            f"{path}: the index is incomplete (cut short, as by an interrupted download or "
            f"copy: {size:,} bytes where its {ntotal:,} vectors need {need:,})"
        )
    return IndexHeader(fourcc=fourcc, width=width, ntotal=ntotal, is_trained=bool(trained))
