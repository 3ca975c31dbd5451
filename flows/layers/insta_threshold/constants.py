"""Folding the float INSTA-Th module into InstaThreshold's integer constants (docs/numerics.md
section 8), and the float module itself for comparisons."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from flows.datatypes import DataType
from flows.errors import ConfigError, NumericContractError
from flows.layers.insta_threshold.config import MAX_EXPONENT


class InstaConstants(NamedTuple):
    """The integer constants of one InstaThreshold (docs/numerics.md section 8)."""

    mu: np.ndarray
    A: np.ndarray  # noqa: N815 - the names of numerics section 8
    M: np.ndarray  # noqa: N815
    sign: np.ndarray
    E: int  # noqa: N815

    def params(self) -> dict[str, np.ndarray]:
        return {"mu": self.mu, "A": self.A, "M": self.M, "sign": self.sign}


def _fits(values: list[int], bits: int) -> bool:
    return all(-(1 << (bits - 1)) <= v < (1 << (bits - 1)) for v in values)


def _exponent(k: list[Fraction], offset: list[Fraction], mbits: int, obits: int) -> int:
    """Largest E in 0..MAX_EXPONENT with every M = rne(K 2^E) in INT(mbits) and every
    A = rne(offset 2^E) in INT(obits) (both only grow with E)."""
    for e in range(MAX_EXPONENT, -1, -1):
        if _fits([round(v * 2**e) for v in k], mbits) and _fits(
            [round(v * 2**e) for v in offset], obits
        ):
            return e
    raise NumericContractError(
        f"INSTA constants do not fit even at E=0: max |K| = {float(max(map(abs, k))):.3g} needs "
        f"more than {mbits} mantissa bits or max |mu + sigma*beta| = "
        f"{float(max(map(abs, offset))):.3g} more than {obits} offset bits"
    )


def _vector(name: str, v, channels: int | None) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if channels is not None and a.shape != (channels,):
        raise ConfigError(f"fold_insta_constants: {name} has {a.size} values, expected {channels}")
    if not np.all(np.isfinite(a)):
        raise NumericContractError(f"fold_insta_constants: {name} holds non-finite values")
    return a


def fold_insta_constants(
    mu,
    sigma,
    alpha,
    beta,
    H: int,  # noqa: N803
    W: int,  # noqa: N803
    input_scale: float,
    *,
    input_type: DataType,
    mantissa_bits: int = 18,
    offset_bits: int = 48,
    se_tanh_frac_bits: int | None = None,
    mu_frac_bits: int = 0,
) -> InstaConstants:
    """Float INSTA-Th parameters (real units; x_real = input_scale * x) -> integer constants.

    Exact rational arithmetic on the float64 values, one round-half-to-even per constant:
    mu_int = clamp(rne(mu / s 2^k), min 2^k, max 2^k) with k = mu_frac_bits (mu on the input grid
    refined by k bits); with sigma_x = sigma / s, A = rne((mu_int 2^-k + sigma_x * beta) 2^E),
    M = rne(alpha / (H W sigma_x^2) 2^(E - 3k)) (S is in units of 2^-3k) and E the largest
    exponent that fits (see `_exponent`); sign = sign(sigma). With `se_tanh_frac_bits` = G
    (INSTA-Th+), alpha is ignored and M = rne(sigma_x 2^(E - G)) scales the tanh table (the SE
    carries the 2^-3k of S).
    """
    mu_f = _vector("mu", mu, None)
    c = mu_f.size
    sigma_f, alpha_f, beta_f = (
        _vector(n, v, c) for n, v in (("sigma", sigma), ("alpha", alpha), ("beta", beta))
    )
    if np.any(sigma_f == 0):
        raise NumericContractError("fold_insta_constants: sigma is 0 in a channel")
    if not (math.isfinite(input_scale) and input_scale > 0):
        raise NumericContractError(f"fold_insta_constants: input_scale={input_scale} must be > 0")
    if mu_frac_bits < 0:
        raise ConfigError(f"fold_insta_constants: mu_frac_bits={mu_frac_bits} must be >= 0")
    s, hw, kb = Fraction(input_scale), H * W, mu_frac_bits
    lo, hi = input_type.min << kb, input_type.max << kb
    mu_int = [min(max(round(Fraction(m) / s * 2**kb), lo), hi) for m in mu_f]
    sig_x = [Fraction(v) / s for v in sigma_f]
    offset = [Fraction(mi, 2**kb) + sx * Fraction(b)
              for mi, sx, b in zip(mu_int, sig_x, beta_f, strict=True)]  # fmt: skip
    if se_tanh_frac_bits is None:  # S = sum (x 2^k - mu_int)^3 = 2^3k sum (x - mu_int 2^-k)^3
        k = [Fraction(a) / (hw * sx * sx * 2 ** (3 * kb))
             for a, sx in zip(alpha_f, sig_x, strict=True)]  # fmt: skip
    else:  # INSTA-Th+: T = offset + sigma_x * tanh_table / 2^G, so M carries sigma_x 2^-G
        k = [sx / 2**se_tanh_frac_bits for sx in sig_x]
    e = _exponent(k, offset, mantissa_bits, offset_bits)
    return InstaConstants(
        mu=np.array(mu_int, dtype=np.int64),
        A=np.array([round(v * 2**e) for v in offset], dtype=np.int64),
        M=np.array([round(v * 2**e) for v in k], dtype=np.int64),
        sign=np.where(sigma_f > 0, 1, -1).astype(np.int64),
        E=e,
    )


def insta_threshold_float(x, mu, sigma, alpha, beta) -> np.ndarray:
    """The float module in float64: sign(x_hat - t), t = beta + alpha * mean_hw(x_hat^3).

    x: (frames, H*W, C) real values; returns -1/+1 with sign(0) = +1.
    """
    x_hat = (np.asarray(x, dtype=np.float64) - np.asarray(mu)) / np.asarray(sigma)
    t = np.asarray(beta) + np.asarray(alpha) * np.mean(x_hat**3, axis=1, keepdims=True)
    return np.where(x_hat - t >= 0, 1, -1).astype(np.int64)
