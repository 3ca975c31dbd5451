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

from flows.codegen.rtl_insta_prelu import prelu_widths
from flows.datatypes import INT, DataType, Kind
from flows.errors import ConfigError
from flows.graph import DataflowGraph
from flows.layers import Affine, InstaThreshold, IntMVAU, LabelSelect, Threshold, XnorMVAU
from flows.layers.avg_pool import AvgPool, GlobalAvgPool
from flows.layers.insta_prelu import InstaPReLU
from flows.layers.pool import MaxPool
from flows.layers.rprelu import RPReLU
from flows.layers.sliding_window import SlidingWindow
from flows.layers.streams import AddStreams, DuplicateStreams

BLOCK_ROM_MIN_BITS = 4096
# LUT inputs per family: a LUT is a 2**k-deep, 1-bit ROM.
LUT_K = {"ecp5": 4, "xc7": 6, "xcup": 6}
# LUT6 families need fewer LUTs for the same adders/comparators than ECP5's LUT4 (carry logic in
# CARRY4/8 is not counted as LUT); fitted on the digits_bnn layers (docs/flow.md, Estimator).
LOGIC_SCALE = {"ecp5": 1.0, "xc7": 0.6, "xcup": 0.6}
CONTROL_LUT, CONTROL_FF = 60, 60  # counters, handshake and the 2-word output FIFO of every layer


@dataclass(frozen=True)
class Estimate:
    """Cycles per frame and resources: LUT (logic; LUTRAM counted separately, as Yosys and Vivado
    report it), FF, BRAM in 18-kbit blocks, DSP, URAM288 blocks (UltraScale+ only) and LUTs used
    as distributed RAM (Xilinx)."""

    cycles: int
    lut: int
    ff: int
    bram: int
    dsp: int
    uram: int = 0
    lutram: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "cycles": self.cycles,
            "LUT": self.lut,
            "FF": self.ff,
            "BRAM": self.bram,
            "DSP": self.dsp,
            "URAM": self.uram,
            "LUTRAM": self.lutram,
        }


# UltraScale+ UltraRAM (UG573): URAM288 blocks are 4096 x 72 bits, cascade in depth, and cannot be
# initialised by the bitstream, so only *written* memories (frame buffers) may use them. Decision:
# on "xcup" a written memory of at least URAM_MIN_BITS and URAM_MIN_DEPTH words goes to URAM when
# it fills at least URAM_MIN_FILL of the URAM bits it occupies (the INSTA frame buffers: deep, a few
# hundred bits wide). URAM is the larger pool on these parts (ZCU104: 96 x 288 kbit = 27 Mbit vs
# 624 x 18 kbit = 11 Mbit of BRAM), which is where the frame buffers belong (DESIGN.md section 4).
URAM_WIDTH, URAM_DEPTH, URAM_BITS = 72, 4096, 288 * 1024
URAM_MIN_BITS, URAM_MIN_DEPTH, URAM_MIN_FILL = 64 * 1024, 1024, 0.5


def uram_blocks(width: int, depth: int) -> int:
    return math.ceil(width / URAM_WIDTH) * math.ceil(depth / URAM_DEPTH)


def buffer_memory(width: int, depth: int, family: str) -> tuple[int, int]:
    """(BRAM18, URAM) of a written frame buffer (INSTA-Th, INSTA-PReLU): URAM on UltraScale+
    under the rule above, else 18-kbit blocks."""
    bram = bram_blocks(width, depth)
    if family == "xcup" and width * depth >= URAM_MIN_BITS and depth >= URAM_MIN_DEPTH:
        uram = uram_blocks(width, depth)
        if width * depth >= URAM_MIN_FILL * uram * URAM_BITS:
            return 0, uram
    return bram, 0


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


