"""Estimator, first cut: cycles per frame and LUT/FF/BRAM/DSP per layer and target family.

Cycles are exact for the RTL (tests/hw measure them). Resources are analytic models whose
coefficients were fitted to out-of-context Yosys synthesis of the RTL in hw/ (see
docs/estimator.md); the build's report prints both side by side so the error is always visible.
BRAM counts 18-kbit blocks (ECP5 DP16KD, Xilinx RAMB18). Memories below `BLOCK_ROM_MIN_BITS` are
expected in LUTs/registers, as Yosys maps them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flows.datatypes import DataType, Kind
from flows.errors import ConfigError
from flows.graph import DataflowGraph
from flows.layers import Affine, InstaThreshold, IntMVAU, LabelSelect, Threshold, XnorMVAU
from flows.layers.pool import MaxPool
from flows.layers.sliding_window import SlidingWindow

BLOCK_ROM_MIN_BITS = 4096
# LUT inputs per family: a LUT is a 2**k-deep, 1-bit ROM.
LUT_K = {"ecp5": 4, "xc7": 6, "xcup": 6}
# LUT6 families need fewer LUTs for the same adders/comparators than ECP5's LUT4 (carry logic in
# CARRY4/8 is not counted as LUT); fitted on the digits_bnn layers (docs/flow.md, Estimator).
LOGIC_SCALE = {"ecp5": 1.0, "xc7": 0.6, "xcup": 0.6}
CONTROL_LUT, CONTROL_FF = 60, 60  # counters, handshake and the 2-word output FIFO of every layer


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
    """(LUT, BRAM) cost of a read-only memory of `depth` words of `width` bits.

    From BLOCK_ROM_MIN_BITS on: block RAM. Below: a LUT ROM, one LUT per bit per 2**k words plus a
    multiplexer tree of about the same size when the depth needs several LUTs.
    """
    if width * depth >= BLOCK_ROM_MIN_BITS:
        return 0, bram_blocks(width, depth)
    luts_per_bit = math.ceil(depth / 2 ** LUT_K[family])
    mux = luts_per_bit - 1 if luts_per_bit > 1 else 0
    return width * (luts_per_bit + mux), 0


def _scaled(luts: float, family: str) -> int:
    return math.ceil(luts * LOGIC_SCALE[family])


def xnor_mvau(cfg: XnorMVAU, family: str) -> Estimate:
    acc = cfg.output_type.bits
    # XNOR folded into a popcount tree: ~1.75 LUT4 per input bit; accumulator: one LUT per bit.
    per_pe = 1.75 * cfg.simd + acc
    lut_mem, bram = memory(cfg.pe * cfg.simd, cfg.nf * cfg.sf, family)
    lut = CONTROL_LUT + 80 + _scaled(cfg.pe * per_pe, family) + lut_mem
    ff = CONTROL_FF + cfg.pe * acc * (1.3 + cfg.popcount_stages)
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


def dsp_per_product(xt: DataType, wt: DataType, family: str) -> int:
    """DSP blocks Yosys gives one `x * w` product, 0 where it keeps the product in LUTs.

    Measured with Yosys 0.70 (mul2dsp): ECP5 maps every product of at least 2x2 bits to
    MULT18X18D (18x18, signed or unsigned); Xilinx only products with a result of at least 9 bits
    to DSP48 (25x18 on xc7, 27x18 on UltraScale(+), signed only: an unsigned operand takes one
    bit more). Yosys ignores `use_dsp`; Vivado honours it (docs/hardware.md).
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
    return math.ceil(max(a, b) / big) * math.ceil(min(a, b) / 18)


def lut_multiplier(a: int, b: int, family: str) -> int:
    """LUTs of an a x b bit multiplier in logic, fitted on Yosys 0.70 IntMVAU lanes (INT4 x INT4
    and UINT8 x INT8, shift-and-add and `*` alike): ABC maps ECP5's LUT4 array superlinearly
    (~39 LUT4 at 4x4, ~274 at 8x8); LUT6 families with carry chains ~2 LUT per bit product."""
    if family == "ecp5":
        return math.ceil(a * b * (a + b) / 4)
    return 2 * a * b


def int_mvau(cfg: IntMVAU, family: str) -> Estimate:
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
    lut_mem, bram = memory(lanes * wbits, cfg.nf * cfg.sf, family)
    logic = _scaled(lanes * neg + tree + cfg.pe * acc, family)
    lut = CONTROL_LUT + 80 + logic + lanes * lut_mul + lut_mem
    product_bits = xb + wbits
    # Xilinx DSPs absorb the product register (MREG); ECP5's MULT18X18D registers stay unused.
    absorbed = lanes * product_bits if dsp_lane and family != "ecp5" else 0
    ff = CONTROL_FF + cfg.pe * 2 * acc + lanes * product_bits - absorbed
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, lanes * dsp_lane)


