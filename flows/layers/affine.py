"""Affine: per-channel integer scale and offset, y = x * mul[c] + add[c], exact (no rounding).

The common fixed-point scale 2**-frac_bits of mul and add is a property of the output tensor and is
kept in the config so that reports can show real values; the hardware never divides by it. Used for
the last layer, whose per-channel scale and bias survive to the argmax (docs/numerics.md, section 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, smallest_type
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_divides, check_positive, register


@dataclass(frozen=True)
class Affine:
    """Per-channel integer multiply-add; `pe` channels per cycle."""

    name: str
    channels: int
    input_type: DataType
    mul_type: DataType
    add_type: DataType
    frac_bits: int = 0
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)

    @property
    def output_type(self) -> DataType:
        i, m, a = self.input_type, self.mul_type, self.add_type
        products = [p * q for p in (i.min, i.max) for q in (m.min, m.max)]
        return smallest_type(min(products) + a.min, max(products) + a.max)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def affine_execute(cfg: Affine, params, inputs):
    mul, add = np.asarray(params["mul"]), np.asarray(params["add"])
    for arr, t, what in ((mul, cfg.mul_type, "mul"), (add, cfg.add_type, "add")):
        if arr.shape != (cfg.channels,):
            raise ConfigError(
                f"{cfg.name}: {what} has shape {arr.shape}, expected ({cfg.channels},)"
            )
        t.check(arr, f"{cfg.name}: {what}")
    (x,) = inputs
    return [np.asarray(x, dtype=np.int64) * mul.astype(np.int64) + add.astype(np.int64)]


register(LayerKind("Affine", Affine, affine_execute))
