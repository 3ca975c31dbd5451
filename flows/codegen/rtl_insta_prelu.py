"""What the RTL of InstaPReLU is made of: ports, exact widths and constant memories (no I/O).

`flows.codegen.rtl` renders `insta_prelu(node)` into `hw/templates/insta_prelu.v.j2`. The own
statistics form ("alpha") has InstaThreshold's structure (one circular frame buffer, exact S
accumulators, G evaluators, double-banked per-channel values) with gamma in place of the
threshold; the statistics-reuse form ("reuse") has no frame buffer: S of a frame arrives on a
second input, `s_axis_stat`, before the frame's elements (docs/insta.md). Every width follows from
an exact range (docs/numerics.md sections 2 and 10): nothing wraps or saturates except the two
saturations of the specification (v and the output).
"""

from __future__ import annotations

import numpy as np

from flows.codegen.render import hlit, slit
from flows.codegen.rtl_insta import cube_widths
from flows.codegen.rtl_insta_se import reader_context, se_submodule
from flows.codegen.rtl_kinds import LayerRTL
from flows.datatypes import INT, DataType, pack_words
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.memory import rom_style
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import product_range, width
from flows.hwmodel.structure import clog2
from flows.layers.insta import check_mu_range
from flows.layers.insta_prelu import EVAL_STAGES, InstaPReLU, param

__all__ = ["InstaPReLU", "insta_prelu", "prelu_ports", "prelu_widths"]


def prelu_ports(cfg: InstaPReLU) -> dict[str, Port]:
    """{port name: Port}: s_axis, (reuse) s_axis_stat, m_axis."""
    ports = {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, cfg.num_vectors)}
    if cfg.form == "reuse":
        ports["s_axis_stat"] = Port(cfg.pe, cfg.stat_type, cfg.stat_channels, 1, side=True)
    ports["m_axis"] = Port(cfg.pe, cfg.output_type, cfg.channels, cfg.num_vectors)
    return ports


def prelu_widths(cfg: InstaPReLU) -> dict[str, int]:
    """Bit widths of the datapath, each from the exact range of its value."""
    t, k, gf = cfg.input_type, cfg.mu_frac_bits, cfg.gamma_frac_bits
    dmax = (t.max - t.min) << k  # |x 2^k - mu| with mu clamped onto the input range
    mt, bt = INT(cfg.mantissa_bits), INT(cfg.offset_bits)
    p_lo, p_hi = product_range(mt.bounds, cfg.acc_type.bounds)
    tt = cfg.table_type
    d_lo, d_hi = (t.min << gf) - tt.max, (t.max << gf) - tt.min  # x 2^G - gamma
    y_lo, y_hi = product_range((d_lo, d_hi), cfg.mul_type.bounds)
    return cube_widths(dmax) | dict(
        xb=t.bits,
        mu_b=cfg.mu_type.bits,
        sb=cfg.acc_type.bits,
        mb=mt.bits,
        bb=bt.bits,
        pw=width(p_lo, p_hi, True),  # Mv*S
        esw=width(p_lo + bt.min, p_hi + bt.max, True),  # Mv*S + Bv
        vb=cfg.v_bits,
        tb=tt.bits,
        dgw=width(d_lo, d_hi, True),
        mulb=cfg.mul_type.bits,
        adb=cfg.add_type.bits,
        ypw=width(y_lo, y_hi, True),  # factor * d
        ysw=width(y_lo + cfg.add_type.min, y_hi + cfg.add_type.max, True),  # + add
        ob_b=cfg.output_type.bits,
    )


def _check(cfg: InstaPReLU) -> None:
    if cfg.form == "reuse" and cfg.stat_channels % cfg.pe:
        raise ConfigError(
            f"{cfg.name}: the statistic port carries PE={cfg.pe} lanes per word, which must "
            f"divide stat_channels={cfg.stat_channels}; lower PE"
        )
    if cfg.v_bits < 2:
        raise ConfigError(f"{cfg.name}: v_bits={cfg.v_bits}; the RTL needs at least 2")


def _names(cfg: InstaPReLU) -> dict[str, str]:
    keys = ("mu", "mv", "bv", "table", "mp", "mn", "add")
    return {f"{k}_file": f"{cfg.name}_{k}.mem" for k in keys}


