"""The MLX port of the RVC generator (channels-last), converted from a ``.pth`` once and cached.

The twin of :mod:`inference.synth.torch`, file for file: ``modules``, ``attentions``,
``residuals``, ``generators``, ``hifigan_mrf`` and ``refinegan`` (Applio's decoders),
``encoders``, ``synthesizers``, ``conv`` and ``convert``;
``cache`` keeps converted weights as safetensors. Imports mlx: load it through
:func:`inference.synth.load_generator`, which preloads the system OpenBLAS first on Linux.
"""
