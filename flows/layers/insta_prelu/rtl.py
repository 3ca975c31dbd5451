"""The RTL parameters of InstaPReLU (hw/templates/insta_prelu.v.j2, its read side in
_insta_prelu_read_side.v.j2).

The own statistics forms ("alpha", "se") have InstaThreshold's structure (one circular frame
buffer, the write side _insta_write_side.v.j2, G evaluators, double-banked per-channel values)
with gamma in place of the threshold; the statistics-reuse form ("reuse") has no frame buffer: S of
a frame arrives on a second input, `s_axis_stat`, before the frame's elements (docs/insta.md).
Every width follows from an exact range (`widths`).
"""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT, DataType
from flows.errors import ConfigError
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL, joined_image, memory_image
from flows.layers.insta_prelu.config import (
    TABLE_FOLD_STAGES,
    InstaPReLU,
    check_emittable,
    param,
)
from flows.layers.insta_prelu.widths import InstaPReLUWidths, widths
from flows.layers.insta_se.rtl import reader_context, se_sub_block
from flows.layers.insta_statistics import frame_context


def _width_context(w: InstaPReLUWidths) -> dict:
    """The template's names of the widths."""
    return dict(
        dw=w.cube.dev_bits, sqw=w.cube.square_bits, cuw=w.cube.cube_bits, in_bits=w.in_bits,
        mu_b=w.mu_bits, sb=w.stat_bits, mb=w.mant_bits, bb=w.offset_bits, pw=w.product_bits,
        esw=w.vsum_bits, vb=w.v_bits, tb=w.table_bits, dgw=w.gdev_bits, mulb=w.mul_bits,
        adb=w.add_bits, ypw=w.yprod_bits, ysw=w.ysum_bits, out_bits=w.out_bits,
    )  # fmt: skip


def _check(cfg: InstaPReLU, params: dict) -> None:
    check_emittable(cfg, params)
    if cfg.v_bits < 2:
        raise ConfigError(f"{cfg.name}: v_bits={cfg.v_bits}; the RTL needs at least 2")


def _names(cfg: InstaPReLU) -> dict[str, str]:
    keys = ("mu", "mv", "bv", "table", "mp", "mn", "add", "c", "e")
    return {f"{k}_file": f"{cfg.name}_{k}.mem" for k in keys}


def _context(cfg: InstaPReLU) -> dict:
    w = widths(cfg)
    own, vb, ot = cfg.form != "reuse", w.v_bits, cfg.output_type
    snf = cfg.nf if own else cfg.stat_words
    return (
        _width_context(w)
        | _names(cfg)
        | frame_context(cfg, cfg.eval_stages)
        | dict(
            form=cfg.form,
            own=own,
            c_dram=cfg.constants == "dram",
            t_type=cfg.table_type.name,
            stat_channels=cfg.stat_channels or cfg.channels,
            gf=cfg.gamma_frac_bits,
            ev=cfg.stat_exponent,
            rs=cfg.shift + cfg.gamma_frac_bits,
            t_signed=cfg.table_type.signed,
            enw=cfg.pe * w.stat_bits,
            gbw=cfg.pe * w.table_bits,
            snf=snf,
            snfw=clog2(snf),
            s_index="e_nf" if own else "e_snf",
            tdepth=cfg.table_words,
            tfold=cfg.table_fold,
            tr=cfg.eval_stages - (TABLE_FOLD_STAGES if cfg.table_fold else 0),
            v_min=-(1 << (vb - 1)),
            v_max=(1 << (vb - 1)) - 1,
            out_min=ot.min,
            out_max=ot.max,
            sn=cfg.serial_bits if cfg.serial_evaluators else 0,  # eval_serial's N
        )
        | reader_context(cfg, False)
    )


def rtl(cfg: InstaPReLU, params: dict) -> LayerRTL:
    """InstaPReLU: the template context and its memories: Mv, Bv per evaluator lane (word k =
    channels k*G .. k*G + G - 1), the gamma table (word v - min), mul_pos, mul_neg, add (and mu,
    own form) per PE lane."""
    _check(cfg, params)
    c, pe, ctx = cfg.channels, cfg.pe, _context(cfg)
    g = ctx["g"]

    def p(key: str, t: DataType | None, size: int = c) -> np.ndarray:
        return param(cfg, params, key, t, size)

    mt, bt = INT(cfg.mantissa_bits), INT(cfg.offset_bits)
    mems = {} if cfg.se is not None else {
        ctx["mv_file"]: memory_image(p("Mv", mt), mt, g),
        ctx["bv_file"]: memory_image(p("Bv", bt), bt, g),
    }  # fmt: skip
    if ctx["e_dram"]:  # one region for the evaluators, {Bv, Mv} a step's word
        mems[ctx["e_file"]] = joined_image(mems.pop(ctx["mv_file"]), mems.pop(ctx["bv_file"]))
    table = p("table", cfg.table_type, 1 << cfg.v_bits)
    if cfg.table_fold:  # v = 0 .. 2^(b-1) - 1 (entries 2^(b-1) ..); v = min is a constant
        ctx["t_min"] = int(table[0])
        table = table[1 << (cfg.v_bits - 1) :]
    mems[ctx["table_file"]] = memory_image(table, cfg.table_type, 1)
    mp, mn, add = (memory_image(p(k, t), t, pe) for k, t in
                   (("mul_pos", cfg.mul_type), ("mul_neg", cfg.mul_type), ("add", cfg.add_type)))  # fmt: skip
    if cfg.constants == "dram":  # one region, {add, mul_neg, mul_pos} a word (kind.dram_regions)
        mems[ctx["c_file"]] = joined_image(mp, mn, add)
    else:
        mems |= {ctx["mp_file"]: mp, ctx["mn_file"]: mn, ctx["add_file"]: add}
    if cfg.form != "reuse":
        mems[ctx["mu_file"]] = memory_image(p("mu", cfg.mu_type), cfg.mu_type, pe)
    subs = () if cfg.se is None else (se_sub_block(cfg, params),)
    return LayerRTL(ctx, mems, subs)
