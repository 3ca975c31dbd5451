"""Estimator, first cut: cycles per frame and LUT/FF/BRAM/DSP per layer and target family.

Cycles are exact for the RTL (tests/hw measure them). Resources are analytic models whose
coefficients were fitted to out-of-context Yosys synthesis of the RTL in hw/ (see
docs/estimator.md); the build's report prints both side by side so the error is always visible.
BRAM counts 18-kbit blocks (ECP5 DP16KD, Xilinx RAMB18). Memories below `BLOCK_ROM_MIN_BITS` are
expected in LUTs/registers, as Yosys maps them.
"""

from __future__ import annotations

import math

from flows.codegen.rtl_insta_prelu import prelu_widths
from flows.datatypes import INT, DataType, Kind
from flows.errors import ConfigError
from flows.graph import DataflowGraph
from flows.hwmodel.cube import CubeWidths, cube_dsp, cube_pipeline_ff
from flows.hwmodel.logic import (
    CONTROL_FF,
    CONTROL_LUT,
    dsp_per_product,
    lut_multiplier,
    mul_pipe_blocks,
    scaled,
)
from flows.hwmodel.memory import (
    bram_blocks,
    buffer_memory,
    lut_rom,
    lutram_luts,
    memory,
    ram_blocks,
)
from flows.hwmodel.requant import requant, requant_lane_estimate
from flows.hwmodel.resources import Estimate
from flows.layers import Affine, InstaThreshold, IntMVAU, LabelSelect, Threshold, XnorMVAU
from flows.layers.avg_pool import AvgPool, GlobalAvgPool
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.pool import MaxPool
from flows.layers.rprelu import RPReLU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.streams import AddStreams, DuplicateStreams


def xnor_mvau(cfg: XnorMVAU, family: str) -> Estimate:
    acc = cfg.output_type.bits
    # XNOR folded into a popcount tree: ~1.75 LUT4 per input bit; accumulator: one LUT per bit.
    per_pe = 1.75 * cfg.simd + acc
    lut_mem, bram = memory(cfg.pe * cfg.simd, cfg.nf * cfg.sf, family)
    lut = CONTROL_LUT + 80 + scaled(cfg.pe * per_pe, family) + lut_mem
    ff = CONTROL_FF + cfg.pe * acc * (1.3 + cfg.popcount_stages)
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


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
    logic = scaled(lanes * neg + tree + cfg.pe * acc, family)
    lut = CONTROL_LUT + 80 + logic + lanes * lut_mul + lut_mem
    product_bits = xb + wbits
    # Xilinx DSPs absorb the product register (MREG); ECP5's MULT18X18D registers stay unused.
    absorbed = lanes * product_bits if dsp_lane and family != "ecp5" else 0
    ff = CONTROL_FF + cfg.pe * 2 * acc + lanes * product_bits - absorbed
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, lanes * dsp_lane)


def threshold(cfg: Threshold, family: str) -> Estimate:
    tb = cfg.threshold_type.bits
    lut_mem, bram = memory(cfg.pe * cfg.num_thresholds * tb, cfg.channels // cfg.pe, family)
    lut = 20 + scaled(cfg.pe * cfg.num_thresholds * tb * 0.7, family) + math.ceil(0.6 * lut_mem)
    ff = 50 + 1.4 * cfg.pe * cfg.input_type.bits + cfg.pe * cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


def affine(cfg: Affine, family: str) -> Estimate:
    if cfg.shift or cfg.saturate_type is not None:  # requantising form (numerics 10)
        return affine_requant(cfg, family)
    xb, mb = cfg.input_type.bits, cfg.mul_type.bits
    lut_mem, bram = memory(cfg.pe * (mb + cfg.add_type.bits), cfg.channels // cfg.pe, family)
    # Multipliers with both operands >= 10 bits go to DSPs (MULT18X18D / DSP48) in Yosys.
    dsp = cfg.pe if min(xb, mb) >= 8 and family != "ecp5" else 0
    mult = 0 if dsp else xb * mb // 4
    lut = 20 + scaled(cfg.pe * (mult + cfg.output_type.bits), family) + lut_mem
    ff = 20 + cfg.pe * (cfg.output_type.bits + xb)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp)


def label_select(cfg: LabelSelect, family: str) -> Estimate:
    b = cfg.input_type.bits
    lut = 40 + scaled(cfg.pe * 2 * b, family)
    ff = 40 + 2 * b + cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, ff, 0, 0)


