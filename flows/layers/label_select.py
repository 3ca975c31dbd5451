"""LabelSelect: argmax over the channels of each vector; ties go to the lowest index.

Hardware (hw/templates/label_select.v.j2): no memory; an argmax tree over the PE lanes of a word
plus a running maximum over the NF words of a vector; one index (a one-lane word) per vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.hwmodel.logic import scaled
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import smallest_type
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2, tree_nodes
from flows.layers.backends import LayerRTL
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import INPUTS, Fold, LayerKind


@dataclass(frozen=True)
class LabelSelect:
    """Reads `channels` values (`pe` per cycle) and emits one index per vector."""

    name: str
    channels: int
    input_type: DataType
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def output_type(self) -> DataType:
        return smallest_type(0, self.channels - 1)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def execute(cfg: LabelSelect, params, inputs):
    (x,) = inputs
    # np.argmax returns the first maximum: the lowest index wins ties.
    return [np.argmax(np.asarray(x), axis=-1)[..., None].astype(np.int64)]


def ports(cfg: LabelSelect) -> tuple[dict[str, Port], dict[str, Port]]:
    """PE lanes in; one index per vector out (a one-lane word that no folding changes)."""
    nv = cfg.num_vectors
    return {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, nv)}, {
        "m_axis": Port(1, cfg.output_type, 1, nv)
    }


def rtl(cfg: LabelSelect, params: dict) -> LayerRTL:
    nf = cfg.channels // cfg.pe
    return LayerRTL(
        dict(
            channels=cfg.channels,
            pe=cfg.pe,
            nf=nf,
            signed=cfg.input_type.signed,
            iw=cfg.output_type.bits,
            liw=clog2(cfg.pe),
            nfw=clog2(nf),
            nodes=tree_nodes(cfg.pe),
        )
    )


def estimate(cfg: LabelSelect, family: str) -> Estimate:
    b = cfg.input_type.bits
    lut = 40 + scaled(cfg.pe * 2 * b, family)
    ff = 40 + 2 * b + cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, ff, 0, 0)


KIND = LayerKind(
    config=LabelSelect,
    execute=execute,
    ports=ports,
    folds={"pe": Fold(INPUTS)},
    template="label_select.v.j2",
    rtl=rtl,
    estimate=estimate,
)
