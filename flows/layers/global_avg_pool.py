"""GlobalAvgPool: the sum of the whole H x W map per channel, one vector per frame (the 1/(H*W)
of the average folds into the next layer's scale; docs/numerics.md section 6).

Hardware (hw/templates/global_avg_pool.v.j2): one accumulator word per channel group (NF words
of PE sums), read and written every clock; the last position of the frame emits the sums (NF
words per frame).
"""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import DataType, Kind
from flows.hwmodel.logic import CONTROL_FF, CONTROL_LUT, scaled
from flows.hwmodel.memory import lutram_luts, ram_blocks
from flows.hwmodel.ports import Port
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.avg_pool import lane_value, sum_type, sums_type
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import LayerKind
from flows.layers.sliding_window import element_type
from flows.layers.windows import check_map


@dataclass(frozen=True)
class GlobalAvgPool:
    """Sum over the whole height x width map per channel; `pe` channels per word."""

    name: str
    channels: int
    height: int
    width: int
    pe: int = 1
    input_type: DataType | None = None

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, height=self.height, width=self.width)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def out_vectors(self) -> int:
        """One vector per frame (the streams' and benches' `out_vectors` convention)."""
        return 1

    @property
    def output_type(self) -> DataType | None:
        return sum_type(self.input_type, self.num_vectors)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def execute(cfg: GlobalAvgPool, params, inputs):
    """(N, H*W, C) -> (N, 1, C): the sum over the map, per channel."""
    x = check_map(cfg.name, inputs[0], cfg.num_vectors, cfg.channels)
    return [x.sum(axis=1, keepdims=True)]


def ports(cfg: GlobalAvgPool) -> tuple[dict[str, Port], dict[str, Port]]:
    return {"s_axis": Port(cfg.pe, element_type(cfg), cfg.channels, cfg.num_vectors)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, 1)
    }


def buffer_words(cfg: GlobalAvgPool) -> int:
    """A whole frame: the sums leave after its last word."""
    return cfg.num_vectors * cfg.channels // cfg.pe


def rtl(cfg: GlobalAvgPool, params: dict) -> LayerRTL:
    """NF accumulator words, read-modify-write one per clock, emitted at the end."""
    t = element_type(cfg)
    vb, vs = lane_value(t)
    nf = cfg.channels // cfg.pe
    hw = cfg.num_vectors
    ctx = dict(
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
    return LayerRTL(ctx)


def estimate(cfg: GlobalAvgPool, family: str) -> Estimate:
    """An NF-word accumulator memory read and written every clock (LUT RAM or block RAM per
    `ram_blocks`), one adder and a clear per lane."""
    xb, ob = element_type(cfg).bits, cfg.output_type.bits
    nf = cfg.channels // cfg.pe
    bram = ram_blocks(cfg.pe * ob, nf, family)
    lutram = lutram_luts(cfg.pe * ob, nf, family)
    lut = CONTROL_LUT + scaled(cfg.pe * ob * 2, family)
    ff = CONTROL_FF + cfg.pe * (xb + ob)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, 0, 0, lutram)


KIND = LayerKind(
    config=GlobalAvgPool,
    execute=execute,
    output_types=sums_type,
    ports=ports,
    buffer_words=buffer_words,
    template="global_avg_pool.v.j2",
    rtl=rtl,
    estimate=estimate,
)
