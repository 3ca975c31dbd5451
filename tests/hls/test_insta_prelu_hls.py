"""HLS kernel of InstaPReLU (own and reuse forms) vs the golden function, bit for bit, on frames
that reach every edge (the cases: tests/hls/insta_cases.py)."""

from __future__ import annotations

import numpy as np
import pytest

from flows.datatypes import INT
from flows.fixedpoint import rne_shift
from flows.layers import kind_of
from tests.hls.insta_cases import (
    FRAMES,
    PRELU_SPECS,
    _gamma,
    _own_statistic,
    _v_raw,
    assert_csim_matches,
    assert_ties,
    insta_case,
    insta_golden,
)


@pytest.mark.parametrize("name", [s.name for s in PRELU_SPECS])
def test_insta_prelu_csim_matches_golden(name, tmp_path):
    expected = insta_golden(name)
    assert len(expected) == 1
    assert_csim_matches(insta_case(name), expected, tmp_path)


@pytest.mark.parametrize("name", [s.name for s in PRELU_SPECS])
def test_insta_prelu_data_reaches_the_edges(name):
    """v saturates at both ends and has rounding ties; y saturates at both ends and has rounding
    ties; Mv matters (zeroing it changes outputs of the random frames)."""
    case = insta_case(name)
    cfg, params = case.node.config, case.node.params
    x, stat = case.inputs[0], (case.inputs[1] if len(case.inputs) > 1 else None)
    s = _own_statistic(cfg, params, x, stat)
    raw = _v_raw(params, s)
    v = rne_shift(raw, cfg.stat_exponent)
    vt = INT(cfg.v_bits)
    assert (v < vt.min).any() and (v > vt.max).any()
    if cfg.stat_exponent:
        assert_ties(raw, cfg.stat_exponent, vt)
    g = _gamma(cfg, params, s)[:, None, :]
    d = (x << cfg.gamma_frac_bits) - g
    y = np.where(d >= 0, params["mul_pos"] * d, params["mul_neg"] * d) + params["add"]
    shift = cfg.shift + cfg.gamma_frac_bits
    ot = cfg.output_type
    assert_ties(y, shift, ot)
    q = rne_shift(y, shift)
    assert (q < ot.min).any() and (q > ot.max).any()
    assert (d < 0).any() and (d > 0).any()
    got = insta_golden(name)[0]  # equal to the C-simulation (test_*_csim_matches_golden)
    flat = dict(params, Mv=np.zeros_like(params["Mv"]))
    without = kind_of(cfg).execute(cfg, flat, case.inputs)[0]
    assert np.mean(without[:FRAMES] != got[:FRAMES]) > 0.05
