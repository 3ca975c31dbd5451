"""The RTL parameters of InstaThreshold (hw/templates/insta_threshold.v.j2 with the write side
_insta_write_side.v.j2 and, for INSTA-Th+ or the statistic port, the reader
_insta_stat_reader.v.j2).

The module has one input and two output streams: `m_axis` carries PE BIPOLAR bits per word,
`m_axis_delay` the input words one frame later, for the residual shortcut (docs/insta.md; with
the frame buffer in DRAM the tier serves that stream from the ring, a tap, and the module has no
such port); with `statistic_output` a third, `m_axis_stat`, carries the frame's S vector. Every width follows from
an exact range (`widths`, docs/numerics.md sections 2 and 8): nothing wraps or saturates.
"""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT, pack_words
from flows.layers.backends import LayerRTL, joined_image, memory_image
from flows.layers.checks import checked_param
from flows.layers.insta_se.rtl import reader_context, se_sub_block
from flows.layers.insta_statistics import check_mu_range, frame_context
from flows.layers.insta_threshold.config import InstaThreshold
from flows.layers.insta_threshold.golden import check_params
from flows.layers.insta_threshold.widths import InstaThresholdWidths, hw_offsets, tanh_type, widths


def _width_context(w: InstaThresholdWidths) -> dict:
    """The template's names of the widths (`op_bits`: the evaluators' operand)."""
    return dict(
        dw=w.cube.dev_bits, sqw=w.cube.square_bits, cuw=w.cube.cube_bits, in_bits=w.in_bits,
        sb=w.stat_bits, op_bits=w.op_bits, mb=w.mant_bits, pw=w.product_bits, ab=w.offset_bits,
        sw=w.sum_bits, tb=w.threshold_bits,
    )  # fmt: skip


def _context(cfg: InstaThreshold) -> dict:
    w = widths(cfg)
    t = cfg.input_type
    lo, hi = t.min, t.max + 1  # the clamp of Threshold: always passed / never passed
    return (
        _width_context(w)
        | frame_context(cfg, cfg.eval_stages)
        | dict(
            t_type=cfg.threshold_type.name,
            exponent=cfg.exponent,
            lb=w.threshold_bits + 1,
            bw=cfg.pe * (w.threshold_bits + 1),
            th_lo=lo,
            th_hi=hi,
            mu_file=f"{cfg.name}_mu.mem",
            mu_b=cfg.mu_type.bits,
            a_file=f"{cfg.name}_a.mem",
            m_file=f"{cfg.name}_m.mem",
            neg_file=f"{cfg.name}_neg.mem",
            e_file=f"{cfg.name}_e.mem",
            stat=cfg.statistic_output,
            sn=cfg.serial_bits if cfg.serial_evaluators else 0,  # eval_serial's N
        )
        | _se_context(cfg, w)
    )


def _se_context(cfg: InstaThreshold, w: InstaThresholdWidths) -> dict:
    """The statistic reader (statistic port and/or SE) and the INSTA-Th+ evaluator operand."""
    ctx = reader_context(cfg, cfg.statistic_output)
    if cfg.se is None:
        return ctx | dict(lw=w.stat_bits, enw=cfg.pe * w.stat_bits)
    vb = cfg.se.v_bits
    return ctx | dict(lw=vb, tdepth=1 << vb, tanh_file=f"{cfg.name}_tanh.mem")


def rtl(cfg: InstaThreshold, params: dict) -> LayerRTL:
    """The template context and four memories (mu per PE lane; A', M, sigma < 0 per evaluator
    lane, word k holding channels k*G .. k*G + G - 1); INSTA-Th+ adds the tanh table and the SE."""
    mu, a, m, sign = check_params(cfg, params)
    check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
    ctx = _context(cfg)
    g, ut = ctx["g"], cfg.mu_type
    at, mt = INT(ctx["ab"]), INT(ctx["mb"])
    a_hw = np.array(hw_offsets(cfg, a, sign), dtype=np.int64)
    memories = {
        ctx["mu_file"]: memory_image(mu, ut, cfg.pe),
        ctx["a_file"]: memory_image(a_hw, at, g),
        ctx["m_file"]: memory_image(m, mt, g),
        ctx["neg_file"]: (pack_words((sign < 0).astype(np.uint64), 1, g), g),
    }
    if ctx["e_dram"]:  # one region for the evaluators, {sigma < 0, M, A'} a step's word
        parts = (memories.pop(ctx[k]) for k in ("a_file", "m_file", "neg_file"))
        memories[ctx["e_file"]] = joined_image(*parts)
    if cfg.se is None:
        return LayerRTL(ctx, memories)
    tt = tanh_type(cfg)
    tab = checked_param(cfg.name, params, "tanh", (1 << cfg.se.v_bits,), tt)
    memories[ctx["tanh_file"]] = memory_image(tab, tt, 1)
    return LayerRTL(ctx, memories, (se_sub_block(cfg, params),))
