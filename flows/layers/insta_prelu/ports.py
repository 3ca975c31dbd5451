"""InstaPReLU's stream ports: the input, the reuse form's statistic side stream, the output."""

from __future__ import annotations

from flows.hwmodel.ports import Port
from flows.layers.insta_prelu.config import InstaPReLU


def ports(cfg: InstaPReLU) -> tuple[dict[str, Port], dict[str, Port]]:
    """`s_axis` (and, reuse form, the side stream `s_axis_stat`: S of the block's INSTA-Th, one
    vector of stat_channels per frame) in; `m_axis` out."""
    nv = cfg.num_vectors
    ins = {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, nv)}
    if cfg.form == "reuse":
        ins["s_axis_stat"] = Port(cfg.pe, cfg.stat_type, cfg.stat_channels, 1, side=True)
    return ins, {"m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, nv)}
