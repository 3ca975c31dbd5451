"""The HLS kernels of XnorMVAU and IntMVAU (hls/include/xnor_mvau.hpp, int_mvau.hpp): the
weights baked into a ROM of [PE][NF*SF] tiles of SIMD lanes."""

from __future__ import annotations

from typing import Any

import numpy as np

from flows.datatypes import pack_words
from flows.errors import ConfigError
from flows.layers.backends import HlsKernel, per_line, policy, word_literal
from flows.layers.mvau.config import IntMVAU, XnorMVAU
from flows.layers.mvau.golden import weights


def _weight_rows(cfg: XnorMVAU | IntMVAU, params: dict[str, np.ndarray]) -> list[list[str]]:
    """W (mh, mw) -> [pe][nf*SF + sf] packed tiles as C++ literals (lane s = element sf*SIMD+s)."""
    fields = cfg.weight_type.encode(weights(cfg, params))
    tiles = fields.reshape(cfg.nf, cfg.pe, cfg.sf, cfg.simd).transpose(1, 0, 2, 3)
    bits = cfg.weight_type.bits * cfg.simd
    return [
        [word_literal(w, bits) for w in pack_words(row, cfg.weight_type.bits, cfg.simd)]
        for row in tiles.reshape(cfg.pe, -1)
    ]


def _context(cfg: XnorMVAU | IntMVAU, params: dict[str, np.ndarray]) -> dict[str, Any]:
    if cfg.weights != "chip":
        raise ConfigError(
            f"{cfg.name}: the HLS kernels keep the weights on chip and have no form for "
            f"weights={cfg.weights!r}; build this layer with the RTL backend, or place its weights "
            "on chip (weights='chip', vectors_per_pass=1 in the folding file)"
        )
    rows = _weight_rows(cfg, params)
    return {
        "mw": cfg.mw, "mh": cfg.mh, "simd": cfg.simd, "pe": cfg.pe,
        "num_vectors": cfg.num_vectors, "tiles": cfg.sf * cfg.nf,
        "weight_rows": rows, "per_line": per_line(rows[0]),
    }  # fmt: skip


def _summary(cfg: XnorMVAU | IntMVAU) -> str:
    return (
        f"mw={cfg.mw} mh={cfg.mh} simd={cfg.simd} pe={cfg.pe} num_vectors={cfg.num_vectors}, "
        f"{cfg.weight_type} weights x {cfg.input_type} inputs -> {cfg.output_type}"
    )


def xnor_hls(cfg: XnorMVAU, params: dict[str, np.ndarray]) -> HlsKernel:
    context = _context(cfg, params) | {"out_field_bits": cfg.output_type.bits}
    return HlsKernel("xnor_mvau.cpp.j2", _summary(cfg), context)


def int_hls(cfg: IntMVAU, params: dict[str, np.ndarray]) -> HlsKernel:
    wt = cfg.weight_type
    context = _context(cfg, params) | {
        "in_policy": policy(cfg.input_type), "weight_policy": policy(wt),
        "out_policy": policy(cfg.output_type), "weight_type": wt.name,
        "weight_bits": wt.bits, "weight_word_bits": wt.bits * cfg.simd,
    }  # fmt: skip
    return HlsKernel("int_mvau.cpp.j2", _summary(cfg), context)