# The SE path of INSTA-Th+ / INSTA-PReLU+ (the InstaSE sub-block, the statistic reader and vsnap):
# LUT and FF per bit of its structure (`_se_bits`). Fitted on three Yosys 0.70 points (docs/insta.md,
# "INSTA-Th+ and INSTA-PReLU+"): the sub-block alone (C 64, hidden 4, M 4, 4 lanes, S INT24) and
# the SE increments of both INSTA+ blocks at 7x7x64 INT8 PE 8 (M 2, S INT31 / INT43); within 27 %.
SE_LUT = {"ecp5": 1.1, "xc7": 0.7, "xcup": 0.7}
SE_FF = {"ecp5": 1.0, "xc7": 0.62, "xcup": 0.62}


def _se_path(cfg: InstaThreshold | InstaPReLU, family: str) -> Estimate:
    """LUT, FF and DSP of an INSTA+ block's SE path: PE m3 rescalers (S x mantissa products),
    M MACs and 2M h/v rescalers, the m3/h/v registers and vsnap (docs/insta.md)."""
    from flows.codegen.rtl_insta_se import se_widths

    se, lanes, m, sb = cfg.se, cfg.pe, cfg.num_se_macs, cfg.acc_type.bits
    aw, mb = se_widths(se)["aw"], se.mantissa_bits

    def dsp(a: int, b: int) -> int:
        return dsp_per_product(INT(a), INT(b), family)

    bits = lanes * (sb + mb) + 2 * m * (aw + mb) + m * aw
    bits += se.channels * (8 + 2 * se.v_bits) + 8 * se.hidden
    dsps = lanes * mul_pipe_blocks(sb, mb) + 2 * m * mul_pipe_blocks(aw, mb) + m * dsp(9, 8)
    return Estimate(0, math.ceil(SE_LUT[family] * bits), math.ceil(SE_FF[family] * bits), 0, dsps)


# Xilinx share of INSTA-Th's ECP5 flip-flop count (fitted: 7x7x64 INT8 PE 8, 851 / 2120 FF).
INSTA_TH_XILINX_FF = 0.4


def _cube(w: dict, family: str) -> tuple[int, int]:
    """(DSP, pipeline FF beyond the d^3 register) of one lane's exact cube (flows.hwmodel.cube)."""
    cw = CubeWidths(w["dw"], w["sqw"], w["cuw"])
    return cube_dsp(cw, family), cube_pipeline_ff(cw)


def _insta_pipeline_ff(cfg: InstaThreshold, w: dict, op: int) -> int:
    """Registers the Fmax pipelining added (docs/insta.md, "Fmax"): the cube's and M*S's
    mul_pipe stages (each slice product and the sum, product-wide), the evaluators' second operand
    register and offset delays, the read side's register of the buffered word and thresholds."""
    mb, ab = cfg.mantissa_bits, w["ab"]
    ops = mul_pipe_blocks(op, 18) + 1
    evaluator = ops * (op + mb) + op + mb + 3 * ab
    read = cfg.pe * (cfg.input_type.bits + w["tb"] + 1)
    return cfg.pe * _cube(w, "ecp5")[1] + cfg.num_evaluators * evaluator + read


