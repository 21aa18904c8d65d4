"""What was said: content features from the HuBERT / ContentVec embedder, and the index blend
that pulls them toward the voice model's own training features.

- :mod:`.embedder`: :func:`load_embedder` and :class:`Embedder` (torch + transformers, on first use);
- :mod:`.fairseq`: reading Replay's fairseq ``hubert_base.pt`` safely; :mod:`.cache`: its
  converted weights, cached as safetensors;
- :mod:`.retrieval`: the faiss index blend (:func:`~.retrieval.apply_index`).
"""

from inference.features.embedder import Embedder, load_embedder
from inference.features.fairseq import EmbedderLoadError, UnsafeCheckpointError

__all__ = ["Embedder", "EmbedderLoadError", "UnsafeCheckpointError", "load_embedder"]
