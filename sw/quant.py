"""Brevitas quantisers shared by the models (docs/numerics.md)."""

from __future__ import annotations

from brevitas.core.function_wrapper import TensorClampSte
from brevitas.inject.enum import RestrictValueType, ScalingImplType, ScalingPerOutputType, StatsOp
from brevitas.quant import (
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFloat,
)


class BinaryWeightPerChannel(SignedBinaryWeightPerTensorConst):
    """Binary weights sign(W) with a per-output-channel scale mean(|W|) (XNOR-Net style)."""

    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    scaling_per_output_type = ScalingPerOutputType.CHANNEL
    # The stock in-place clamp breaks autograd once the scale is a statistic of W.
    tensor_clamp_impl = TensorClampSte


class BinaryAct(SignedBinaryActPerTensorConst):
    """Bipolar activation with scale 1: +1 where x >= 0, else -1; clipped straight-through."""


class PixelQuant(Uint8ActPerTensorFloat):
    """The input contract (numerics section 4): UINT8 pixels, scale 1, zero point 0."""

    scaling_impl_type = ScalingImplType.CONST
    restrict_scaling_type = RestrictValueType.FP
    scaling_const = 1.0
    max_val = 255.0
