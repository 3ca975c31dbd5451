"""The SE members of an INSTA+ kernel's layer configuration (hls/include/insta_se.hpp): typedefs
and constants from the exact widths (`widths`), and the weight and mantissa arrays. The rescalers'
product widths follow `widths.Rescaler`, so the HLS and the RTL SE hold the same exact ranges."""

from __future__ import annotations

from flows.datatypes import INT
from flows.layers.backends import cpp_array, lane_rows, type_ctype
from flows.layers.insta_se.config import SE_HIDDEN, SE_INPUT, WEIGHT, SEConfig, se_params
from flows.layers.insta_se.widths import Rescaler, se_widths


def se_types(se: SEConfig, stat_bits: int):
    """(typedefs, constants) of the SE members of the layer configuration (insta_se.hpp); v_t, VB,
    V_MIN, V_MAX come with the layer's own types. S is acc_t, INT(stat_bits)."""
    w = se_widths(se)  # exact ranges of w1 m3 and w2 h (the RTL's accumulators)
    mb = se.mantissa_bits
    types = [
        ("se_mant_t", type_ctype(INT(mb))), ("w_t", type_ctype(WEIGHT)),
        ("m3_t", type_ctype(SE_INPUT)), ("hid_t", type_ctype(SE_HIDDEN)),
        ("fc1_t", f"ap_int<{w.fc1_bits}>"), ("fc2_t", f"ap_int<{w.fc2_bits}>"),
    ]  # fmt: skip
    consts = [
        ("HID", "unsigned", se.hidden),
        ("M3_SHIFT", "int", se.m3_shift),
        ("M3_W", "int", Rescaler(stat_bits, mb, se.m3_shift, SE_INPUT).wide_bits),
        ("HID_SHIFT", "int", se.hidden_shift),
        ("HID_W", "int", Rescaler(w.fc1_bits, mb, se.hidden_shift, SE_HIDDEN).wide_bits),
        ("V_SHIFT", "int", se.v_shift),
        ("V_W", "int", Rescaler(w.fc2_bits, mb, se.v_shift, se.v_type).wide_bits),
    ]
    return types, consts


def se_arrays(cfg, params: dict) -> list[dict]:
    """Mm, Mo per channel ([pe][nf]); w1 at [pe][j*NF + nf] and w2 at [pe][nf*HID + j] (the order
    FC1 resp. FC2 reads them, PE lanes a cycle); Mh one row. `cfg`: the INSTA+ layer."""
    se = cfg.se
    c, h, nf, pe = se.channels, se.hidden, cfg.nf, cfg.pe  # the configs check C = se.channels
    mant = INT(se.mantissa_bits)
    p = se_params(cfg.name, se, params)
    mm, w1, mh, w2, mo = p.mm, p.w1, p.mh, p.w2, p.mo
    # [pe][...]: lane pe holds channel nf*PE + pe
    w1_rows = w1.reshape(h, nf, pe).transpose(2, 0, 1).reshape(pe, h * nf).tolist()
    w2_rows = w2.reshape(nf, pe, h).transpose(1, 0, 2).reshape(pe, nf * h).tolist()
    st, wt = type_ctype(mant), type_ctype(WEIGHT)
    return [
        cpp_array("mm", st, lane_rows(mm, c, pe), "SE: Mm_c, the m3 mantissas"),
        cpp_array("w1", wt, w1_rows, "SE: FC1 weight w1[j][c] at [pe][j*NF + nf], channel c as "
                  "follows"),
        cpp_array("mh", st, [mh.tolist()], "SE: Mh_j at [0][j], one row of hidden units (the "
                  "channel note does not apply)"),
        cpp_array("w2", wt, w2_rows, "SE: FC2 weight w2[c][j] at [pe][nf*HID + j], channel c as "
                  "follows"),
        cpp_array("mo", st, lane_rows(mo, c, pe), "SE: Mo_c, the v mantissas"),
    ]  # fmt: skip


def table_rows(cfg, table) -> list[list[int]]:
    """One copy of a v-indexed table per evaluator (G reads a cycle)."""
    return [[int(v) for v in table]] * cfg.num_evaluators
