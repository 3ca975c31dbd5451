"""HLS emitters of the INSTA blocks: `InstaThreshold` (INSTA-Th, and INSTA-Th+ with `se`) and
`InstaPReLU` (forms "alpha", "reuse" and "se", INSTA-PReLU+); kernels in
hls/include/insta_threshold.hpp and insta_prelu.hpp, the SE of both "+" forms in insta_se.hpp, tops
rendered from hls/templates/insta.cpp.j2 (registered in flows/codegen/hls.py).

Every ap_int type of the generated layer configuration holds the exact range of its value, derived
here from the config's types (docs/numerics.md sections 8-10): nothing wraps, only v, the PReLU's
output and the SE's m3, h and v saturate, as the golden functions do. The SE's accumulator widths
come from `rtl_insta_se.se_widths` and its rescaler widths follow the RTL's rescaler, so the HLS
and the RTL SE hold the same exact ranges.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flows.codegen.hls_kernel import HlsKernel, StreamSpec, int_literal, per_line, policy
from flows.codegen.rtl_insta_se import se_widths
from flows.datatypes import BIPOLAR, INT, DataType
from flows.errors import ConfigError
from flows.hwmodel.ranges import product_range
from flows.layers.insta import InstaThreshold, check_mu_range, check_params
from flows.layers.insta_prelu import InstaPReLU, param
from flows.layers.insta_se import SE_HIDDEN, SE_INPUT, WEIGHT, SEConfig
from flows.layers.registry import checked_param


# --- exact ranges -> C++ types ---------------------------------------------------------------------
def _bits(lo: int, hi: int, signed: bool) -> int:
    """Bits of the narrowest ap_int (signed) or ap_uint holding [lo, hi]."""
    if signed:
        return max(2, max((-lo - 1).bit_length() if lo < 0 else 0, hi.bit_length()) + 1)
    return max(1, hi.bit_length())


def _ctype(lo: int, hi: int, min_bits: int = 1) -> str:
    """ap_uint for a non-negative range, else ap_int; at least min_bits wide."""
    signed = lo < 0
    return f"ap_{'int' if signed else 'uint'}<{max(min_bits, _bits(lo, hi, signed))}>"


def _sbits(lo: int, hi: int, min_bits: int = 2) -> int:
    return max(min_bits, _bits(lo, hi, True))


def _type_ctype(t: DataType) -> str:
    return _ctype(t.min, t.max, t.bits)


# --- constants -> C++ arrays ---------------------------------------------------------------------
def _lanes(cfg: InstaThreshold | InstaPReLU, values: np.ndarray) -> list[list[int]]:
    """Per-channel values -> [pe][nf] (channel nf*PE + pe), the kernels' layout."""
    nf = cfg.channels // cfg.pe
    return np.asarray(values, dtype=object).reshape(nf, cfg.pe).T.tolist()


def _array(name: str, ctype: str, rows: list[list[int]], why: str) -> dict[str, Any]:
    literals = [[int_literal(int(v)) for v in row] for row in rows]
    return {
        "name": name, "ctype": ctype, "rows": literals, "why": why,
        "per_line": per_line([v for row in literals for v in row]),
    }  # fmt: skip


def _ports_summary(cfg, kind: str) -> str:
    return (
        f"{kind}, {cfg.height}x{cfg.width}x{cfg.channels} pe={cfg.pe} "
        f"evaluators={cfg.num_evaluators}, {cfg.input_type} in"
    )


# --- the SE of INSTA-Th+ / INSTA-PReLU+ (hls/include/insta_se.hpp) ----------------------------------
def _rescaler_bits(operand_bits: int, se: SEConfig, shift: int, out: DataType) -> int:
    """Width of one rescaler's exact product, as the RTL's rescaler (rtl_insta_se): the product
    of the operand and an 18-bit mantissa, and at least shift + out.bits + 1 (InstaRne needs
    shift + 2; the floor keeps out.bits + 1 bits for the saturation)."""
    return max(operand_bits + se.mantissa_bits, shift + out.bits + 1)


