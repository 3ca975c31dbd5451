"""The golden function of InstaThreshold: S, the fixed-point thresholds and the comparison."""

from __future__ import annotations

import numpy as np

from flows.datatypes import BIPOLAR
from flows.errors import ConfigError
from flows.layers.checks import checked_param
from flows.layers.insta_se.golden import se_v
from flows.layers.insta_statistics import statistic
from flows.layers.insta_threshold.config import InstaThreshold


def check_params(cfg: InstaThreshold, params: dict) -> tuple[np.ndarray, ...]:
    """(mu, A, M, sign) as int64 arrays, checked against the config's types."""
    types = {
        "mu": cfg.mu_type,
        "A": cfg.offset_type,
        "M": cfg.mantissa_type,
        "sign": BIPOLAR,
    }
    return tuple(checked_param(cfg.name, params, k, (cfg.channels,), t) for k, t in types.items())


def thresholds(cfg: InstaThreshold, params: dict, s: np.ndarray) -> np.ndarray:
    """Integer thresholds (frames, C): ceil(T) where sign = +1, floor(T) where sign = -1.

    `s` is S in the config's units ((2^-k input steps)^3; M carries the 2^-3k). Exact: int64
    while |A + M*S| < 2^62, Python integers beyond; then clamped to [min - 1, max + 1] of the
    input, which changes no comparison.
    """
    _, a, m, sign = check_params(cfg, params)
    if cfg.se is not None:  # INSTA-Th+: the table value of v = SE(m3) replaces S
        v_int = se_v(cfg.name, cfg.se, params, np.asarray(s), cfg.acc_type.bits)
        tab = np.asarray(params["tanh"], dtype=np.int64)
        if tab.shape != (1 << cfg.se.v_bits,):
            raise ConfigError(f"{cfg.name}: tanh table has shape {tab.shape}")
        s = tab[v_int - cfg.se.v_type.min]
        dtype = object if cfg.mantissa_bits + cfg.tanh_frac_bits + 2 > 61 else np.int64
    else:
        dtype = object if cfg.mantissa_bits + cfg.acc_type.bits > 61 else np.int64
    v = a.astype(dtype) + m.astype(dtype) * np.asarray(s).astype(dtype)
    e, t = cfg.exponent, cfg.input_type
    th = np.where(sign > 0, -((-v) >> e), v >> e)  # >> floors: ceil = -floor(-v / 2^E)
    return np.minimum(np.maximum(th, t.min - 1), t.max + 1).astype(np.int64)


def execute(cfg: InstaThreshold, params, inputs):
    """[activations (BIPOLAR), the input (what the hardware emits one frame later)]."""
    mu, _, _, sign = check_params(cfg, params)
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 3 or x.shape[1:] != (cfg.num_vectors, cfg.channels):
        raise ConfigError(
            f"{cfg.name}: input has shape {x.shape}, expected "
            f"(frames, {cfg.num_vectors}, {cfg.channels})"
        )
    cfg.input_type.check(x, f"{cfg.name}: input")
    s = statistic(x << cfg.mu_frac_bits, mu)
    th = thresholds(cfg, params, s)[:, None, :]
    passed = np.where(sign > 0, x >= th, x <= th)
    out = [np.where(passed, 1, -1).astype(np.int64), x.copy()]
    return out + [s[:, None, :]] if cfg.statistic_output else out
