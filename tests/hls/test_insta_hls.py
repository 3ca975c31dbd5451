"""HLS kernels of the INSTA blocks: the generated code passes the lint, its types are the exact
ones, and bad parameters are refused with a message (the cases: tests/hls/insta_cases.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flows.codegen.csim import csim
from flows.codegen.hls import emit_hls, hls_kernel
from flows.errors import ConfigError
from flows.graph import Node
from flows.hls_lint import lint_file
from tests.hls.insta_cases import PRELU_SPECS, THRESHOLD_CONFIGS, insta_case
from tests.hls.insta_se_cases import SE_SPECS, se_case


def _case(name: str):
    """The case of any INSTA kernel configuration by name."""
    return se_case(name) if name in {s.name for s in SE_SPECS} else insta_case(name)


@pytest.mark.parametrize(
    "name", [c.name for c in THRESHOLD_CONFIGS] + [s.name for s in PRELU_SPECS + SE_SPECS]
)
def test_generated_insta_kernel_passes_lint(name, tmp_path):
    top, testbench = emit_hls(_case(name).node, tmp_path)
    assert lint_file(top) == []
    assert lint_file(testbench) == []


def test_widths_follow_the_config():
    """The types the emitter passes in are the exact ones (numerics 8-10 examples)."""
    ctx = hls_kernel(_case("hls_insta_i8").node).context
    types = dict(ctx["types"])
    assert types["acc_t"] == "ap_int<29>" and types["d_t"] == "ap_int<9>"  # 16*255^3 < 2^28
    assert types["cube_t"] == "ap_int<25>" and types["th_t"] == "ap_int<9>"
    ctx = hls_kernel(_case("hls_insta_i8_k4").node).context
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    # k = 4: x 2^4 and mu in -2048..2032, d = 255*16 (13 bits), S 16*(255*16)^3 < 2^40
    assert types["shifted_t"] == types["mu_t"] == "ap_int<12>" and types["d_t"] == "ap_int<13>"
    assert types["cube_t"] == "ap_int<37>" and types["acc_t"] == "ap_int<41>"
    assert types["sum_t"] == "ap_int<59>" and consts["MU_SHIFT"] == 4  # 2^17 * 2^40 + 2^47 + 2^38
    ctx = hls_kernel(_case("hls_prelu_own_i8").node).context
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    assert types["d_t"] == "ap_int<13>" and types["acc_t"] == "ap_int<41>"  # (255*16)^3*16
    assert consts["VSUM_BITS"] == 18 + 41 and consts["Y_SHIFT"] == 22
    consts = {n: v for n, _, v in hls_kernel(_case("hls_prelu_reuse_i8").node).context["consts"]}
    assert consts["VSUM_BITS"] == 66  # 2^17 * 2^47 + 2^47 needs 66 bits: beyond 64
    node = _case("hls_th_se_i8").node
    ctx, se = hls_kernel(node).context, node.config.se
    types, consts = dict(ctx["types"]), {n: v for n, _, v in ctx["consts"]}
    # w1 m3: 8 * [-128*127, 128*128] needs 19 bits; w2 h: 2 * [-128*255, 127*255] 17
    assert types["fc1_t"] == "ap_int<19>" and types["fc2_t"] == "ap_int<17>"
    assert types["tanh_t"] == "ap_int<15>" and types["sum_t"] == "ap_int<49>"  # +-3 * 2^12
    assert consts["M3_W"] == max(29 + 18, se.m3_shift + 9)  # Mm * S (INT29), or the shift
    assert consts["HID_W"] == max(19 + 18, se.hidden_shift + 9)
    assert consts["V_W"] == max(17 + 18, se.v_shift + 13)


def test_refusals_are_clear(tmp_path):
    cfg = THRESHOLD_CONFIGS[0]
    plus = _case("hls_th_se_i8").node
    wide_tanh = dict(plus.params, tanh=np.append(plus.params["tanh"][:-1], (3 << 12) + 1))
    with pytest.raises(ConfigError, match=r"hls_th_se_i8: the tanh table holds -12170\.\.12289, "
                       r"outside \+-3 \* 2\^tanh_frac_bits = -12288\.\.12288"):  # fmt: skip
        hls_kernel(Node(plus.config, ["x"], ["y", "z", "s"], wide_tanh))
    th_k = _case("hls_insta_i8_k4").node
    bad_th_mu = dict(th_k.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"hls_insta_i8_k4: mu must lie in the input range "
                       r"\(-2048\.\.2032 in units of 2\^-mu_frac_bits\)"):  # fmt: skip
        hls_kernel(Node(th_k.config, ["x"], ["y", "z", "s"], bad_th_mu))
    prelu_plus = _case("hls_prelu_se_i8").node
    bad_se_mu = dict(prelu_plus.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"mu must lie in the input range \(-2048\.\.2032"):
        hls_kernel(Node(prelu_plus.config, ["x"], ["y"], bad_se_mu))
    own = _case("hls_prelu_own_i8").node
    bad_mu = dict(own.params, mu=np.full(8, 127 * 16 + 1))
    with pytest.raises(ConfigError, match=r"mu must lie in the input range \(-2048\.\.2032"):
        hls_kernel(Node(own.config, ["x"], ["y"], bad_mu))
    reuse = _case("hls_prelu_reuse_u4").node
    wide = replace(reuse.config, pe=16)
    with pytest.raises(ConfigError, match="PE=16 lanes per word, which must divide stat_chan"):
        hls_kernel(Node(wide, ["x", "s"], ["y"], reuse.params))
    with pytest.raises(ConfigError, match="3 output streams; use csim_streams"):
        csim(_case(cfg.name).node, _case(cfg.name).inputs[0], tmp_path)
