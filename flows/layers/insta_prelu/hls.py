"""The HLS kernel of InstaPReLU (hls/include/insta_prelu.hpp, top from hls/templates/insta.cpp.j2):
forms "alpha", "reuse" and "se" (INSTA-PReLU+). Every ap_int type of the generated layer
configuration holds the exact range of its value (docs/numerics.md section 10): only v and the
output saturate, as the golden function does."""

from __future__ import annotations

import numpy as np

from flows.datatypes import INT
from flows.hwmodel.ranges import product_range, width
from flows.layers.backends import HlsKernel, cpp_array, ctype, lane_rows, policy, type_ctype
from flows.layers.insta_prelu.config import InstaPReLU, check_emittable, param
from flows.layers.insta_se.hls import se_arrays, se_types, table_rows
from flows.layers.insta_statistics import check_hls_forms, ports_summary, write_side_typedefs


def _lanes(cfg: InstaPReLU, values) -> list[list[int]]:
    return lane_rows(values, cfg.channels, cfg.pe)


PRELU_KERNELS = {"alpha": "InstaPReLUOwn", "reuse": "InstaPReLUReuse", "se": "InstaPReLUSE"}


def _prelu_types(cfg: InstaPReLU) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """(typedefs, extra constants) of the layer configuration (insta_prelu.hpp)."""
    t, k, gf = cfg.input_type, cfg.mu_frac_bits, cfg.gamma_frac_bits
    acc = cfg.acc_type.bounds
    vsum = product_range(INT(cfg.mantissa_bits).bounds, acc)
    vsum = (vsum[0] + INT(cfg.offset_bits).min, vsum[1] + INT(cfg.offset_bits).max)
    tab = cfg.table_type.bounds
    xg = (t.min << gf, t.max << gf)
    dg = (xg[0] - tab[1], xg[1] - tab[0])
    y = product_range(cfg.mul_type.bounds, dg)
    y = (y[0] + cfg.add_type.min, y[1] + cfg.add_type.max)
    y_shift = cfg.shift + gf
    types = write_side_typedefs(cfg) + [
        ("mv_t", type_ctype(INT(cfg.mantissa_bits))),
        ("bv_t", type_ctype(INT(cfg.offset_bits))),
        ("v_t", type_ctype(INT(cfg.v_bits))),
        ("table_t", type_ctype(cfg.table_type)),
        ("xg_t", ctype(*xg)),
        ("dg_t", ctype(*dg)),
        ("mul_t", type_ctype(cfg.mul_type)),
        ("add_t", type_ctype(cfg.add_type)),
    ]
    consts = [
        ("MU_SHIFT", "unsigned", k), ("EV", "int", cfg.stat_exponent),
        ("VSUM_BITS", "int", width(*vsum, True, max(2, cfg.stat_exponent + 2))),
        ("VB", "unsigned", cfg.v_bits), ("V_MIN", "long long", INT(cfg.v_bits).min),
        ("V_MAX", "long long", INT(cfg.v_bits).max), ("GF", "unsigned", gf),
        ("YSUM_BITS", "int", width(*y, True, max(2, y_shift + 2))), ("Y_SHIFT", "int", y_shift),
        ("Y_MIN", "long long", cfg.output_type.min), ("Y_MAX", "long long", cfg.output_type.max),
    ]  # fmt: skip
    if cfg.se is not None:  # v from the SE: no Mv*S + Bv
        se_types_, se_consts = se_types(cfg.se, cfg.acc_type.bits)
        types = [ty for ty in types if ty[0] not in ("mv_t", "bv_t")] + se_types_
        consts = [co for co in consts if co[0] not in ("EV", "VSUM_BITS")] + se_consts
    return types, consts


def _prelu_arrays(cfg: InstaPReLU, params: dict[str, np.ndarray], types: dict[str, str]):
    c = cfg.channels
    table = param(cfg, params, "table", cfg.table_type, 1 << cfg.v_bits)
    arrays = [] if cfg.form == "reuse" else [
        cpp_array("mu", types["mu_t"], _lanes(cfg, param(cfg, params, "mu", cfg.mu_type, c)),
               "mu_c in units of 2^-mu_frac_bits input steps"),
    ]  # fmt: skip
    if cfg.se is not None:
        arrays += se_arrays(cfg, params)
    else:
        arrays += [
            cpp_array("mv", types["mv_t"],
                   _lanes(cfg, param(cfg, params, "Mv", INT(cfg.mantissa_bits), c)), "Mv_c"),
            cpp_array("bv", types["bv_t"],
                   _lanes(cfg, param(cfg, params, "Bv", INT(cfg.offset_bits), c)), "Bv_c"),
        ]  # fmt: skip
    arrays += [
        cpp_array("table", types["table_t"], table_rows(cfg, table),
               "gamma table, one copy per evaluator: entry v - V_MIN = gamma(v) 2^GF"),
        cpp_array("mul_pos", types["mul_t"],
               _lanes(cfg, param(cfg, params, "mul_pos", cfg.mul_type, c)), "slope, d >= 0"),
        cpp_array("mul_neg", types["mul_t"],
               _lanes(cfg, param(cfg, params, "mul_neg", cfg.mul_type, c)), "slope, d < 0"),
        cpp_array("add", types["add_t"],
               _lanes(cfg, param(cfg, params, "add", cfg.add_type, c)),
               "add_c on the grid 2^-(shift + GF)"),
    ]  # fmt: skip
    return arrays


def hls(cfg: InstaPReLU, params: dict[str, np.ndarray]) -> HlsKernel:
    """The HLS kernel of an InstaPReLU (forms "alpha", "reuse" and "se")."""
    check_hls_forms(cfg)
    check_emittable(cfg, params)
    types, consts = _prelu_types(cfg)
    own = cfg.form != "reuse"
    snf = cfg.nf if own else cfg.stat_channels // cfg.pe
    consts = [
        ("C", "unsigned", cfg.channels), ("PE", "unsigned", cfg.pe), ("NF", "unsigned", cfg.nf),
        ("NUM_VECTORS", "unsigned", cfg.num_vectors), ("G", "unsigned", cfg.num_evaluators),
        ("SNF", "unsigned", snf), *consts,
    ]  # fmt: skip
    policies = [("TIn", policy(cfg.input_type)), ("TOut", policy(cfg.output_type))]
    if not own:
        policies.append(("TStat", policy(cfg.stat_type)))
    arrays = _prelu_arrays(cfg, params, dict(types))
    context = {
        "kernel": PRELU_KERNELS[cfg.form], "pe": cfg.pe,
        "consts": consts, "policies": policies, "types": types, "arrays": arrays,
        "call_args": [a["name"] for a in arrays],
    }  # fmt: skip
    summary = (
        ports_summary(cfg, f"INSTA-PReLU form {cfg.form}")
        + f" -> {cfg.output_type}, S {cfg.acc_type}, v INT{cfg.v_bits} 2^-{cfg.v_exponent}"
    )
    return HlsKernel("insta.cpp.j2", summary, context)