def _se_types(se: SEConfig, stat_bits: int):
    """(typedefs, constants) of the SE members of the layer configuration (insta_se.hpp); v_t, VB,
    V_MIN, V_MAX come with the layer's own types. S is acc_t, INT(stat_bits)."""
    widths = se_widths(se)  # exact ranges of w1 m3 and w2 h (the RTL's accumulators)
    types = [
        ("se_mant_t", _type_ctype(INT(se.mantissa_bits))), ("w_t", _type_ctype(WEIGHT)),
        ("m3_t", _type_ctype(SE_INPUT)), ("hid_t", _type_ctype(SE_HIDDEN)),
        ("fc1_t", f"ap_int<{widths['acc1']}>"), ("fc2_t", f"ap_int<{widths['acc2']}>"),
    ]  # fmt: skip
    consts = [
        ("HID", "unsigned", se.hidden),
        ("M3_SHIFT", "int", se.m3_shift),
        ("M3_W", "int", _rescaler_bits(stat_bits, se, se.m3_shift, SE_INPUT)),
        ("HID_SHIFT", "int", se.hidden_shift),
        ("HID_W", "int", _rescaler_bits(widths["acc1"], se, se.hidden_shift, SE_HIDDEN)),
        ("V_SHIFT", "int", se.v_shift),
        ("V_W", "int", _rescaler_bits(widths["acc2"], se, se.v_shift, se.v_type)),
    ]
    return types, consts


def _se_arrays(cfg: InstaThreshold | InstaPReLU, se: SEConfig, params: dict) -> list[dict]:
    """Mm, Mo per channel ([pe][nf]); w1 at [pe][j*NF + nf] and w2 at [pe][nf*HID + j] (the order
    FC1 resp. FC2 reads them, PE lanes a cycle); Mh one row."""
    c, h, nf, pe = se.channels, se.hidden, cfg.nf, cfg.pe  # the configs check C = se.channels
    mant = INT(se.mantissa_bits)
    mm, mh, mo = (checked_param(cfg.name, params, k, (n,), mant)
                  for k, n in (("se_Mm", c), ("se_Mh", h), ("se_Mo", c)))  # fmt: skip
    w1 = checked_param(cfg.name, params, "se_w1", (h, c), WEIGHT)
    w2 = checked_param(cfg.name, params, "se_w2", (c, h), WEIGHT)
    # [pe][...]: lane pe holds channel nf*PE + pe
    w1_rows = w1.reshape(h, nf, pe).transpose(2, 0, 1).reshape(pe, h * nf).tolist()
    w2_rows = w2.reshape(nf, pe, h).transpose(1, 0, 2).reshape(pe, nf * h).tolist()
    st, wt = _type_ctype(mant), _type_ctype(WEIGHT)
    return [
        _array("mm", st, _lanes(cfg, mm), "SE: Mm_c, the m3 mantissas"),
        _array("w1", wt, w1_rows, "SE: FC1 weight w1[j][c] at [pe][j*NF + nf], channel c as "
               "follows"),
        _array("mh", st, [mh.tolist()], "SE: Mh_j at [0][j], one row of hidden units (the "
               "channel note does not apply)"),
        _array("w2", wt, w2_rows, "SE: FC2 weight w2[c][j] at [pe][nf*HID + j], channel c as "
               "follows"),
        _array("mo", st, _lanes(cfg, mo), "SE: Mo_c, the v mantissas"),
    ]  # fmt: skip


def _table_rows(cfg: InstaThreshold | InstaPReLU, table: np.ndarray) -> list[list[int]]:
    """One copy of a v-indexed table per evaluator (G reads a cycle)."""
    return [[int(v) for v in table]] * cfg.num_evaluators


# --- InstaThreshold --------------------------------------------------------------------------------
def _tanh_range(cfg: InstaThreshold) -> tuple[int, int]:
    """INSTA-Th+ table entries rne(3 tanh(v / 3) 2^G) lie in +-3 * 2^G."""
    bound = 3 << cfg.tanh_frac_bits
    return -bound, bound


