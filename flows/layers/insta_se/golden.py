"""The SE block in integers (`se_v`, what every backend reproduces bit for bit) and the folding
of the float SE into it (`fold_se`)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from flows.errors import NumericContractError
from flows.fixedpoint import rne_shift
from flows.layers.insta_se.config import MAX_SHIFT, SE_HIDDEN, SE_INPUT, SEConfig, se_params


def _scaled(m: np.ndarray, v: np.ndarray, shift: int, wide: bool) -> np.ndarray:
    dt = object if wide else np.int64
    return rne_shift(m.astype(dt) * np.asarray(v).astype(dt), shift)


def se_v(name: str, se: SEConfig, params: dict, s: np.ndarray, stat_bits: int) -> np.ndarray:
    """v (frames, C) as integers on the grid 2^-v_exponent from S (frames, C)."""
    p = se_params(name, se, params)
    m3 = _scaled(p.mm, s, se.m3_shift, se.mantissa_bits + stat_bits > 61)
    m3 = np.clip(m3, SE_INPUT.min, SE_INPUT.max).astype(np.int64)
    acc1 = np.maximum(m3 @ p.w1.T, 0)
    hid = np.clip(_scaled(p.mh, acc1, se.hidden_shift, False), SE_HIDDEN.min, SE_HIDDEN.max)
    acc2 = hid.astype(np.int64) @ p.w2.T
    v = _scaled(p.mo, acc2, se.v_shift, False)
    return np.clip(v, se.v_type.min, se.v_type.max).astype(np.int64)


def _mantissas(values: list[Fraction], base_exp: int, bits: int, what: str):
    """Largest shift in 0..MAX_SHIFT with every rne(v 2^(base_exp + shift)) in INT(bits)."""
    lim = (1 << (bits - 1)) - 1
    for shift in range(MAX_SHIFT, -1, -1):
        e = base_exp + shift
        ints = [round(v * 2**e) if e >= 0 else round(v / 2**-e) for v in values]
        if all(abs(i) <= lim for i in ints):
            return shift, np.array(ints, dtype=np.int64)
    raise NumericContractError(f"SE {what}: a factor is too large for {bits}-bit mantissas")


def fold_se(
    k: list[Fraction],
    w1: np.ndarray,
    s1: np.ndarray,
    w2: np.ndarray,
    s2: np.ndarray,
    *,
    m3_exponent: int,
    hidden_exponent: int,
    v_exponent: int,
    v_bits: int,
    mantissa_bits: int = 18,
) -> tuple[SEConfig, dict[str, np.ndarray]]:
    """Float SE (integer-valued w1/w2, steps s1/s2) and the statistic factor k -> integer SE."""
    w1i, w2i = np.asarray(w1), np.asarray(w2)
    for w, n in ((w1i, "w1"), (w2i, "w2")):
        if np.any(w != np.round(w)) or np.any(np.abs(w) > 128) or np.any(w == 128):
            raise NumericContractError(f"SE weights {n} must be integers in -128..127")
    fr = lambda a: [Fraction(float(x)) for x in np.asarray(a, np.float64).ravel()]  # noqa: E731
    m3s, mm = _mantissas(k, m3_exponent, mantissa_bits, "m3 factor")
    hs, mh = _mantissas(fr(s1), hidden_exponent - m3_exponent, mantissa_bits, "FC1 step")
    vs, mo = _mantissas(fr(s2), v_exponent - hidden_exponent, mantissa_bits, "FC2 step")
    cfg = SEConfig(
        channels=w2i.shape[0], hidden=w1i.shape[0], m3_exponent=m3_exponent,
        hidden_exponent=hidden_exponent, v_exponent=v_exponent, v_bits=v_bits, m3_shift=m3s,
        hidden_shift=hs, v_shift=vs, mantissa_bits=mantissa_bits,
    )  # fmt: skip
    params = {
        "se_Mm": mm,
        "se_w1": w1i.astype(np.int64),
        "se_Mh": mh,
        "se_w2": w2i.astype(np.int64),
        "se_Mo": mo,
    }
    return cfg, params
