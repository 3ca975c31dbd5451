"""LabelSelect: argmax over the channels of each vector; ties go to the lowest index."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import UINT, DataType
from flows.layers.registry import LayerKind, check_divides, check_positive, register


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
        return UINT(max(1, (self.channels - 1).bit_length()))

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def label_select_execute(cfg: LabelSelect, params, inputs):
    (x,) = inputs
    # np.argmax returns the first maximum: the lowest index wins ties.
    return [np.argmax(np.asarray(x), axis=-1)[..., None].astype(np.int64)]


register(LayerKind("LabelSelect", LabelSelect, label_select_execute))
