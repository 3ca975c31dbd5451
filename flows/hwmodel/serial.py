"""The serial evaluator (hw/lib/eval_serial.v): y = clamp(round((a + m*s) 2^-E), lo, hi) one bit
per cycle, for the INSTA blocks' once-per-frame evaluations (docs/insta.md, "Serial
evaluators"). Its length N, its cycles per step and its cost."""

from __future__ import annotations

from flows.hwmodel.ranges import width
from flows.hwmodel.structure import clog2


def serial_bits(sum_bits: int, exponent: int, out_bits: int, lo: int, hi: int) -> int:
    """N, the bits of u = a + m*s the module walks through: the exact sum plus one (the rounding
    carry), and enough above the shift E for y's OW bits and for LO and HI as signed values."""
    bounds = max(width(lo, lo, True), width(hi, hi, True))
    return max(sum_bits + 1, exponent + out_bits + 1, exponent + bounds)


def serial_cycles(n: int) -> int:
    """Cycles per step: N bits, then the result (`done` N + 1 cycles after `start`)."""
    return n + 1


# LUTs of eval_serial beyond the terms `serial_cost` names (its compares of the bit count, the
# bounds' bits indexed by it, the serial adder, the clamp's state), floor and round half to even:
# fitted on four Yosys 0.70 synth_ecp5 runs of the module alone (s x m + a, N, OW: 49 x 18 + 48,
# 70, 9 floor: 185 LUT; 20 x 10 + 16, 32, 6 floor: 123; 47 x 16 + 48, 64, 8 RNE: 250; 20 x 10 +
# 16, 32, 6 RNE: 157; the model 0.93-1.08 of them).
SERIAL_FIXED_LUT = {False: 40, True: 95}


def serial_cost(
    s_bits: int, m_bits: int, a_bits: int, n: int, out_bits: int, rne: bool, groups: int
) -> tuple[int, int]:
    """(LUT, FF) of one serial evaluator in ECP5 LUT4s: eval_serial (a LUT per bit of s and a,
    their shift registers' load; the multiplier's m + 2-bit adder, the bit count's adder and
    compares, y's output multiplexer and SERIAL_FIXED_LUT; FFs: the operands, the partial sum,
    the count, y and its collector, the state bits), and the block's register set that holds the
    step's control from the read to `done` (its channel group of `groups` and lane group, last
    step, sigma < 0 in INSTA-Th)."""
    cw = clog2(n)
    lut = s_bits + a_bits + m_bits + 2 + 4 * cw + out_bits + SERIAL_FIXED_LUT[rne]
    ff = s_bits + m_bits + a_bits + (m_bits + 1) + cw + 2 * out_bits + 9
    control = 2 * clog2(groups) + 4
    return lut, ff + control
