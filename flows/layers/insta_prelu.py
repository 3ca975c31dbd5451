"""InstaPReLU: INSTA-PReLU (own statistics or the statistics-reuse form) in integers.

The float module (DESIGN.md section 4, `flows.custom_ops.insta.insta_prelu`) followed by its
output quantiser is `q_out(PReLU_slope(x - gamma_c) + zeta_c)` with `gamma_c = 3 tanh(v_c / 3)`,
`v_c = a_c m3_c` (form "alpha") or `p_c m3_c + q_c` (form "reuse", m3 of the block's INSTA-Th).
Per frame and channel c, on an integer input x with scale s (docs/numerics.md section 10):

    S_c   = sum_hw (x - mu_c)^3                    own statistics (mu on x's grid), or the
                                                   INSTA-Th's S (input 1; channel c reads c mod Cs)
    v_c   = sat8(rne((Mv_c * S_c + Bv_c) * 2^-Ev)) v on the grid 2^-v_exponent, INT8
    g_c   = table[v_c]                             rne(3 tanh(v 2^-e / 3) / s): gamma on x's grid
    d     = x - g_c
    y     = sat(rne((d >= 0 ? mul_pos_c : mul_neg_c) * d + add_c) * 2^-shift)

Outputs: the requantised activation (INT on the output quantiser's grid).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import INT, DataType, Kind, smallest_type
from flows.errors import ConfigError
from flows.fixedpoint import rne, rne_shift, saturate
from flows.layers.insta import statistic
from flows.layers.registry import LayerKind, check_divides, check_positive, register

FORMS = ("alpha", "reuse")
V_TYPE = INT(8)  # the SE / tanh-table input (numerics section 8)


def gamma_table(v_exponent: int, input_scale: float) -> np.ndarray:
    """table[v + 128] = rne(3 tanh(v 2^-e / 3) / s) for v in -128..127: gamma on x's grid.

    The one function both the lowering and the tests use to build the table (numerics 8)."""
    v = np.arange(V_TYPE.min, V_TYPE.max + 1, dtype=np.float64) * 2.0**-v_exponent
    return rne(3.0 * np.tanh(v / 3.0) / input_scale).astype(np.int64)


@dataclass(frozen=True)
class InstaPReLU:
    """INSTA-PReLU on an H x W x C frame (+ requantisation); see the module docstring."""

    name: str
    channels: int
    height: int
    width: int
    input_type: DataType
    output_type: DataType
    form: str
    v_exponent: int  # e: v = v_int * 2^-e
    stat_exponent: int  # Ev of Mv, Bv
    shift: int  # F of mul_pos, mul_neg, add
    table_type: DataType
    mul_type: DataType = INT(16)
    add_type: DataType = INT(32)
    stat_channels: int | None = None  # reuse: channels of the INSTA-Th statistic (input 1)
    stat_type: DataType | None = None  # reuse: its element type
    pe: int = 1
    mantissa_bits: int = 18
    offset_bits: int = 48

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, height=self.height, width=self.width)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.form not in FORMS:
            raise ConfigError(f"{self.name}: form {self.form!r}; one of {', '.join(FORMS)}")
        if self.input_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: INSTA-PReLU needs an integer input, not BIPOLAR")
        if self.form == "reuse":
            if self.stat_channels is None or self.stat_type is None:
                raise ConfigError(f"{self.name}: the reuse form needs stat_channels and stat_type")
            check_divides(self.name + " (statistic channels)", self.channels, "C_stat",
                          self.stat_channels)  # fmt: skip
        if self.shift < 0 or self.stat_exponent < 0:
            raise ConfigError(f"{self.name}: shift and stat_exponent must be >= 0")

    @property
    def num_vectors(self) -> int:
        return self.height * self.width

    @property
    def acc_type(self) -> DataType:
        """S_c of the own statistics (as InstaThreshold.acc_type), or the reused one."""
        if self.form == "reuse":
            return self.stat_type
        bound = self.num_vectors * (self.input_type.max - self.input_type.min) ** 3
        return smallest_type(-bound, bound)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def _param(cfg: InstaPReLU, params: dict, key: str, t: DataType | None, size: int) -> np.ndarray:
    if key not in params:
        raise ConfigError(f"{cfg.name}: parameter {key!r} is missing")
    a = np.asarray(params[key])
    if a.shape != (size,):
        raise ConfigError(f"{cfg.name}: {key} has shape {a.shape}, expected ({size},)")
    if t is not None:
        t.check(a, f"{cfg.name}: {key}")
    return a.astype(np.int64)


def insta_prelu_execute(cfg: InstaPReLU, params, inputs):
    c = cfg.channels
    x = np.asarray(inputs[0], dtype=np.int64)
    if x.ndim != 3 or x.shape[1:] != (cfg.num_vectors, c):
        raise ConfigError(
            f"{cfg.name}: input has shape {x.shape}, expected (frames, {cfg.num_vectors}, {c})"
        )
    if cfg.form == "alpha":
        s = statistic(x, _param(cfg, params, "mu", cfg.input_type, c))
    else:
        st = np.asarray(inputs[1], dtype=np.int64).reshape(x.shape[0], -1)
        s = np.tile(st, (1, c // cfg.stat_channels))
    mv = _param(cfg, params, "Mv", INT(cfg.mantissa_bits), c)
    bv = _param(cfg, params, "Bv", INT(cfg.offset_bits), c)
    wide = cfg.mantissa_bits + cfg.acc_type.bits > 61
    dt = object if wide else np.int64
    v = rne_shift(mv.astype(dt) * s.astype(dt) + bv.astype(dt), cfg.stat_exponent)
    v = np.clip(v, V_TYPE.min, V_TYPE.max).astype(np.int64)
    table = _param(cfg, params, "table", cfg.table_type, V_TYPE.max - V_TYPE.min + 1)
    d = x - table[v - V_TYPE.min][:, None, :]
    mp = _param(cfg, params, "mul_pos", cfg.mul_type, c)
    mn = _param(cfg, params, "mul_neg", cfg.mul_type, c)
    add = _param(cfg, params, "add", cfg.add_type, c)
    y = np.where(d >= 0, mp * d, mn * d) + add
    return [saturate(rne_shift(y, cfg.shift), cfg.output_type)]


register(LayerKind("InstaPReLU", InstaPReLU, insta_prelu_execute))
