"""Exact value ranges and the bits that hold them (docs/numerics.md section 2: nothing wraps).

Every width in the flow comes from here: a layer's output type, a datapath register of the RTL,
an `ap_int` of the HLS and the estimator's bit counts all call `width` on an exact range, and
every range of a product comes from `product_range`.
"""

from __future__ import annotations

from flows.datatypes import INT, UINT, DataType


def width(lo: int, hi: int, signed: bool, at_least: int = 1) -> int:
    """Bits holding every integer in [lo, hi]: two's complement if `signed`, else unsigned (then
    lo must be >= 0); never fewer than `at_least`."""
    if not signed:
        return max(at_least, int(hi).bit_length())
    magnitude = max(int(-lo - 1).bit_length() if lo < 0 else 0, int(max(hi, 0)).bit_length())
    return max(at_least, magnitude + 1)


def smallest_type(lo: int, hi: int) -> DataType:
    """The narrowest UINT/INT type holding every integer in [lo, hi] (INT has at least 2 bits)."""
    if lo >= 0:
        return UINT(width(lo, hi, False))
    return INT(width(lo, hi, True, at_least=2))


def product_range(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The exact range of x * y for x in the range a and y in the range b."""
    corners = [x * y for x in a for y in b]
    return min(corners), max(corners)


def dot_range(xt: DataType, wt: DataType, n: int) -> tuple[int, int]:
    """The exact range of a length-n dot product of values of types xt and wt."""
    lo, hi = product_range(xt.bounds, wt.bounds)
    return n * lo, n * hi


def affine_range(xt: DataType, mt: DataType, at: DataType) -> tuple[int, int]:
    """The exact range of x * mul + add over the three types."""
    lo, hi = product_range(xt.bounds, mt.bounds)
    return lo + at.min, hi + at.max
