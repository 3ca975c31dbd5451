"""The estimators of XnorMVAU and IntMVAU: the weight ROM (flows.hwmodel.memory), the popcount or
adder tree, the products (DSP blocks or LUT multipliers, flows.hwmodel.logic) and the accumulators;
coefficients fitted on Yosys 0.70 (docs/hardware.md). With the weights in DRAM the ROM gives way
to three written memories (a pass's vectors, two weight tiles, two result banks) and the pass
control."""

from __future__ import annotations

import math

from flows.datatypes import Kind
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, dsp_per_product, lut_multiplier, scaled
from flows.hwmodel.memory import cascade_luts, memory, written_memory
from flows.hwmodel.resources import Estimate
from flows.layers.mvau.config import IntMVAU, XnorMVAU

# The pass control of the DRAM form beyond the ROM form's counters: vector, tile-half and bank
# state, the address adders and the drain counter; fitted to Yosys 0.70 (ECP5 counts its carry
# chains as two LUTs each), with the vector multiplexer per input bit on top.
PASS_CONTROL_LUT = {"ecp5": 200, "xc7": 40, "xcup": 40}
PASS_CONTROL_FF = {"ecp5": 40, "xc7": 0, "xcup": 0}
# Per bit of a weight tile word (PE x SIMD weights): on ECP5 the tile's read data is registered
# and fanned out in fabric (w_q and its copies); Xilinx absorbs it in the block RAM's output
# register. Fitted on the XnorMVAU rows of benchmarks/mvau_dram.py's FITTED set (l4, l3, small).
TILE_LUT_PER_BIT = {"ecp5": 1.8, "xc7": 0.0, "xcup": 0.0}
TILE_FF_PER_BIT = {"ecp5": 2.3, "xc7": 0.0, "xcup": 0.0}


def weight_storage(cfg: XnorMVAU | IntMVAU, family: str) -> tuple[int, int, int, int]:
    """(LUT, FF, BRAM, LUTRAM) of where the weights are used from: the ROM on chip; in DRAM, the
    pass's vectors (NF > 1), the two weight tiles, the two result banks and the pass control."""
    if cfg.weights == "chip":
        lut, bram = memory(*cfg.weight_memory, family, cfg.ram_style)
        if bram:
            lut += cascade_luts(*cfg.weight_memory, family)
        return lut, 0, bram, 0
    ww, _ = cfg.weight_memory
    g = cfg.vectors_per_pass
    mems = [(ww, 2 * cfg.sf), (cfg.pe * cfg.output_type.bits, 2 * g * cfg.nf)]
    if cfg.nf > 1:
        mems.append((cfg.simd * cfg.input_type.bits, g * cfg.sf))
    lut = PASS_CONTROL_LUT[family] + (cfg.simd * cfg.input_type.bits if cfg.nf > 1 else 0)
    lut += math.ceil(TILE_LUT_PER_BIT[family] * ww)
    bram = lutram = ff = 0
    for w, d in mems:
        m_lut, b, lr, f = written_memory(w, d, family)
        lut, bram, lutram, ff = lut + m_lut, bram + b, lutram + lr, ff + f
    ff += PASS_CONTROL_FF[family] + 2 * cfg.simd * cfg.input_type.bits
    ff += cfg.pe * cfg.output_type.bits + math.ceil(TILE_FF_PER_BIT[family] * ww)
    return lut, ff, bram, lutram


def xnor_estimate(cfg: XnorMVAU, family: str) -> Estimate:
    acc = cfg.output_type.bits
    # XNOR folded into a popcount tree: ~1.75 LUT4 per input bit; accumulator: one LUT per bit.
    per_pe = 1.75 * cfg.simd + acc
    lut_mem, ff_mem, bram, lutram = weight_storage(cfg, family)
    lut = CONTROL_LUT + 80 + scaled(cfg.pe * per_pe, family) + lut_mem
    ff = CONTROL_FF + cfg.pe * acc * (1.3 + cfg.popcount_stages) + ff_mem
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0, lutram=lutram)


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
    lut_mem, ff_mem, bram, lutram = weight_storage(cfg, family)
    logic = scaled(lanes * neg + tree + cfg.pe * acc, family)
    lut = CONTROL_LUT + 80 + logic + lanes * lut_mul + lut_mem
    product_bits = xb + wbits
    # Xilinx DSPs absorb the product register (MREG); ECP5's MULT18X18D registers stay unused.
    absorbed = lanes * product_bits if dsp_lane and family != "ecp5" else 0
    # the adder tree's registers beyond the product register (IntMVAU.tree_stages): about
    # half the products' bits per register, the tree having halved at least once above it
    tree_ff = (cfg.tree_stages - 1) * lanes * (product_bits + 1) // 2
    ff = CONTROL_FF + cfg.pe * 2 * acc + lanes * product_bits - absorbed + tree_ff + ff_mem
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, lanes * dsp_lane, lutram=lutram)