def insta_threshold(cfg: InstaThreshold, family: str) -> Estimate:
    """INSTA-Th (docs/insta.md): frame buffer in BRAM, exact cube pipeline per lane (two
    multipliers, DSPs), S accumulators, G evaluators (M*S in DSPs). Fitted on one ECP5/xc7
    synthesis (7x7x64 INT8, PE 8): a first cut until the synthesis baselines of issue 5.
    INSTA-Th+ adds its SE path and a tanh table per evaluator, whose entry replaces S in M*S."""
    from flows.codegen.rtl_insta import widths

    w = widths(cfg)
    acc, op, mb = cfg.acc_type.bits, w["ob"], cfg.mantissa_bits
    g = cfg.num_evaluators
    bram, uram = buffer_memory(cfg.pe * cfg.input_type.bits, cfg.buffer_words, family)
    bram += bram_blocks(2 * cfg.threshold_type.bits, cfg.channels)  # double-banked thresholds
    dsp = cfg.pe * _cube(w, family)[0] + g * mul_pipe_blocks(op, mb)
    lut = 150 + scaled(cfg.pe * 5 * acc + g * (op + 48), family)
    ff = 150 + cfg.pe * 5 * acc + g * (op + 48) + _insta_pipeline_ff(cfg, w, op)
    if family != "ecp5":  # DSP48 input/product registers and SRL delay lines absorb most of them
        ff = math.ceil(INSTA_TH_XILINX_FF * ff)
    if cfg.se is not None:
        se = _se_path(cfg, family)
        tab_lut, tab_bram = memory(op, 1 << cfg.se.v_bits, family)
        lut, ff, dsp = lut + se.lut + g * tab_lut, ff + se.ff, dsp + se.dsp
        bram += g * tab_bram
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp, uram)


# INSTA-PReLU own-statistics write side (cube pipeline, S accumulators): LUTs per lane and S bit;
# fitted on 7x7x64 INT8 PE 8 (docs/insta.md): ECP5's LUT4 adders cost more than carry chains.
PRELU_WRITE_LUT = {"ecp5": 4.0, "xc7": 1.2, "xcup": 1.2}


def _prelu_memories(cfg: InstaPReLU, w: dict, family: str) -> tuple[int, int]:
    """(LUT, BRAM) of the frame buffer (own form), one gamma table per evaluator, the gamma
    banks and the constant ROMs (ROM LUTs weighted 0.6: constant bits fold, as in threshold)."""
    g, pe, nf = cfg.num_evaluators, cfg.pe, cfg.nf
    tables = [memory(w["tb"], 1 << cfg.v_bits, family)] * g
    # The constant ROMs are wide and shallow (no ram_style): Yosys keeps them in LUTs.
    roms = [(pe * (2 * w["mulb"] + w["adb"]), nf)]
    roms += [(g * (w["mb"] + w["bb"]), cfg.eval_steps)] if cfg.se is None else []
    roms += [(pe * w["mu_b"], nf)] if cfg.form != "reuse" else []
    rom_lut = sum(lut_rom(width, depth, family) for width, depth in roms)
    return sum(m[0] for m in tables) + math.ceil(0.6 * rom_lut), sum(m[1] for m in tables)


def _prelu_dsp(cfg: InstaPReLU, w: dict, family: str) -> int:
    """Products: (own) d^2 and d^3 per lane, Mv*S per evaluator, factor*d per lane."""

    def dsp(a: int, b: int) -> int:
        return dsp_per_product(INT(a), INT(b), family)

    n = cfg.pe * dsp(w["dgw"], w["mulb"])
    if cfg.se is None:
        n += cfg.num_evaluators * mul_pipe_blocks(w["sb"], w["mb"])
    if cfg.form != "reuse":
        n += cfg.pe * _cube(w, family)[0]
    return n