def _threshold_types(cfg: InstaThreshold) -> list[tuple[str, str]]:
    """typedefs of the layer configuration (insta_threshold.hpp), from exact ranges. The operand
    of M is S, or for INSTA-Th+ the tanh table entry. With k = mu_frac_bits, x 2^k, mu and
    d = x 2^k - mu are k bits wider and S 3k bits (numerics 8)."""
    t, e, k = cfg.input_type, cfg.exponent, cfg.mu_frac_bits
    dev = cfg.max_deviation  # (2^n - 1) 2^k
    operand = cfg.acc_type.bounds if cfg.se is None else _tanh_range(cfg)
    mant = cfg.mantissa_type.bounds
    offs = (cfg.offset_type.min, cfg.offset_type.max + (1 << e))  # A' = A + 2^E - 1 or A + 2^E
    prod = product_range(mant, operand)
    types = [
        ("shifted_t", _ctype(t.min << k, t.max << k, t.bits)),
        ("mu_t", _type_ctype(cfg.mu_type)),
        ("d_t", _ctype(-dev, dev)),
        ("cube_t", _ctype(-(dev**3), dev**3)),
        ("acc_t", _type_ctype(cfg.acc_type)),
        ("mant_t", _type_ctype(cfg.mantissa_type)),
        ("offs_t", _ctype(*offs)),
        ("sum_t", f"ap_int<{_sbits(offs[0] + prod[0], offs[1] + prod[1], e + 2)}>"),
        ("th_t", _type_ctype(cfg.threshold_type)),
    ]
    if cfg.se is not None:
        types += [("tanh_t", _ctype(*operand)), ("v_t", _type_ctype(cfg.se.v_type))]
    return types


def _threshold_se(cfg: InstaThreshold, params: dict, types: dict[str, str]):
    """INSTA-Th+: (extra typedefs, constants, arrays) of the SE and the tanh table."""
    se, lo, hi = cfg.se, *_tanh_range(cfg)
    table = checked_param(cfg.name, params, "tanh", (1 << se.v_bits,), None)
    if table.min() < lo or table.max() > hi:
        raise ConfigError(
            f"{cfg.name}: the tanh table holds {int(table.min())}..{int(table.max())}, outside "
            f"+-3 * 2^tanh_frac_bits = {lo}..{hi}; build it as rne(3 tanh(v / 3) 2^G)"
        )
    se_types, se_consts = _se_types(se, cfg.acc_type.bits)
    vt = se.v_type
    consts = [("VB", "unsigned", se.v_bits), ("V_MIN", "long long", vt.min),
              ("V_MAX", "long long", vt.max), *se_consts]  # fmt: skip
    arrays = _se_arrays(cfg, se, params) + [
        _array("table", types["tanh_t"], _table_rows(cfg, table),
               "tanh table, one copy per evaluator: entry v - V_MIN = rne(3 tanh(v / 3) 2^G)"),
    ]  # fmt: skip
    return se_types, consts, arrays


def insta_threshold_kernel(cfg: InstaThreshold, params: dict[str, np.ndarray]) -> HlsKernel:
    """The HLS kernel of an InstaThreshold: INSTA-Th, or INSTA-Th+ (`se`) with the SE between
    the statistic and the thresholds; mu on a grid 2^-mu_frac_bits finer than x's."""
    mu, a, m, sign = check_params(cfg, params)
    check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)
    e, t, k = cfg.exponent, cfg.input_type, cfg.mu_frac_bits
    offs = [int(v) + (1 << e) - (1 if s > 0 else 0) for v, s in zip(a, sign, strict=True)]
    types = dict(_threshold_types(cfg))
    arrays = [
        _array("mu", types["mu_t"], _lanes(cfg, mu),
               "mu_c in units of 2^-mu_frac_bits input steps" if k else "mu_c on the input grid"),
        _array("mant", types["mant_t"], _lanes(cfg, m), "M_c"),
        _array("offs", types["offs_t"], _lanes(cfg, offs),
               "A'_c = A_c + 2^E - 1 (sigma > 0) or A_c + 2^E (sigma < 0)"),
        _array("neg", "bool", _lanes(cfg, (sign < 0).astype(int)), "sigma_c < 0"),
    ]  # fmt: skip
    consts = [
        ("C", "unsigned", cfg.channels), ("PE", "unsigned", cfg.pe), ("NF", "unsigned", cfg.nf),
        ("NUM_VECTORS", "unsigned", cfg.num_vectors), ("G", "unsigned", cfg.num_evaluators),
        ("E", "unsigned", e), ("MU_SHIFT", "unsigned", k),
        ("TH_MIN", "long long", t.min), ("TH_MAX", "long long", t.max + 1),
    ]  # fmt: skip
    kind = "INSTA-Th" if cfg.se is None else "INSTA-Th+"
    kernel, summary = "InstaThreshold", _ports_summary(cfg, kind) + f", S {cfg.acc_type}"
    if k:
        summary += f" (mu on 2^-{k})"
    if cfg.se is not None:
        se_types, se_consts, se_arrays = _threshold_se(cfg, params, types)
        types |= dict(se_types)
        consts += se_consts
        arrays += se_arrays
        kernel, summary = "InstaThresholdSE", summary + f", SE hidden={cfg.se.hidden}"
    policies = [("TIn", policy(t))]
    outputs: tuple[tuple[str, StreamSpec], ...] = (
        ("out_delay", StreamSpec(t, cfg.pe, cfg.num_vectors, cfg.channels)),
    )
    if cfg.statistic_output:
        policies.append(("TStat", policy(cfg.acc_type)))
        outputs += (("out_stat", StreamSpec(cfg.acc_type, cfg.pe, 1, cfg.channels)),)
        kernel += "Stat"
    context = {
        "kernel": kernel, "pe": cfg.pe, "consts": consts, "policies": policies,
        "types": list(types.items()), "arrays": arrays, "call_args": [a["name"] for a in arrays],
    }  # fmt: skip
    summary += f", E={e}"
    inp = StreamSpec(t, cfg.pe, cfg.num_vectors, cfg.channels)
    out = StreamSpec(BIPOLAR, cfg.pe, cfg.num_vectors, cfg.channels)
    return HlsKernel("insta.cpp.j2", summary, inp, out, context, more_outputs=outputs)


