"""Estimator, first cut: cycles per frame and LUT/FF/BRAM/DSP per layer and target family.

Cycles are exact for the RTL (tests/hw measure them). Resources are analytic models whose
coefficients were fitted to out-of-context Yosys synthesis of the RTL in hw/ (see
docs/estimator.md); the build's report prints both side by side so the error is always visible.
BRAM counts 18-kbit blocks (ECP5 DP16KD, Xilinx RAMB18). Memories below `LUTRAM_MAX_BITS` are
expected in LUTs/registers, as Yosys maps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.datatypes import Kind
from flows.graph import DataflowGraph
from flows.layers import Affine, IntMVAU, LabelSelect, Threshold, XnorMVAU

LUTRAM_MAX_BITS = 4096
# LUT inputs per family: a ROM of depth d costs ceil(d / 2**(k-2)) LUTs per bit as logic.
LUT_K = {"ecp5": 4, "xc7": 6, "xcup": 6}


@dataclass(frozen=True)
class Estimate:
    cycles: int
    lut: int
    ff: int
    bram: int
    dsp: int

    def as_dict(self) -> dict[str, int]:
        return {
            "cycles": self.cycles,
            "LUT": self.lut,
            "FF": self.ff,
            "BRAM": self.bram,
            "DSP": self.dsp,
        }


def bram_blocks(width: int, depth: int) -> int:
    """18-kbit blocks for a width x depth memory, best aspect ratio (x36/512 .. x1/16k)."""
    best = None
    for w, d in ((36, 512), (18, 1024), (9, 2048), (4, 4096), (2, 8192), (1, 16384)):
        n = math.ceil(width / w) * math.ceil(depth / d)
        best = n if best is None else min(best, n)
    return best


def memory(width: int, depth: int, family: str) -> tuple[int, int]:
    """(LUT, BRAM) cost of a read-only memory of `depth` words of `width` bits."""
    if width * depth > LUTRAM_MAX_BITS:
        return 0, bram_blocks(width, depth)
    per_lut = 2 ** (LUT_K[family] - 2)
    return width * math.ceil(depth / per_lut), 0


def adder_tree_luts(n: int, bits: int, family: str) -> int:
    """LUTs of a tree summing n values of `bits` bits (ripple adders in carry chains)."""
    total, width = 0, bits
    while n > 1:
        total += (n // 2) * (width + 1)
        n = (n + 1) // 2
        width += 1
    return total if family == "ecp5" else math.ceil(total * 0.6)


def xnor_mvau(cfg: XnorMVAU, family: str) -> Estimate:
    acc = cfg.output_type.bits
    # XNOR + popcount: one LUT per input bit pair level; ECP5 LUT4 absorbs the XNOR in the first
    # adder level, LUT6 compresses 6:3.
    pop = adder_tree_luts(cfg.simd, 1, family)
    lut_mem, bram = memory(cfg.pe * cfg.simd, cfg.nf * cfg.sf, family)
    lut = 40 + cfg.pe * (pop + acc) + lut_mem + cfg.simd
    ff = 40 + cfg.pe * (2 * acc + cfg.popcount_stages * acc) + cfg.mw
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def int_mvau(cfg: IntMVAU, family: str) -> Estimate:
    xb = cfg.input_type.bits
    acc = cfg.output_type.bits
    wbits = cfg.weight_type.bits
    bipolar = cfg.weight_type.kind == Kind.BIPOLAR
    # Bipolar weights: a conditional negate (one LUT per bit); integer weights: LUT multipliers.
    mult = (xb + 1) if bipolar else xb * wbits
    tree = adder_tree_luts(cfg.simd, xb + wbits, family)
    lut_mem, bram = memory(cfg.pe * cfg.simd * wbits, cfg.nf * cfg.sf, family)
    lut = 40 + cfg.pe * (cfg.simd * mult + tree + acc) + lut_mem + cfg.simd * xb
    ff = 40 + cfg.pe * 2 * acc + cfg.mw * xb
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def threshold(cfg: Threshold, family: str) -> Estimate:
    tb = cfg.threshold_type.bits
    lut_mem, bram = memory(cfg.pe * cfg.num_thresholds * tb, cfg.channels // cfg.pe, family)
    lut = 20 + cfg.pe * cfg.num_thresholds * tb + lut_mem
    ff = 20 + cfg.pe * (cfg.input_type.bits + cfg.output_type.bits)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def affine(cfg: Affine, family: str) -> Estimate:
    xb, mb = cfg.input_type.bits, cfg.mul_type.bits
    lut_mem, bram = memory(cfg.pe * (mb + cfg.add_type.bits), cfg.channels // cfg.pe, family)
    lut = 20 + cfg.pe * (xb * mb + cfg.output_type.bits) + lut_mem
    ff = 20 + cfg.pe * (cfg.output_type.bits + xb)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def label_select(cfg: LabelSelect, family: str) -> Estimate:
    b = cfg.input_type.bits
    lut = 20 + cfg.pe * 2 * b
    ff = 20 + b + cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, ff, 0, 0)


ESTIMATORS = {
    XnorMVAU: xnor_mvau,
    IntMVAU: int_mvau,
    Threshold: threshold,
    Affine: affine,
    LabelSelect: label_select,
}


def estimate_layer(cfg, family: str) -> Estimate:
    return ESTIMATORS[type(cfg)](cfg, family)


def estimate_graph(graph: DataflowGraph, family: str) -> dict[str, Estimate]:
    return {n.name: estimate_layer(n.config, family) for n in graph.topological()}


def total(estimates: dict[str, Estimate]) -> dict[str, int]:
    keys = ("LUT", "FF", "BRAM", "DSP")
    out = {k: sum(e.as_dict()[k] for e in estimates.values()) for k in keys}
    out["cycles"] = max(e.cycles for e in estimates.values())
    return out
