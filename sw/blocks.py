"""Residual building blocks of the binary ResNets (Bi-Real / ReActNet; docs/numerics.md 6-7).

One `BinaryUnit` is one binary 3x3 convolution with its own shortcut (Bi-Real: a shortcut per
conv; a ResNet basic block is two units):

    x ──> act ──> pad(-1) ──> binary conv ──> BN ──> q ─┐
    │      (RSign | INSTA-Th[+])                        (+) ──> q ──> post ──> q_out ──> next
    └──── shortcut (identity | avgpool + int8 1x1 + BN) ──> q ─┘  (RPReLU | INSTA-PReLU[+|reuse])

`q` is ONE residual quantiser instance used on both add inputs and on the sum (so the exported
add inputs share a power-of-two scale, and the sum saturates back onto the same grid); `q_out`
requantises the post-activation output, which is the next unit's input. Binary convolutions pad
their bipolar input with -1 (numerics section 7); integer convolutions pad with 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from flows.errors import ConfigError
from sw.insta_modules import InstaPReLU, InstaThreshold
from sw.quant import BinaryActivation, binary_conv, int8_conv, residual_quant

ACT_KINDS = ("rsign", "insta", "insta_se")
POST_KINDS = ("rprelu", "insta", "insta_se", "insta_reuse")


class _PadMinusOne(torch.autograd.Function):
    """Export-only: one ONNX `Pad` node with constant pads and value -1 (the exporter's own
    `nnf.pad` lowering computes the pads with a seven-node subgraph per pad)."""

    @staticmethod
    def forward(ctx, x: Tensor, pad: int) -> Tensor:
        return nnf.pad(x, (pad, pad, pad, pad), value=-1.0)

    @staticmethod
    def symbolic(g, x, pad):
        pads = g.op("Constant", value_t=torch.tensor([0, 0, pad, pad, 0, 0, pad, pad]))
        value = g.op("Constant", value_t=torch.tensor(-1.0))
        y = g.op("Pad", x, pads, value, mode_s="constant")
        sizes = x.type().sizes()
        if sizes is not None:
            y.setType(x.type().with_sizes([*sizes[:2], sizes[2] + 2 * pad, sizes[3] + 2 * pad]))
        return y


def pad_bipolar(x: Tensor, pad: int = 1) -> Tensor:
    """Pad a bipolar map with -1 on every side (stream bit 0; numerics section 7)."""
    if torch.onnx.is_in_onnx_export():
        return _PadMinusOne.apply(x, pad)
    return nnf.pad(x, (pad, pad, pad, pad), value=-1.0)


class RSign(nn.Module):
    """ReActNet RSign: sign(x - b_c) with a learnable per-channel shift; forward -> (y, None).
    The shift has shape (1, C, 1, 1), so the export is Sub + BipolarQuant without a Reshape."""

    def __init__(self, channels: int, **ste_kw) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.act = BinaryActivation(**ste_kw)

    def forward(self, x: Tensor) -> tuple[Tensor, None]:
        return self.act(x - self.shift), None


class RPReLU(nn.Module):
    """ReActNet RPReLU: PReLU_slope(x - gamma_c) + zeta_c (exports as Sub, PRelu, Add)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.slope = nn.Parameter(torch.full((channels,), 0.25))
        self.zeta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor, m3: Tensor | None = None) -> Tensor:
        return nnf.prelu(x - self.gamma, self.slope) + self.zeta


class Downsample(nn.Module):
    """Shortcut option B of the supplementary (section C): avgpool 2x2 + int8 1x1 conv + BN."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(2, 2) if stride == 2 else nn.Identity()
        self.conv = int8_conv(c_in, c_out, 1)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(self.pool(x)))


def make_act(kind: str, channels: int, *, reduction: int, **ste_kw) -> nn.Module:
    """The binarising activation of a unit: RSign, INSTA-Th or INSTA-Th+; `ste_kw` are
    `ste`, `ste_beta`, `trainable_beta` (sw.ste)."""
    if kind == "rsign":
        return RSign(channels, **ste_kw)
    if kind in ("insta", "insta_se"):
        return InstaThreshold(channels, se=kind == "insta_se", reduction=reduction, **ste_kw)
    raise ConfigError(f"unknown activation kind {kind!r}; choose one of {', '.join(ACT_KINDS)}")


def make_post(kind: str, channels: int, *, reduction: int) -> nn.Module:
    """The activation after the add: RPReLU, INSTA-PReLU, INSTA-PReLU+ or the reuse form."""
    if kind == "rprelu":
        return RPReLU(channels)
    if kind in ("insta", "insta_se", "insta_reuse"):
        se, reuse = kind == "insta_se", kind == "insta_reuse"
        return InstaPReLU(channels, se=se, reuse=reuse, reduction=reduction)
    raise ConfigError(f"unknown post-add kind {kind!r}; choose one of {', '.join(POST_KINDS)}")


class BinaryUnit(nn.Module):
    """One binary 3x3 conv with its own shortcut (see the module docstring); `ste_kw` are
    `ste`, `ste_beta`, `trainable_beta` of the binarising activation."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        *,
        stride: int = 1,
        act: str = "rsign",
        post: str = "rprelu",
        reduction: int = 16,
        res_bits: int = 8,
        res_max: float = 8.0,
        **ste_kw,
    ) -> None:
        super().__init__()
        if post == "insta_reuse" and act == "rsign":
            raise ConfigError("post 'insta_reuse' needs an INSTA-Th activation to reuse m3 from")
        self.act = make_act(act, c_in, reduction=reduction, **ste_kw)
        self.conv = binary_conv(c_in, c_out, 3, stride)
        self.bn = nn.BatchNorm2d(c_out)
        needs_projection = stride != 1 or c_in != c_out
        self.shortcut = Downsample(c_in, c_out, stride) if needs_projection else nn.Identity()
        self.q = residual_quant(res_bits, res_max)
        self.post = make_post(post, c_out, reduction=reduction)
        self.q_out = residual_quant(res_bits, res_max)

    def forward(self, x: Tensor) -> Tensor:
        a, m3 = self.act(x)
        y = self.bn(self.conv(pad_bipolar(a)))
        s = self.q(self.q(y) + self.q(self.shortcut(x)))
        return self.q_out(self.post(s, m3))
