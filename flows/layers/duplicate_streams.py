"""DuplicateStreams: the fork of a residual DAG, one stream copied to `copies` outputs.

Hardware (hw/templates/duplicate_streams.v.j2): ports `s_axis` in, `m_axis_<i>` out. A lockstep
fork: each output has its own SKID_WORDS-word skid FIFO and its own `tready`, and an input word is
consumed only when every output FIFO has room; the word then enters all of them in the same
cycle. A consumer that stops reading therefore stalls the fork (and every other consumer) after
SKID_WORDS words. Where the copies re-join (an AddStreams), the join takes a word of each branch
in the same cycle, so the branch whose words reach the join first (the shortcut) has to hold every
word the other branch absorbs before it delivers its first word to the join: that depth belongs
to the stitched link (`flows.codegen.links`, the deadlock rule of docs/hardware.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.hwmodel.ports import SKID_WORDS, Port
from flows.hwmodel.resources import Estimate
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import LayerKind


@dataclass(frozen=True)
class DuplicateStreams:
    """Copies one stream to `copies` outputs, element for element."""

    name: str
    channels: int
    input_type: DataType
    copies: int = 2
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, copies=self.copies)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def output_type(self) -> DataType:
        return self.input_type

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def execute(cfg: DuplicateStreams, params, inputs):
    (x,) = inputs
    return [np.array(x, copy=True) for _ in range(cfg.copies)]


def ports(cfg: DuplicateStreams) -> tuple[dict[str, Port], dict[str, Port]]:
    """`s_axis` in, `m_axis_<i>` out for i = 0 .. copies - 1."""
    p = Port(cfg.pe, cfg.input_type, cfg.channels, cfg.num_vectors)
    return {"s_axis": p}, {f"m_axis_{i}": p for i in range(cfg.copies)}


def rtl(cfg: DuplicateStreams, params: dict) -> LayerRTL:
    """No memory; `copies` skid FIFOs written in the same cycle."""
    w = ports(cfg)[0]["s_axis"].bits
    return LayerRTL(dict(channels=cfg.channels, pe=cfg.pe, copies=cfg.copies, w=w, skid=SKID_WORDS))


def estimate(cfg: DuplicateStreams, family: str) -> Estimate:
    """Lockstep fork: control only (the data goes straight to the output links' FIFOs). Fitted on
    Yosys 0.70, INT8: 2 copies PE 8 ECP5 31 LUT / 10 FF, xc7 14 / 10; 3 copies PE 4 ECP5 74 / 15,
    xc7 23 / 15."""
    k = cfg.copies
    lut = 8 + 11 * k * (k - 1) if family == "ecp5" else 5 + 3 * k * (k - 1)
    return Estimate(cfg.cycles_per_frame, lut, 5 * k, 0, 0)


KIND = LayerKind(
    config=DuplicateStreams,
    execute=execute,
    ports=ports,
    fork=True,
    template="duplicate_streams.v.j2",
    rtl=rtl,
    estimate=estimate,
)
