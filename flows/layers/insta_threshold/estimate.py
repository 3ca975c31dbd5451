"""The estimator of InstaThreshold: the frame buffer (block RAM, or URAM on UltraScale+), the
exact cube per lane, the S accumulators, the evaluators and, for INSTA-Th+, the SE path."""

from __future__ import annotations

import math

from flows.hwmodel.cube import cube_dsp, cube_pipeline_ff, shared_mux_luts
from flows.hwmodel.fifo import stream_fifo
from flows.hwmodel.logic import mul_pipe_blocks, scaled
from flows.hwmodel.memory import buffer_memory, memory
from flows.hwmodel.resources import Estimate
from flows.hwmodel.serial import serial_cost
from flows.layers.insta_se.estimate import se_path
from flows.layers.insta_statistics import evaluators_in_dram, frame_memories
from flows.layers.insta_threshold.config import InstaThreshold
from flows.layers.insta_threshold.widths import InstaThresholdWidths, widths

# Xilinx share of INSTA-Th's ECP5 flip-flop count (fitted: 7x7x64 INT8 PE 8, 851 / 2120 FF).
INSTA_TH_XILINX_FF = 0.4


def _pipeline_ff(cfg: InstaThreshold, w: InstaThresholdWidths, op: int) -> int:
    """Registers the Fmax pipelining added (docs/insta.md, "Fmax"): the cube's and M*S's
    mul_pipe stages (each slice product and the sum, product-wide), the evaluators' second operand
    register and offset delays, the read side's register of the buffered word and thresholds."""
    mb, ab = cfg.mantissa_bits, w.offset_bits
    ops = mul_pipe_blocks(op, 18) + 1
    evaluator = 0 if cfg.serial_evaluators else ops * (op + mb) + op + mb + 3 * ab
    read = cfg.pe * (cfg.input_type.bits + w.threshold_bits + 1)
    return cfg.pe * cube_pipeline_ff(w.cube) + cfg.num_evaluators * evaluator + read


def estimate(cfg: InstaThreshold, family: str) -> Estimate:
    """INSTA-Th (docs/insta.md): frame buffer in BRAM, exact cube pipeline per lane (two
    multipliers, DSPs), S accumulators, G evaluators (M*S in DSPs). Fitted on one ECP5/xc7
    synthesis (7x7x64 INT8, PE 8), checked against the synthesis baselines (docs/insta.md).
    INSTA-Th+ adds its SE path and a tanh table per evaluator, whose entry replaces S in M*S."""
    w = widths(cfg)
    acc, op, mb = cfg.acc_type.bits, w.op_bits, cfg.mantissa_bits
    g = cfg.num_evaluators
    bram, uram = 0, 0  # a frame buffer in DRAM costs its tier (flows/memtier.py), not this layer
    if cfg.buffer == "chip":
        bram, uram = buffer_memory(cfg.pe * cfg.input_type.bits, cfg.buffer_words, family)
    # S accumulators, snapshot and the double-banked thresholds; the constant ROMs (A', M and
    # sigma < 0 per evaluator step, mu per channel group) by the size rule, their LUTs weighted
    # 0.6 (constant bits fold)
    mem_lut, mem_bram, lutram = frame_memories(cfg, cfg.pe * (w.threshold_bits + 1), family)
    bram += mem_bram
    roms = []  # constants in DRAM: streamed in (the SE forms keep the evaluators' ROMs)
    if not evaluators_in_dram(cfg):
        roms += [memory(g * width, cfg.eval_steps, family) for width in (w.offset_bits, mb, 1)]
    if cfg.constants == "chip":
        roms.append(memory(cfg.pe * cfg.mu_type.bits, cfg.nf, family))
    bram += sum(r[1] for r in roms)
    dsp = cfg.pe * cube_dsp(w.cube, family) + g * mul_pipe_blocks(op, mb)
    if cfg.serial_evaluators:  # hw/lib/eval_serial.v in place of M*S, the sum and the clamp
        e_lut, e_ff = serial_cost(
            op, mb, w.offset_bits, cfg.serial_bits, w.threshold_bits, False, cfg.nf
        )
    else:
        e_lut, e_ff = op + 48, op + 48
    lut = 150 + scaled(cfg.pe * 5 * acc + g * e_lut, family)
    lut += math.ceil(0.6 * sum(r[0] for r in roms)) + mem_lut
    if cfg.shared:  # one multiplier per cube and per evaluator's M*S (SE forms: M*tanh stays)
        evals = 1 if cfg.shared_evaluators else mul_pipe_blocks(op, mb)
        dsp = cfg.pe + (0 if cfg.serial_evaluators else g * evals)
        turns = cfg.eval_cycles if cfg.shared_evaluators else 0
        lut += scaled(shared_mux_luts(cfg.pe, cfg.word_cycles, g, turns), family)
    ff = 150 + cfg.pe * 5 * acc + g * e_ff + _pipeline_ff(cfg, w, op)
    if family != "ecp5":  # DSP48 input/product registers and SRL delay lines absorb most of them
        ff = math.ceil(INSTA_TH_XILINX_FF * ff)
    if cfg.buffer == "dram":  # no delayed output: the tier's tap of the ring serves the shortcut
        skid = stream_fifo(cfg.pe * cfg.input_type.bits, 2, family)
        lut, ff = lut - skid.lut, ff - skid.ff - cfg.pe * cfg.input_type.bits  # and its register
    if cfg.se is not None:
        se = se_path(cfg, family)
        tab_lut, tab_bram = memory(op, 1 << cfg.se.v_bits, family)
        lut, ff, dsp = lut + se.lut + g * tab_lut, ff + se.ff, dsp + se.dsp
        bram += g * tab_bram
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp, uram, lutram)
