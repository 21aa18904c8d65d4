"""Covers: a finished song in; the song back, sung by a voice model (separate -> convert -> remix).

- :mod:`.separator`: the stage's interface (a song in; vocal and accompaniment out at its rate,
  channels and length) and what every model needs around it;
- :mod:`.mdx`: UVR's MDX-Net ``.onnx`` models on onnxruntime (our code, UVR's semantics);
- :mod:`.mss`: VR ``.pth``, BS-/MelBand-RoFormer and MDX23C checkpoints through pymss;
- :mod:`.find` and :mod:`.catalog`: the models users have, the defaults, the consented downloads;
- :mod:`.cache`: the stem cache; :mod:`.remix`: the mix; :mod:`.cover`: the whole job.

Heavy libraries (onnxruntime, torch, pymss, librosa) load on first use.
"""

from inference.covers.params import STEM_NAMES, CoverParams

__all__ = ["STEM_NAMES", "CoverParams"]
