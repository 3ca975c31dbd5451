"""What the RTL of InstaThreshold is made of: ports, exact widths and constant memories (no I/O).

`flows.codegen.rtl` renders `insta_threshold(node)` into `hw/templates/insta_threshold.v.j2`.
The module has one input and two output streams (unlike the single-output kinds of
`rtl_kinds.ports`): `m_axis` carries PE BIPOLAR bits per word, `m_axis_delay` the input words one
frame later, for the residual shortcut (docs/insta.md); with `statistic_output` a third,
`m_axis_stat`, carries the frame's S vector (`stat_port`). Every width follows from an exact range
(docs/numerics.md sections 2 and 8): nothing wraps or saturates.
"""

from __future__ import annotations

import numpy as np

from flows.codegen.render import hlit, slit
from flows.codegen.rtl_insta_se import reader_context, se_submodule
from flows.codegen.rtl_kinds import LayerRTL
from flows.datatypes import BIPOLAR, INT, DataType, pack_words
from flows.graph import Node
from flows.hwmodel.memory import rom_style
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import product_range, smallest_type, width
from flows.hwmodel.structure import clog2
from flows.layers.insta import EVAL_STAGES, InstaThreshold, check_mu_range, check_params
from flows.layers.registry import checked_param

__all__ = ["InstaThreshold", "hw_offsets", "insta_ports", "insta_threshold", "stat_port", "widths"]


def insta_ports(cfg: InstaThreshold) -> tuple[Port, Port, Port]:
    """(s_axis, m_axis, m_axis_delay): input, activations, delayed input."""
    x = Port(cfg.pe, cfg.input_type, cfg.channels, cfg.num_vectors)
    return x, Port(cfg.pe, BIPOLAR, cfg.channels, cfg.num_vectors), x


def stat_port(cfg: InstaThreshold) -> Port:
    """m_axis_stat (statistic_output only): S of a frame, one vector of C acc_type values in
    C/PE words of PE lanes."""
    return Port(cfg.pe, cfg.acc_type, cfg.channels, 1, side=True)


def hw_offsets(cfg: InstaThreshold, a: np.ndarray, sign: np.ndarray) -> list[int]:
    """A' = A + 2^E - 1 where sigma > 0 and A + 2^E where sigma < 0: then (A' + M*S) >> E is
    ceil(T) resp. floor(T) + 1, one arithmetic shift for both signs."""
    bias = 1 << cfg.exponent
    return [int(v) + bias - (1 if s > 0 else 0) for v, s in zip(a, sign, strict=True)]


def tanh_type(cfg: InstaThreshold) -> DataType:
    """INSTA-Th+: the tanh table's entries rne(3 tanh(v/3) 2^G) lie in [-3 * 2^G, 3 * 2^G]."""
    bound = 3 << cfg.tanh_frac_bits
    return smallest_type(-bound, bound)


def cube_widths(dmax: int) -> dict[str, int]:
    """Widths of the write side's exact cube for |x 2^k - mu| <= dmax (_insta_write_side.v.j2)."""
    return dict(
        dw=width(-dmax, dmax, True),  # x 2^k - mu
        sqw=width(0, dmax**2, True),  # (x 2^k - mu)^2, kept signed for the next product
        cuw=width(-(dmax**3), dmax**3, True),  # (x 2^k - mu)^3
    )


def widths(cfg: InstaThreshold) -> dict[str, int]:
    """Bit widths of the datapath, each from the exact range of its value. `ob` is the
    evaluators' operand: S, or for INSTA-Th+ the tanh table entry of v = SE(S)."""
    n, dmax = cfg.input_type.bits, cfg.max_deviation
    ot, mt, st = cfg.offset_type, cfg.mantissa_type, cfg.acc_type
    op = st if cfg.se is None else tanh_type(cfg)
    a_lo, a_hi = ot.min, ot.max + (1 << cfg.exponent)  # A' of hw_offsets
    p_lo, p_hi = product_range(mt.bounds, op.bounds)
    return cube_widths(dmax) | dict(
        xb=n,
        sb=st.bits,
        ob=op.bits,
        mb=mt.bits,
        pw=width(p_lo, p_hi, True),  # M*S
        ab=width(a_lo, a_hi, True),
        sw=width(a_lo + p_lo, a_hi + p_hi, True),  # A' + M*S
        tb=cfg.threshold_type.bits,
    )


def _buffer_style(cfg: InstaThreshold) -> str:
    """ram_style of the frame buffer: the estimator's block/LUT rule (rtl_kinds.rom_style)."""
    style = rom_style(cfg.pe * cfg.input_type.bits, cfg.buffer_words)
    return "block" if style == "block" else "distributed"


