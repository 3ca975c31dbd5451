"""RPReLU: ReActNet's shifted PReLU on the residual stream, with its requantisation, in integers.

The float block `q_out(PReLU_slope(m*x + a) + zeta)` on an integer stream x (scale and BatchNorm
collapsed into m, a; `q_out` a saturating quantiser) is, per channel c (docs/numerics.md 6, 10):

    upper = x >= th_c                       (th_c: where m*x + a changes sign, on x's grid)
    y = sat(rne((upper ? mul_hi_c * x + add_hi_c : mul_lo_c * x + add_lo_c) * 2^-shift))

Two fixed-point segments sharing one exponent: mul_* are 16-bit mantissas, add_* wide enough for
the offsets. For m_c > 0 the upper segment is the identity side of the PReLU, for m_c < 0 it is
the sloped side (the comparison stays `>=`, as in every threshold of this flow).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift, saturate
from flows.hwmodel.ranges import smallest_type
from flows.layers.registry import (
    LayerKind,
    check_divides,
    check_positive,
    checked_param,
    register,
)

PARAMS = ("threshold", "mul_hi", "add_hi", "mul_lo", "add_lo")


@dataclass(frozen=True)
class RPReLU:
    """Two-segment per-channel fixed-point affine with saturation; `pe` channels per word."""

    name: str
    channels: int
    input_type: DataType
    output_type: DataType
    mul_type: DataType
    add_type: DataType
    shift: int
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.shift < 0:
            raise ConfigError(f"{self.name}: shift must be >= 0, got {self.shift}")

    @property
    def threshold_type(self) -> DataType:
        """Thresholds live in [min, max + 1] of the input (numerics section 3)."""
        return smallest_type(self.input_type.min, self.input_type.max + 1)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def check_rprelu_params(cfg: RPReLU, params: dict) -> dict[str, np.ndarray]:
    t = {"threshold": cfg.threshold_type}
    t.update({k: cfg.mul_type for k in ("mul_hi", "mul_lo")})
    t.update({k: cfg.add_type for k in ("add_hi", "add_lo")})
    return {k: checked_param(cfg.name, params, k, (cfg.channels,), t[k]) for k in PARAMS}


def rprelu_execute(cfg: RPReLU, params, inputs):
    p = check_rprelu_params(cfg, params)
    x = np.asarray(inputs[0], dtype=np.int64)
    upper = x >= p["threshold"]
    y = np.where(upper, p["mul_hi"] * x + p["add_hi"], p["mul_lo"] * x + p["add_lo"])
    return [saturate(rne_shift(y, cfg.shift), cfg.output_type)]


register(LayerKind("RPReLU", RPReLU, rprelu_execute))
