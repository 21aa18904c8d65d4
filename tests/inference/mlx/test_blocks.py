"""Block-level parity of the MLX port against PyTorch on the same weights and inputs.

Tolerances (fp32): each block's output must match PyTorch within ``1e-5 * peak + 1e-6`` unless
stated; both convolution paths (the CPU matmul path and MLX's native op, used on Metal) are
checked. Inputs are channels-first for torch and channels-last for MLX; they are swapped only
at the boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.core.runtime import import_mlx, import_torch

mx = import_mlx()
torch = import_torch()

from inference.mlx.conv import Conv1d, ConvTranspose1d, use_matmul  # noqa: E402
from inference.models.state import fold_weight_norm, to_numpy  # noqa: E402

RTOL = 1e-5


def assert_close(mine: np.ndarray, ref: np.ndarray, rtol: float = RTOL) -> None:
    assert mine.shape == ref.shape, (mine.shape, ref.shape)
    peak = float(np.abs(ref).max())
    err = float(np.abs(mine - ref).max())
    assert err <= rtol * peak + 1e-6, f"max |diff| {err:.3g} vs peak {peak:.3g}"


def to_mlx(x: np.ndarray) -> mx.array:
    """``[B, C, T]`` numpy -> ``[B, T, C]`` MLX."""
    return mx.array(np.ascontiguousarray(x.transpose(0, 2, 1)))


def from_mlx(y: mx.array) -> np.ndarray:
    return np.array(y).transpose(0, 2, 1)


def weight_normed(module, style: str):
    if style == "gv":
        return torch.nn.utils.weight_norm(module)
    return torch.nn.utils.parametrizations.weight_norm(module)


def folded(module) -> np.ndarray:
    """The fused weight from a module's stored g and v (either storage style)."""
    sd = module.state_dict()
    if "weight_g" in sd:
        return fold_weight_norm(to_numpy(sd["weight_g"]), to_numpy(sd["weight_v"]))
    return fold_weight_norm(
        to_numpy(sd["parametrizations.weight.original0"]), to_numpy(sd["parametrizations.weight.original1"])
    )


def randomize_(module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3 + (0.5 if p.ndim == 3 and p.shape[1:] == (1, 1) else 0))


