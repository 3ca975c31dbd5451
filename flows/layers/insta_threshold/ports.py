"""InstaThreshold's stream ports: one input and two or three outputs that leave in lockstep."""

from __future__ import annotations

from flows.datatypes import BIPOLAR
from flows.hwmodel.ports import Port
from flows.layers.insta_threshold.config import InstaThreshold


def ports(cfg: InstaThreshold) -> tuple[dict[str, Port], dict[str, Port]]:
    """`s_axis` in; `m_axis` (the activations, PE BIPOLAR bits), `m_axis_delay` (the input one
    frame later: the residual shortcut; with `buffer="dram"` the DRAM tier serves it from the
    ring, `DramBuffer.taps`) and with `statistic_output` the side stream `m_axis_stat` (S of a
    frame: one vector of C acc_type values in C/PE words) out."""
    nv = cfg.num_vectors
    x = Port(cfg.pe, cfg.input_type, cfg.channels, nv)
    outs = {"m_axis": Port(cfg.pe, BIPOLAR, cfg.channels, nv), "m_axis_delay": x}
    if cfg.statistic_output:
        outs["m_axis_stat"] = Port(cfg.pe, cfg.acc_type, cfg.channels, 1, side=True)
    return {"s_axis": x}, outs
