"""AddStreams: the join of a residual DAG, two integer streams added element by element.

Hardware (hw/templates/add_streams.v.j2): ports `s_axis_a` (input_types[0]) and `s_axis_b`
(input_types[1]) in, `m_axis` out. It takes one word from each input in the same cycle
(`s_axis_a_tready` is high only while `s_axis_b_tvalid` is, and vice versa, with room
downstream), adds lane by lane with each element sign- or zero-extended to the width of
`output_type` (exact: no wrap, no saturation; numerics section 6 requantises later, not here) and
sustains one word per clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, Kind
from flows.errors import ConfigError
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import smallest_type
from flows.hwmodel.resources import Estimate
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import LayerKind


@dataclass(frozen=True)
class AddStreams:
    """Adds two integer streams element by element, full precision (no saturation)."""

    name: str
    channels: int
    input_types: tuple[DataType, DataType]
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def output_type(self) -> DataType:
        a, b = self.input_types
        return smallest_type(a.min + b.min, a.max + b.max)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def execute(cfg: AddStreams, params, inputs):
    a, b = inputs
    return [np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)]


def ports(cfg: AddStreams) -> tuple[dict[str, Port], dict[str, Port]]:
    """`s_axis_a`, `s_axis_b` in, `m_axis` out."""
    nv = cfg.num_vectors
    a, b = (Port(cfg.pe, t, cfg.channels, nv) for t in cfg.input_types)
    return {"s_axis_a": a, "s_axis_b": b}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, nv)
    }


def rtl(cfg: AddStreams, params: dict) -> LayerRTL:
    """No memory; PE adders of the output type's width."""
    if len(cfg.input_types) != 2:
        raise ConfigError(f"{cfg.name}: AddStreams needs two input types, got {cfg.input_types}")
    if any(t.kind == Kind.BIPOLAR for t in cfg.input_types):
        raise ConfigError(
            f"{cfg.name}: AddStreams RTL takes UINT/INT inputs, got {cfg.input_types[0]} + "
            f"{cfg.input_types[1]}; a BIPOLAR stream has to be requantised to an integer type first"
        )
    a, b = ports(cfg)[0].values()
    return LayerRTL(
        dict(
            channels=cfg.channels,
            pe=cfg.pe,
            a_type=a.dtype.name,
            b_type=b.dtype.name,
            ab=a.dtype.bits,
            bb=b.dtype.bits,
            a_signed=a.dtype.signed,
            b_signed=b.dtype.signed,
            a_w=a.bits,
            b_w=b.bits,
        )
    )


def estimate(cfg: AddStreams, family: str) -> Estimate:
    """PE adders and the registered sum. Fitted on Yosys 0.70: INT8+INT8 PE 8 ECP5 93 LUT / 78 FF,
    xc7 76 / 78; INT9+INT8 PE 4 ECP5 53 / 46, xc7 48 / 46."""
    bits = cfg.pe * cfg.output_type.bits
    lut = bits + 5 + 2 * cfg.pe if family == "ecp5" else bits + 6
    return Estimate(cfg.cycles_per_frame, lut, bits + 6, 0, 0)


KIND = LayerKind(
    config=AddStreams,
    execute=execute,
    ports=ports,
    join=True,
    template="add_streams.v.j2",
    rtl=rtl,
    estimate=estimate,
)
