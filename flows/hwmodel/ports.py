"""A stream port of a layer: what its words carry (docs/numerics.md section 1), and how ports are
named: `s_axis*` in, `m_axis*` out (`s_axis`, `s_axis_stat`, `m_axis`, `m_axis_delay`, ...)."""

from __future__ import annotations

from dataclasses import dataclass

from flows.datatypes import DataType

# Words of the skid FIFO at every output port (hw/lib/stream_fifo.v): two sustain one word per
# clock with a registered-only ready, so `m_axis_tready` never reaches a datapath combinationally.
SKID_WORDS = 2


@dataclass(frozen=True)
class Port:
    """One stream of a layer: `lanes` elements of `dtype` per word, lane 0 in the least
    significant bits; `vectors` vectors of `channels` elements per frame. A `side` port carries a
    per-frame side tensor (INSTA-Th's statistic S: one vector per frame) that the stitcher links
    by its own rule (docs/hardware.md, "Stitching a DAG")."""

    lanes: int
    dtype: DataType
    channels: int
    vectors: int
    side: bool = False

    @property
    def bits(self) -> int:
        """tdata width: lanes x element bits, at least 1, never padded to bytes."""
        return max(1, self.lanes * self.dtype.bits)

    @property
    def words(self) -> int:
        """Words per frame."""
        return self.vectors * self.channels // self.lanes


def short_name(port: str) -> str:
    """A port's name in generated code around the layer (the stitcher's wires, the HLS top's
    arguments): s_axis -> in, s_axis_stat -> in_stat, m_axis_delay -> out_delay."""
    for prefix, short in (("s_axis", "in"), ("m_axis", "out")):
        if port.startswith(prefix):
            return short + port.removeprefix(prefix)
    raise ValueError(f"port {port!r} is neither s_axis* nor m_axis*")
