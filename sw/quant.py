"""Brevitas quantisers shared by the models (docs/numerics.md).

* `BinaryWeightPerChannel`: sign(W) times a per-output-channel scale mean(|W|).
* `BinaryAct` (clipped STE, Brevitas' own) and `BinaryActivation` (selectable STE, `sw.ste`):
  both export as a QONNX `BipolarQuant` with scale 1, sign(0) = +1.
* `Int8WeightPerChannel`: first conv, downsample 1x1 convs and the last FC.
* `ResidualQuant` / `residual_quant`: the residual stream, signed N-bit (default 8), power-of-two
  scale, round half to even, saturating (numerics section 6). A block creates ONE instance and
  calls it on both inputs of its add (and on the sum), so the exported add inputs share a scale.
* `PixelQuant`: the input contract, UINT8 pixels with scale 1 (numerics section 4).
"""

from __future__ import annotations

import torch
from brevitas.core.function_wrapper import TensorClampSte
from brevitas.core.quant import BinaryQuant, ClampedBinaryQuant
from brevitas.inject.enum import RestrictValueType, ScalingImplType, ScalingPerOutputType, StatsOp
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from brevitas.quant import (
    Int8WeightPerChannelFloat,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)
from brevitas.quant.fixed_point import Int8ActPerTensorFixedPointMinMaxInit
from torch import Tensor, nn

from sw.ste import SurrogateIdentity, check_kind


class BinaryWeightPerChannel(SignedBinaryWeightPerTensorConst):
    """Binary weights sign(W) with a per-output-channel scale mean(|W|) (XNOR-Net style)."""

    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    scaling_per_output_type = ScalingPerOutputType.CHANNEL
    # The stock in-place clamp breaks autograd once the scale is a statistic of W.
    tensor_clamp_impl = TensorClampSte


class BinaryAct(SignedBinaryActPerTensorConst):
    """Bipolar activation with scale 1: +1 where x >= 0, else -1; clipped straight-through."""


class BinarySignQuant(SignedBinaryActPerTensorConst):
    """Bipolar activation with scale 1 and an identity backward (no clamp): the gradient's shape
    comes from the `sw.ste` surrogate placed in front of it. Exports as `BipolarQuant`."""

    tensor_quant = BinaryQuant
    scaling_const = 1.0


class PixelQuant(Uint8ActPerTensorFloat):
    """The input contract (numerics section 4): UINT8 pixels, scale 1, zero point 0."""

    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    scaling_const = 1.0
    max_val = 255.0


class Int8WeightPerChannel(Int8WeightPerChannelFloat):
    """Integer (8-bit, narrow -127..127) weights with a per-output-channel float scale."""


class ResidualQuant(Int8ActPerTensorFixedPointMinMaxInit):
    """Signed 8-bit residual stream, learned power-of-two scale initialised from +-8."""

    min_val = -8.0
    max_val = 8.0


def residual_quant(bits: int = 8, max_val: float = 8.0) -> QuantIdentity:
    """A fresh residual-stream quantiser (`bits` signed, power-of-two scale, saturating)."""
    quant = ResidualQuant.let(bit_width=bits, min_val=-max_val, max_val=max_val)
    return QuantIdentity(act_quant=quant, return_quant_tensor=False)


class BinaryActivation(nn.Module):
    """sign(x) with sign(0) = +1 and a selectable backward (`sw.ste.STE_KINDS`).

    The surrogate runs only while gradients are recorded; eval and export see the Brevitas
    binary quantiser alone, which exports as QONNX `BipolarQuant` (scale 1).
    """

    def __init__(
        self, *, ste: str = "clipped", ste_beta: float = 5.0, trainable_beta: bool = False
    ) -> None:
        super().__init__()
        self.ste = check_kind(ste)
        self.ste_beta = nn.Parameter(torch.tensor(float(ste_beta)), requires_grad=trainable_beta)
        self.quant = QuantIdentity(act_quant=BinarySignQuant, return_quant_tensor=False)

    def forward(self, x: Tensor) -> Tensor:
        if torch.is_grad_enabled() and x.requires_grad:
            beta = self.ste_beta if self.ste == "sign_swish" else None
            x = SurrogateIdentity.apply(x, beta, self.ste)
        return self.quant(x)


def binary_conv(c_in: int, c_out: int, k: int, stride: int = 1) -> QuantConv2d:
    """Binary-weight convolution with no padding of its own (numerics section 7)."""
    return QuantConv2d(
        c_in, c_out, k, stride=stride, padding=0, bias=False, weight_quant=BinaryWeightPerChannel
    )


def int8_conv(c_in: int, c_out: int, k: int, stride: int = 1, padding: int = 0) -> QuantConv2d:
    """8-bit-weight convolution (zero padding is exact on integer inputs)."""
    return QuantConv2d(
        c_in,
        c_out,
        k,
        stride=stride,
        padding=padding,
        bias=False,
        weight_quant=Int8WeightPerChannel,
    )


def int8_linear(c_in: int, c_out: int, bias: bool = True) -> QuantLinear:
    """8-bit-weight fully connected layer with a float bias (the last layer keeps it)."""
    return QuantLinear(c_in, c_out, bias=bias, weight_quant=Int8WeightPerChannel)


def binary_weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) of every Brevitas layer whose weight quantiser is 1-bit by construction."""
    found = []
    for name, m in model.named_modules():
        tensor_quant = getattr(getattr(m, "weight_quant", None), "tensor_quant", None)
        if isinstance(tensor_quant, BinaryQuant | ClampedBinaryQuant):
            found.append((name, m))
    return found


def set_binary_weights(model: nn.Module, enabled: bool) -> None:
    """Switch binary weight quantisation on or off (stage 1 of two-stage training trains real
    weights with binary activations); `sw.export` refuses a model with it switched off."""
    for _, layer in binary_weight_layers(model):
        layer.weight_quant.disable_quant = not enabled
