"""The estimators of XnorMVAU and IntMVAU: the weight ROM (flows.hwmodel.memory), the popcount or
adder tree, the products (DSP blocks or LUT multipliers, flows.hwmodel.logic) and the accumulators;
coefficients fitted on Yosys 0.70 (docs/hardware.md)."""

from __future__ import annotations

import math

from flows.datatypes import Kind
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, dsp_per_product, lut_multiplier, scaled
from flows.hwmodel.memory import memory
from flows.hwmodel.resources import Estimate
from flows.layers.mvau.config import IntMVAU, XnorMVAU


def xnor_estimate(cfg: XnorMVAU, family: str) -> Estimate:
    acc = cfg.output_type.bits
    # XNOR folded into a popcount tree: ~1.75 LUT4 per input bit; accumulator: one LUT per bit.
    per_pe = 1.75 * cfg.simd + acc
    lut_mem, bram = memory(*cfg.weight_memory, family, cfg.ram_style)
    lut = CONTROL_LUT + 80 + scaled(cfg.pe * per_pe, family) + lut_mem
    ff = CONTROL_FF + cfg.pe * acc * (1.3 + cfg.popcount_stages)
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


def int_estimate(cfg: IntMVAU, family: str) -> Estimate:
    """Products per `mult_style`: a bipolar operand is a conditional negate (~2 LUT per bit);
    "lut" a LUT multiplier; "dsp" and "auto" the `*` Yosys maps (`dsp_per_product`)."""
    xt, wt = cfg.input_type, cfg.weight_type
    xb, acc = xt.bits, cfg.output_type.bits
    wbits = wt.bits
    lanes = cfg.pe * cfg.simd
    dsp_lane = lut_mul = neg = 0
    if wt.kind == Kind.BIPOLAR:
        neg = 2 * (xb + 1)  # +x or -x
    elif xt.kind == Kind.BIPOLAR:
        neg = wbits  # +w or -w
    elif cfg.mult_style != "lut":
        dsp_lane = dsp_per_product(xt, wt, family)
    if not (neg or dsp_lane):
        lut_mul = lut_multiplier(xb, wbits, family)
    tree = 8 * lanes  # adder tree of the lanes' products, per input lane
    lut_mem, bram = memory(*cfg.weight_memory, family, cfg.ram_style)
    logic = scaled(lanes * neg + tree + cfg.pe * acc, family)
    lut = CONTROL_LUT + 80 + logic + lanes * lut_mul + lut_mem
    product_bits = xb + wbits
    # Xilinx DSPs absorb the product register (MREG); ECP5's MULT18X18D registers stay unused.
    absorbed = lanes * product_bits if dsp_lane and family != "ecp5" else 0
    # the adder tree's registers beyond the product register (IntMVAU.tree_stages): about
    # half the products' bits per register, the tree having halved at least once above it
    tree_ff = (cfg.tree_stages - 1) * lanes * (product_bits + 1) // 2
    ff = CONTROL_FF + cfg.pe * 2 * acc + lanes * product_bits - absorbed + tree_ff
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, lanes * dsp_lane)
