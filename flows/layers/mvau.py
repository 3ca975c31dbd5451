"""Matrix-vector activation units: XnorMVAU (binary x binary) and IntMVAU (integer x integer).

Both compute, for each of `num_vectors` input vectors of length `mw`, `mh` dot products with a
constant weight matrix W (mh x mw). Folding: `simd` input elements and `pe` output channels per
cycle, so one vector takes (mw/simd)*(mh/pe) cycles. Output order: channel groups of `pe`
ascending (docs/numerics.md, section 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flows.datatypes import BIPOLAR, INT, UINT, DataType, Kind, smallest_type
from flows.errors import ConfigError
from flows.layers.registry import LayerKind, check_divides, check_positive, register


@dataclass(frozen=True)
class XnorMVAU:
    """Binary weights x binary inputs; output = popcount(XNOR) = number of agreeing signs.

    For bipolar x, w in {-1,+1}^mw: popcount = (x . w + mw) / 2, an unsigned integer in 0..mw.
    `popcount_stages`: pipeline registers inside the popcount adder tree (0 = combinational).
    """

    name: str
    mw: int
    mh: int
    simd: int = 1
    pe: int = 1
    num_vectors: int = 1
    popcount_stages: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, mw=self.mw, mh=self.mh, num_vectors=self.num_vectors)
        check_divides(self.name, self.mw, "SIMD", self.simd)
        check_divides(self.name, self.mh, "PE", self.pe)
        if self.popcount_stages < 0:
            raise ConfigError(f"{self.name}: popcount_stages must be >= 0")

    @property
    def input_type(self) -> DataType:
        return BIPOLAR

    @property
    def weight_type(self) -> DataType:
        return BIPOLAR

    @property
    def output_type(self) -> DataType:
        return UINT(self.mw.bit_length())

    @property
    def sf(self) -> int:
        return self.mw // self.simd

    @property
    def nf(self) -> int:
        return self.mh // self.pe

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.sf * self.nf


@dataclass(frozen=True)
class IntMVAU:
    """Integer (or bipolar) weights x integer inputs; output = signed dot product, full precision."""

    name: str
    mw: int
    mh: int
    input_type: DataType
    weight_type: DataType
    simd: int = 1
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, mw=self.mw, mh=self.mh, num_vectors=self.num_vectors)
        check_divides(self.name, self.mw, "SIMD", self.simd)
        check_divides(self.name, self.mh, "PE", self.pe)
        if self.input_type.kind == Kind.BIPOLAR and self.weight_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: bipolar x bipolar is an XnorMVAU, not an IntMVAU")

    @property
    def output_type(self) -> DataType:
        lo, hi = _dot_range(self.input_type, self.weight_type, self.mw)
        return smallest_type(lo, hi)

    @property
    def sf(self) -> int:
        return self.mw // self.simd

    @property
    def nf(self) -> int:
        return self.mh // self.pe

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.sf * self.nf


def _dot_range(xt: DataType, wt: DataType, n: int) -> tuple[int, int]:
    """Exact range of a length-n dot product of values of types xt and wt."""
    products = [a * b for a in (xt.min, xt.max) for b in (wt.min, wt.max)]
    return n * min(products), n * max(products)


def _check_weights(cfg, params: dict[str, np.ndarray]) -> np.ndarray:
    w = np.asarray(params["weights"])
    if w.shape != (cfg.mh, cfg.mw):
        raise ConfigError(f"{cfg.name}: weights have shape {w.shape}, expected {(cfg.mh, cfg.mw)}")
    cfg.weight_type.check(w, f"{cfg.name}: weights")
    return w.astype(np.int64)


# Rows of XOR words held at once by the packed XnorMVAU (bounds the temporaries to a few MB).
_XNOR_CHUNK_WORDS = 1 << 16
# Largest integer below which every float64 integer is exact.
_F64_EXACT = 1 << 53


def pack_bipolar(a: np.ndarray) -> np.ndarray:
    """(..., n) bipolar -> (..., ceil(n/64)) uint64; bit i of word j = (a[..., 64j+i] > 0).

    Tail bits of the last word are 0 (numerics section 1: bit 1 means +1)."""
    a = np.asarray(a)
    n = a.shape[-1]
    words = -(-n // 64)
    packed = np.packbits(a > 0, axis=-1, bitorder="little")
    pad = words * 8 - packed.shape[-1]
    if pad:
        packed = np.concatenate(
            [packed, np.zeros((*packed.shape[:-1], pad), dtype=np.uint8)], axis=-1
        )
    # Little-endian bytes -> uint64 words: byte k of a word holds elements 8k..8k+7.
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)


def xnor_popcount(xp: np.ndarray, wp: np.ndarray, n: int) -> np.ndarray:
    """(M, K) x (mh, K) packed words of length-n bit vectors -> (M, mh) int64 popcount(XNOR).

    popcount(~(x ^ w) & mask) over the n valid bits equals n - popcount(x ^ w), because the tail
    bits (mask 0) are 0 in both operands and so never differ; the subtraction is the masking.
    Disagreements are summed word by word in a narrow accumulator (uint16 while n < 2^16, so it
    cannot wrap), over chunks of rows that bound the temporaries."""
    m, k = xp.shape
    mh = wp.shape[0]
    out = np.empty((m, mh), dtype=np.int64)
    if m == 0 or mh == 0:
        return out
    rows = max(1, _XNOR_CHUNK_WORDS // mh)
    acc_type = np.uint16 if n < (1 << 16) else np.int64
    diff = np.empty((min(rows, m), mh), dtype=np.uint64)
    cnt = np.empty(diff.shape, dtype=np.uint8)
    acc = np.empty(diff.shape, dtype=acc_type)
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        d, c, a = diff[: stop - start], cnt[: stop - start], acc[: stop - start]
        a.fill(0)
        for j in range(k):
            np.bitwise_xor(xp[start:stop, j, None], wp[None, :, j], out=d)
            np.bitwise_count(d, out=c)
            np.add(a, c, out=a)
        np.subtract(n, a, out=out[start:stop], dtype=np.int64)
    return out


def xnor_mvau_execute(cfg: XnorMVAU, params, inputs):
    """(N, num_vectors, mw) bipolar -> (N, num_vectors, mh) popcounts in 0..mw.

    Exactly `(x . w + mw) // 2` for bipolar x, w (numerics section 2), computed bit-packed:
    XOR + popcount on uint64 words, all frames and vectors at once."""
    w = _check_weights(cfg, params)
    (x,) = inputs
    x = np.asarray(x)
    if x.shape[-1] != cfg.mw:
        raise ConfigError(f"{cfg.name}: input vectors have length {x.shape[-1]}, expected {cfg.mw}")
    lead = x.shape[:-1]
    xp = pack_bipolar(x.reshape(-1, cfg.mw))
    out = xnor_popcount(xp, pack_bipolar(w), cfg.mw)
    return [out.reshape(*lead, cfg.mh)]


def int_mvau_execute(cfg: IntMVAU, params, inputs):
    """(N, num_vectors, mw) integers -> (N, num_vectors, mh) exact dot products.

    float64 BLAS when exact: every partial sum of a dot product is bounded in magnitude by
    mw * max|x| * max|w| (from the data); below 2^53 every such integer, and so every rounding
    step of any summation order, is exact in float64. Otherwise int64 matmul."""
    w = _check_weights(cfg, params)
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    if x.size and w.size:
        xmax = max(-int(x.min()), int(x.max()))  # Python ints: no overflow at INT64_MIN
        wmax = max(-int(w.min()), int(w.max()))
        bound = cfg.mw * xmax * wmax
        if bound < _F64_EXACT:
            y = x.astype(np.float64) @ w.T.astype(np.float64)
            return [y.astype(np.int64)]
    return [x @ w.T]


register(LayerKind("XnorMVAU", XnorMVAU, xnor_mvau_execute))
register(LayerKind("IntMVAU", IntMVAU, int_mvau_execute))

__all__ = ["XnorMVAU", "IntMVAU", "INT"]
