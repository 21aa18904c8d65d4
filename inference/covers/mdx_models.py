"""UVR's parameters of its MDX-Net ``.onnx`` models, by UVR's file hash (data only).

Transcribed from Ultimate Vocal Remover's ``models/MDX_Net_Models/model_data/model_data.json``
(github.com/Anjok07/ultimatevocalremovergui, commit 5517e0c; MIT licence, Copyright (c) 2022
Anjok07 and aufr33; credit to UVR and its developers, as its README asks). UVR keys a model by
the MD5 of its file's last 10,000 KiB (:func:`inference.covers.mdx.uvr_hash`).

Each value: ``(compensate, dim_f, log2(dim_t), n_fft, primary stem[, "karaoke"])``. The hop is
1024 for every model.
"""

from __future__ import annotations

MDX_MODEL_DATA: dict[str, tuple] = {
    "0ddfc0eb5792638ad5dc27850236c246": (1.035, 2048, 8, 6144, "Vocals"),
    "1c56ec0224f1d559c42fd6fd2a67b154": (1.025, 2048, 8, 5120, "Instrumental"),
    "1d64a6d2c30f709b8c9b4ce1366d96ee": (1.065, 2048, 8, 5120, "Instrumental", "karaoke"),
    "203f2a3955221b64df85a41af87cf8f0": (1.035, 3072, 8, 6144, "Instrumental"),
    "26d308f91f3423a67dc69a6d12a8793d": (1.035, 2048, 9, 8192, "Other"),
    "291c2049608edb52648b96e27eb80e95": (1.035, 3072, 8, 6144, "Instrumental"),
    "2cdd429caac38f0194b133884160f2c6": (1.045, 3072, 8, 7680, "Instrumental"),
    "2f5501189a2f6db6349916fabe8c90de": (1.035, 2048, 8, 6144, "Vocals", "karaoke"),
    "398580b6d5d973af3120df54cee6759d": (1.75, 3072, 8, 7680, "Vocals"),
    "488b3e6f8bd3717d9d7c428476be2d75": (1.035, 3072, 8, 7680, "Instrumental"),
    "4910e7827f335048bdac11fa967772f9": (1.035, 2048, 7, 4096, "Drums"),
    "53c4baf4d12c3e6c3831bb8f5b532b93": (1.043, 3072, 8, 7680, "Vocals"),
    "55657dd70583b0fedfba5f67df11d711": (1.022, 3072, 8, 6144, "Instrumental"),
    "5d343409ef0df48c7d78cce9f0106781": (1.075, 3072, 8, 7680, "Vocals"),
    "5f6483271e1efb9bfb59e4a3e6d4d098": (1.035, 2048, 9, 6144, "Vocals"),
    "65ab5919372a128e4167f5e01a8fda85": (1.035, 2048, 8, 8192, "Other"),
    "6703e39f36f18aa7855ee1047765621d": (1.035, 2048, 9, 16384, "Bass"),
    "6b31de20e84392859a3d09d43f089515": (1.035, 2048, 8, 6144, "Vocals"),
    "73492b58195c3b52d34590d5474452f6": (1.043, 3072, 8, 7680, "Vocals"),
    "77d07b2667ddf05b9e3175941b4454a0": (1.021, 3072, 8, 7680, "Vocals"),
    "867595e9de46f6ab699008295df62798": (1.03, 3072, 8, 7680, "Vocals"),
    "8a88db95c7fb5dbe6a095ff2ffb428b1": (1.026, 2048, 8, 5120, "Instrumental"),
    "94ff780b977d3ca07c7a343dab2e25dd": (1.039, 3072, 8, 6144, "Instrumental"),
    "970b3f9492014d18fefeedfe4773cb42": (1.009, 3072, 8, 7680, "Vocals"),
    "a3cd63058945e777505c01d2507daf37": (1.03, 2048, 8, 6144, "Vocals"),
    "b06327a00d5e5fbc7d96e1781bbdb596": (1.035, 3072, 8, 6144, "Instrumental"),
    "b33d9b3950b6cbf5fe90a32608924700": (1.03, 3072, 8, 7680, "Vocals"),
    "b6bccda408a436db8500083ef3491e8b": (1.02, 3072, 8, 7680, "Instrumental"),
    "b78da4afc6512f98e4756f5977f5c6b9": (1.021, 3072, 8, 7680, "Instrumental"),
    "c3b29bdce8c4fa17ec609e16220330ab": (1.035, 2048, 8, 16384, "Bass"),
    "cc63408db3d80b4d85b0287d1d7c9632": (1.033, 3072, 8, 6144, "Instrumental"),
    "cd5b2989ad863f116c855db1dfe24e39": (1.035, 3072, 9, 6144, "Reverb"),
    "ceed671467c1f64ebdfac8a2490d0d52": (1.035, 3072, 8, 7680, "Instrumental"),
    "d2a1376f310e4f7fa37fb9b5774eb701": (1.035, 3072, 8, 7680, "Instrumental"),
    "d7bff498db9324db933d913388cba6be": (1.035, 2048, 8, 6144, "Vocals"),
    "d94058f8c7f1fae4164868ae8ae66b20": (1.035, 2048, 8, 6144, "Vocals"),
    "dc41ede5961d50f277eb846db17f5319": (1.035, 2048, 9, 4096, "Drums"),
    "e5572e58abf111f80d8241d2e44e7fa4": (1.028, 3072, 8, 7680, "Instrumental"),
    "e7324c873b1f615c35c1967f912db92a": (1.03, 3072, 8, 7680, "Vocals"),
    "ead8d05dab12ec571d67549b3aab03fc": (1.035, 3072, 8, 6144, "Instrumental"),
    "f2df6d6863d8f435436d8b561594ff49": (1.035, 3072, 8, 7680, "Instrumental"),
}
