"""Requantisation `sat(rne(y * 2^-shift))` of an exact signed sum y (docs/numerics.md sections 6
and 10): its widths for the RTL (hw/templates/_requant.v.j2) and its cost for the estimator.

The rounding is `flows.fixedpoint.rne_shift` in gates: `floor = y >>> shift` (the bits above the
shift), plus one when the bits shifted out exceed half, or equal half and `floor` is odd.
Saturation compares with the target's limits only on the side where the rounded range leaves
the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.datatypes import DataType, Kind
from flows.fixedpoint import rne_shift
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, dsp_per_product, lut_multiplier, scaled
from flows.hwmodel.memory import SHALLOW_ROM_SHARE, shallow_rom
from flows.hwmodel.ranges import width
from flows.hwmodel.resources import Estimate


@dataclass(frozen=True)
class Requant:
    """Widths and limits of sat(rne(y * 2^-shift)) for a signed y in an exact range."""

    shift: int
    sum_bits: int  # y
    shifted_bits: int  # y extended to at least one bit above the shift (the sign)
    floor_bits: int  # floor(y 2^-shift) and floor + 1 (the rounded value)
    clamp_bits: int  # the rounded value compared with the saturation limits
    out_bits: int
    sat_lo: int | None  # the lower limit, where the rounded range leaves the target below
    sat_hi: int | None  # the upper limit, where it leaves it above
    saturation: str  # the saturation type's name, "none" without one


def requant(lo: int, hi: int, shift: int, sat: DataType | None, out: DataType) -> Requant:
    """The requantisation of a signed y in [lo, hi] (no wrap anywhere)."""
    sw = width(lo, hi, True)
    if shift:
        yw = max(sw, shift + 1)  # at least one bit above the shift, the sign
        qlo, qhi = lo >> shift, (hi >> shift) + 1  # floor, and floor + 1 (rounded up)
    else:
        yw, qlo, qhi = sw, lo, hi
    qw = width(qlo, qhi, True)
    rlo, rhi = (int(rne_shift(v, shift)) for v in (lo, hi))
    sat_lo = sat.min if sat is not None and rlo < sat.min else None
    sat_hi = sat.max if sat is not None and rhi > sat.max else None
    clamps = sat_lo is not None or sat_hi is not None
    cw = max(qw, width(sat.min, sat.max, True)) if clamps else qw
    name = sat.name if sat is not None else "none"
    return Requant(shift, sw, yw, qw, cw, out.bits, sat_lo, sat_hi, name)


def requant_lane_estimate(
    cfg, rq: Requant, compare_bits: int, roms: list[int], family: str
) -> Estimate:
    """A per-channel multiply-add with requantisation, PE lanes (requantising Affine, RPReLU):
    one product per lane (a DSP where Yosys maps it), the exact sum register, rounding (an
    increment of the quotient) and saturation (two comparators and a multiplexer); `roms`: element
    bits of each constant memory (one memory per parameter, PE lanes a word). `cfg` gives
    input_type, mul_type, pe, channels and cycles_per_frame."""
    xt, mt = cfg.input_type, cfg.mul_type
    dsp_lane = dsp_per_product(xt, mt, family) if xt.kind != Kind.BIPOLAR else 0
    mult = 0 if dsp_lane or xt.kind == Kind.BIPOLAR else lut_multiplier(xt.bits, mt.bits, family)
    # Xilinx DSPs also take the post-adder and the sum register (P = A*B + C, PREG).
    in_dsp = dsp_lane and family != "ecp5"
    sum_bits = 0 if in_dsp else rq.sum_bits
    per_lane = compare_bits + sum_bits + rq.floor_bits + rq.clamp_bits + rq.out_bits
    lut_mem = bram = 0
    for bits in roms:
        luts, blocks = shallow_rom(cfg.pe * bits, cfg.channels // cfg.pe, family)
        lut_mem, bram = lut_mem + luts, bram + blocks
    rom_bits = sum(roms)
    lut = CONTROL_LUT + scaled(cfg.pe * per_lane, family) + cfg.pe * mult + lut_mem
    regs = xt.bits + rq.out_bits + sum_bits
    ff = CONTROL_FF + cfg.pe * regs + SHALLOW_ROM_SHARE * cfg.pe * rom_bits
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, cfg.pe * dsp_lane)