def _context(cfg: InstaPReLU) -> dict:
    w = prelu_widths(cfg)
    own, g = cfg.form != "reuse", cfg.num_evaluators
    nfw, vb, ot = clog2(cfg.nf), w["vb"], cfg.output_type
    snf = cfg.nf if own else cfg.stat_words
    ev, rs = cfg.stat_exponent, cfg.shift + cfg.gamma_frac_bits
    depth = max(cfg.buffer_words, 1)
    return (
        w
        | _names(cfg)
        | dict(
            name=cfg.name,
            form=cfg.form,
            own=own,
            channels=cfg.channels,
            height=cfg.height,
            width=cfg.width,
            hw=cfg.num_vectors,
            pe=cfg.pe,
            nf=cfg.nf,
            cycles=cfg.cycles_per_frame,
            in_type=cfg.input_type.name,
            out_type=ot.name,
            acc_type=cfg.acc_type.name,
            mu_type=cfg.mu_type.name,
            t_type=cfg.table_type.name,
            stat_channels=cfg.stat_channels or cfg.channels,
            kfrac=cfg.mu_frac_bits,
            gf=cfg.gamma_frac_bits,
            ev=ev,
            rs=rs,
            x_signed=cfg.input_type.signed,
            mu_signed=cfg.mu_type.signed,
            t_signed=cfg.table_type.signed,
            in_w=cfg.pe * w["xb"],
            out_w=cfg.pe * w["ob_b"],
            mu_w=cfg.pe * w["mu_b"],
            snw=cfg.pe * w["sb"],
            enw=cfg.pe * w["sb"],
            gbw=cfg.pe * w["tb"],
            depth=depth,
            slack=cfg.buffer_words - cfg.cycles_per_frame,
            buffer_style=_buffer_style(cfg),
            aw=clog2(depth),
            cntw=depth.bit_length(),
            nfw=nfw,
            vw=clog2(cfg.num_vectors),
            snf=snf,
            snfw=clog2(snf),
            s_index="e_nf" if own else "e_snf",
            g=g,
            groups=cfg.pe // g,
            steps=cfg.eval_steps,
            kw=clog2(cfg.eval_steps),
            jw=clog2(cfg.pe // g),
            tdepth=1 << vb,
            bank_depth=(2 << nfw) if cfg.nf > 1 else 2,
            bank_waddr=f"{{e_par, enf{EVAL_STAGES}}}" if cfg.nf > 1 else "e_par",
            ed=EVAL_STAGES,
            bank_raddr="{r_par, r_nf}" if cfg.nf > 1 else "r_par",
            ev_half=f"{max(ev, 1)}'d{1 << (ev - 1)}" if ev else "",
            rs_half=f"{max(rs, 1)}'d{1 << (rs - 1)}" if rs else "",
            vlo_sw=slit(-(1 << (vb - 1)), w["esw"]),
            vhi_sw=slit((1 << (vb - 1)) - 1, w["esw"]),
            vlo=hlit(-(1 << (vb - 1)), vb),
            vhi=hlit((1 << (vb - 1)) - 1, vb),
            olo_sw=slit(ot.min, w["ysw"]),
            ohi_sw=slit(ot.max, w["ysw"]),
            olo=hlit(ot.min, w["ob_b"]),
            ohi=hlit(ot.max, w["ob_b"]),
        )
        | reader_context(cfg, False)
    )


def _buffer_style(cfg: InstaPReLU) -> str:
    """ram_style of the frame buffer: the estimator's block/LUT rule (rtl_kinds.rom_style)."""
    style = rom_style(cfg.pe * cfg.input_type.bits, max(cfg.buffer_words, 1))
    return "block" if style == "block" else "distributed"


def _lanes(values: np.ndarray, t: DataType, lanes: int) -> tuple[list[int], int]:
    return pack_words(t.encode(values), t.bits, lanes), lanes * t.bits


def insta_prelu(node: Node) -> LayerRTL:
    """InstaPReLU: the template context and its memories: Mv, Bv per evaluator lane (word k =
    channels k*G .. k*G + G - 1), the gamma table (word v - min), mul_pos, mul_neg, add (and mu,
    own form) per PE lane."""
    cfg = node.config
    _check(cfg)
    c, pe, ctx = cfg.channels, cfg.pe, _context(cfg)
    g = ctx["g"]

    def p(key: str, t: DataType | None, size: int = c) -> np.ndarray:
        return param(cfg, node.params, key, t, size)

    mt, bt = INT(cfg.mantissa_bits), INT(cfg.offset_bits)
    mems = {} if cfg.se is not None else {
        ctx["mv_file"]: _lanes(p("Mv", mt), mt, g),
        ctx["bv_file"]: _lanes(p("Bv", bt), bt, g),
    }  # fmt: skip
    mems |= {
        ctx["table_file"]: _lanes(p("table", cfg.table_type, 1 << cfg.v_bits), cfg.table_type, 1),
        ctx["mp_file"]: _lanes(p("mul_pos", cfg.mul_type), cfg.mul_type, pe),
        ctx["mn_file"]: _lanes(p("mul_neg", cfg.mul_type), cfg.mul_type, pe),
        ctx["add_file"]: _lanes(p("add", cfg.add_type), cfg.add_type, pe),
    }
    if cfg.form != "reuse":
        mu = p("mu", cfg.mu_type)
        check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
        mems[ctx["mu_file"]] = _lanes(mu, cfg.mu_type, pe)
    subs = () if cfg.se is None else (se_submodule(cfg, node.params),)
    return LayerRTL("insta_prelu.v.j2", ctx, mems, subs)
