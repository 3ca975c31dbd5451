"""AvgPool: an average pool that keeps sums (docs/numerics.md section 6).

The 1/k^2 of the average is not applied: it folds into the next layer's scale, so the pool is
exact. Sums of kernel x kernel windows at `stride` (no padding, ONNX ceil_mode=0). Accepts float
values too (the transient float graph runs it before the streams become integers).

Hardware (hw/templates/avg_pool.v.j2): MaxPool's separable scan with sums instead of maxima: a
row pass over k-1 chained NF-word memories of input words, a column pass over k-1 chained
`out_w * NF`-word memories of row sums. One input word per clock: `cycles_per_frame` =
in_h * in_w * NF.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from flows.datatypes import DataType, Kind
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, scaled
from flows.hwmodel.memory import lutram_luts, ram_blocks
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import smallest_type, width
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL
from flows.layers.registry import LayerKind
from flows.layers.sliding_window import element_type
from flows.layers.windows import Windowed, check_map, windows


def sum_type(t: DataType | None, n: int) -> DataType | None:
    """The exact type of a sum of n values of type t (None while the stream is real)."""
    return None if t is None else smallest_type(n * t.min, n * t.max)


def sums_type(cfg, input_types: list) -> list:
    """Sums widen the input's element type (AvgPool, GlobalAvgPool)."""
    xt = input_types[0]
    return [replace(cfg, input_type=xt).output_type if xt is not None else None]


def lane_value(t: DataType) -> tuple[int, bool]:
    """(bits, signed) of one lane as a number: BIPOLAR bit b is the 2-bit signed 2b - 1."""
    return (2, True) if t.kind == Kind.BIPOLAR else (t.bits, t.signed)


@dataclass(frozen=True)
class AvgPool(Windowed):
    """Sum of kernel x kernel windows at `stride` over an in_h x in_w map; `pe` channels/word."""

    name: str
    channels: int
    in_h: int
    in_w: int
    kernel: int
    stride: int
    pe: int = 1
    input_type: DataType | None = None

    def __post_init__(self) -> None:
        self.check_geometry("pool")

    @property
    def output_type(self) -> DataType | None:
        return sum_type(self.input_type, self.kernel * self.kernel)

    @property
    def cycles_per_frame(self) -> int:
        return max(self.num_vectors, self.out_vectors) * self.channels // self.pe


def execute(cfg: AvgPool, params, inputs):
    """(N, in_h*in_w, C) -> (N, out_h*out_w, C): the sum of each window, per channel."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    n = x.shape[0]
    w = windows(x.reshape(n, cfg.in_h, cfg.in_w, cfg.channels), cfg.in_h, cfg.in_w, cfg.kernel,
                cfg.stride)  # fmt: skip
    return [w.sum(axis=3).reshape(n, cfg.out_vectors, cfg.channels)]


def ports(cfg: AvgPool) -> tuple[dict[str, Port], dict[str, Port]]:
    return {"s_axis": Port(cfg.pe, element_type(cfg), cfg.channels, cfg.num_vectors)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, cfg.out_vectors)
    }


def buffer_words(cfg: AvgPool) -> int:
    """k + 1 input rows (row and column memories plus the row being scanned)."""
    return (cfg.kernel + 1) * cfg.in_w * (cfg.channels // cfg.pe)


def rtl(cfg: AvgPool, params: dict) -> LayerRTL:
    """Window sums by a separable row/column scan (MaxPool's, unpadded, sums)."""
    t, ot = element_type(cfg), cfg.output_type
    vb, vs = lane_value(t)
    nf = cfg.channels // cfg.pe
    k = cfg.kernel
    vlo, vhi = (-1, 1) if t.kind == Kind.BIPOLAR else (t.min, t.max)
    rb = width(k * vlo, k * vhi, vs)  # a row sum of k elements, exact
    ctx = dict(
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
    return LayerRTL(ctx)


def estimate(cfg: AvgPool, family: str) -> Estimate:
    """k-1 written memories of NF words (row pass, input words) and k-1 of out_w*NF words (column
    pass, row sums: LUT RAM or block RAM per `ram_blocks`), adders per lane."""
    xb, ob = element_type(cfg).bits, cfg.output_type.bits
    k, nf = cfg.kernel, cfg.channels // cfg.pe
    rb = xb + math.ceil(math.log2(k)) if k > 1 else xb
    bram = (k - 1) * (ram_blocks(cfg.pe * xb, nf, family)
                      + ram_blocks(cfg.pe * rb, cfg.out_w * nf, family))  # fmt: skip
    lutram = (k - 1) * (lutram_luts(cfg.pe * xb, nf, family)
                        + lutram_luts(cfg.pe * rb, cfg.out_w * nf, family))  # fmt: skip
    lut = CONTROL_LUT + 40 + scaled(cfg.pe * (k - 1) * (rb + ob), family)
    ff = CONTROL_FF + 40 + cfg.pe * (xb + rb + ob)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0, 0, lutram)


KIND = LayerKind(
    config=AvgPool,
    execute=execute,
    output_types=sums_type,
    ports=ports,
    buffer_words=buffer_words,
    # the column pass gives an output row during the last input row of its windows only
    emit_burst_words=lambda cfg: cfg.out_w * cfg.channels // cfg.pe if cfg.stride > 1 else 0,
    template="avg_pool.v.j2",
    rtl=rtl,
    estimate=estimate,
)
