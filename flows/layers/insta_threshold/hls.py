"""The HLS kernel of InstaThreshold (hls/include/insta_threshold.hpp, top from
hls/templates/insta.cpp.j2): INSTA-Th, or INSTA-Th+ (`se`) with the SE between the statistic and
the thresholds. Every ap_int type of the generated layer configuration holds the exact range of
its value (docs/numerics.md sections 8-10): nothing wraps."""

from __future__ import annotations

import numpy as np

from flows.errors import ConfigError
from flows.hwmodel.ranges import product_range, width
from flows.layers.backends import HlsKernel, cpp_array, ctype, lane_rows, policy, type_ctype
from flows.layers.checks import checked_param
from flows.layers.insta_se.hls import se_arrays, se_types, table_rows
from flows.layers.insta_statistics import (
    check_hls_forms,
    check_mu_range,
    ports_summary,
    write_side_typedefs,
)
from flows.layers.insta_threshold.config import InstaThreshold
from flows.layers.insta_threshold.golden import check_params
from flows.layers.insta_threshold.widths import hw_offsets, offset_range, tanh_range

KERNELS = ("InstaThreshold", "InstaThresholdStat", "InstaThresholdSE", "InstaThresholdSEStat")


def _lanes(cfg: InstaThreshold, values) -> list[list[int]]:
    return lane_rows(values, cfg.channels, cfg.pe)


def _threshold_types(cfg: InstaThreshold) -> list[tuple[str, str]]:
    """typedefs of the layer configuration (insta_threshold.hpp), from exact ranges. The operand
    of M is S, or for INSTA-Th+ the tanh table entry. With k = mu_frac_bits, x 2^k, mu and
    d = x 2^k - mu are k bits wider and S 3k bits (numerics 8)."""
    e = cfg.exponent
    operand = cfg.acc_type.bounds if cfg.se is None else tanh_range(cfg)
    mant = cfg.mantissa_type.bounds
    offs = offset_range(cfg)  # A' = A + 2^E - 1 or A + 2^E
    prod = product_range(mant, operand)
    types = write_side_typedefs(cfg) + [
        ("mant_t", type_ctype(cfg.mantissa_type)),
        ("offs_t", ctype(*offs)),
        ("sum_t", f"ap_int<{width(offs[0] + prod[0], offs[1] + prod[1], True, max(2, e + 2))}>"),
        ("th_t", type_ctype(cfg.threshold_type)),
    ]
    if cfg.se is not None:
        types += [("tanh_t", ctype(*operand)), ("v_t", type_ctype(cfg.se.v_type))]
    return types


def _threshold_se(cfg: InstaThreshold, params: dict, types: dict[str, str]):
    """INSTA-Th+: (extra typedefs, constants, arrays) of the SE and the tanh table."""
    se, lo, hi = cfg.se, *tanh_range(cfg)
    table = checked_param(cfg.name, params, "tanh", (1 << se.v_bits,), None)
    if table.min() < lo or table.max() > hi:
        raise ConfigError(
            f"{cfg.name}: the tanh table holds {int(table.min())}..{int(table.max())}, outside "
            f"+-3 * 2^tanh_frac_bits = {lo}..{hi}; build it as rne(3 tanh(v / 3) 2^G)"
        )
    se_types_, se_consts = se_types(se, cfg.acc_type.bits)
    vt = se.v_type
    consts = [("VB", "unsigned", se.v_bits), ("V_MIN", "long long", vt.min),
              ("V_MAX", "long long", vt.max), *se_consts]  # fmt: skip
    arrays = se_arrays(cfg, params) + [
        cpp_array("table", types["tanh_t"], table_rows(cfg, table),
               "tanh table, one copy per evaluator: entry v - V_MIN = rne(3 tanh(v / 3) 2^G)"),
    ]  # fmt: skip
    return se_types_, consts, arrays


def hls(cfg: InstaThreshold, params: dict[str, np.ndarray]) -> HlsKernel:
    """The HLS kernel of an InstaThreshold: INSTA-Th, or INSTA-Th+ (`se`) with the SE between
    the statistic and the thresholds; mu on a grid 2^-mu_frac_bits finer than x's."""
    check_hls_forms(cfg)
    mu, a, m, sign = check_params(cfg, params)
    check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
    e, t, k = cfg.exponent, cfg.input_type, cfg.mu_frac_bits
    offs = hw_offsets(cfg, a, sign)
    types = dict(_threshold_types(cfg))
    arrays = [
        cpp_array("mu", types["mu_t"], _lanes(cfg, mu),
               "mu_c in units of 2^-mu_frac_bits input steps" if k else "mu_c on the input grid"),
        cpp_array("mant", types["mant_t"], _lanes(cfg, m), "M_c"),
        cpp_array("offs", types["offs_t"], _lanes(cfg, offs),
               "A'_c = A_c + 2^E - 1 (sigma > 0) or A_c + 2^E (sigma < 0)"),
        cpp_array("neg", "bool", _lanes(cfg, (sign < 0).astype(int)), "sigma_c < 0"),
    ]  # fmt: skip
    consts = [
        ("C", "unsigned", cfg.channels), ("PE", "unsigned", cfg.pe), ("NF", "unsigned", cfg.nf),
        ("NUM_VECTORS", "unsigned", cfg.num_vectors), ("G", "unsigned", cfg.num_evaluators),
        ("E", "unsigned", e), ("MU_SHIFT", "unsigned", k),
        ("TH_MIN", "long long", t.min), ("TH_MAX", "long long", t.max + 1),
    ]  # fmt: skip
    kind = "INSTA-Th" if cfg.se is None else "INSTA-Th+"
    kernel, summary = "InstaThreshold", ports_summary(cfg, kind) + f", S {cfg.acc_type}"
    if k:
        summary += f" (mu on 2^-{k})"
    if cfg.se is not None:
        se_types, se_consts, se_arrays = _threshold_se(cfg, params, types)
        types |= dict(se_types)
        consts += se_consts
        arrays += se_arrays
        kernel, summary = "InstaThresholdSE", summary + f", SE hidden={cfg.se.hidden}"
    policies = [("TIn", policy(t))]
    if cfg.statistic_output:
        policies.append(("TStat", policy(cfg.acc_type)))
        kernel += "Stat"
    context = {
        "kernel": kernel, "pe": cfg.pe, "consts": consts, "policies": policies,
        "types": list(types.items()), "arrays": arrays, "call_args": [a["name"] for a in arrays],
    }  # fmt: skip
    summary += f", E={e}"
    return HlsKernel("insta.cpp.j2", summary, context)
