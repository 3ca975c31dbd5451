"""Affine: per-channel integer scale and offset, y = x * mul[c] + add[c], optionally requantised.

Without `shift` and `saturate_type` the result is exact: the common fixed-point scale
2**-frac_bits of mul and add is a property of the output tensor and is kept in the config so that
reports can show real values; the hardware never divides by it. Used for the last layer, whose
per-channel scale and bias survive to the argmax (docs/numerics.md, section 5).

With `shift = F` the exact sum is requantised by 2^-F with round half to even, then saturated to
`saturate_type` (numerics section 6: BN / scale changes on the residual stream, the saturation
after a residual add): y = sat(rne((x * mul + add) * 2^-F)).

Hardware (hw/templates/affine.v.j2): mul and add as two memories of PE lanes per channel group.
The requantising form registers the exact sum, then rounds half to even and saturates
(flows.hwmodel.requant); the exact form is one multiply-add per lane modulo the output width.
Its integer arithmetic differs from the float model by construction (fixed-point constants).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift, saturate
from flows.hwmodel.logic import scaled
from flows.hwmodel.memory import memory
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import affine_range, smallest_type
from flows.hwmodel.requant import requant, requant_lane_estimate
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import LayerRTL, joined_image, memory_image
from flows.layers.checks import check_constants, check_divides, check_positive, checked_param
from flows.layers.registry import DramRegion, LayerKind


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
    constants: str = "chip"  # "dram": mul and add stream in from the memory tier (docs/dram.md)

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.shift < 0:
            raise ConfigError(f"{self.name}: shift must be >= 0, got {self.shift}")
        check_constants(self.name, self.constants)

    @property
    def constant_bits(self) -> int:
        """Bits of one channel group's constants: PE lanes of mul, then PE lanes of add."""
        return self.pe * (self.mul_type.bits + self.add_type.bits)

    @property
    def requantises(self) -> bool:
        return bool(self.shift) or self.saturate_type is not None

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


def execute(cfg: Affine, params, inputs):
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


def ports(cfg: Affine) -> tuple[dict[str, Port], dict[str, Port]]:
    nv = cfg.num_vectors
    return {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, nv)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, nv)
    }


def rtl(cfg: Affine, params: dict) -> LayerRTL:
    """mul and add as two memories of PE lanes per channel group. With `shift` or
    `saturate_type` the exact sum is registered, then rounded half to even and saturated (`rq`,
    flows.hwmodel.requant); without, the template's text is the exact form's."""
    mt, at = cfg.mul_type, cfg.add_type
    mul = checked_param(cfg.name, params, "mul", (cfg.channels,), mt)
    add = checked_param(cfg.name, params, "add", (cfg.channels,), at)
    nf = cfg.channels // cfg.pe
    ctx = dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        x_kind=cfg.input_type.kind.value,
        x_signed=cfg.input_type.signed,
        mb=mt.bits,
        m_signed=mt.signed,
        ab=at.bits,
        a_signed=at.signed,
        m_type=mt.name,
        a_type=at.name,
        nfw=clog2(nf),
        frac_bits=cfg.frac_bits,
        mul_file=f"{cfg.name}_mul.mem",
        add_file=f"{cfg.name}_add.mem",
        c_file=f"{cfg.name}_c.mem",
        constants_dram=cfg.constants == "dram",
        requant=cfg.requantises,
    )
    if cfg.requantises:
        lo, hi = affine_range(cfg.input_type, mt, at)
        ctx["rq"] = requant(lo, hi, cfg.shift, cfg.saturate_type, cfg.output_type)
        ctx["xsw"] = cfg.input_type.bits + (not cfg.input_type.signed)
        ctx["msw"] = mt.bits + (not mt.signed)
    m_img, a_img = memory_image(mul, mt, cfg.pe), memory_image(add, at, cfg.pe)
    if cfg.constants == "dram":  # one region: {add, mul} per channel group, mul in the low bits
        return LayerRTL(ctx, {ctx["c_file"]: joined_image(m_img, a_img)})
    return LayerRTL(ctx, {ctx["mul_file"]: m_img, ctx["add_file"]: a_img})


def estimate(cfg: Affine, family: str) -> Estimate:
    """The exact form: a multiply-add per lane (a DSP on Xilinx when both operands are at least
    8 bits). The requantising form: `requant_lane_estimate`, fitted on a ResNet-like INT8 x INT16
    + INT24, 64 channels, PE 8 (docs/hardware.md)."""
    on_chip = cfg.constants == "chip"  # in DRAM: no ROM, the constants arrive with the data
    if cfg.requantises:
        rq = requant(*affine_range(cfg.input_type, cfg.mul_type, cfg.add_type), cfg.shift,
                     cfg.saturate_type, cfg.output_type)  # fmt: skip
        roms = [cfg.mul_type.bits, cfg.add_type.bits] if on_chip else []
        return requant_lane_estimate(cfg, rq, 0, roms, family)
    xb, mb = cfg.input_type.bits, cfg.mul_type.bits
    lut_mem, bram = (
        memory(cfg.pe * (mb + cfg.add_type.bits), cfg.channels // cfg.pe, family)
        if on_chip
        else (0, 0)
    )
    # Multipliers with both operands >= 10 bits go to DSPs (MULT18X18D / DSP48) in Yosys.
    dsp = cfg.pe if min(xb, mb) >= 8 and family != "ecp5" else 0
    mult = 0 if dsp else xb * mb // 4
    lut = 20 + scaled(cfg.pe * (mult + cfg.output_type.bits), family) + lut_mem
    ff = 20 + cfg.pe * (cfg.output_type.bits + xb)
    return Estimate(cfg.cycles_per_frame, lut, ff, bram, dsp)


def dram_regions(cfg: Affine) -> list[DramRegion]:
    """Constants in DRAM: the channel groups' {add, mul} words, read once per vector."""
    if cfg.constants != "dram":
        return []
    nf = cfg.channels // cfg.pe
    return [DramRegion("c", cfg.constant_bits, nf, cfg.num_vectors, f"{cfg.name}_c.mem")]


KIND = LayerKind(
    config=Affine,
    execute=execute,
    exact=False,
    ports=ports,
    dram_regions=dram_regions,
    places=("constants",),
    dram_forms=lambda cfg: [{"constants": "dram"}],
    template="affine.v.j2",
    rtl=rtl,
    estimate=estimate,
)
