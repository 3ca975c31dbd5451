"""Threshold: FINN MultiThreshold semantics on an integer stream, per channel.

out = number of thresholds T[c, i] with x >= T[c, i] (0..N). With one threshold per channel and a
BIPOLAR output the count 0/1 maps to -1/+1. Thresholds are integers on the input's grid, sorted
ascending per channel (docs/numerics.md, section 3).

Hardware (hw/templates/threshold.v.j2, hls/include/threshold.hpp): PE lanes per word; the
thresholds of a channel group are one memory word of PE*N lanes, read as the group's word
arrives; N comparators and a counter per lane.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flows.datatypes import BIPOLAR, DataType, Kind
from flows.errors import ConfigError
from flows.hwmodel.logic import scaled
from flows.hwmodel.memory import memory
from flows.hwmodel.ports import Port
from flows.hwmodel.ranges import smallest_type
from flows.hwmodel.resources import Estimate
from flows.hwmodel.structure import clog2
from flows.layers.backends import (
    HlsKernel,
    LayerRTL,
    int_literal,
    memory_image,
    per_line,
    policy,
    type_ctype,
)
from flows.layers.checks import check_divides, check_positive
from flows.layers.registry import LayerKind


@dataclass(frozen=True)
class Threshold:
    """Per-channel multi-threshold unit; `pe` channels per cycle."""

    name: str
    channels: int
    num_thresholds: int
    input_type: DataType
    bipolar_output: bool = True
    pe: int = 1
    num_vectors: int = 1

    def __post_init__(self) -> None:
        check_positive(self.name, channels=self.channels, num_vectors=self.num_vectors)
        check_positive(self.name, num_thresholds=self.num_thresholds)
        check_divides(self.name, self.channels, "PE", self.pe)
        if self.bipolar_output and self.num_thresholds != 1:
            raise ConfigError(f"{self.name}: a BIPOLAR output needs exactly one threshold")
        if self.input_type.kind == Kind.BIPOLAR:
            raise ConfigError(f"{self.name}: thresholding a BIPOLAR stream is a no-op or inversion")

    @property
    def output_type(self) -> DataType:
        return BIPOLAR if self.bipolar_output else smallest_type(0, self.num_thresholds)

    @property
    def threshold_type(self) -> DataType:
        """Thresholds are clamped to [min, max + 1] of the input: one more value than the input."""
        t = self.input_type
        return DataType(Kind.INT, t.bits + 1) if t.signed else DataType(Kind.UINT, t.bits + 1)

    @property
    def cycles_per_frame(self) -> int:
        return self.num_vectors * self.channels // self.pe


def check_thresholds(cfg: Threshold, t: np.ndarray) -> np.ndarray:
    t = np.asarray(t)
    if t.shape != (cfg.channels, cfg.num_thresholds):
        raise ConfigError(
            f"{cfg.name}: thresholds have shape {t.shape}, "
            f"expected {(cfg.channels, cfg.num_thresholds)}"
        )
    cfg.threshold_type.check(t, f"{cfg.name}: thresholds")
    if np.any(np.diff(t, axis=1) < 0):
        raise ConfigError(f"{cfg.name}: thresholds must be ascending per channel")
    return t.astype(np.int64)


def _thresholds(cfg: Threshold, params: dict) -> np.ndarray:
    if "thresholds" not in params:
        raise ConfigError(f"{cfg.name}: parameter 'thresholds' is missing")
    return check_thresholds(cfg, params["thresholds"])


def execute(cfg: Threshold, params, inputs):
    """out[..., c] = #{i : x[..., c] >= T[c, i]}, or 2*out - 1 for a BIPOLAR output.

    One comparison pass per threshold column (broadcast over channels), counted in int64: no
    (..., channels, thresholds) temporary, and a single pass for the usual one threshold."""
    t = check_thresholds(cfg, params["thresholds"])
    (x,) = inputs
    x = np.asarray(x, dtype=np.int64)
    count = (x >= t[:, 0]).astype(np.int64)
    for column in t.T[1:]:
        count += x >= column
    if cfg.bipolar_output:
        count *= 2
        count -= 1
    return [count]


def ports(cfg: Threshold) -> tuple[dict[str, Port], dict[str, Port]]:
    nv = cfg.num_vectors
    return {"s_axis": Port(cfg.pe, cfg.input_type, cfg.channels, nv)}, {
        "m_axis": Port(cfg.pe, cfg.output_type, cfg.channels, nv)
    }


def rtl(cfg: Threshold, params: dict) -> LayerRTL:
    """Thresholds (C, N) as one memory word of PE*N lanes per channel group."""
    t = _thresholds(cfg, params)
    nf, tt = cfg.channels // cfg.pe, cfg.threshold_type
    tw = cfg.pe * cfg.num_thresholds * tt.bits
    ctx = dict(
        channels=cfg.channels,
        pe=cfg.pe,
        nf=nf,
        nt=cfg.num_thresholds,
        tb=tt.bits,
        tw=tw,
        signed=cfg.input_type.signed,
        t_type=tt.name,
        nfw=clog2(nf),
        threshold_file=f"{cfg.name}_t.mem",
    )
    image = memory_image(t, tt, cfg.pe * cfg.num_thresholds)
    return LayerRTL(ctx, {ctx["threshold_file"]: image})


def hls(cfg: Threshold, params: dict) -> HlsKernel:
    t = _thresholds(cfg, params)
    nf = cfg.channels // cfg.pe
    # thresholds[pe][nf][n] = T[nf*PE + pe][n]
    grouped = t.reshape(nf, cfg.pe, cfg.num_thresholds).transpose(1, 0, 2)
    rows = [[[int_literal(int(v)) for v in ch] for ch in pe_rows] for pe_rows in grouped]
    tt = cfg.threshold_type
    context = {
        "channels": cfg.channels, "pe": cfg.pe, "nf": nf, "num_vectors": cfg.num_vectors,
        "num_thresholds": cfg.num_thresholds, "in_policy": policy(cfg.input_type),
        "threshold_ctype": type_ctype(tt),
        "out_field_bits": cfg.output_type.bits, "threshold_rows": rows,
        "per_line": per_line([v for pe_rows in rows for ch in pe_rows for v in ch]),
    }  # fmt: skip
    summary = (
        f"channels={cfg.channels} pe={cfg.pe} num_vectors={cfg.num_vectors}, "
        f"{cfg.num_thresholds} {tt} thresholds on {cfg.input_type} -> {cfg.output_type}"
    )
    return HlsKernel("threshold.cpp.j2", summary, context)


def estimate(cfg: Threshold, family: str) -> Estimate:
    tb = cfg.threshold_type.bits
    lut_mem, bram = memory(cfg.pe * cfg.num_thresholds * tb, cfg.channels // cfg.pe, family)
    lut = 20 + scaled(cfg.pe * cfg.num_thresholds * tb * 0.7, family) + math.ceil(0.6 * lut_mem)
    ff = 50 + 1.4 * cfg.pe * cfg.input_type.bits + cfg.pe * cfg.output_type.bits
    return Estimate(cfg.cycles_per_frame, lut, math.ceil(ff), bram, 0)


KIND = LayerKind(
    config=Threshold,
    execute=execute,
    ports=ports,
    template="threshold.v.j2",
    rtl=rtl,
    hls=hls,
    hls_kernels=("Threshold",),
    estimate=estimate,
)