def threshold(cfg: Threshold, family: str) -> Estimate:
    tb = cfg.threshold_type.bits
    lut_mem, bram = memory(cfg.pe * cfg.num_thresholds * tb, cfg.channels // cfg.pe, family)
    lut = 20 + _scaled(cfg.pe * cfg.num_thresholds * tb * 0.7, family) + math.ceil(0.6 * lut_mem)
    ff = 50 + 1.4 * cfg.pe * cfg.input_type.bits + cfg.pe * cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


def affine(cfg: Affine, family: str) -> Estimate:
    xb, mb = cfg.input_type.bits, cfg.mul_type.bits
    lut_mem, bram = memory(cfg.pe * (mb + cfg.add_type.bits), cfg.channels // cfg.pe, family)
    # Multipliers with both operands >= 10 bits go to DSPs (MULT18X18D / DSP48) in Yosys.
    dsp = cfg.pe if min(xb, mb) >= 8 and family != "ecp5" else 0
    mult = 0 if dsp else xb * mb // 4
    lut = 20 + _scaled(cfg.pe * (mult + cfg.output_type.bits), family) + lut_mem
    ff = 20 + cfg.pe * (cfg.output_type.bits + xb)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp)


def label_select(cfg: LabelSelect, family: str) -> Estimate:
    b = cfg.input_type.bits
    lut = 40 + _scaled(cfg.pe * 2 * b, family)
    ff = 40 + 2 * b + cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, ff, 0, 0)


def insta_threshold(cfg: InstaThreshold, family: str) -> Estimate:
    """INSTA-Th (docs/insta.md): frame buffer in BRAM, exact cube pipeline per lane (two
    multipliers, DSPs), S accumulators, G evaluators (M*S in DSPs). Fitted on one ECP5/xc7
    synthesis (7x7x64 INT8, PE 8): a first cut until the synthesis baselines of issue 5."""
    acc = cfg.acc_type.bits
    g = cfg.num_evaluators
    bram = bram_blocks(cfg.pe * cfg.input_type.bits, cfg.buffer_words)
    bram += bram_blocks(2 * cfg.threshold_type.bits, cfg.channels)  # double-banked thresholds
    dsp = 2 * cfg.pe + g * math.ceil(acc / 18)
    lut = 150 + _scaled(cfg.pe * 5 * acc + g * (acc + 48), family)
    ff = 150 + cfg.pe * 5 * acc + g * (acc + 48)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp)


def _element_bits(cfg, bits: int | None) -> int:
    """Element width of a window/pool: given by the caller (from the stream) or the config."""
    if bits is None and cfg.input_type is None:
        raise ConfigError(
            f"{cfg.name}: element type unknown; set input_type or estimate with estimate_graph"
        )
    return bits if bits is not None else cfg.input_type.bits


def sliding_window(cfg: SlidingWindow, family: str, bits: int | None = None) -> Estimate:
    """Line buffer of `kernel` rows (+1 being written) of the padded input, element width from
    the input type. Not yet synthesised (no RTL): analytic only."""
    bits = _element_bits(cfg, bits)
    words = (cfg.kernel + 1) * (cfg.in_w + 2 * cfg.pad) * cfg.channels // cfg.pe
    lut_mem, bram = memory(cfg.pe * bits, words, family)
    lut = CONTROL_LUT + 40 + _scaled(cfg.pe * bits * 2, family) + lut_mem
    ff = CONTROL_FF + 40 + 2 * cfg.pe * bits
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def max_pool(cfg: MaxPool, family: str, bits: int | None = None) -> Estimate:
    """Separable maximum (hw/templates/max_pool.v.j2): k-1 delay memories of NF words (row pass)
    and k-1 of out_w*NF words (column pass), two chains of k-1 comparators per lane, scan
    counters. Analytic only (not yet fitted to a synthesis)."""
    bits = _element_bits(cfg, bits)
    nf, taps = cfg.channels // cfg.pe, cfg.kernel - 1
    width = cfg.pe * bits
    lut_mem = bram = 0
    for depth in (nf, cfg.out_w * nf):
        luts, blocks = memory(width, depth, family)
        lut_mem, bram = lut_mem + taps * luts, bram + taps * blocks
    lut = CONTROL_LUT + 20 + _scaled(2 * max(taps, 1) * width * 2, family) + lut_mem
    ff = CONTROL_FF + 20 + 2 * width + 2 * taps
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


ESTIMATORS = {
    XnorMVAU: xnor_mvau,
    IntMVAU: int_mvau,
    Threshold: threshold,
    Affine: affine,
    LabelSelect: label_select,
    InstaThreshold: insta_threshold,
    SlidingWindow: sliding_window,
    MaxPool: max_pool,
}


def estimate_layer(cfg, family: str) -> Estimate:
    try:
        fn = ESTIMATORS[type(cfg)]
    except KeyError:
        raise ConfigError(
            f"{cfg.name}: no estimator for layer kind {type(cfg).__name__} yet"
        ) from None
    return fn(cfg, family)


# Kinds whose config does not carry the element type: the graph's input stream gives it.
TYPE_FROM_STREAM = (SlidingWindow, MaxPool)


def estimate_graph(graph: DataflowGraph, family: str) -> dict[str, Estimate]:
    out = {}
    for n in graph.topological():
        if isinstance(n.config, TYPE_FROM_STREAM):
            dtype = graph.streams[n.inputs[0]].dtype
            fn = ESTIMATORS[type(n.config)]
            out[n.name] = fn(n.config, family, dtype.bits if dtype else 32)
        else:
            out[n.name] = estimate_layer(n.config, family)
    return out


def total(estimates: dict[str, Estimate]) -> dict[str, int]:
    keys = ("LUT", "FF", "BRAM", "DSP")
    out = {k: sum(e.as_dict()[k] for e in estimates.values()) for k in keys}
    out["cycles"] = max(e.cycles for e in estimates.values())
    return out
