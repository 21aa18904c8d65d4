"""Synthesis: features and pitch in, the model's voice out.

- :func:`load_generator` loads a voice model on a backend and returns a :class:`SynthRunner`
  (:mod:`.runner`: noise, windows, input checks);
- :mod:`.backends`: the MLX and torch backends and how ``auto`` chooses;
- :mod:`.torch`: our PyTorch generator, the twin of :mod:`inference.mlx` file for file.

Importing this package loads only numpy; torch and mlx load with the first model.
"""

from inference.synth.backends import BACKENDS, SynthesisError, resolve_backend
from inference.synth.runner import DTYPES, SynthRunner, decoder_margin, load_generator, plan_stream, plan_windows

__all__ = [
    "BACKENDS",
    "DTYPES",
    "SynthRunner",
    "SynthesisError",
    "decoder_margin",
    "load_generator",
    "plan_stream",
    "plan_windows",
    "resolve_backend",
]