# --- InstaPReLU ------------------------------------------------------------------------------------
PRELU_KERNELS = {"alpha": "InstaPReLUOwn", "reuse": "InstaPReLUReuse", "se": "InstaPReLUSE"}


def _check_prelu(cfg: InstaPReLU, params: dict[str, np.ndarray]) -> None:
    if cfg.form == "reuse" and cfg.stat_channels % cfg.pe:
        raise ConfigError(
            f"{cfg.name}: the statistic port carries PE={cfg.pe} lanes per word, which must "
            f"divide stat_channels={cfg.stat_channels}; lower PE"
        )
    if cfg.form != "reuse":
        mu = param(cfg, params, "mu", cfg.mu_type, cfg.channels)
        check_mu_range(cfg.name, mu, cfg.input_type, cfg.mu_frac_bits)


def _prelu_types(cfg: InstaPReLU) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """(typedefs, extra constants) of the layer configuration (insta_prelu.hpp)."""
    t, k, gf = cfg.input_type, cfg.mu_frac_bits, cfg.gamma_frac_bits
    dev = (t.max - t.min) << k
    acc = cfg.acc_type.bounds
    vsum = product_range(INT(cfg.mantissa_bits).bounds, acc)
    vsum = (vsum[0] + INT(cfg.offset_bits).min, vsum[1] + INT(cfg.offset_bits).max)
    tab = cfg.table_type.bounds
    xg = (t.min << gf, t.max << gf)
    dg = (xg[0] - tab[1], xg[1] - tab[0])
    y = product_range(cfg.mul_type.bounds, dg)
    y = (y[0] + cfg.add_type.min, y[1] + cfg.add_type.max)
    y_shift = cfg.shift + gf
    types = [
        ("shifted_t", _ctype(t.min << k, t.max << k)),
        ("mu_t", _type_ctype(cfg.mu_type)),
        ("d_t", _ctype(-dev, dev)),
        ("cube_t", _ctype(-(dev**3), dev**3)),
        ("acc_t", _type_ctype(cfg.acc_type)),
        ("mv_t", _type_ctype(INT(cfg.mantissa_bits))),
        ("bv_t", _type_ctype(INT(cfg.offset_bits))),
        ("v_t", _type_ctype(INT(cfg.v_bits))),
        ("table_t", _type_ctype(cfg.table_type)),
        ("xg_t", _ctype(*xg)),
        ("dg_t", _ctype(*dg)),
        ("mul_t", _type_ctype(cfg.mul_type)),
        ("add_t", _type_ctype(cfg.add_type)),
    ]
    consts = [
        ("MU_SHIFT", "unsigned", k), ("EV", "int", cfg.stat_exponent),
        ("VSUM_BITS", "int", _sbits(*vsum, cfg.stat_exponent + 2)),
        ("VB", "unsigned", cfg.v_bits), ("V_MIN", "long long", INT(cfg.v_bits).min),
        ("V_MAX", "long long", INT(cfg.v_bits).max), ("GF", "unsigned", gf),
        ("YSUM_BITS", "int", _sbits(*y, y_shift + 2)), ("Y_SHIFT", "int", y_shift),
        ("Y_MIN", "long long", cfg.output_type.min), ("Y_MAX", "long long", cfg.output_type.max),
    ]  # fmt: skip
    if cfg.se is not None:  # v from the SE: no Mv*S + Bv
        se_types, se_consts = _se_types(cfg.se, cfg.acc_type.bits)
        types = [ty for ty in types if ty[0] not in ("mv_t", "bv_t")] + se_types
        consts = [co for co in consts if co[0] not in ("EV", "VSUM_BITS")] + se_consts
    return types, consts


