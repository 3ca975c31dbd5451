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


def xnor_mvau_execute(cfg: XnorMVAU, params, inputs):
    """(N, num_vectors, mw) bipolar -> (N, num_vectors, mh) popcounts in 0..mw."""
    w = _check_weights(cfg, params)
    (x,) = inputs
    dot = np.asarray(x, dtype=np.int64) @ w.T
    return [(dot + cfg.mw) // 2]


def int_mvau_execute(cfg: IntMVAU, params, inputs):
    """(N, num_vectors, mw) integers -> (N, num_vectors, mh) exact dot products."""
    w = _check_weights(cfg, params)
    (x,) = inputs
    return [np.asarray(x, dtype=np.int64) @ w.T]


register(LayerKind("XnorMVAU", XnorMVAU, xnor_mvau_execute))
register(LayerKind("IntMVAU", IntMVAU, int_mvau_execute))

__all__ = ["XnorMVAU", "IntMVAU", "INT"]
