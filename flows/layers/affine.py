"""Affine: per-channel integer scale and offset, y = x * mul[c] + add[c], optionally requantised.

Without `shift` and `saturate_type` the result is exact: the common fixed-point scale
2**-frac_bits of mul and add is a property of the output tensor and is kept in the config so that
reports can show real values; the hardware never divides by it. Used for the last layer, whose
per-channel scale and bias survive to the argmax (docs/numerics.md, section 5).

With `shift = F` the exact sum is requantised by 2^-F with round half to even, then saturated to
`saturate_type` (numerics section 6: BN / scale changes on the residual stream, the saturation
after a residual add): y = sat(rne((x * mul + add) * 2^-F)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift, saturate
from flows.hwmodel.ranges import affine_range, smallest_type
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
    shift: int = 0  # requantise by 2^-shift (round half to even); 0: exact
    saturate_type: DataType | None = None  # clamp the result onto this type; None: no clamp

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.shift < 0:
            raise ConfigError(f"{self.name}: shift must be >= 0, got {self.shift}")

    @property
    def sum_type(self) -> DataType:
        """The exact x * mul + add before requantisation."""
        return smallest_type(*affine_range(self.input_type, self.mul_type, self.add_type))

    @property
    def output_type(self) -> DataType:
        if self.saturate_type is not None:
            return self.saturate_type
        s = self.sum_type
        lo, hi = (int(rne_shift(v, self.shift)) for v in (s.min, s.max))
        return smallest_type(lo, hi)

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
    y = np.asarray(x, dtype=np.int64) * mul.astype(np.int64) + add.astype(np.int64)
    if cfg.shift:
        y = rne_shift(y, cfg.shift)
    return [saturate(y, cfg.saturate_type) if cfg.saturate_type is not None else y]


register(LayerKind("Affine", Affine, affine_execute))
