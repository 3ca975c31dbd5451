"""AddStreams: the join of a residual DAG, two integer streams added element by element.

Hardware (hw/templates/add_streams.v.j2): ports `s_axis_a` (input_types[0]) and `s_axis_b`
(input_types[1]) in, `m_axis` out. It takes one word from each input in the same cycle
(`s_axis_a_tready` is high only while `s_axis_b_tvalid` is, and vice versa, with room
downstream), adds lane by lane with each element sign- or zero-extended to the width of the
exact sum and sustains one word per clock. Without `saturate_type` the sum is exact (no wrap);
with it the sum is clamped onto that type (numerics section 6: the saturation after a residual
add, which the lowering first makes an Affine with mul 1 and add 0, `AbsorbSaturation`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, Kind
from flows.errors import ConfigError
from flows.hwmodel.logic import scaled
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import smallest_type
from flows.hwmodel.resources import Estimate
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import LayerKind


@dataclass(frozen=True)
class AddStreams:
    """Adds two integer streams element by element, full precision, or clamped onto
    `saturate_type`."""

    name: str
    channels: int
    input_types: tuple[DataType, DataType]
    pe: int = 1
    num_vectors: int = 1
    saturate_type: DataType | None = None

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def sum_type(self) -> DataType:
        """The exact sum."""
        a, b = self.input_types
        return smallest_type(a.min + b.min, a.max + b.max)

    @property
    def output_type(self) -> DataType:
        return self.saturate_type if self.saturate_type is not None else self.sum_type

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def execute(cfg: AddStreams, params, inputs):
    a, b = inputs
    y = np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)
    t = cfg.saturate_type
    return [y if t is None else np.clip(y, t.min, t.max)]


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
            sum_bits=cfg.sum_type.bits,
            sum_signed=cfg.sum_type.signed,
            sat=cfg.saturate_type is not None,
            sat_lo=cfg.output_type.min,
            sat_hi=cfg.output_type.max,
        )
    )


def estimate(cfg: AddStreams, family: str) -> Estimate:
    """PE adders and the registered sum. Fitted on Yosys 0.70: INT8+INT8 PE 8 ECP5 93 LUT / 78 FF,
    xc7 76 / 78; INT9+INT8 PE 4 ECP5 53 / 46, xc7 48 / 46. Saturating: per lane two compares of
    the sum with the limits and the output multiplexer, about a LUT per sum bit each."""
    bits = cfg.pe * cfg.output_type.bits
    lut = cfg.pe * cfg.sum_type.bits + 5 + (2 * cfg.pe if family == "ecp5" else 1)
    if cfg.saturate_type is not None:
        lut += scaled(cfg.pe * (2 * cfg.sum_type.bits + cfg.output_type.bits), family)
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
