"""The golden function of InstaPReLU (the module docstring's formulas, exact in integers)."""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT
from flows.errors import ConfigError
from flows.fixedpoint import rne_shift, saturate
from flows.layers.insta_prelu.config import InstaPReLU, param
from flows.layers.insta_se.golden import se_v
from flows.layers.insta_statistics import statistic


def execute(cfg: InstaPReLU, params, inputs):
    c = cfg.channels
    x = np.asarray(inputs[0], dtype=np.int64)
    if x.ndim != 3 or x.shape[1:] != (cfg.num_vectors, c):
        raise ConfigError(
            f"{cfg.name}: input has shape {x.shape}, expected (frames, {cfg.num_vectors}, {c})"
        )
    if cfg.form in ("alpha", "se"):
        s = statistic(x << cfg.mu_frac_bits, param(cfg, params, "mu", cfg.mu_type, c))
    else:
        st = np.asarray(inputs[1], dtype=np.int64).reshape(x.shape[0], -1)
        s = np.tile(st, (1, c // cfg.stat_channels))
    vt = INT(cfg.v_bits)
    if cfg.se is not None:
        v = se_v(cfg.name, cfg.se, params, s, cfg.acc_type.bits)
    else:
        mv = param(cfg, params, "Mv", INT(cfg.mantissa_bits), c)
        bv = param(cfg, params, "Bv", INT(cfg.offset_bits), c)
        wide = cfg.mantissa_bits + cfg.acc_type.bits > 61
        dt = object if wide else np.int64
        v = rne_shift(mv.astype(dt) * s.astype(dt) + bv.astype(dt), cfg.stat_exponent)
    v = np.clip(v, vt.min, vt.max).astype(np.int64)
    table = param(cfg, params, "table", cfg.table_type, 1 << cfg.v_bits)
    d = (x << cfg.gamma_frac_bits) - table[v - vt.min][:, None, :]
    mp = param(cfg, params, "mul_pos", cfg.mul_type, c)
    mn = param(cfg, params, "mul_neg", cfg.mul_type, c)
    add = param(cfg, params, "add", cfg.add_type, c)
    y = np.where(d >= 0, mp * d, mn * d) + add
    return [saturate(rne_shift(y, cfg.shift + cfg.gamma_frac_bits), cfg.output_type)]
