"""RPReLU: ReActNet's shifted PReLU on the residual stream, with its requantisation, in integers.

The float block `q_out(PReLU_slope(m*x + a) + zeta)` on an integer stream x (scale and BatchNorm
collapsed into m, a; `q_out` a saturating quantiser) is, per channel c (docs/numerics.md 6, 10):

    upper = x >= th_c                       (th_c: where m*x + a changes sign, on x's grid)
    y = sat(rne((upper ? mul_hi_c * x + add_hi_c : mul_lo_c * x + add_lo_c) * 2^-shift))

Two fixed-point segments sharing one exponent: mul_* are 16-bit mantissas, add_* wide enough for
the offsets. For m_c > 0 the upper segment is the identity side of the PReLU, for m_c < 0 it is
the sloped side (the comparison stays `>=`, as in every threshold of this flow).

Hardware (hw/templates/rprelu.v.j2): five constant memories (threshold, mul_hi, add_hi, mul_lo,
add_lo), one word of PE lanes per channel group; the segment is selected before the multiplier
(one product per lane), then the requantisation of flows.hwmodel.requant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType, Kind
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift, saturate
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import affine_range, smallest_type
from flows.hwmodel.requant import requant, requant_lane_estimate
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL, memory_image
from flows.layers.checks import check_divides, check_positive, checked_param
from flows.layers.registry import LayerKind

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
    def param_types(self) -> dict[str, DataType]:
        """The element type of each parameter."""
        m, a = self.mul_type, self.add_type
        return dict(threshold=self.threshold_type, mul_hi=m, add_hi=a, mul_lo=m, add_lo=a)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def check_rprelu_params(cfg: RPReLU, params: dict) -> dict[str, np.ndarray]:
    types = cfg.param_types
    return {k: checked_param(cfg.name, params, k, (cfg.channels,), types[k]) for k in PARAMS}


def execute(cfg: RPReLU, params, inputs):
    p = check_rprelu_params(cfg, params)
    x = np.asarray(inputs[0], dtype=np.int64)
    upper = x >= p["threshold"]
    y = np.where(upper, p["mul_hi"] * x + p["add_hi"], p["mul_lo"] * x + p["add_lo"])
    return [saturate(rne_shift(y, cfg.shift), cfg.output_type)]


def ports(cfg: RPReLU) -> tuple[dict[str, Port], dict[str, Port]]:
    nv = cfg.num_vectors
    return {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, nv)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, nv)
    }


def _requant(cfg: RPReLU):
    lo, hi = affine_range(cfg.input_type, cfg.mul_type, cfg.add_type)
    return requant(lo, hi, cfg.shift, cfg.output_type, cfg.output_type)


def rtl(cfg: RPReLU, params: dict) -> LayerRTL:
    """Threshold compare selects (mul, add) per lane, one product, then the requantisation."""
    xt, tt, mt, at = cfg.input_type, cfg.threshold_type, cfg.mul_type, cfg.add_type
    if xt.kind == Kind.BIPOLAR:
        raise ConfigError(f"{cfg.name}: the RPReLU RTL needs an INT or UINT input, got BIPOLAR")
    nf = cfg.channels // cfg.pe
    ctx = dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        nfw=clog2(nf),
        x_signed=xt.signed,
        tb=tt.bits,
        mb=mt.bits,
        ab=at.bits,
        m_signed=mt.signed,
        a_signed=at.signed,
        t_type=tt.name,
        m_type=mt.name,
        a_type=at.name,
        xsw=xt.bits + (not xt.signed),  # signed operand widths of the product
        msw=mt.bits + (not mt.signed),
        rq=_requant(cfg),
        files={k: f"{cfg.name}_{k}.mem" for k in PARAMS},
    )
    memories = {}
    for key, v in check_rprelu_params(cfg, params).items():
        t = cfg.param_types[key]
        memories[ctx["files"][key]] = memory_image(v, t, cfg.pe)
    return LayerRTL(ctx, memories)


def estimate(cfg: RPReLU, family: str) -> Estimate:
    """Five constant ROMs, a threshold comparator per lane, the segment multiplexer (merged into
    the ROM LUTs by synthesis), one product, requantisation."""
    tb, mb, ab = cfg.threshold_type.bits, cfg.mul_type.bits, cfg.add_type.bits
    return requant_lane_estimate(cfg, _requant(cfg), tb, [tb, mb, ab, mb, ab], family)


KIND = LayerKind(
    config=RPReLU,
    execute=execute,
    exact=False,
    ports=ports,
    template="rprelu.v.j2",
    rtl=rtl,
    estimate=estimate,
)