def insta_prelu(cfg: InstaPReLU, family: str) -> Estimate:
    """INSTA-PReLU (docs/insta.md): per lane x 2^G - gamma, one product, the add, rounding and
    saturation; G evaluators (Mv*S, rounding of v, a gamma table each); the own form adds
    InstaThreshold's write side and frame buffer. Fitted on one ECP5/xc7 synthesis per form
    (7x7x64 INT8 PE 8). INSTA-PReLU+ (form "se"): the own form with the SE path in place of the
    evaluators' Mv*S + Bv (v only delayed to the table read)."""
    w, g, pe = prelu_widths(cfg), cfg.num_evaluators, cfg.pe
    own, se = cfg.form != "reuse", cfg.se is not None
    lane = 2 * w["ysw"] + w["dgw"] + w["mulb"]
    evaluator = w["tb"] if se else 2 * w["esw"] + w["tb"]
    lut_mem, bram = _prelu_memories(cfg, w, family)
    uram = 0
    if own:  # the frame buffer (a written memory: URAM on UltraScale+)
        buf_bram, uram = buffer_memory(pe * w["xb"], cfg.buffer_words, family)
        bram += buf_bram
    logic = scaled(150 + pe * lane + g * evaluator, family)
    ff_lane = w["xb"] + w["tb"] + 2 * w["mulb"] + 3 * w["adb"] + w["dgw"] + w["ypw"] + w["ysw"]
    ff_eval = w["sb"] + w["mb"] + 2 * w["bb"] + w["pw"] + w["esw"] + w["vb"] + w["tb"]
    absorbed = pe * (w["dgw"] + w["mulb"] + w["ypw"])
    if se:
        ff_eval = 4 * w["vb"] + w["tb"]
    else:
        absorbed += g * (w["mb"] + w["sb"] + w["pw"])
    ff = 100 + pe * (ff_lane + w["ob_b"]) + g * ff_eval
    # The Fmax pipelining (docs/insta.md, "Fmax"): the read side's register of the word and its
    # gamma, the rounded output sum, and (own forms) the cube's mul_pipe stages.
    ff += pe * (w["xb"] + w["tb"] + w["ysw"])
    if own:
        ff += pe * _cube(w, family)[1]
    if own:
        logic += math.ceil(pe * PRELU_WRITE_LUT[family] * w["sb"])
        ff += pe * (w["xb"] + w["mu_b"] + 2 * w["dw"] + w["sqw"] + w["cuw"])
        absorbed += pe * (w["dw"] + w["sqw"] + w["cuw"])
    if family != "ecp5":  # DSP48 input/product registers, SRL delay lines
        ff = 0.65 * (ff - absorbed)
    dsp = _prelu_dsp(cfg, w, family)
    if se:
        path = _se_path(cfg, family)
        logic, ff, dsp = logic + path.lut, ff + path.ff, dsp + path.dsp
    return Estimate(cfg.cycles_per_frame, logic + lut_mem, math.ceil(ff), bram, dsp, uram)


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
    lut = CONTROL_LUT + 40 + scaled(cfg.pe * bits * 2, family) + lut_mem
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
    lut = CONTROL_LUT + 20 + scaled(2 * max(taps, 1) * width * 2, family) + lut_mem
    ff = CONTROL_FF + 20 + 2 * width + 2 * taps
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0)


def _requant(xt: DataType, mt: DataType, at: DataType, shift: int, sat, out: DataType):
    from flows.hwmodel.ranges import affine_range

    return requant(*affine_range(xt, mt, at), shift, sat, out)


def affine_requant(cfg: Affine, family: str) -> Estimate:
    """Affine with `shift`/`saturate_type` (hw/templates/affine.v.j2, requantising form). Not in
    ESTIMATORS: the Affine entry is `affine` (exact form); dispatch here when the config
    requantises. Fitted: ResNet-like INT8 x INT16 + INT24, 64 channels, PE 8 (docs/hardware.md)."""
    rq = _requant(cfg.input_type, cfg.mul_type, cfg.add_type, cfg.shift, cfg.saturate_type,
                  cfg.output_type)  # fmt: skip
    return requant_lane_estimate(cfg, rq, 0, [cfg.mul_type.bits, cfg.add_type.bits], family)


def rprelu(cfg: RPReLU, family: str) -> Estimate:
    """RPReLU (hw/templates/rprelu.v.j2): five constant ROMs, a threshold comparator per lane, the
    segment multiplexer (merged into the ROM LUTs by synthesis), one product, requantisation."""
    rq = _requant(cfg.input_type, cfg.mul_type, cfg.add_type, cfg.shift, cfg.output_type,
                  cfg.output_type)  # fmt: skip
    tb, mb, ab = cfg.threshold_type.bits, cfg.mul_type.bits, cfg.add_type.bits
    return requant_lane_estimate(cfg, rq, tb, [tb, mb, ab, mb, ab], family)


def _sum_bits(cfg, bits: int | None, terms: int) -> tuple[int, int]:
    """(element bits, sum bits): from the config's types, or a signed guess from the stream."""
    if cfg.input_type is not None:
        return cfg.input_type.bits, cfg.output_type.bits
    bits = _element_bits(cfg, bits)
    return bits, bits + math.ceil(math.log2(terms)) + 1


