"""The key names and shapes of real checkpoints' generators, written out from the public
architectures (RVC_REFERENCE.md §2; Applio's ``rvc/lib/algorithm``, as tabled in the research
notes), independently of our model code, for tests to compare our modules and factories with.

RVC's 12 (version, rate) x f0 variants were checked once against the public
``SynthesizerTrnMs*NSFsid*`` classes; Applio's MRF HiFi-GAN and RefineGAN decoders against
Applio's own classes (``scripts/check_against_applio.py`` prints whether the sets are equal).
"""

from __future__ import annotations

import math

# (version, rate) -> (upsample_rates, upsample_kernel_sizes), the reference table
TABLE = {
    ("v1", 32000): ((10, 4, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v1", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v1", 48000): ((10, 6, 2, 2, 2), (16, 16, 4, 4, 4)),
    ("v2", 32000): ((10, 8, 2, 2), (20, 16, 4, 4)),
    ("v2", 40000): ((10, 10, 2, 2), (16, 16, 4, 4)),
    ("v2", 48000): ((12, 10, 2, 2), (24, 20, 4, 4)),
}


def _writers(keys: dict[str, tuple]):
    """``plain(name, *weight, bias=True)`` and ``normed(name, *v, out=None, bias=True)`` add a
    layer's keys: a plain weight (and bias), or weight norm's ``weight_g`` (one value per ``v``'s
    first axis) and ``weight_v`` (and a bias of ``out`` or ``v[0]`` values)."""

    def plain(name, *weight, bias=True):
        keys[name + ".weight"] = tuple(weight)
        if bias:
            keys[name + ".bias"] = (weight[0],)

    def normed(name, *v, out=None, bias=True):
        keys[name + ".weight_g"] = (v[0], 1, 1)
        keys[name + ".weight_v"] = tuple(v)
        if bias:
            keys[name + ".bias"] = (out or v[0],)

    return plain, normed


def rvc_keys(version: str, rate: int, f0: bool, speakers: int = 1, enc_q: bool = False) -> dict[str, tuple]:
    """Key -> shape of a real RVC checkpoint's generator (``weight_g``/``weight_v`` form)."""
    rates, kernels = TABLE[(version, rate)]
    keys: dict[str, tuple] = {}
    plain, normed = _writers(keys)

    def wavenet(name, layers, gin):
        normed(f"{name}.cond_layer", 2 * 192 * layers, gin, 1)
        for i in range(layers):
            normed(f"{name}.in_layers.{i}", 384, 192, 5)
            normed(f"{name}.res_skip_layers.{i}", 384 if i < layers - 1 else 192, 192, 1)

    plain("enc_p.emb_phone", 192, 256 if version == "v1" else 768)
    if f0:
        keys["enc_p.emb_pitch.weight"] = (256, 192)
    enc = "enc_p.encoder"
    for i in range(6):
        for c in "qkvo":
            plain(f"{enc}.attn_layers.{i}.conv_{c}", 192, 192, 1)
        keys[f"{enc}.attn_layers.{i}.emb_rel_k"] = keys[f"{enc}.attn_layers.{i}.emb_rel_v"] = (1, 21, 96)
        for n in (1, 2):
            keys[f"{enc}.norm_layers_{n}.{i}.gamma"] = keys[f"{enc}.norm_layers_{n}.{i}.beta"] = (192,)
        plain(f"{enc}.ffn_layers.{i}.conv_1", 768, 192, 3)
        plain(f"{enc}.ffn_layers.{i}.conv_2", 192, 768, 3)
    plain("enc_p.proj", 384, 192, 1)
    plain("dec.conv_pre", 512, 192, 7)
    for i, k in enumerate(kernels):
        ch = 512 >> (i + 1)
        normed(f"dec.ups.{i}", 2 * ch, ch, k, out=ch)  # ConvTranspose1d (in, out, k)
        if f0:
            stride = math.prod(rates[i + 1 :])
            plain(f"dec.noise_convs.{i}", ch, 1, 2 * stride if i + 1 < len(rates) else 1)
        for j, rk in enumerate((3, 7, 11)):
            for n in range(3):
                normed(f"dec.resblocks.{3 * i + j}.convs1.{n}", ch, ch, rk)
                normed(f"dec.resblocks.{3 * i + j}.convs2.{n}", ch, ch, rk)
    keys["dec.conv_post.weight"] = (1, 512 >> len(rates), 7)
    plain("dec.cond", 512, 256, 1)
    if f0:
        plain("dec.m_source.l_linear", 1, 1)
    for f in (0, 2, 4, 6):
        plain(f"flow.flows.{f}.pre", 192, 96, 1)
        wavenet(f"flow.flows.{f}.enc", 3, 256)
        plain(f"flow.flows.{f}.post", 96, 192, 1)
    keys["emb_g.weight"] = (speakers, 256)
    if enc_q:
        plain("enc_q.pre", 192, 513 if rate == 32000 else 1025, 1)
        wavenet("enc_q.enc", 16, 256)
        plain("enc_q.proj", 384, 192, 1)
    return keys


# Applio's v2 configs (rvc/configs/*.json): rate -> (upsample_rates, upsample_kernel_sizes)
APPLIO_V2 = {
    24000: ((10, 6, 2, 2), (20, 12, 4, 4)),
    32000: ((10, 8, 2, 2), (20, 16, 4, 4)),
    40000: ((10, 10, 2, 2), (16, 16, 4, 4)),
    48000: ((12, 10, 2, 2), (24, 20, 4, 4)),
}


def refinegan_dec_keys() -> dict[str, tuple]:
    """``dec.*`` of Applio's RefineGAN (the layout since August 2025): the same at every rate.

    271 tensors: the source merge; ``pre_conv`` 1 -> 16 and the pyramid's convs 16*2^i ->
    32*2^i (weight-normed, kernel 7); ``mel_conv`` 192 -> 256 (weight-normed) and ``cond``; per
    stage ``input_conv`` (plain) to C = 256, 128, 64, 32 from C*2 + C/2 channels, and three
    branches (kernel 3, 7, 11) of AdaIN, residual block (weight-normed, dilations 1, 3, 5), AdaIN;
    ``conv_post`` 32 -> 1 without bias.
    """
    keys: dict[str, tuple] = {}
    plain, normed = _writers(keys)
    keys["dec.m_source.merge.0.weight"] = (1, 1)
    normed("dec.pre_conv", 16, 1, 7)
    for i in range(4):
        normed(f"dec.downsample_blocks.{i}", 32 << i, 16 << i, 7)
    normed("dec.mel_conv", 256, 192, 7)
    plain("dec.cond", 256, 256, 1)
    for i, (c, c_in) in enumerate(((256, 640), (128, 320), (64, 160), (32, 80))):
        stage = f"dec.upsample_conv_blocks.{i}"
        plain(f"{stage}.input_conv", c, c_in, 7)
        for b, k in enumerate((3, 7, 11)):
            keys[f"{stage}.blocks.{b}.0.weight"] = keys[f"{stage}.blocks.{b}.2.weight"] = (c,)
            for j in range(3):
                normed(f"{stage}.blocks.{b}.1.convs1.{j}", c, c, k)
                normed(f"{stage}.blocks.{b}.1.convs2.{j}", c, c, k)
    normed("dec.conv_post", 1, 32, 7, bias=False)
    return keys


def mrf_dec_keys(rate: int) -> dict[str, tuple]:
    """``dec.*`` of Applio's MRF HiFi-GAN at a v2 ``rate``: 246 tensors.

    A 9 -> 1 source merge with bias; weight-normed ``conv_pre`` 192 -> 512, ``upsamples``
    (transposed, g per input channel), ``mrfs`` (kernel 3, 7, 11 x dilation 1, 3, 5) and
    ``conv_post`` 32 -> 1 with bias; plain ``noise_convs`` (kernel 2 * the rates still to come,
    1 at the last stage) and ``cond``.
    """
    rates, kernels = APPLIO_V2[rate]
    keys: dict[str, tuple] = {}
    plain, normed = _writers(keys)
    plain("dec.m_source.l_linear", 1, 9)
    normed("dec.conv_pre", 512, 192, 7)
    for i, k in enumerate(kernels):
        c = 256 >> i
        normed(f"dec.upsamples.{i}", 2 * c, c, k, out=c)
        stride = math.prod(rates[i + 1 :])
        plain(f"dec.noise_convs.{i}", c, 1, 2 * stride if stride > 1 else 1)
        for j, rk in enumerate((3, 7, 11)):
            for n in range(3):
                normed(f"dec.mrfs.{i}.{j}.layers.{n}.conv1", c, c, rk)
                normed(f"dec.mrfs.{i}.{j}.layers.{n}.conv2", c, c, rk)
    normed("dec.conv_post", 1, 32, 7)
    plain("dec.cond", 512, 256, 1)
    return keys


def applio_keys(vocoder: str, rate: int, speakers: int = 1) -> dict[str, tuple]:
    """Key -> shape of an Applio v2 f0 model's generator as ``extract_model`` saves it: RVC v2's
    text encoder, flow and speaker table with the ``vocoder``'s decoder."""
    rest = {k: v for k, v in rvc_keys("v2", 40000, True, speakers).items() if not k.startswith("dec.")}
    if vocoder == "RefineGAN":
        return {**rest, **refinegan_dec_keys()}
    if vocoder == "MRF HiFi-GAN":
        return {**rest, **mrf_dec_keys(rate)}
    raise ValueError(vocoder)


def as_gv(state) -> dict[str, tuple]:
    """Key -> shape with parametrization names as the files store them (``weight_g``/``weight_v``)."""
    renames = ((".parametrizations.weight.original0", ".weight_g"), (".parametrizations.weight.original1", ".weight_v"))
    out = {}
    for key, value in state.items():
        for old, new in renames:
            key = key.replace(old, new)
        out[key] = tuple(value.shape)
    return out
