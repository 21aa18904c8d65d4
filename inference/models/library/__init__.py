"""The model library: finds the user's voice models in Replay's folder and their own folders.

- :class:`ModelLibrary` scans, caches what it read, reports changes and finds models by name.
- :class:`VoiceModel` describes one model (paths, version, rate, index, problems).
- :func:`read_index_header` reads a faiss index's width without loading it.

Importing this package is light: no torch, no faiss (model files are read on first scan).
"""

from inference.models.library.index_header import IndexHeader, IndexHeaderError, read_index_header
from inference.models.library.library import ModelLibrary
from inference.models.library.model import Changes, LibraryError, VoiceModel

__all__ = [
    "Changes",
    "IndexHeader",
    "IndexHeaderError",
    "LibraryError",
    "ModelLibrary",
    "VoiceModel",
    "read_index_header",
]
