"""RTL of the integer SE block of INSTA-Th+ / INSTA-PReLU+ (hw/templates/insta_se.v.j2;
docs/insta.md, "InstaSE RTL").

A sub-block, not a layer kind: the INSTA-Th+ and INSTA-PReLU+ blocks instantiate it
(`se_sub_block`; their statistic reader: `reader_context`). Per frame it takes the statistic S
(C values of INT(stat_bits), `lanes` per word) on `s_axis` and returns v (C values of
INT(v_bits), `lanes` per word) on `m_axis`, bit-exact to `flows.layers.insta_se.se_v`:

    m3 = sat_INT8(rne(Mm*S >> m3_shift))                  L rescalers, as S arrives
    h  = sat_UINT8(rne(Mh*max(w1 @ m3, 0) >> hidden_shift)) FC1 on M MACs, then M rescalers
    v  = sat_INT(v_bits)(rne(Mo*(w2 @ h) >> v_shift))      FC2 on M MACs, then M rescalers

Schedule (M = macs_per_cycle, output-stationary): FC1 in hidden/M groups of C cycles (M hidden
units, one m3 broadcast per cycle), FC2 in C/M groups of `hidden` cycles; weights in two ROMs of
M lanes, one word per cycle. One frame at a time: S is accepted, the two layers run, v streams
out, then the next S is accepted (`se_cycles` gives the latency from the last S word to the last v
word at full output rate).
"""

from __future__ import annotations

from flows.datatypes import INT
from flows.errors import ConfigError
from flows.hwmodel.memory import rom_style
from flows.hwmodel.structure import clog2
from flows.layers.backends import SubBlock, memory_image
from flows.layers.insta_se.config import (
    LAYER_DRAIN,
    M3_DRAIN,
    SE_HIDDEN,
    SE_INPUT,
    WEIGHT,
    SEConfig,
    se_cycles,
    se_params,
)
from flows.layers.insta_se.widths import Rescaler, se_widths

TEMPLATE = "insta_se.v.j2"
MAX_OUT_BITS = 31  # v and the saturation bounds are compared as signed literals


def check_folding(se: SEConfig, lanes: int, macs_per_cycle: int, stat_bits: int) -> None:
    """ConfigError unless lanes divides C and M divides both C and hidden."""
    c, h, m = se.channels, se.hidden, macs_per_cycle
    if lanes < 1 or c % lanes:
        raise ConfigError(f"insta_se: lanes={lanes} must divide channels={c}")
    if m < 1 or c % m or h % m:
        raise ConfigError(
            f"insta_se: macs_per_cycle={m} must divide channels={c} and hidden={h}; pick a "
            "common divisor"
        )
    if not 2 <= se.v_bits <= MAX_OUT_BITS or stat_bits < 2:
        raise ConfigError(
            f"insta_se: v_bits={se.v_bits} must lie in 2..{MAX_OUT_BITS} and stat_bits="
            f"{stat_bits} be >= 2"
        )


def _context(se: SEConfig, name: str, lanes: int, m: int, stat_bits: int) -> dict:
    c, h, mb, vb = se.channels, se.hidden, se.mantissa_bits, se.v_bits
    aw = se_widths(se).acc_bits
    issue = c * h // m
    files = {f"{k}_file": f"{name}_{k}.mem" for k in ("mm", "w1", "mh", "w2", "mo")}
    return files | dict(
        name=name, channels=c, hidden=h, lanes=lanes, macs=m, sb=stat_bits, mb=mb, vb=vb, aw=aw,
        in_w=lanes * stat_bits, out_w=lanes * vb, in_words=c // lanes, inw=clog2(c // lanes),
        issue=issue, iaw=clog2(issue), kw=clog2(max(c, h)), g1=h // m, g1w=clog2(h // m),
        g2=c // m, g2w=clog2(c // m), cycles=se_cycles(se, lanes, m), m3_drain=M3_DRAIN,
        wcw=max(M3_DRAIN, LAYER_DRAIN).bit_length(),
        drain=LAYER_DRAIN, w_style=rom_style(8 * m, issue),
        r_m3=Rescaler(stat_bits, mb, se.m3_shift, SE_INPUT),
        r_h=Rescaler(aw, mb, se.hidden_shift, SE_HIDDEN, relu=True),
        r_v=Rescaler(aw, mb, se.v_shift, INT(vb)),
        shifts=(se.m3_shift, se.hidden_shift, se.v_shift),
    )  # fmt: skip


def se_memories(se: SEConfig, params: dict, name: str, lanes: int, m: int) -> dict:
    """{file: (words, width)}: Mm (C/lanes words of `lanes` lanes); w1 (word g*C + c, lane k =
    w1[g*M + k, c]); Mh (word g, lane k = Mh[g*M + k]); w2 (word g*hidden + j, lane k =
    w2[g*M + k, j]); Mo (word g, lane k = Mo[g*M + k])."""
    c, h = se.channels, se.hidden
    mant = INT(se.mantissa_bits)
    p = se_params(name, se, params)
    mm, w1, mh, w2, mo = p.mm, p.w1, p.mh, p.w2, p.mo
    # (groups, M, inner) -> (groups, inner, M): lane k of word (g, i) is row g*M + k
    w1g = w1.reshape(h // m, m, c).transpose(0, 2, 1)
    w2g = w2.reshape(c // m, m, h).transpose(0, 2, 1)
    return {
        f"{name}_mm.mem": memory_image(mm, mant, lanes),
        f"{name}_w1.mem": memory_image(w1g, WEIGHT, m),
        f"{name}_mh.mem": memory_image(mh, mant, m),
        f"{name}_w2.mem": memory_image(w2g, WEIGHT, m),
        f"{name}_mo.mem": memory_image(mo, mant, m),
    }


def insta_se_block(
    se_cfg: SEConfig,
    params: dict,
    name: str,
    *,
    stat_bits: int,
    lanes: int = 1,
    macs_per_cycle: int = 1,
) -> SubBlock:
    """The module `name` (plus its rescaler modules) and its five ROM images."""
    check_folding(se_cfg, lanes, macs_per_cycle, stat_bits)
    mems = se_memories(se_cfg, params, name, lanes, macs_per_cycle)
    ctx = _context(se_cfg, name, lanes, macs_per_cycle, stat_bits)
    return SubBlock(name, TEMPLATE, ctx, mems)


def se_sub_block(cfg, params: dict) -> SubBlock:
    """`<name>_se`: the InstaSE sub-block of an INSTA+ layer (PE lanes, the layer's SE MACs, S of
    its acc_type) and its ROM images."""
    return insta_se_block(
        cfg.se, params, f"{cfg.name}_se", stat_bits=cfg.acc_type.bits, lanes=cfg.pe,
        macs_per_cycle=cfg.num_se_macs,
    )  # fmt: skip


def reader_context(cfg, stat: bool) -> dict:
    """Template context of an INSTA block's statistic reader (hw/templates/_insta_stat_reader.v.j2)
    and of the SE it feeds, for InstaThreshold (`stat`: its statistic port) and InstaPReLU."""
    se = cfg.se is not None
    users = ["m_axis_stat"] * stat + [f"the SE block {cfg.name}_se"] * se
    ctx = dict(se=se, stat=stat, reader=se or stat, reader_for=" and ".join(users))
    if se:
        ctx |= dict(vb=cfg.se.v_bits, enw=cfg.pe * cfg.se.v_bits, se_macs=cfg.num_se_macs)
    return ctx