def mul_pipe_blocks(a_bits: int, b_bits: int) -> int:
    """Multiplier blocks of one hw/lib/mul_pipe.v product (a wider than 18 bits cut into 17-bit
    unsigned slices and a signed top of at most 18): one 18x18 block per slice and 18 bits of b,
    on every family (an 18x18 product maps to MULT18X18D and DSP48 alike)."""
    slices = 1 if a_bits <= 18 else 1 + math.ceil((a_bits - 18) / 17)
    return slices * math.ceil(b_bits / 18)


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
    if cfg.shift or cfg.saturate_type is not None:  # requantising form (numerics 10)
        return affine_requant(cfg, family)
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
    """(DSP, pipeline FF beyond the d^3 register) of one lane's exact cube in the INSTA write
    side (hw/templates/_insta_write_side.v.j2): d^2 as one product, d^2 * d through mul_pipe
    (each slice product and the sum registered), from the widths `dw`, `sqw`, `cuw`."""
    sq, dw = w["sqw"], w["dw"]
    dsp = dsp_per_product(INT(dw), INT(dw), family) + mul_pipe_blocks(sq, dw)
    return dsp, (mul_pipe_blocks(sq, 18) + 1) * (sq + dw) - w["cuw"]


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
    lut = 150 + _scaled(cfg.pe * 5 * acc + g * (op + 48), family)
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


def _lut_rom(width: int, depth: int, family: str) -> int:
    """LUTs of a ROM kept in logic whatever its size (memory()'s LUT formula)."""
    per_bit = math.ceil(depth / 2 ** LUT_K[family])
    return width * (per_bit + (per_bit - 1 if per_bit > 1 else 0))


def _prelu_memories(cfg: InstaPReLU, w: dict, family: str) -> tuple[int, int]:
    """(LUT, BRAM) of the frame buffer (own form), one gamma table per evaluator, the gamma
    banks and the constant ROMs (ROM LUTs weighted 0.6: constant bits fold, as in threshold)."""
    g, pe, nf = cfg.num_evaluators, cfg.pe, cfg.nf
    tables = [memory(w["tb"], 1 << cfg.v_bits, family)] * g
    # The constant ROMs are wide and shallow (no ram_style): Yosys keeps them in LUTs.
    roms = [(pe * (2 * w["mulb"] + w["adb"]), nf)]
    roms += [(g * (w["mb"] + w["bb"]), cfg.eval_steps)] if cfg.se is None else []
    roms += [(pe * w["mu_b"], nf)] if cfg.form != "reuse" else []
    rom_lut = sum(_lut_rom(width, depth, family) for width, depth in roms)
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
    logic = _scaled(150 + pe * lane + g * evaluator, family)
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


# --- residual-stream kinds (issue 5): fitted on one Yosys 0.70 synthesis each (docs/hardware.md) --
# A constant ROM of at most 2**k words is a k-input function per bit column; with as few words as a
# layer's channel groups many columns repeat, and Yosys merges identical LUTs and the registers
# behind them: about half of the columns remain (measured: requantising Affine and RPReLU, NF 8).
SHALLOW_ROM_SHARE = 0.5
# Yosys for Xilinx keeps a written memory of at most 64 words in LUT RAM (RAM64M) whatever its size.
XILINX_LUTRAM_MAX_DEPTH = 64


def ram_blocks(width: int, depth: int, family: str) -> int:
    """18-kbit blocks of a written memory (read address registered), 0 where Yosys uses LUT RAM
    (not counted as LUT, as the synthesis reports it): block RAM from BLOCK_ROM_MIN_BITS, on
    Xilinx only above XILINX_LUTRAM_MAX_DEPTH words (measured on AvgPool/GlobalAvgPool)."""
    if width * depth < BLOCK_ROM_MIN_BITS:
        return 0
    if family != "ecp5" and depth <= XILINX_LUTRAM_MAX_DEPTH:
        return 0
    return bram_blocks(width, depth)


def lutram_luts(width: int, depth: int, family: str) -> int:
    """LUTs of a written memory that `ram_blocks` leaves in distributed RAM on Xilinx: Yosys maps
    it to RAM64M (64 words x 3 bits, simple dual port, 4 LUTs). 0 on ECP5 (its small memories
    are counted in LUT by the fitted coefficients) and for memories in block RAM."""
    if family == "ecp5" or ram_blocks(width, depth, family):
        return 0
    if width * depth < BLOCK_ROM_MIN_BITS and depth <= 2:
        return 0  # registers
    return 4 * math.ceil(width / 3) * math.ceil(depth / 64)


def _rom(width: int, depth: int, family: str) -> tuple[int, int]:
    """(LUT, BRAM) of a constant memory with registered read, shallow-ROM sharing included."""
    luts, bram = memory(width, depth, family)
    share = SHALLOW_ROM_SHARE if depth <= 2 ** LUT_K[family] else 1.0
    return math.ceil(luts * share), bram


