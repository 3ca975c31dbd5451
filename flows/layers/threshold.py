"""Threshold: FINN MultiThreshold semantics on an integer stream, per channel.

out = number of thresholds T[c, i] with x >= T[c, i] (0..N). With one threshold per channel and a
BIPOLAR output the count 0/1 maps to -1/+1. Thresholds are integers on the input's grid, sorted
ascending per channel (docs/numerics.md, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import BIPOLAR, UINT, DataType, Kind
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_divides, check_positive, register


@dataclass(frozen=True)
class Threshold:
    """Per-channel multi-threshold unit; `pe` channels per cycle."""

    name: str
    channels: int
    num_thresholds: int
    input_type: DataType
    bipolar_output: bool = True
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_positive(self.name, num_thresholds=self.num_thresholds)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.bipolar_output and self.num_thresholds != 1:
            raise ConfigError(f"{self.name}: a BIPOLAR output needs exactly one threshold")
        if self.input_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: thresholding a BIPOLAR stream is a no-op or inversion")

    @property
    def output_type(self) -> DataType:
        return BIPOLAR if self.bipolar_output else UINT(self.num_thresholds.bit_length())

    @property
    def threshold_type(self) -> DataType:
        """Thresholds are clamped to [min, max + 1] of the input: one more value than the input."""
        t = self.input_type
        return DataType(Kind.INT, t.bits + 1) if t.signed else DataType(Kind.UINT, t.bits + 1)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def check_thresholds(cfg: Threshold, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t)
    if t.shape != (cfg.channels, cfg.num_thresholds):
        raise ConfigError(
            f"{cfg.name}: thresholds have shape {t.shape}, "
            f"expected {(cfg.channels, cfg.num_thresholds)}"
        )
    cfg.threshold_type.check(t, f"{cfg.name}: thresholds")
    if np.any(np.diff(t, axis=1) < 0):
        raise ConfigError(f"{cfg.name}: thresholds must be ascending per channel")
    return t.astype(np.int64)


def threshold_execute(cfg: Threshold, params, inputs):
    """out[..., c] = #{i : x[..., c] >= T[c, i]}, or 2*out - 1 for a BIPOLAR output.

    One comparison pass per threshold column (broadcast over channels), counted in int64: no
    (..., channels, thresholds) temporary, and a single pass for the usual one threshold."""
    t = check_thresholds(cfg, params["thresholds"])
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    count = (x >= t[:, 0]).astype(np.int64)
    for column in t.T[1:]:
        count += x >= column
    if cfg.bipolar_output:
        count *= 2
        count -= 1
    return [count]


register(LayerKind("Threshold", Threshold, threshold_execute))