def avg_pool(cfg: AvgPool, family: str, bits: int | None = None) -> Estimate:
    """AvgPool (hw/templates/avg_pool.v.j2): MaxPool's separable scan with adders; k-1 written
    memories of NF words (row pass, input words) and k-1 of out_w*NF words (column pass, row
    sums: LUT RAM or block RAM per `ram_blocks`)."""
    xb, ob = _sum_bits(cfg, bits, cfg.kernel**2)
    k, nf = cfg.kernel, cfg.channels // cfg.pe
    rb = xb + math.ceil(math.log2(k)) if k > 1 else xb
    bram = (k - 1) * (ram_blocks(cfg.pe * xb, nf, family)
                      + ram_blocks(cfg.pe * rb, cfg.out_w * nf, family))  # fmt: skip
    lutram = (k - 1) * (lutram_luts(cfg.pe * xb, nf, family)
                        + lutram_luts(cfg.pe * rb, cfg.out_w * nf, family))  # fmt: skip
    lut = CONTROL_LUT + 40 + scaled(cfg.pe * (k - 1) * (rb + ob), family)
    ff = CONTROL_FF + 40 + cfg.pe * (xb + rb + ob)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0, 0, lutram)


def global_avg_pool(cfg: GlobalAvgPool, family: str, bits: int | None = None) -> Estimate:
    """GlobalAvgPool (hw/templates/global_avg_pool.v.j2): an NF-word accumulator memory read and
    written every clock (LUT RAM or block RAM per `ram_blocks`), one adder and a clear per lane."""
    xb, ob = _sum_bits(cfg, bits, cfg.num_vectors)
    nf = cfg.channels // cfg.pe
    bram = ram_blocks(cfg.pe * ob, nf, family)
    lutram = lutram_luts(cfg.pe * ob, nf, family)
    lut = CONTROL_LUT + scaled(cfg.pe * ob * 2, family)
    ff = CONTROL_FF + cfg.pe * (xb + ob)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0, 0, lutram)


def duplicate_streams(cfg: DuplicateStreams, family: str) -> Estimate:
    """Lockstep fork: control only (the data goes straight to the output links' FIFOs). Fitted on
    Yosys 0.70, INT8: 2 copies PE 8 ECP5 31 LUT / 10 FF, xc7 14 / 10; 3 copies PE 4 ECP5 74 / 15,
    xc7 23 / 15."""
    k = cfg.copies
    lut = 8 + 11 * k * (k - 1) if family == "ecp5" else 5 + 3 * k * (k - 1)
    return Estimate(cfg.cycles_per_frame, lut, 5 * k, 0, 0)


def add_streams(cfg: AddStreams, family: str) -> Estimate:
    """PE adders and the registered sum. Fitted on Yosys 0.70: INT8+INT8 PE 8 ECP5 93 LUT / 78 FF,
    xc7 76 / 78; INT9+INT8 PE 4 ECP5 53 / 46, xc7 48 / 46."""
    bits = cfg.pe * cfg.output_type.bits
    lut = bits + 5 + 2 * cfg.pe if family == "ecp5" else bits + 6
    return Estimate(cfg.cycles_per_frame, lut, bits + 6, 0, 0)


ESTIMATORS = {
    DuplicateStreams: duplicate_streams,
    AddStreams: add_streams,
    XnorMVAU: xnor_mvau,
    IntMVAU: int_mvau,
    Threshold: threshold,
    Affine: affine,
    LabelSelect: label_select,
    InstaThreshold: insta_threshold,
    InstaPReLU: insta_prelu,
    SlidingWindow: sliding_window,
    MaxPool: max_pool,
    RPReLU: rprelu,
    AvgPool: avg_pool,
    GlobalAvgPool: global_avg_pool,
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
TYPE_FROM_STREAM = (SlidingWindow, MaxPool, AvgPool, GlobalAvgPool)


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
    keys = ("LUT", "FF", "BRAM", "DSP", "URAM", "LUTRAM")
    out = {k: sum(e.as_dict()[k] for e in estimates.values()) for k in keys}
    out["cycles"] = max(e.cycles for e in estimates.values())
    return out
