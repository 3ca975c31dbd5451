"""Stream plumbing for residual DAGs: DuplicateStreams (fork) and AddStreams (join)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.hwmodel.ranges import smallest_type
from flows.layers.registry import LayerKind, check_divides, check_positive, register


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


def duplicate_execute(cfg: DuplicateStreams, params, inputs):
    (x,) = inputs
    return [np.array(x, copy=True) for _ in range(cfg.copies)]


def add_execute(cfg: AddStreams, params, inputs):
    a, b = inputs
    return [np.asarray(a, dtype=np.int64) + np.asarray(b, dtype=np.int64)]


register(LayerKind("DuplicateStreams", DuplicateStreams, duplicate_execute))
register(LayerKind("AddStreams", AddStreams, add_execute))