@pytest.mark.parametrize("impl", ["matmul", "native"])
@pytest.mark.parametrize("style", ["gv", "parametrizations"])
@pytest.mark.parametrize(
    "cin,cout,k,stride,padding,dilation",
    [
        (16, 16, 3, 1, 1, 1),
        (16, 16, 11, 1, 25, 5),  # a dilated ResBlock conv
        (12, 8, 7, 1, 3, 1),  # conv_pre / conv_post shape
        (1, 8, 24, 12, 6, 1),  # a noise conv: kernel 2*stride, stride, padding stride//2
        (1, 8, 1, 1, 0, 1),  # the last noise conv
    ],
)
def test_conv1d_with_weight_norm(cin, cout, k, stride, padding, dilation, style, impl) -> None:
    ref = weight_normed(torch.nn.Conv1d(cin, cout, k, stride, padding, dilation), style)
    randomize_(ref, seed=k)
    x = np.random.default_rng(k).standard_normal((1, cin, 97)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    conv = Conv1d(cin, cout, k, stride, padding, dilation)
    conv.weight = mx.array(folded(ref).transpose(0, 2, 1).astype(np.float32))
    conv.bias = mx.array(to_numpy(ref.bias))
    conv.impl = impl
    assert_close(from_mlx(conv(to_mlx(x))), expected)
    # ``add`` (a residual, the NSF source) is summed into the output by both paths
    extra = np.random.default_rng(k + 1).standard_normal(expected.shape).astype(np.float32)
    assert_close(from_mlx(conv(to_mlx(x), add=to_mlx(extra))), expected + extra)
    conv.bias = None
    with torch.no_grad():
        no_bias = torch.nn.functional.conv1d(torch.from_numpy(x), ref.weight, None, stride, padding, dilation).numpy()
    assert_close(from_mlx(conv(to_mlx(x), add=to_mlx(extra))), no_bias + extra)


@pytest.mark.parametrize("impl", ["matmul", "native"])
@pytest.mark.parametrize("style", ["gv", "parametrizations"])
@pytest.mark.parametrize("k,u", [(16, 10), (16, 6), (16, 4), (20, 8), (24, 12), (20, 10), (4, 2)])
def test_conv_transpose1d_with_weight_norm(k, u, style, impl) -> None:
    """Every upsampling layer shape of the RVC configs; g is per *input* channel here."""
    ref = weight_normed(torch.nn.ConvTranspose1d(12, 6, k, u, padding=(k - u) // 2), style)
    randomize_(ref, seed=k * u)
    x = np.random.default_rng(u).standard_normal((1, 12, 23)).astype(np.float32)
    with torch.no_grad():
        expected = ref(torch.from_numpy(x)).numpy()
    up = ConvTranspose1d(12, 6, k, u, padding=(k - u) // 2)
    up.weight = mx.array(folded(ref).transpose(1, 2, 0).astype(np.float32))
    up.bias = mx.array(to_numpy(ref.bias))
    up.impl = impl
    assert_close(from_mlx(up(to_mlx(x))), expected)


def test_weight_norm_axis_is_read_from_g() -> None:
    """A norm over another axis (HuBERT's positional conv uses dim=2) folds like torch's."""
    conv = torch.nn.utils.weight_norm(torch.nn.Conv1d(4, 6, 5), dim=2)
    randomize_(conv, seed=3)
    sd = conv.state_dict()
    assert tuple(sd["weight_g"].shape) == (1, 1, 5)
    expected = torch._weight_norm(sd["weight_v"].double(), sd["weight_g"].double(), 2).numpy()
    np.testing.assert_allclose(
        fold_weight_norm(to_numpy(sd["weight_g"]), to_numpy(sd["weight_v"])), expected, rtol=1e-12
    )


def test_fold_is_done_in_float64() -> None:
    """fp16 checkpoints: the fold must not lose precision before the final cast."""
    g = np.full((3, 1, 1), 2.0, dtype=np.float16)
    v = np.random.default_rng(0).standard_normal((3, 4, 5)).astype(np.float16)
    w = fold_weight_norm(g, v)
    assert w.dtype == np.float64
    norms = np.sqrt((w**2).sum(axis=(1, 2)))
    np.testing.assert_allclose(norms, 2.0, rtol=1e-12)


def test_cpu_device_uses_the_matmul_path() -> None:
    assert mx.default_device().type == mx.DeviceType.cpu
    assert use_matmul("auto")
    assert not use_matmul("native")
    with pytest.raises(ValueError):
        use_matmul("fast")


def test_leaky_relu_is_one_compiled_kernel_with_pytorchs_values(monkeypatch) -> None:
    """The leaky ReLU runs as MLX's compiled kernel here (this machine has the C++ compiler MLX's
    CPU backend needs) and equals PyTorch's bit for bit, any shape and slope; where compiling
    fails it is found out once and the plain two-op form is used, with the same values."""
    from inference.mlx import conv

    rng = np.random.default_rng(0)
    cases = [
        (rng.standard_normal(shape).astype(np.float32), slope)
        for shape in ((7,), (1, 300, 32))
        for slope in (0.1, 0.2, 0.01)
    ]

    def check() -> None:
        for x, slope in cases:
            want = torch.nn.functional.leaky_relu(torch.from_numpy(x), slope).numpy()
            assert np.array_equal(np.array(conv.leaky_relu(mx.array(x), slope)), want)

    assert conv._fused_leaky() is not None
    check()

    def no_compiler(fn, **_):
        def broken(*args):
            raise RuntimeError("[Compile::eval_cpu] Failed to compile function")

        return broken

    conv._fused_leaky.cache_clear()
    monkeypatch.setattr(conv.mx, "compile", no_compiler)
    try:
        assert conv._fused_leaky() is None
        check()
    finally:
        conv._fused_leaky.cache_clear()