def _requant(xt: DataType, mt: DataType, at: DataType, shift: int, sat, out: DataType) -> dict:
    from flows.codegen.rtl_residual import requant_context, sum_range

    return requant_context(*sum_range(xt, mt, at), shift, sat, out)


def _requant_lane(cfg, rq: dict, compare_bits: int, roms: list[int], family: str) -> Estimate:
    """One multiply-add per lane (a DSP where Yosys maps it), the exact sum register, rounding
    (an increment of the quotient) and saturation (two comparators and a multiplexer); `roms`:
    element bits of each constant memory (one memory per parameter, PE lanes a word)."""
    xt, mt = cfg.input_type, cfg.mul_type
    dsp_lane = dsp_per_product(xt, mt, family) if xt.kind != Kind.BIPOLAR else 0
    mult = 0 if dsp_lane or xt.kind == Kind.BIPOLAR else lut_multiplier(xt.bits, mt.bits, family)
    # Xilinx DSPs also take the post-adder and the sum register (P = A*B + C, PREG).
    in_dsp = dsp_lane and family != "ecp5"
    per_lane = compare_bits + (0 if in_dsp else rq["sw"]) + rq["qw"] + rq["cw"] + rq["ob"]
    lut_mem = bram = 0
    for bits in roms:
        luts, blocks = _rom(cfg.pe * bits, cfg.channels // cfg.pe, family)
        lut_mem, bram = lut_mem + luts, bram + blocks
    rom_bits = sum(roms)
    lut = CONTROL_LUT + _scaled(cfg.pe * per_lane, family) + cfg.pe * mult + lut_mem
    regs = xt.bits + rq["ob"] + (0 if in_dsp else rq["sw"])
    ff = CONTROL_FF + cfg.pe * regs + SHALLOW_ROM_SHARE * cfg.pe * rom_bits
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, cfg.pe * dsp_lane)


def affine_requant(cfg: Affine, family: str) -> Estimate:
    """Affine with `shift`/`saturate_type` (hw/templates/affine.v.j2, requantising form). Not in
    ESTIMATORS: the Affine entry is `affine` (exact form); dispatch here when the config
    requantises. Fitted: ResNet-like INT8 x INT16 + INT24, 64 channels, PE 8 (docs/hardware.md)."""
    rq = _requant(cfg.input_type, cfg.mul_type, cfg.add_type, cfg.shift, cfg.saturate_type,
                  cfg.output_type)  # fmt: skip
    return _requant_lane(cfg, rq, 0, [cfg.mul_type.bits, cfg.add_type.bits], family)


def rprelu(cfg: RPReLU, family: str) -> Estimate:
    """RPReLU (hw/templates/rprelu.v.j2): five constant ROMs, a threshold comparator per lane, the
    segment multiplexer (merged into the ROM LUTs by synthesis), one product, requantisation."""
    rq = _requant(cfg.input_type, cfg.mul_type, cfg.add_type, cfg.shift, cfg.output_type,
                  cfg.output_type)  # fmt: skip
    tb, mb, ab = cfg.threshold_type.bits, cfg.mul_type.bits, cfg.add_type.bits
    return _requant_lane(cfg, rq, tb, [tb, mb, ab, mb, ab], family)


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
    lut = CONTROL_LUT + 40 + _scaled(cfg.pe * (k - 1) * (rb + ob), family)
    ff = CONTROL_FF + 40 + cfg.pe * (xb + rb + ob)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0, 0, lutram)


def global_avg_pool(cfg: GlobalAvgPool, family: str, bits: int | None = None) -> Estimate:
    """GlobalAvgPool (hw/templates/global_avg_pool.v.j2): an NF-word accumulator memory read and
    written every clock (LUT RAM or block RAM per `ram_blocks`), one adder and a clear per lane."""
    xb, ob = _sum_bits(cfg, bits, cfg.num_vectors)
    nf = cfg.channels // cfg.pe
    bram = ram_blocks(cfg.pe * ob, nf, family)
    lutram = lutram_luts(cfg.pe * ob, nf, family)
    lut = CONTROL_LUT + _scaled(cfg.pe * ob * 2, family)
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
