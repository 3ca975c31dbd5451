"""The serial evaluator (hw/lib/eval_serial.v): y = clamp(round((a + m*s) 2^-E), lo, hi) one bit
per cycle, for the INSTA blocks' once-per-frame evaluations (docs/insta.md, "Serial
evaluators"). Its length N, its cycles per step and its cost."""

from __future__ import annotations

import math

from flows.hwmodel.ranges import width


def serial_bits(sum_bits: int, exponent: int, out_bits: int, lo: int, hi: int) -> int:
    """N, the bits of u = a + m*s the module walks through: the exact sum plus one (the rounding
    carry), and enough above the shift E for y's OW bits and for LO and HI as signed values."""
    bounds = max(width(lo, lo, True), width(hi, hi, True))
    return max(sum_bits + 1, exponent + out_bits + 1, exponent + bounds)


def serial_cycles(n: int) -> int:
    """Cycles per step: N bits, then the result (`done` N + 1 cycles after `start`)."""
    return n + 1


def serial_cost(s_bits: int, m_bits: int, a_bits: int, n: int, out_bits: int) -> tuple[int, int]:
    """(LUT, FF) of one eval_serial in ECP5 LUT4s: the bit selects of s and a (a multiplexer of
    their widths), the multiplier's m + 2-bit adder, the counter and its compares, the serial
    adder, rounding and comparisons, and y's output multiplexer; FFs: the operands, the partial
    sum, the counter, y and its collector, the state bits."""
    cw = max(1, math.ceil(math.log2(n)))
    lut = math.ceil(s_bits / 2) + math.ceil(a_bits / 2) + (m_bits + 2) + 2 * cw + 12 + out_bits
    ff = s_bits + m_bits + a_bits + (m_bits + 1) + cw + 2 * out_bits + 9
    return lut, ff
