"""RTL template contexts of the residual-stream kinds: requantisation, RPReLU and the sum pools.

* `requant_context`: the widths and constants of `sat(rne(y * 2^-shift))` on an exact signed sum
  `y` (docs/numerics.md sections 6 and 10), rendered by `hw/templates/_requant.v.j2` for Affine
  (with `shift`/`saturate_type`) and RPReLU. The rounding is `flows.fixedpoint.rne_shift` in
  gates: `floor = y >>> shift` (the bits above the shift), plus one when the bits shifted out
  exceed half, or equal half and `floor` is odd. Saturation compares with the target's limits
  only on the side where the rounded range leaves the target.
* RPReLU: five constant memories (threshold, mul_hi, add_hi, mul_lo, add_lo), one word of PE lanes
  per channel group; the segment is selected before the multiplier (one product per lane).
* AvgPool (no padding, any kernel and stride): MaxPool's separable scan with sums instead of
  maxima: a row pass over k-1 chained NF-word memories of input words, a column pass over k-1
  chained `out_w * NF`-word memories of row sums. One input word per clock:
  `cycles_per_frame` = in_h * in_w * NF.
* GlobalAvgPool: one accumulator word per channel group (NF words of PE sums), read and written
  every clock; the last position of the frame emits the sums (NF words per frame).
"""

from __future__ import annotations

from flows.codegen.rtl_kinds import LayerRTL, _common, _param
from flows.datatypes import DataType, Kind, pack_words
from flows.errors import ConfigError
from flows.graph import Node
from flows.hwmodel.ranges import affine_range, width
from flows.hwmodel.requant import requant
from flows.hwmodel.structure import clog2
from flows.layers.avg_pool import AvgPool, GlobalAvgPool
from flows.layers.rprelu import RPReLU

__all__ = [
    "AvgPool",
    "GlobalAvgPool",
    "RPReLU",
    "avg_pool",
    "global_avg_pool",
    "rprelu",
]


def _element(t: DataType, what: str) -> None:
    if t.kind == Kind.BIPOLAR:
        raise ConfigError(f"{what}: the RPReLU RTL needs an INT or UINT input, got BIPOLAR")


def rprelu(node: Node) -> LayerRTL:
    """RPReLU: threshold compare selects (mul, add) per lane, one product, then the requant."""
    cfg: RPReLU = node.config
    xt, tt, mt, at = cfg.input_type, cfg.threshold_type, cfg.mul_type, cfg.add_type
    _element(xt, cfg.name)
    c, nf = cfg.channels, cfg.channels // cfg.pe
    lo, hi = affine_range(xt, mt, at)
    rq = requant(lo, hi, cfg.shift, cfg.output_type, cfg.output_type)
    ctx = _common(cfg) | dict(
        channels=c,
        pe=cfg.pe,
        nf=nf,
        nfw=clog2(nf),
        x_signed=xt.signed,
        tb=tt.bits,
        mb=mt.bits,
        ab=at.bits,
        m_signed=mt.signed,
        a_signed=at.signed,
        t_type=tt.name,
        m_type=mt.name,
        a_type=at.name,
        xsw=xt.bits + (not xt.signed),  # signed operand widths of the product
        msw=mt.bits + (not mt.signed),
        rq=rq,
        files={},
    )
    memories = {}
    for key, t in (("threshold", tt), ("mul_hi", mt), ("add_hi", at), ("mul_lo", mt),
                   ("add_lo", at)):  # fmt: skip
        v = _param(node, key, (c,), t)
        ctx["files"][key] = f"{cfg.name}_{key}.mem"
        memories[ctx["files"][key]] = (pack_words(t.encode(v), t.bits, cfg.pe), cfg.pe * t.bits)
    return LayerRTL("rprelu.v.j2", ctx, memories)


def _lane_value(t: DataType) -> tuple[int, bool]:
    """(bits, signed) of one lane as a number: BIPOLAR bit b is the 2-bit signed 2b - 1."""
    return (2, True) if t.kind == Kind.BIPOLAR else (t.bits, t.signed)


def avg_pool(node: Node) -> LayerRTL:
    """AvgPool: window sums by a separable row/column scan (MaxPool's, unpadded, sums)."""
    cfg: AvgPool = node.config
    t, ot = cfg.input_type, cfg.output_type
    vb, vs = _lane_value(t)
    nf = cfg.channels // cfg.pe
    k = cfg.kernel
    vlo, vhi = (-1, 1) if t.kind == Kind.BIPOLAR else (t.min, t.max)
    rb = width(k * vlo, k * vhi, vs)  # a row sum of k elements, exact
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        k=k,
        s=cfg.stride,
        in_h=cfg.in_h,
        in_wd=cfg.in_w,
        out_h=cfg.out_h,
        out_wd=cfg.out_w,
        bipolar=t.kind == Kind.BIPOLAR,
        vb=vb,
        vs=vs,
        rb=rb,
        rw=cfg.pe * rb,
        fw=clog2(nf),
        vxw=clog2(cfg.in_w),
        vyw=clog2(cfg.in_h),
        cw=clog2(max(k, cfg.stride)),
        oxw=clog2(cfg.out_w + 1),
        oyw=clog2(cfg.out_h + 1),
        aw=clog2(cfg.out_w * nf),
        paw=clog2((cfg.out_w + 1) * nf) + 1,
        sum_type=ot.name,
    )
    return LayerRTL("avg_pool.v.j2", ctx)


def global_avg_pool(node: Node) -> LayerRTL:
    """GlobalAvgPool: NF accumulator words, read-modify-write one per clock, emitted at the end."""
    cfg: GlobalAvgPool = node.config
    t = cfg.input_type
    vb, vs = _lane_value(t)
    nf = cfg.channels // cfg.pe
    hw = cfg.num_vectors
    ctx = _common(cfg) | dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        height=cfg.height,
        width=cfg.width,
        hw=hw,
        bipolar=t.kind == Kind.BIPOLAR,
        vb=vb,
        vs=vs,
        fw=clog2(nf),
        pw=clog2(hw),
    )
    return LayerRTL("global_avg_pool.v.j2", ctx)
