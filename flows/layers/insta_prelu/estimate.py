"""The estimator of InstaPReLU: per lane x 2^G - gamma, one product, the add, rounding and
saturation; G evaluators (Mv*S, rounding of v, a gamma table each); the own forms add
InstaThreshold's write side and frame buffer; INSTA-PReLU+ the SE path."""

from __future__ import annotations

import math

from flows.datatypes import INT
from flows.hwmodel.cube import cube_dsp, cube_pipeline_ff, shared_mux_luts
from flows.hwmodel.logic import dsp_per_product, mul_pipe_blocks, scaled
from flows.hwmodel.memory import buffer_memory, memory
from flows.hwmodel.resources import Estimate
from flows.hwmodel.serial import serial_cost
from flows.layers.insta_prelu.config import InstaPReLU
from flows.layers.insta_prelu.widths import InstaPReLUWidths, widths
from flows.layers.insta_se.estimate import se_path
from flows.layers.insta_statistics import frame_memories

# INSTA-PReLU own-statistics write side (cube pipeline, S accumulators): LUTs per lane and S bit;
# fitted on 7x7x64 INT8 PE 8 (docs/insta.md): ECP5's LUT4 adders cost more than carry chains.
PRELU_WRITE_LUT = {"ecp5": 4.0, "xc7": 1.2, "xcup": 1.2}


def _memories(cfg: InstaPReLU, w: InstaPReLUWidths, family: str) -> tuple[int, int, int]:
    """(LUT, BRAM, LUT RAM) of one gamma table per evaluator, the S memories and gamma banks
    (`frame_memories`) and the constant ROMs (ROM LUTs weighted 0.6: constant bits fold, as in threshold)."""
    g, pe, nf = cfg.num_evaluators, cfg.pe, cfg.nf
    tables = [memory(w.table_bits, cfg.table_words, family)] * g  # half of it when folded
    # The constant ROMs follow the size rule (the RTL's rom_style): block RAM from 4 kbit on (a
    # deep layer's, 512 channel groups at PE 1), else LUTs, weighted 0.6 (constant bits fold).
    # With constants in DRAM, mul_pos, mul_neg, add, mu and Mv, Bv stream in (no ROM).
    on_chip = cfg.constants == "chip"
    roms = [(pe * w.mul_bits, nf)] * 2 + [(pe * w.add_bits, nf)] if on_chip else []
    roms += (
        [(g * w.mant_bits, cfg.eval_steps), (g * w.offset_bits, cfg.eval_steps)]
        if cfg.se is None and on_chip
        else []
    )
    roms += [(pe * w.mu_bits, nf)] if cfg.form != "reuse" and on_chip else []
    rom = [memory(width, depth, family) for width, depth in roms]
    frame_lut, frame_bram, lutram = frame_memories(cfg, pe * w.table_bits, family)
    lut = sum(m[0] for m in tables) + math.ceil(0.6 * sum(r[0] for r in rom)) + frame_lut
    return lut, sum(m[1] for m in tables) + sum(r[1] for r in rom) + frame_bram, lutram


def _dsp(cfg: InstaPReLU, w: InstaPReLUWidths, family: str) -> int:
    """Products: (own) d^2 and d^3 per lane, Mv*S per evaluator, factor*d per lane; with shared
    multipliers one block per lane's cube and per evaluator's Mv*S."""

    def dsp(a: int, b: int) -> int:
        return dsp_per_product(INT(a), INT(b), family)

    n = cfg.pe * dsp(w.gdev_bits, w.mul_bits)
    if cfg.se is None and not cfg.serial_evaluators:
        n += cfg.num_evaluators * (
            1 if cfg.shared_evaluators else mul_pipe_blocks(w.stat_bits, w.mant_bits)
        )
    if cfg.form != "reuse":
        n += cfg.pe * (1 if cfg.shared else cube_dsp(w.cube, family))
    return n


