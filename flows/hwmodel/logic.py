"""Logic and multipliers per target family: what the estimator's models are built from.

Families: "ecp5" (Lattice ECP5, LUT4), "xc7" (Xilinx 7 series, LUT6) and "xcup" (UltraScale+).
The mapping rules were measured with Yosys 0.70 (`synth_ecp5`, `synth_xilinx`); docs/hardware.md
and docs/estimator.md give the figures.
"""

from __future__ import annotations

import math

from flows.datatypes import DataType

# LUT inputs per family: a LUT is a 2**k-deep, 1-bit ROM.
LUT_K = {"ecp5": 4, "xc7": 6, "xcup": 6}
# LUT6 families need fewer LUTs for the same adders/comparators than ECP5's LUT4 (carry logic in
# CARRY4/8 is not counted as LUT); fitted on the digits_bnn layers (docs/flow.md, Estimator).
LOGIC_SCALE = {"ecp5": 1.0, "xc7": 0.6, "xcup": 0.6}
CONTROL_LUT, CONTROL_FF = 60, 60  # counters, handshake and the 2-word output FIFO of every layer


def scaled(luts: float, family: str) -> int:
    """LUTs of logic counted in ECP5 LUT4s, on `family`."""
    return math.ceil(luts * LOGIC_SCALE[family])


def dsp_per_product(xt: DataType, wt: DataType, family: str) -> int:
    """DSP blocks Yosys gives one `x * w` product, 0 where it keeps the product in LUTs.

    Measured with Yosys 0.70 (mul2dsp): ECP5 maps every product of at least 2x2 bits to
    MULT18X18D (18x18, signed or unsigned); Xilinx only products with a result of at least 9 bits
    to DSP48 (25x18 on xc7, 27x18 on UltraScale(+), signed only: an unsigned operand takes one
    bit more; a wider operand in 17-bit slices). Yosys ignores `use_dsp`; Vivado honours it
    (docs/hardware.md).
    """
    a, b = xt.bits, wt.bits
    if min(a, b) < 2:
        return 0
    if family == "ecp5":
        return math.ceil(a / 18) * math.ceil(b / 18)
    a, b = a + (not xt.signed), b + (not wt.signed)
    if a + b - 1 < 9:
        return 0
    big = 25 if family == "xc7" else 27
    hi, lo = max(a, b), min(a, b)
    # A wider operand is cut into 17-bit slices (measured: 31 x 18 -> 2, 43 x 18 -> 3 DSP48E1).
    slices = 1 if hi <= big else math.ceil(hi / 17)
    return slices * math.ceil(lo / 18)


def mul_slices(a_bits: int) -> int:
    """Slices of an `a_bits`-bit operand as hw/lib/mul_pipe.v, mul_seq.v and cube_seq.v cut it:
    17-bit unsigned slices from the bottom and a signed top of at most 18 bits."""
    return 1 if a_bits <= 18 else 1 + math.ceil((a_bits - 18) / 17)


def mul_pipe_blocks(a_bits: int, b_bits: int) -> int:
    """Multiplier blocks of one hw/lib/mul_pipe.v product (`mul_slices` of a): one 18x18 block
    per slice and 18 bits of b, on every family (an 18x18 product maps to MULT18X18D and DSP48
    alike)."""
    return mul_slices(a_bits) * math.ceil(b_bits / 18)


def lut_multiplier(a: int, b: int, family: str) -> int:
    """LUTs of an a x b bit multiplier in logic, fitted on Yosys 0.70 IntMVAU lanes (INT4 x INT4
    and UINT8 x INT8, shift-and-add and `*` alike): ABC maps ECP5's LUT4 array superlinearly
    (~39 LUT4 at 4x4, ~274 at 8x8); LUT6 families with carry chains ~2 LUT per bit product."""
    if family == "ecp5":
        return math.ceil(a * b * (a + b) / 4)
    return 2 * a * b