def _context(cfg: InstaThreshold) -> dict:
    w = widths(cfg)
    t, g = cfg.input_type, cfg.num_evaluators
    lo, hi = t.min, t.max + 1  # the clamp of Threshold: always passed / never passed
    nfw = clog2(cfg.nf)
    return (
        w
        | dict(
            name=cfg.name,
            channels=cfg.channels,
            height=cfg.height,
            width=cfg.width,
            hw=cfg.num_vectors,
            pe=cfg.pe,
            nf=cfg.nf,
            cycles=cfg.cycles_per_frame,
            in_type=t.name,
            acc_type=cfg.acc_type.name,
            t_type=cfg.threshold_type.name,
            exponent=cfg.exponent,
            x_signed=t.signed,
            in_w=cfg.pe * t.bits,
            snw=cfg.pe * w["sb"],
            lb=w["tb"] + 1,
            bw=cfg.pe * (w["tb"] + 1),
            depth=cfg.buffer_words,
            buffer_style=_buffer_style(cfg),
            slack=cfg.buffer_words - cfg.cycles_per_frame,
            aw=clog2(cfg.buffer_words),
            cntw=cfg.buffer_words.bit_length(),
            nfw=nfw,
            vw=clog2(cfg.num_vectors),
            g=g,
            groups=cfg.pe // g,
            steps=cfg.eval_steps,
            kw=clog2(cfg.eval_steps),
            jw=clog2(cfg.pe // g),
            bank_depth=(2 << nfw) if cfg.nf > 1 else 2,
            bank_waddr=f"{{e_par, enf{EVAL_STAGES}}}" if cfg.nf > 1 else "e_par",
            ed=EVAL_STAGES,
            bank_raddr="{r_par, r_nf}" if cfg.nf > 1 else "r_par",
            lo_sw=slit(lo, w["sw"]),
            hi_sw=slit(hi, w["sw"]),
            lo_tb=hlit(lo, w["tb"]),
            hi_tb=hlit(hi, w["tb"]),
            mu_file=f"{cfg.name}_mu.mem",
            mu_type=cfg.mu_type.name,
            mu_b=cfg.mu_type.bits,
            mu_w=cfg.pe * cfg.mu_type.bits,
            mu_signed=cfg.mu_type.signed,
            kfrac=cfg.mu_frac_bits,
            a_file=f"{cfg.name}_a.mem",
            m_file=f"{cfg.name}_m.mem",
            neg_file=f"{cfg.name}_neg.mem",
            stat=cfg.statistic_output,
        )
        | _se_context(cfg, w)
    )


def _se_context(cfg: InstaThreshold, w: dict) -> dict:
    """The statistic reader (statistic port and/or SE) and the INSTA-Th+ evaluator operand."""
    ctx = reader_context(cfg, cfg.statistic_output)
    if cfg.se is None:
        return ctx | dict(lw=w["sb"], enw=cfg.pe * w["sb"])
    vb = cfg.se.v_bits
    return ctx | dict(lw=vb, tdepth=1 << vb, tanh_file=f"{cfg.name}_tanh.mem")


def insta_threshold(node: Node) -> LayerRTL:
    """InstaThreshold: the template context and four memories (mu per PE lane; A', M, sigma < 0
    per evaluator lane, word k holding channels k*G .. k*G + G - 1)."""
    cfg = node.config
    mu, a, m, sign = check_params(cfg, node.params)
    check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
    ctx = _context(cfg)
    g, ut = ctx["g"], cfg.mu_type
    at, mt = INT(ctx["ab"]), INT(ctx["mb"])
    a_hw = np.array(hw_offsets(cfg, a, sign), dtype=np.int64)
    memories = {
        ctx["mu_file"]: (pack_words(ut.encode(mu), ut.bits, cfg.pe), cfg.pe * ut.bits),
        ctx["a_file"]: (pack_words(at.encode(a_hw), at.bits, g), g * at.bits),
        ctx["m_file"]: (pack_words(mt.encode(m), mt.bits, g), g * mt.bits),
        ctx["neg_file"]: (pack_words((sign < 0).astype(np.uint64), 1, g), g),
    }
    if cfg.se is None:
        return LayerRTL("insta_threshold.v.j2", ctx, memories)
    tt = tanh_type(cfg)
    tab = checked_param(cfg.name, node.params, "tanh", (1 << cfg.se.v_bits,), tt)
    memories[ctx["tanh_file"]] = (pack_words(tt.encode(tab), tt.bits, 1), tt.bits)
    return LayerRTL("insta_threshold.v.j2", ctx, memories, (se_submodule(cfg, node.params),))
