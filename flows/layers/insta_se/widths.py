"""The exact widths of the SE block, one source for its RTL, its HLS and the estimator."""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import DataType
from flows.hwmodel.ranges import product_range, width
from flows.layers.insta_se.config import SE_HIDDEN, SE_INPUT, WEIGHT, SEConfig


@dataclass(frozen=True)
class SEWidths:
    """The MAC accumulators: the exact range of w1 @ m3 (FC1) and of w2 @ h (FC2)."""

    fc1_bits: int
    fc2_bits: int

    @property
    def acc_bits(self) -> int:
        """One accumulator serves both layers: the wider."""
        return max(self.fc1_bits, self.fc2_bits)


def se_widths(se: SEConfig) -> SEWidths:
    p1 = product_range(WEIGHT.bounds, SE_INPUT.bounds)
    p2 = product_range(WEIGHT.bounds, SE_HIDDEN.bounds)
    c, h = se.channels, se.hidden
    return SEWidths(width(c * p1[0], c * p1[1], True), width(h * p2[0], h * p2[1], True))


@dataclass(frozen=True)
class Rescaler:
    """One rne-and-saturate unit y = sat_out(rne(a * m * 2^-shift)) (optionally of max(a, 0)):
    operand a and mantissa m signed, their exact product, the product extended so that the floor
    keeps at least out.bits + 1 bits for the saturation's comparisons."""

    operand_bits: int
    mant_bits: int
    shift: int
    out: DataType
    relu: bool = False

    @property
    def product_bits(self) -> int:
        return self.operand_bits + self.mant_bits

    @property
    def wide_bits(self) -> int:
        return max(self.product_bits, self.shift + self.out.bits + 1)

    @property
    def floor_bits(self) -> int:
        return self.wide_bits - self.shift
