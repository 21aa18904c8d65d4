"""Our PyTorch RVC generator: the fallback synthesizer (Intel Macs, Linux) and the reference the
MLX port is tested against.

The twin of :mod:`inference.mlx`, file for file and class for class (``modules``,
``attentions``, ``residuals``, ``generators``, ``hifigan_mrf``, ``refinegan``, ``encoders``,
``synthesizers``, ``conv``, ``convert``), so that comparing the two shows only the frameworks'
calls and the channel order (channels-first here, channels-last there). ``inference.mlx.cache``
has no twin: torch reads a ``.pth`` directly, so :func:`~.convert.load_synthesizer` is in
``convert``.
"""