def _prelu_arrays(cfg: InstaPReLU, params: dict[str, np.ndarray], types: dict[str, str]):
    c = cfg.channels
    table = param(cfg, params, "table", cfg.table_type, 1 << cfg.v_bits)
    arrays = [] if cfg.form == "reuse" else [
        _array("mu", types["mu_t"], _lanes(cfg, param(cfg, params, "mu", cfg.mu_type, c)),
               "mu_c in units of 2^-mu_frac_bits input steps"),
    ]  # fmt: skip
    if cfg.se is not None:
        arrays += _se_arrays(cfg, cfg.se, params)
    else:
        arrays += [
            _array("mv", types["mv_t"],
                   _lanes(cfg, param(cfg, params, "Mv", INT(cfg.mantissa_bits), c)), "Mv_c"),
            _array("bv", types["bv_t"],
                   _lanes(cfg, param(cfg, params, "Bv", INT(cfg.offset_bits), c)), "Bv_c"),
        ]  # fmt: skip
    arrays += [
        _array("table", types["table_t"], _table_rows(cfg, table),
               "gamma table, one copy per evaluator: entry v - V_MIN = gamma(v) 2^GF"),
        _array("mul_pos", types["mul_t"],
               _lanes(cfg, param(cfg, params, "mul_pos", cfg.mul_type, c)), "slope, d >= 0"),
        _array("mul_neg", types["mul_t"],
               _lanes(cfg, param(cfg, params, "mul_neg", cfg.mul_type, c)), "slope, d < 0"),
        _array("add", types["add_t"],
               _lanes(cfg, param(cfg, params, "add", cfg.add_type, c)),
               "add_c on the grid 2^-(shift + GF)"),
    ]  # fmt: skip
    return arrays


def insta_prelu_kernel(cfg: InstaPReLU, params: dict[str, np.ndarray]) -> HlsKernel:
    """The HLS kernel of an InstaPReLU (forms "alpha", "reuse" and "se")."""
    _check_prelu(cfg, params)
    types, consts = _prelu_types(cfg)
    own = cfg.form != "reuse"
    snf = cfg.nf if own else cfg.stat_channels // cfg.pe
    consts = [
        ("C", "unsigned", cfg.channels), ("PE", "unsigned", cfg.pe), ("NF", "unsigned", cfg.nf),
        ("NUM_VECTORS", "unsigned", cfg.num_vectors), ("G", "unsigned", cfg.num_evaluators),
        ("SNF", "unsigned", snf), *consts,
    ]  # fmt: skip
    policies = [("TIn", policy(cfg.input_type)), ("TOut", policy(cfg.output_type))]
    more_inputs: tuple[tuple[str, StreamSpec], ...] = ()
    if not own:
        policies.append(("TStat", policy(cfg.stat_type)))
        more_inputs = (("in_stat", StreamSpec(cfg.stat_type, cfg.pe, 1, cfg.stat_channels)),)
    arrays = _prelu_arrays(cfg, params, dict(types))
    context = {
        "kernel": PRELU_KERNELS[cfg.form], "pe": cfg.pe,
        "consts": consts, "policies": policies, "types": types, "arrays": arrays,
        "call_args": [a["name"] for a in arrays],
    }  # fmt: skip
    summary = (
        _ports_summary(cfg, f"INSTA-PReLU form {cfg.form}")
        + f" -> {cfg.output_type}, S {cfg.acc_type}, v INT{cfg.v_bits} 2^-{cfg.v_exponent}"
    )
    inp = StreamSpec(cfg.input_type, cfg.pe, cfg.num_vectors, cfg.channels)
    out = StreamSpec(cfg.output_type, cfg.pe, cfg.num_vectors, cfg.channels)
    return HlsKernel("insta.cpp.j2", summary, inp, out, context, more_inputs=more_inputs)
