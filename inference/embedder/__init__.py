"""HuBERT / ContentVec feature extraction (torch + transformers, imported on first use).

Public API: :func:`load_embedder` and :class:`Embedder` (see :mod:`.model`); the fairseq
checkpoint reader is in :mod:`.fairseq`, the converted-weights cache in :mod:`.cache`.
"""
from inference.embedder.fairseq import EmbedderLoadError, UnsafeCheckpointError
from inference.embedder.model import Embedder, load_embedder

__all__ = ["Embedder", "EmbedderLoadError", "UnsafeCheckpointError", "load_embedder"]