def estimate(cfg: InstaPReLU, family: str) -> Estimate:
    """INSTA-PReLU (docs/insta.md): per lane x 2^G - gamma, one product, the add, rounding and
    saturation; G evaluators (Mv*S, rounding of v, a gamma table each); the own form adds
    InstaThreshold's write side and frame buffer. Fitted on one ECP5/xc7 synthesis per form
    (7x7x64 INT8 PE 8). INSTA-PReLU+ (form "se"): the own form with the SE path in place of the
    evaluators' Mv*S + Bv (v only delayed to the table read)."""
    w, g, pe = widths(cfg), cfg.num_evaluators, cfg.pe
    own, se = cfg.form != "reuse", cfg.se is not None
    lane = 2 * w.ysum_bits + w.gdev_bits + w.mul_bits
    evaluator = w.table_bits if se else 2 * w.vsum_bits + w.table_bits
    if cfg.serial_evaluators:  # eval_serial in place of Mv*S, the sum, rounding, saturation
        s_lut, s_ff = serial_cost(
            w.stat_bits, w.mant_bits, w.offset_bits, cfg.serial_bits, w.v_bits, True, cfg.nf
        )
        evaluator = s_lut + w.table_bits
    lut_mem, bram, lutram = _memories(cfg, w, family)
    uram = 0
    if own and cfg.buffer == "chip":  # the frame buffer (written: URAM on UltraScale+)
        buf_bram, uram = buffer_memory(pe * w.in_bits, cfg.buffer_words, family)
        bram += buf_bram
    logic = scaled(150 + pe * lane + g * evaluator, family)
    ff_lane = (
        w.in_bits + w.table_bits + 2 * w.mul_bits + 3 * w.add_bits + w.gdev_bits + w.yprod_bits
        + w.ysum_bits
    )  # fmt: skip
    ff_eval = (
        w.stat_bits + w.mant_bits + 2 * w.offset_bits + w.product_bits + w.vsum_bits + w.v_bits
        + w.table_bits
    )  # fmt: skip
    absorbed = pe * (w.gdev_bits + w.mul_bits + w.yprod_bits)
    if se:
        ff_eval = 4 * w.v_bits + w.table_bits
    elif cfg.serial_evaluators:  # eval_serial and its held control, then the table read
        ff_eval = s_ff + w.table_bits
    else:
        absorbed += g * (w.mant_bits + w.stat_bits + w.product_bits)
    if cfg.table_fold:  # per evaluator: |v|, the sign and the -2^(b-1) entry, two registers
        logic += scaled(g * (w.v_bits + 2 * w.table_bits), family)
        ff_eval += 2 * w.table_bits + 4
    ff = 100 + pe * (ff_lane + w.out_bits) + g * ff_eval
    # The Fmax pipelining (docs/insta.md, "Fmax"): the read side's register of the word and its
    # gamma, the rounded output sum, and (own forms) the cube's mul_pipe stages.
    ff += pe * (w.in_bits + w.table_bits + w.ysum_bits)
    if own:
        ff += pe * cube_pipeline_ff(w.cube)
        logic += math.ceil(pe * PRELU_WRITE_LUT[family] * w.stat_bits)
        c = w.cube
        ff += pe * (w.in_bits + w.mu_bits + 2 * c.dev_bits + c.square_bits + c.cube_bits)
        absorbed += pe * (c.dev_bits + c.square_bits + c.cube_bits)
    if family != "ecp5":  # DSP48 input/product registers, SRL delay lines
        ff = 0.65 * (ff - absorbed)
    dsp = _dsp(cfg, w, family)
    if cfg.shared:
        cube_turns = cfg.word_cycles if own else 0
        eval_turns = cfg.eval_cycles if cfg.shared_evaluators else 0
        logic += scaled(shared_mux_luts(pe, cube_turns, g, eval_turns), family)
    if se:
        path = se_path(cfg, family)
        logic, ff, dsp = logic + path.lut, ff + path.ff, dsp + path.dsp
    return Estimate(cfg.cycles_per_frame, logic + lut_mem, math.ceil(ff), bram, dsp, uram, lutram)
