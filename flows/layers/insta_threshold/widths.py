"""The exact widths of InstaThreshold's datapath, one source for its RTL, its estimator and its
HLS kernel (docs/numerics.md sections 2 and 8): every width from the exact range of its value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.hwmodel.cube import CubeWidths, cube_widths
from flows.hwmodel.ranges import product_range, smallest_type, width
from flows.layers.insta_threshold.config import InstaThreshold


@dataclass(frozen=True)
class InstaThresholdWidths:
    """Bits of every value of the datapath."""

    cube: CubeWidths  # the write side: x 2^k - mu, its square and cube
    in_bits: int  # x
    stat_bits: int  # S
    op_bits: int  # the evaluators' operand: S, or for INSTA-Th+ the tanh table entry of v = SE(S)
    mant_bits: int  # M
    product_bits: int  # M * operand
    offset_bits: int  # A' (offset_range)
    sum_bits: int  # A' + M * operand
    threshold_bits: int  # the clamped threshold


def tanh_type(cfg: InstaThreshold) -> DataType:
    """INSTA-Th+: the tanh table's entries rne(3 tanh(v/3) 2^G) lie in [-3 * 2^G, 3 * 2^G]."""
    bound = 3 << cfg.tanh_frac_bits
    return smallest_type(-bound, bound)


def operand_type(cfg: InstaThreshold) -> DataType:
    """What M multiplies: S, or for INSTA-Th+ the tanh table entry."""
    return cfg.acc_type if cfg.se is None else tanh_type(cfg)


def offset_range(cfg: InstaThreshold) -> tuple[int, int]:
    """The range of A' (`hw_offsets`): A + 2^E - 1 or A + 2^E (`InstaThreshold.offset_range`)."""
    return cfg.offset_range


def hw_offsets(cfg: InstaThreshold, a: np.ndarray, sign: np.ndarray) -> list[int]:
    """A' = A + 2^E - 1 where sigma > 0 and A + 2^E where sigma < 0: then (A' + M*S) >> E is
    ceil(T) resp. floor(T) + 1, one arithmetic shift for both signs."""
    bias = 1 << cfg.exponent
    return [int(v) + bias - (1 if s > 0 else 0) for v, s in zip(a, sign, strict=True)]


def widths(cfg: InstaThreshold) -> InstaThresholdWidths:
    a_lo, a_hi = offset_range(cfg)
    op = operand_type(cfg)
    p_lo, p_hi = product_range(cfg.mantissa_type.bounds, op.bounds)
    return InstaThresholdWidths(
        cube=cube_widths(cfg.max_deviation),
        in_bits=cfg.input_type.bits,
        stat_bits=cfg.acc_type.bits,
        op_bits=op.bits,
        mant_bits=cfg.mantissa_type.bits,
        product_bits=width(p_lo, p_hi, True),
        offset_bits=width(a_lo, a_hi, True),
        sum_bits=width(a_lo + p_lo, a_hi + p_hi, True),
        threshold_bits=cfg.threshold_type.bits,
    )


def tanh_range(cfg: InstaThreshold) -> tuple[int, int]:
    """INSTA-Th+: the exact range of the tanh table's entries, +-3 * 2^G (its type is wider)."""
    bound = 3 << cfg.tanh_frac_bits
    return -bound, bound
