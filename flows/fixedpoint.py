"""Fixed-point helpers shared by the lowering and the golden functions (docs/numerics.md 6, 10).

A fixed-point constant is an integer mantissa with a per-layer power-of-two exponent: the real
value `v` is represented by `rne(v * 2^F)`. Requantising an integer `v` by `2^-F` is
`rne_shift(v, F)`: round half to even (QONNX `ROUND`), exact on integers of any size.
"""

from __future__ import annotations

import numpy as np

from flows.datatypes import DataType


def rne(values) -> np.ndarray:
    """Round half to even (np.round's rule) of float64 values."""
    return np.round(np.asarray(values, dtype=np.float64))


def rne_shift(v, shift: int) -> np.ndarray:
    """rne(v * 2^-shift) for integer v (int64 or Python-int object arrays), exactly.

    shift <= 0 is an exact left shift. For shift > 0: q = floor(v / 2^shift) (an arithmetic right
    shift), r = v - q*2^shift; add 1 when r > half, or r == half and q is odd.
    """
    v = np.asarray(v)
    if shift <= 0:
        return v * (1 << -shift) if v.dtype == object else v << -shift
    q = v >> shift
    r = v - (q << shift)
    half = 1 << (shift - 1)
    up = (r > half) | ((r == half) & ((q & 1) == 1))
    return q + up


def saturate(v, dtype: DataType) -> np.ndarray:
    """Clamp onto the range of `dtype` (int64 result)."""
    return np.clip(np.asarray(v), dtype.min, dtype.max).astype(np.int64)


def fit_exponent(values, bits: int, max_exponent: int = 30, min_exponent: int = -30) -> int:
    """Largest F in [min_exponent, max_exponent] with every rne(v * 2^F) in INT(bits).

    Raises ValueError if even min_exponent does not fit (values too large).
    """
    v = np.abs(np.asarray(values, dtype=np.float64)).ravel()
    lim = (1 << (bits - 1)) - 1
    for f in range(max_exponent, min_exponent - 1, -1):
        if v.size == 0 or np.max(rne(v * 2.0**f)) <= lim:
            return f
    raise ValueError(
        f"values up to {float(v.max()):.4g} do not fit {bits} bits at 2^{min_exponent}"
    )
